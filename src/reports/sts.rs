//! `sts-endpoints`: is anything still calling the global STS endpoint?

use super::cells::{
    ACCOUNT, EVENT_ID, EVENT_NAME, EVENT_TIME, HOST_HEADER, REGION, SOURCE_IP, USER_AGENT, ranked,
};
use super::def::{Context, Report, ReportDef};
use super::group::{GroupsOrDetails, row};
use crate::athena::results::ResultTable;
use crate::athena::sql::{self, COUNT, Cell, F, Query};
use crate::document::{Column, Document, Rows, Value};
use crate::event::Event;
use crate::time::Micros;

/// Who still calls the global STS endpoint (sts.amazonaws.com)?
///
/// STS calls with a TLS host header, grouped by host, endpoint (global or regional), region
/// and user agent. The table ends with totals, including STS calls without a host header
/// (AWS services acting on your behalf).
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// List every call to the global endpoint instead of grouping
    #[arg(long)]
    details: bool,
}

const KEYS: [Cell; 4] = [
    // The host whole: its region is the point. The region of the call, mostly the host's own,
    // is the one key a narrow terminal may leave out.
    (Column::text("host_header").rank(0), "host"),
    (Column::text("endpoint").rank(0), "endpoint"),
    ranked(REGION, 2),
    ranked(USER_AGENT, 0),
];

fn columns() -> Vec<Column> {
    sql::columns(&[&KEYS, &[COUNT]])
}

const DETAIL_COLUMNS: [Cell; 7] = [
    EVENT_TIME,
    ACCOUNT,
    // Who called which host matters more here than the call's name.
    ranked(EVENT_NAME, 3),
    ranked(HOST_HEADER, 0),
    SOURCE_IP,
    EVENT_ID,
    (Column::text("principal_arn").elide().rank(1), "arn"),
];

/// The endpoint of a host header in SQL, as `Endpoint::of_host`.
const STS_ENDPOINT: &str = "CASE WHEN host IS NULL THEN NULL \
     WHEN lower(host) = 'sts.amazonaws.com' OR lower(host) LIKE 'sts-global.%' THEN 'global' \
     ELSE 'regional' END";

impl ReportDef for Args {
    const NAME: &'static str = "sts-endpoints";
    const EXAMPLES: &'static str = "\
  ctq sts-endpoints -s s3://my-trail-bucket --date 2024-09-05
  ctq sts-endpoints -s ./AWSLogs --since 7d --details -o csv > global-sts.csv
  ctq sts-endpoints -s s3://my-trail-bucket --since 1d -o json | jq '.[] | select(.endpoint == \"global\")'";
    type Acc = StsEndpoints;

    fn accumulator(&self, _: &Context<'_>) -> StsEndpoints {
        StsEndpoints {
            rows: GroupsOrDetails::new(self.details),
            ..Default::default()
        }
    }

    fn athena_query(&self, _: &Context<'_>) -> Result<Query, String> {
        let mut fields = vec![F::EventSource, F::Host, F::AwsRegion, F::UserAgent];
        let s = format!("s AS (\n  SELECT *, {STS_ENDPOINT} AS endpoint\n  FROM w\n)");
        let conditions = vec!["event_source = 'sts.amazonaws.com'".into()];
        if !self.details {
            // Calls without a host header form the group with a NULL host: the footer's count,
            // not a printed row.
            return Ok(Query {
                extra: Vec::new(),
                fields,
                conditions,
                ctes: vec![s],
                select: sql::grouped(&KEYS, &[COUNT], &[], "s", None),
            });
        }
        fields.extend([F::AccountId, F::EventName, F::SourceIp, F::EventId, F::Arn]);
        let (mut ctes, select) = sql::details(
            &DETAIL_COLUMNS,
            "s WHERE endpoint = 'global'",
            &[
                ("ctq_global", "count_if(endpoint = 'global')"),
                ("ctq_regional", "count_if(endpoint = 'regional')"),
                ("ctq_no_host", "count_if(endpoint IS NULL)"),
            ],
            "s",
            false,
            None,
        );
        ctes.insert(0, s);
        Ok(Query {
            extra: Vec::new(),
            fields,
            conditions,
            ctes,
            select,
        })
    }

    fn athena_document(&self, t: &ResultTable<'_>) -> anyhow::Result<Document> {
        if self.details {
            let footer = footer(
                t.total("ctq_global")?,
                t.total("ctq_regional")?,
                t.total("ctq_no_host")?,
            );
            return Ok(t.rows(sql::columns(&[&DETAIL_COLUMNS]), footer)?.into());
        }
        // The group without a host header is the footer's third total, not a row.
        let columns = columns();
        let (mut global, mut regional, mut no_host) = (0, 0, 0);
        let mut rows = Vec::new();
        for r in t.all() {
            let n = t.count(r, "count")?;
            match t.cell(r, "endpoint")? {
                None => no_host += n,
                Some(e) => {
                    if e == "global" {
                        global += n;
                    } else {
                        regional += n;
                    }
                    rows.push(t.row(r, &columns)?);
                }
            }
        }
        Ok(Rows {
            columns,
            rows,
            footer: footer(global, regional, no_host),
            notes: vec![],
        }
        .into())
    }
}

#[derive(Debug, Clone, Default)]
pub struct StsEndpoints {
    rows: GroupsOrDetails,
    global: u64,
    regional: u64,
    no_host: u64,
}

impl Report for StsEndpoints {
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

    fn finish(self) -> Document {
        let footer = footer(self.global, self.regional, self.no_host);
        self.rows.finish(
            sql::columns(&[&DETAIL_COLUMNS]),
            columns(),
            footer,
            |(k, a)| row(k, [Value::Count(a.count)]),
        )
    }
}

/// The totals under the table.
fn footer(global: u64, regional: u64, no_host: u64) -> Vec<String> {
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
