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

/// A named, typed column of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
}

impl Column {
    pub const fn text(name: &'static str) -> Column {
        Column {
            name,
            kind: Kind::Text,
        }
    }
    pub const fn count(name: &'static str) -> Column {
        Column {
            name,
            kind: Kind::Count,
        }
    }
    pub const fn time(name: &'static str) -> Column {
        Column {
            name,
            kind: Kind::Time,
        }
    }
    pub const fn bool(name: &'static str) -> Column {
        Column {
            name,
            kind: Kind::Bool,
        }
    }
    pub const fn list(name: &'static str) -> Column {
        Column {
            name,
            kind: Kind::List,
        }
    }
    pub const fn json(name: &'static str) -> Column {
        Column {
            name,
            kind: Kind::Json,
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
}

/// What a report produces: rows, raw event lines (`events --raw`), or the summary document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    Rows(Rows),
    /// One line each, written as they are whatever the format.
    Lines(Vec<String>),
    Summary(Summary),
}

impl From<Rows> for Document {
    fn from(o: Rows) -> Document {
        Document::Rows(o)
    }
}

impl From<Summary> for Document {
    fn from(s: Summary) -> Document {
        Document::Summary(s)
    }
}
