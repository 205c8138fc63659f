//! Output: a `Document` (see `crate::document`) written as a table, JSON, NDJSON or CSV. Only
//! this module writes reports to stdout (`print`); the writers take `&mut impl Write`, so tests
//! render into a `Vec<u8>`. Renderers only serialise: what a row holds is the report's business.
//!
//! Hostile input is the normal case: the table shows control and invisible characters escaped
//! (`crate::escape`) and cuts each cell to `CELL_WIDTH` columns (JSON and CSV keep the whole
//! value); CSV guards text cells against formula injection unless `--csv-raw`.

mod csv;
mod json;
mod style;
mod summary;
mod table;

use std::io::{self, BufWriter, Write};

use anyhow::Context as _;

use crate::document::Document;
use crate::exit::warn;

pub use crate::escape::escape_control;
pub use style::{CELL_WIDTH, Format, Style};

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
        (Document::Rows(rows), Format::Table) => table::write(rows, w),
        (Document::Rows(rows), Format::Json) => json::write(rows, w),
        (Document::Rows(rows), Format::Ndjson) => json::write_lines(rows, w),
        (Document::Rows(rows), Format::Csv) => csv::write(rows, style.csv_raw, w),
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

/// The document on stdout, in the chosen format, then its notes on stderr.
pub fn print(doc: &Document, style: Style) -> anyhow::Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    write(doc, style, &mut out)
        .and_then(|()| out.flush())
        .context("cannot write the report")?;
    for note in notes(doc) {
        warn(&note);
    }
    Ok(())
}

/// Generated text (SQL, a table definition) on stdout; `what` names it in the error.
pub fn print_text(text: &str, what: &str) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .with_context(|| format!("cannot write {what}"))
}
