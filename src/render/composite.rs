//! A composite document (`trace`, `profile`): its object as JSON, its parts as a table, its
//! parts of rows as CSV blocks.

use std::io::{self, Write};

use super::json::TerminalSafe;
use super::style::{Format, Style};
use super::{csv, layout, summary, table};
use crate::document::{Column, Composite, Part, Rows, Value};
use crate::escape::escape_control;

pub fn write(c: &Composite, style: Style, w: &mut impl Write) -> io::Result<Vec<String>> {
    let mut layout_notes = Vec::new();
    match style.format {
        Format::Json => {
            serde_json::to_writer_pretty(TerminalSafe(&mut *w), &c.json)?;
            w.write_all(b"\n")?;
        }
        Format::Ndjson => {
            serde_json::to_writer(TerminalSafe(&mut *w), &c.json)?;
            w.write_all(b"\n")?;
        }
        Format::Csv => {
            let mut first = true;
            for part in &c.parts {
                if let Part::Rows(title, rows) = part {
                    if !first {
                        w.write_all(b"\n")?;
                    }
                    first = false;
                    let mut columns = vec![Column::text("section")];
                    columns.extend(rows.columns.iter().copied());
                    let block = Rows {
                        columns,
                        rows: rows
                            .rows
                            .iter()
                            .map(|r| {
                                let mut row = vec![Value::Str((*title).to_string())];
                                row.extend(r.iter().cloned());
                                row
                            })
                            .collect(),
                        footer: vec![],
                        notes: vec![],
                    };
                    csv::write(&block, style.csv_raw, w)?;
                }
            }
        }
        Format::Table => {
            for (i, part) in c.parts.iter().enumerate() {
                if i > 0 {
                    writeln!(w)?;
                }
                match part {
                    Part::Line(text) => {
                        for line in layout::join_parts(
                            &escape_control(text),
                            style.width.unwrap_or(usize::MAX),
                        ) {
                            writeln!(w, "{line}")?;
                        }
                    }
                    Part::Rows(title, rows) => {
                        writeln!(w, "{title}")?;
                        if rows.rows.is_empty() {
                            writeln!(w, "(none)")?;
                        } else {
                            layout_notes.extend(table::write(rows, style.width, w)?);
                        }
                    }
                    Part::Timeline(title, bucket, points) => {
                        writeln!(w, "{title} per {} (UTC)", bucket.name())?;
                        if points.is_empty() {
                            writeln!(w, "(none)")?;
                        }
                        summary::write_timeline(*bucket, points, style.width, w)?;
                    }
                }
            }
        }
    }
    Ok(layout_notes)
}
