//! What reports produce and renderers read: typed columns, rows of values, and the documents
//! built from them. Both engines build these (the local one from events, the Athena one from
//! result rows, guided by the column kinds), and the renderers only serialise them.
//!
//! A JSON row is an object with exactly the columns' names as fields, in order. Times are strings
//! `2024-09-05T12:34:56Z` (UTC, whole seconds), counts are numbers, lists are arrays of strings,
//! and an absent or empty value is `null`.

mod summary;

use std::borrow::Cow;

use crate::time::{Micros, format_time};

pub use summary::{Bucket, Implausible, Section, Summary};

/// What a column holds, whichever engine fills it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text from the logs (or null).
    Text,
    /// A number of events, never negative.
    Count,
    /// An event time, shown as `2024-09-05T12:34:56Z`.
    Time,
    Bool,
    /// A list of text values (an empty list when there are none).
    List,
    /// A JSON value from the event, as logged (`events --fields`).
    Json,
}

/// How a terminal table may narrow a column to fit its width (`render::layout`). Whatever the
/// fit, JSON, CSV and a table written to a pipe keep every value whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// An identifier (a time, an account id, a region, an IP, an event id, an access key, an
    /// event name): always whole on one line. A column that does not fit is left out instead.
    Whole,
    /// A long identifier (an ARN, a principal, an object key): on one line; when there is no
    /// room, shortened in the middle with `…`, keeping its start and its more telling end.
    Elide,
    /// Free text (a user agent, an error message, a list, a JSON value): wrapped onto a few
    /// lines, at spaces where it can be, and cut with `…` after them. Narrowed first.
    Wrap,
}

/// A named, typed column of a report, with how a terminal table may narrow it and how important
/// it is when the table must leave columns out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub fit: Fit,
    /// 0: never left out; columns of higher ranks are left out first when a terminal is too
    /// narrow for them (the rightmost first among equals).
    pub rank: u8,
}

impl Column {
    const fn new(name: &'static str, kind: Kind, fit: Fit, rank: u8) -> Column {
        Column {
            name,
            kind,
            fit,
            rank,
        }
    }
    /// An identifier column (`Fit::Whole`) of rank 3.
    pub const fn text(name: &'static str) -> Column {
        Column::new(name, Kind::Text, Fit::Whole, 3)
    }
    /// Counts are what grouped reports are about: never left out.
    pub const fn count(name: &'static str) -> Column {
        Column::new(name, Kind::Count, Fit::Whole, 0)
    }
    pub const fn time(name: &'static str) -> Column {
        Column::new(name, Kind::Time, Fit::Whole, 3)
    }
    pub const fn bool(name: &'static str) -> Column {
        Column::new(name, Kind::Bool, Fit::Whole, 3)
    }
    pub const fn list(name: &'static str) -> Column {
        Column::new(name, Kind::List, Fit::Wrap, 3)
    }
    pub const fn json(name: &'static str) -> Column {
        Column::new(name, Kind::Json, Fit::Wrap, 3)
    }
    /// The same column with rank `rank` (0 never left out; higher left out first).
    pub const fn rank(self, rank: u8) -> Column {
        Column { rank, ..self }
    }
    /// The same column as free text, wrapped and cut to fit (`Fit::Wrap`).
    pub const fn wrap(self) -> Column {
        Column {
            fit: Fit::Wrap,
            ..self
        }
    }
    /// The same column as a long identifier, shortened in the middle to fit (`Fit::Elide`).
    pub const fn elide(self) -> Column {
        Column {
            fit: Fit::Elide,
            ..self
        }
    }
}

/// One cell of a report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value {
    Null,
    Count(u64),
    Time(Micros),
    Str(String),
    List(Vec<String>),
    Bool(bool),
    /// A JSON value's own text (minified): written as is in JSON; as text in tables and CSV.
    Json(String),
}

