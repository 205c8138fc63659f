//! `sts-endpoints`: is anything still calling the global STS endpoint?

use super::{GroupsOrDetails, Report, s};
use crate::event::Event;
use crate::render::{Output, Value};
use crate::time::Micros;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Global,
    Regional,
}

impl Endpoint {
    /// `global` for `sts.amazonaws.com` (any case) and `sts-global.…`; every other host
    /// (`sts.<region>.amazonaws.com`, `sts-fips.…`, `sts.<region>.api.aws`) is regional.
    pub fn of_host(host: &str) -> Endpoint {
        let global = host.eq_ignore_ascii_case("sts.amazonaws.com")
            || host
                .get(..11)
                .is_some_and(|p| p.eq_ignore_ascii_case("sts-global."));
        if global {
            Endpoint::Global
        } else {
            Endpoint::Regional
        }
    }

    fn name(self) -> &'static str {
        match self {
            Endpoint::Global => "global",
            Endpoint::Regional => "regional",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct StsEndpoints {
    rows: GroupsOrDetails,
    global: u64,
    regional: u64,
    no_host: u64,
}

impl StsEndpoints {
    pub fn new(details: bool) -> Self {
        StsEndpoints {
            rows: GroupsOrDetails::new(details),
            ..Default::default()
        }
    }
}

impl Report for StsEndpoints {
    type Out = Output;

    fn observe(&mut self, ev: &Event<'_>, time: Option<Micros>) {
        if ev.event_source.as_deref() != Some("sts.amazonaws.com") {
            return;
        }
        let Some(host) = ev.tls_host.as_deref() else {
            self.no_host += 1;
            return;
        };
        let endpoint = Endpoint::of_host(host);
        match endpoint {
            Endpoint::Global => self.global += 1,
            Endpoint::Regional => self.regional += 1,
        }
        match &mut self.rows.details {
            Some(d) if endpoint == Endpoint::Global => d.push(
                time,
                ev.event_id.as_deref(),
                vec![
                    Value::time(time),
                    Value::str(ev.recipient_account_id.as_deref()),
                    Value::str(ev.event_name.as_deref()),
                    Value::str(Some(host)),
                    Value::str(ev.source_ip.as_deref()),
                    Value::str(ev.event_id.as_deref()),
                    Value::str(ev.user_identity.arn.as_deref()),
                ],
            ),
            Some(_) => {}
            None => self
                .rows
                .groups
                .entry(&[
                    Some(host),
                    Some(endpoint.name()),
                    ev.aws_region.as_deref(),
                    ev.user_agent.as_deref(),
                ])
                .add(time),
        }
    }

    fn merge(&mut self, other: Self) {
        self.rows.merge(other.rows);
        self.global += other.global;
        self.regional += other.regional;
        self.no_host += other.no_host;
    }

    fn finish(self) -> Output {
        let footer = footer(self.global, self.regional, self.no_host);
        if let Some(details) = self.rows.details {
            return Output {
                columns: DETAIL_COLUMNS.to_vec(),
                rows: details.into_sorted(),
                footer,
            };
        }
        let rows = self
            .rows
            .groups
            .into_sorted()
            .into_iter()
            .map(|(k, a)| {
                vec![
                    s(&k[0]),
                    s(&k[1]),
                    s(&k[2]),
                    s(&k[3]),
                    Value::Count(a.count),
                ]
            })
            .collect();
        Output {
            columns: COLUMNS.to_vec(),
            rows,
            footer,
        }
    }
}

pub const COLUMNS: [&str; 5] = ["host_header", "endpoint", "region", "user_agent", "count"];
pub const DETAIL_COLUMNS: [&str; 7] = [
    "event_time",
    "account",
    "event_name",
    "host_header",
    "source_ip",
    "event_id",
    "principal_arn",
];

/// The totals under the table.
pub fn footer(global: u64, regional: u64, no_host: u64) -> Vec<String> {
    let calls = |n: u64| {
        if n == 1 {
            "1 call".to_string()
        } else {
            format!("{n} calls")
        }
    };
    vec![format!(
        "global endpoint: {} · regional endpoints: {} · no host header (AWS services on your behalf): {}",
        calls(global),
        calls(regional),
        calls(no_host)
    )]
}

#[cfg(test)]
mod tests {
    use super::Endpoint::{self, *};

    #[test]
    fn host_classification() {
        for (host, want) in [
            ("sts.amazonaws.com", Global),
            ("STS.AmazonAWS.com", Global),
            ("sts-global.amazonaws.com", Global),
            ("STS-GLOBAL.example", Global),
            ("sts.us-east-1.amazonaws.com", Regional),
            ("sts-fips.us-east-1.amazonaws.com", Regional),
            ("sts.eu-west-1.api.aws", Regional),
            ("sts.amazonaws.com.cn", Regional),
            ("sts-global", Regional),
            ("", Regional),
            ("é", Regional),
        ] {
            assert_eq!(Endpoint::of_host(host), want, "{host}");
        }
    }
}
