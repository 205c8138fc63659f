//! `errors`: what fails most?

use super::cells::{ERROR_CODE, ERROR_MESSAGE, EVENT_NAME, ranked};
use super::def::{Context, Report, ReportDef};
use super::group::{Groups, row, top, top_from_athena};
use crate::athena::results::ResultTable;
use crate::athena::sql::{self, COUNT, Cell, F, KINDS, Query};
use crate::document::{Column, Document, Value};
use crate::event::Event;
use crate::time::Micros;

/// What fails most?
///
/// Events with an errorCode, grouped by event name, error code and error message.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// How many rows to print (0 for all)
    #[arg(long, value_name = "N", default_value_t = 10)]
    top: usize,
}

/// The keys: all rank 0, as the keys of every grouped report (see `render::layout`).
const KEYS: [Cell; 3] = [EVENT_NAME, ranked(ERROR_CODE, 0), ranked(ERROR_MESSAGE, 0)];

/// What the rows are, in the footer of a cut list.
const WHAT: &str = "kinds of error";

fn columns() -> Vec<Column> {
    sql::columns(&[&KEYS, &[COUNT]])
}

impl ReportDef for Args {
    const NAME: &'static str = "errors";
    const EXAMPLES: &'static str = "\
  ctq errors -s s3://my-trail-bucket --since 24h
  ctq errors -s ./AWSLogs --account 111111111111 --top 0 -o csv > errors.csv
  ctq errors -s s3://my-trail-bucket --date 2024-09-05 --top 10 -o json | jq '.[0]'";
    type Acc = Errors;

    fn accumulator(&self, _: &Context<'_>) -> Errors {
        Errors {
            top: top(self.top),
            groups: Groups::default(),
        }
    }

    fn athena_query(&self, _: &Context<'_>) -> Result<Query, String> {
        Ok(Query::over_w(
            vec![F::EventName, F::ErrorCode, F::ErrorMessage],
            vec!["error_code IS NOT NULL".into()],
            sql::grouped(&KEYS, &[COUNT], &[KINDS], "w", top(self.top)),
        ))
    }

    fn athena_document(&self, t: &ResultTable<'_>) -> anyhow::Result<Document> {
        top_from_athena(t, columns(), WHAT)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Errors {
    /// How many rows to print; None prints them all.
    top: Option<usize>,
    groups: Groups,
}

impl Report for Errors {
    fn observe(&mut self, ev: &Event<'_>, time: Option<Micros>) {
        let Some(code) = ev.error_code.as_deref() else {
            return;
        };
        self.groups
            .entry(&[
                ev.event_name.as_deref(),
                Some(code),
                ev.error_message.as_deref(),
            ])
            .add(time);
    }

    fn merge(&mut self, other: Self) {
        self.groups.merge(other.groups);
    }

    fn finish(self) -> Document {
        self.groups.into_top(self.top, columns(), WHAT, |(k, a)| {
            row(k, [Value::Count(a.count)])
        })
    }
}
