//! Output: a report's rows, written as a table, JSON, NDJSON or CSV. Only this module writes to
//! stdout, through `&mut impl Write`, so tests render into a `Vec<u8>`.
//!
//! The JSON schema of each report is the list of its columns (see `reports/`): every row is an
//! object with exactly those fields, in that order. Times are strings `2024-09-05T12:34:56Z`
//! (UTC, whole seconds), counts are numbers, `source_ips` is an array of strings, and an absent
//! or empty value is `null`.
//!
//! Hostile input is the normal case: the table shows control and invisible characters escaped
//! (`crate::escape`) and cuts each cell to `CELL_WIDTH` columns (JSON and CSV keep the whole
//! value); CSV guards text cells against formula injection unless `--csv-raw`.

mod csv;
mod json;
mod summary;
mod table;

use std::borrow::Cow;
use std::io::{self, Write};

use clap::ValueEnum;

use crate::time::{Micros, format_time};

pub use crate::escape::escape_control;

/// The widest a table cell is shown, in terminal columns; longer text ends with `…`.
pub const CELL_WIDTH: usize = 120;

/// The output formats of `-o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An aligned table for people (control characters shown escaped)
    Table,
    /// One JSON array of row objects
    Json,
    /// One JSON object per line
    Ndjson,
    /// A header row, then one row per line (lists joined with ';')
    Csv,
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
    fn text(&self, sep: &str) -> Option<Cow<'_, str>> {
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
    fn is_text(&self) -> bool {
        match self {
            Value::Str(_) | Value::List(_) => true,
            Value::Json(j) => j.starts_with('"'),
            Value::Null | Value::Count(_) | Value::Time(_) | Value::Bool(_) => false,
        }
    }
}

/// A finished report: named columns, ordered rows, and lines that follow the table view only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Value>>,
    /// Totals and notes shown under the table; not part of the JSON/NDJSON/CSV outputs.
    pub footer: Vec<String>,
}

/// What a report produces: rows, raw event lines (`events --raw`), or the summary document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    Rows(Output),
    /// One line each, written as they are whatever the format.
    Lines(Vec<String>),
    Summary(Summary),
}

impl From<Output> for Document {
    fn from(o: Output) -> Document {
        Document::Rows(o)
    }
}

impl From<Summary> for Document {
    fn from(s: Summary) -> Document {
        Document::Summary(s)
    }
}

pub use summary::{Bucket, Implausible, Section, Summary};

/// How a document is written: the format, and whether CSV keeps text cells exactly
/// (`--csv-raw`) instead of guarding those that start like a formula.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub format: Format,
    pub csv_raw: bool,
}

pub fn write(doc: &Document, style: Style, w: &mut impl Write) -> io::Result<()> {
    match (doc, style.format) {
        (Document::Lines(lines), _) => {
            for line in lines {
                w.write_all(line.as_bytes())?;
                w.write_all(b"\n")?;
            }
            Ok(())
        }
        (Document::Summary(s), _) => summary::write(s, style, w),
        (Document::Rows(out), Format::Table) => table::write(out, w),
        (Document::Rows(out), Format::Json) => json::write(out, w),
        (Document::Rows(out), Format::Ndjson) => json::write_lines(out, w),
        (Document::Rows(out), Format::Csv) => csv::write(out, style.csv_raw, w),
    }
}

/// What to say on stderr about a document after it is printed (the summary's implausible
/// times), whatever the format.
pub fn notes(doc: &Document) -> Vec<String> {
    match doc {
        Document::Summary(s) => s.implausible_note().into_iter().collect(),
        Document::Rows(_) | Document::Lines(_) => Vec::new(),
    }
}
