//! `root-activity`: did anyone use the root user?

use super::def::{Context, Report, ReportDef};
use super::group::{GroupsOrDetails, row};
use crate::athena::results::ResultTable;
use crate::athena::sql::{self, COUNT_FIRST_LAST, Cell, F, Query};
use crate::document::{Column, Document, Value};
use crate::event::Event;
use crate::time::Micros;

/// Did anyone use the root user?
///
/// Events whose userIdentity.type is Root, grouped by event name and invoking service.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// List every root event instead of grouping
    #[arg(long)]
    details: bool,
}

const KEYS: [Cell; 2] = [
    (Column::text("event_name"), "event_name"),
    (Column::text("invoked_by"), "invoked_by"),
];

const DETAIL_COLUMNS: [Cell; 10] = [
    (Column::time("event_time"), "to_iso8601(ts)"),
    (Column::text("account"), "account_id"),
    (Column::text("region"), "aws_region"),
    (Column::text("event_name"), "event_name"),
    (Column::text("event_source"), "event_source"),
    (Column::text("source_ip"), "source_ip"),
    (Column::text("user_agent"), "user_agent"),
    (Column::text("error_code"), "error_code"),
    (Column::text("invoked_by"), "invoked_by"),
    (Column::text("event_id"), "event_id"),
];

impl Args {
    fn columns(&self) -> Vec<Column> {
        if self.details {
            sql::columns(&[&DETAIL_COLUMNS])
        } else {
            sql::columns(&[&KEYS, &COUNT_FIRST_LAST])
        }
    }
}

impl ReportDef for Args {
    const NAME: &'static str = "root-activity";
    type Acc = RootActivity;

    fn accumulator(&self, _: &Context<'_>) -> RootActivity {
        RootActivity {
            rows: GroupsOrDetails::new(self.details),
        }
    }

    fn athena_query(&self, _: &Context<'_>) -> Result<Query, String> {
        let conditions = vec!["identity_type = 'Root'".to_string()];
        if !self.details {
            return Ok(Query {
                fields: vec![F::IdentityType, F::EventName, F::InvokedBy],
                conditions,
                ctes: vec![],
                select: sql::grouped(&KEYS, &COUNT_FIRST_LAST, &[], "w", None),
            });
        }
        let (ctes, select) = sql::details(&DETAIL_COLUMNS, "w", &[], "", false, None);
        Ok(Query {
            fields: vec![
                F::IdentityType,
                F::AccountId,
                F::AwsRegion,
                F::EventName,
                F::EventSource,
                F::SourceIp,
                F::UserAgent,
                F::ErrorCode,
                F::InvokedBy,
                F::EventId,
            ],
            conditions,
            ctes,
            select,
        })
    }

    fn athena_document(&self, t: &ResultTable<'_>) -> anyhow::Result<Document> {
        Ok(t.rows(self.columns(), vec![])?.into())
    }
}

#[derive(Debug, Clone, Default)]
pub struct RootActivity {
    rows: GroupsOrDetails,
}

impl Report for RootActivity {
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

    fn finish(self) -> Document {
        self.rows.finish(
            sql::columns(&[&DETAIL_COLUMNS]),
            sql::columns(&[&KEYS, &COUNT_FIRST_LAST]),
            vec![],
            |(k, a)| row(k, a.count_first_last()),
        )
    }
}
