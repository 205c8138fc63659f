//! `root-activity`: did anyone use the root user?

use super::cells::{
    ACCOUNT, ERROR_CODE, EVENT_ID, EVENT_NAME, EVENT_SOURCE, EVENT_TIME, INVOKED_BY, REGION,
    SOURCE_IP, USER_AGENT, ranked,
};
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

const KEYS: [Cell; 2] = [EVENT_NAME, ranked(INVOKED_BY, 0)];

const DETAIL_COLUMNS: [Cell; 10] = [
    EVENT_TIME,
    ACCOUNT,
    REGION,
    EVENT_NAME,
    EVENT_SOURCE,
    SOURCE_IP,
    USER_AGENT,
    ERROR_CODE,
    INVOKED_BY,
    EVENT_ID,
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

/// The columns of `e` that `DETAIL_COLUMNS` and the conditions read.
const DETAIL_FIELDS: [F; 10] = [
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
];

impl ReportDef for Args {
    const NAME: &'static str = "root-activity";
    const EXAMPLES: &'static str = "\
  ctq root-activity -s s3://my-trail-bucket --since 7d
  ctq root-activity -s ./AWSLogs --since 30d --details -o json | jq '.[].source_ip'
  ctq root-activity -s s3://my-trail-bucket --since 1h -q --fail-on-empty && echo \"root was used\"";
    type Acc = RootActivity;

    fn accumulator(&self, _: &Context<'_>) -> RootActivity {
        RootActivity {
            rows: GroupsOrDetails::new(self.details),
        }
    }

    fn athena_query(&self, _: &Context<'_>) -> Result<Query, String> {
        let conditions = vec!["identity_type = 'Root'".to_string()];
        if !self.details {
            return Ok(Query::over_w(
                vec![F::IdentityType, F::EventName, F::InvokedBy],
                conditions,
                sql::grouped(&KEYS, &COUNT_FIRST_LAST, &[], "w", None),
            ));
        }
        Ok(Query::event_rows(DETAIL_FIELDS.to_vec(), conditions, &DETAIL_COLUMNS))
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
            Some(d) => d.push_located(
                ev,
                time,
                [
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
