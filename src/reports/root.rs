//! `root-activity`: did anyone use the root user?

use super::{Agg, GroupsOrDetails, Report, s};
use crate::event::Event;
use crate::render::{Output, Value};
use crate::time::Micros;

#[derive(Debug, Clone, Default)]
pub struct RootActivity {
    rows: GroupsOrDetails,
}

impl RootActivity {
    pub fn new(details: bool) -> Self {
        RootActivity {
            rows: GroupsOrDetails::new(details),
        }
    }
}

impl Report for RootActivity {
    type Out = Output;

    fn observe(&mut self, ev: &Event<'_>, time: Option<Micros>) {
        if ev.user_identity.kind.as_deref() != Some("Root") {
            return;
        }
        let invoked_by = ev.user_identity.invoked_by.as_deref();
        match &mut self.rows.details {
            Some(d) => d.push(
                time,
                ev.event_id.as_deref(),
                vec![
                    Value::time(time),
                    Value::str(ev.recipient_account_id.as_deref()),
                    Value::str(ev.aws_region.as_deref()),
                    Value::str(ev.event_name.as_deref()),
                    Value::str(ev.event_source.as_deref()),
                    Value::str(ev.source_ip.as_deref()),
                    Value::str(ev.user_agent.as_deref()),
                    Value::str(ev.error_code.as_deref()),
                    Value::str(invoked_by),
                    Value::str(ev.event_id.as_deref()),
                ],
            ),
            None => self
                .rows
                .groups
                .entry(&[ev.event_name.as_deref(), invoked_by])
                .add(time),
        }
    }

    fn merge(&mut self, other: Self) {
        self.rows.merge(other.rows);
    }

    fn finish(self) -> Output {
        if let Some(details) = self.rows.details {
            return Output {
                columns: DETAIL_COLUMNS.to_vec(),
                rows: details.into_sorted(),
                footer: vec![],
            };
        }
        let rows = self
            .rows
            .groups
            .into_sorted()
            .into_iter()
            .map(|(k, a): (_, Agg)| {
                vec![
                    s(&k[0]),
                    s(&k[1]),
                    Value::Count(a.count),
                    Value::time(a.first),
                    Value::time(a.last),
                ]
            })
            .collect();
        Output {
            columns: COLUMNS.to_vec(),
            rows,
            footer: vec![],
        }
    }
}

pub const COLUMNS: [&str; 5] = [
    "event_name",
    "invoked_by",
    "count",
    "first_seen",
    "last_seen",
];
pub const DETAIL_COLUMNS: [&str; 10] = [
    "event_time",
    "account",
    "region",
    "event_name",
    "event_source",
    "source_ip",
    "user_agent",
    "error_code",
    "invoked_by",
    "event_id",
];
