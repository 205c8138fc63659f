//! `event-sources`: which services and API calls are in this window, and how often?

use super::cells::{EVENT_NAME, EVENT_SOURCE, ranked};
use super::def::{Context, Report, ReportDef};
use super::group::{Groups, row, top, top_from_athena};
use crate::athena::results::ResultTable;
use crate::athena::sql::{self, COUNT_FIRST_LAST, Cell, F, KINDS, Query};
use crate::document::{Column, Document};
use crate::event::Event;
use crate::time::Micros;

/// Which services and API calls are in this window, and how often?
///
/// Events grouped by event source and event name, most frequent first, with the first and last
/// time each was seen.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// How many rows to print (0 for all)
    #[arg(long, value_name = "N", default_value_t = 10)]
    top: usize,
}

const KEYS: [Cell; 2] = [ranked(EVENT_SOURCE, 0), EVENT_NAME];

fn columns() -> Vec<Column> {
    sql::columns(&[&KEYS, &COUNT_FIRST_LAST])
}

/// What the rows are, in the footer of a cut list.
const WHAT: &str = "event source and name pairs";

impl ReportDef for Args {
    const NAME: &'static str = "event-sources";
    const EXAMPLES: &'static str = "\
  ctq event-sources -s s3://my-trail-bucket --since 7d
  ctq event-sources -s ./AWSLogs --top 0 -o csv > api-calls.csv";
    type Acc = EventSources;

    fn accumulator(&self, _: &Context<'_>) -> EventSources {
        EventSources {
            top: top(self.top),
            groups: Groups::default(),
        }
    }

    fn athena_query(&self, _: &Context<'_>) -> Result<Query, String> {
        Ok(Query::over_w(
            vec![F::EventSource, F::EventName],
            vec![],
            sql::grouped(&KEYS, &COUNT_FIRST_LAST, &[KINDS], "w", top(self.top)),
        ))
    }

    fn athena_document(&self, t: &ResultTable<'_>) -> anyhow::Result<Document> {
        top_from_athena(t, columns(), WHAT)
    }
}

#[derive(Debug, Clone, Default)]
pub struct EventSources {
    /// How many rows to print; None prints them all.
    top: Option<usize>,
    groups: Groups,
}

impl Report for EventSources {
    fn observe(&mut self, ev: &Event<'_>, time: Option<Micros>) {
        self.groups
            .entry(&[ev.event_source.as_deref(), ev.event_name.as_deref()])
            .add(time);
    }

    fn merge(&mut self, other: Self) {
        self.groups.merge(other.groups);
    }

    fn finish(self) -> Document {
        self.groups.into_top(self.top, columns(), WHAT, |(k, a)| {
            row(k, a.count_first_last())
        })
    }
}
