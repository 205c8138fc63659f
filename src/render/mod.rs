//! Output: a `Document` (see `crate::document`) written as a table, JSON, NDJSON or CSV. Only
//! this module writes reports to stdout (`print`); the writers take `&mut impl Write`, so tests
//! render into a `Vec<u8>`. Renderers only serialise: what a row holds is the report's business.
//!
//! Hostile input is the normal case: the table shows control and invisible characters escaped
//! (`crate::escape`), fits a terminal's width (`layout`) and cuts each cell to a bounded width
//! (JSON and CSV keep the whole value); CSV guards text cells against formula injection unless
//! `--csv-raw`.

mod composite;
mod csv;
mod json;
mod layout;
mod style;
mod summary;
mod table;

use std::io::{self, BufWriter, Write};

use anyhow::Context as _;

use crate::document::{Document, Rows};
use crate::exit::warn;

pub use crate::escape::escape_control;
pub use style::{CELL_WIDTH, Format, Style, parse_width, table_width};

/// Writes `doc` as `style` says; returns what to say about the layout on stderr (the columns a
/// table left out to fit the terminal).
pub fn write(doc: &Document, style: Style, w: &mut impl Write) -> io::Result<Vec<String>> {
    match (doc, style.format) {
        (Document::Lines(lines, _), _) => {
            for line in lines {
                w.write_all(line.as_bytes())?;
                w.write_all(b"\n")?;
            }
        }
        (Document::Summary(s), _) => summary::write(s, style, w)?,
        (Document::Composite(c), _) => return composite::write(c, style, w),
        (Document::Rows(rows), Format::Table) => return table::write(rows, style.width, w),
        (Document::Rows(rows), Format::Json) => json::write(rows, w)?,
        (Document::Rows(rows), Format::Ndjson) => json::write_lines(rows, w)?,
        (Document::Rows(rows), Format::Csv) => csv::write(rows, style.csv_raw, w)?,
    }
    Ok(Vec::new())
}

/// What to say on stderr about a document after it is printed, whatever the format: how a list
/// was cut by `--top` or `--limit`, the summary's cut lists and implausible times.
pub fn notes(doc: &Document) -> Vec<String> {
    match doc {
        Document::Summary(s) => s.notes(),
        Document::Composite(c) => c.notes.clone(),
        Document::Rows(Rows { notes, .. }) | Document::Lines(_, notes) => notes.clone(),
    }
}

/// The document on stdout, in the chosen format, then its notes on stderr.
pub fn print(doc: &Document, style: Style) -> anyhow::Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    let layout_notes = write(doc, style, &mut out)
        .and_then(|notes| out.flush().map(|()| notes))
        .context("cannot write the report")?;
    for note in notes(doc).into_iter().chain(layout_notes) {
        warn(&note);
    }
    Ok(())
}

/// Generated text (SQL, a table definition, a completion script, a man page) on stdout; `what`
/// names it in the error.
pub fn print_text(text: &[u8], what: &str) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text)
        .and_then(|()| out.flush())
        .with_context(|| format!("cannot write {what}"))
}
