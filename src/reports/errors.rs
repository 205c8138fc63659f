//! `errors`: what fails most?

use std::fmt::Write as _;

use super::def::{Context, Report, ReportDef};
use super::group::{Groups, s, top_footer};
use crate::athena::results::ResultTable;
use crate::athena::sql::{self, Cell, F, Query};
use crate::document::{Column, Document, Rows, Value};
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

impl Args {
    fn top(&self) -> Option<usize> {
        (self.top > 0).then_some(self.top)
    }
}

const COLUMNS: [Cell; 4] = [
    (Column::text("event_name"), "event_name"),
    (Column::text("error_code"), "error_code"),
    (Column::text("error_message"), "error_message"),
    (Column::count("count"), "count(*)"),
];

impl ReportDef for Args {
    const NAME: &'static str = "errors";
    type Acc = Errors;

    fn accumulator(&self, _: &Context<'_>) -> Errors {
        Errors {
            top: self.top(),
            groups: Groups::default(),
        }
    }

    fn athena_query(&self, _: &Context<'_>) -> Result<Query, String> {
        // How many kinds there are in all, for the footer when --top cuts the list.
        let mut select = sql::grouped(&COLUMNS, 3, &[("ctq_kinds", "count(*) OVER ()")], "w");
        if let Some(n) = self.top() {
            let _ = write!(select, "\nLIMIT {n}");
        }
        Ok(Query {
            fields: vec![F::EventName, F::ErrorCode, F::ErrorMessage],
            conditions: vec!["error_code IS NOT NULL".into()],
            ctes: vec![],
            select,
        })
    }

    fn athena_document(&self, t: &ResultTable<'_>) -> anyhow::Result<Document> {
        let total = t.total("ctq_kinds")? as usize;
        let rows = t.rows(sql::columns(&COLUMNS), vec![])?;
        let footer = top_footer(rows.rows.len(), total, "kinds of error");
        Ok(Rows { footer, ..rows }.into())
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
        let all = self.groups.into_sorted();
        let total = all.len();
        let rows: Vec<_> = all
            .into_iter()
            .take(self.top.unwrap_or(usize::MAX))
            .map(|(k, a)| vec![s(&k[0]), s(&k[1]), s(&k[2]), Value::Count(a.count)])
            .collect();
        Rows {
            columns: sql::columns(&COLUMNS),
            footer: top_footer(rows.len(), total, "kinds of error"),
            rows,
        }
        .into()
    }
}