impl Value {
    pub fn str(s: Option<&str>) -> Value {
        s.map_or(Value::Null, |s| Value::Str(s.to_string()))
    }
    pub fn time(t: Option<Micros>) -> Value {
        t.map_or(Value::Null, Value::Time)
    }
    /// The text of a scalar cell; lists are joined with `sep`; null is None.
    pub fn text(&self, sep: &str) -> Option<Cow<'_, str>> {
        match self {
            Value::Null => None,
            Value::Count(n) => Some(n.to_string().into()),
            Value::Time(t) => Some(format_time(*t).into()),
            Value::Str(s) => Some(s.as_str().into()),
            Value::List(l) => Some(l.join(sep).into()),
            Value::Bool(b) => Some(b.to_string().into()),
            // A JSON string shows as its text; numbers, booleans, objects and arrays as JSON.
            Value::Json(j) => Some(
                serde_json::from_str::<String>(j).map_or_else(|_| j.as_str().into(), Cow::Owned),
            ),
        }
    }

    /// Whether the cell is text taken from the logs, which CSV guards against formula
    /// injection. Counts, times and booleans are never changed: counts are never negative and
    /// times never start with a formula character. A JSON value (`events --fields`) is text
    /// when it is a JSON string; its numbers are numbers.
    pub fn is_text(&self) -> bool {
        match self {
            Value::Str(_) | Value::List(_) => true,
            Value::Json(j) => j.starts_with('"'),
            Value::Null | Value::Count(_) | Value::Time(_) | Value::Bool(_) => false,
        }
    }
}

/// A finished report: typed columns, ordered rows, and lines that follow the table view only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rows {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
    /// Totals and notes shown under the table; not part of the JSON/NDJSON/CSV outputs.
    pub footer: Vec<String>,
    /// What stderr says about the rows, whatever the format: how `--top` or `--limit` cut the
    /// list, or why it is empty.
    pub notes: Vec<String>,
}

/// The note of a list cut short by an option, when `shown` is fewer than `total`:
/// `showing 10 of 30 kinds of error (--top N for more, --top 0 for all)`.
pub fn cut_note(shown: usize, total: u64, what: &str, option: &str) -> Option<String> {
    ((shown as u64) < total).then(|| {
        format!("showing {shown} of {total} {what} ({option} N for more, {option} 0 for all)")
    })
}

/// What a report produces: rows, raw event lines (`events --raw`), or the summary document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    Rows(Rows),
    /// One object of a shape the report documents (`trace`, `profile`), and the sections a
    /// table shows of it.
    Composite(Composite),
    /// One line each, written as they are whatever the format (`events --raw`),
    /// and the notes for stderr (as `Rows::notes`).
    Lines(Vec<String>, Vec<String>),
    Summary(Summary),
}

impl Document {
    /// Whether the report found nothing: no rows, no lines, a summary of no events.
    pub fn is_empty(&self) -> bool {
        match self {
            Document::Rows(r) => r.rows.is_empty(),
            Document::Lines(l, _) => l.is_empty(),
            Document::Summary(s) => s.events == 0,
            Document::Composite(c) => c.empty,
        }
    }
}

impl From<Rows> for Document {
    fn from(o: Rows) -> Document {
        Document::Rows(o)
    }
}

/// A report of one object: `json` is what `-o json` prints (the report's contract, one line with
/// `-o ndjson`); a table shows `parts` in order; CSV writes each part of rows as a block (a header
/// whose first column is `section`, then its rows), blocks separated by an empty line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composite {
    pub json: serde_json::Value,
    pub parts: Vec<Part>,
    /// Nothing found (`--fail-on-empty`).
    pub empty: bool,
    /// Said on stderr in every format.
    pub notes: Vec<String>,
}

/// A part of a composite document as a table shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// A titled table.
    Rows(&'static str, Rows),
    /// A line of text (`origin: IAM user alice`).
    Line(String),
    /// A titled bar chart of counts per bucket (as `summary` draws its timeline).
    Timeline(&'static str, Bucket, Vec<(Micros, u64)>),
}

impl From<Composite> for Document {
    fn from(c: Composite) -> Document {
        Document::Composite(c)
    }
}

impl From<Summary> for Document {
    fn from(s: Summary) -> Document {
        Document::Summary(s)
    }
}
