//! `errors`: what fails most?

use super::{Groups, Report, s};
use crate::event::Event;
use crate::render::{Output, Value};
use crate::time::Micros;

#[derive(Debug, Clone, Default)]
pub struct Errors {
    /// How many rows to print; None prints them all.
    top: Option<usize>,
    groups: Groups,
}

impl Errors {
    pub fn new(top: Option<usize>) -> Self {
        Errors {
            top,
            groups: Groups::default(),
        }
    }
}

impl Report for Errors {
    type Out = Output;

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

    fn finish(self) -> Output {
        let all = self.groups.into_sorted();
        let total = all.len();
        let rows: Vec<_> = all
            .into_iter()
            .take(self.top.unwrap_or(usize::MAX))
            .map(|(k, a)| vec![s(&k[0]), s(&k[1]), s(&k[2]), Value::Count(a.count)])
            .collect();
        Output {
            columns: COLUMNS.to_vec(),
            footer: footer(rows.len(), total),
            rows,
        }
    }
}

pub const COLUMNS: [&str; 4] = ["event_name", "error_code", "error_message", "count"];

/// Says so when --top cut the list.
pub fn footer(shown: usize, total: usize) -> Vec<String> {
    if shown < total {
        vec![format!(
            "top {shown} of {total} kinds of error (--top N for more, --top 0 for all)"
        )]
    } else {
        vec![]
    }
}
