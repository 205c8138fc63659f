//! The table view for people. CloudTrail fields such as `userAgent` and `errorMessage` are
//! attacker-controlled, so every cell goes through `crate::escape` (control, bidirectional and
//! invisible characters shown as visible escapes, never raw) and is cut to a bounded width
//! before comfy-table sees it: a cell of megabytes costs no more than a short one, and the full
//! value stays in JSON and CSV.
//!
//! On a terminal (or with `--width`) the table is fitted to the width (`layout`): identifiers
//! stay whole, free text is wrapped, long ARNs are shortened in the middle, and the least
//! important columns are left out, with a note on stderr naming them. To a pipe, or with
//! `--wide`, every column is shown and every row is one line, for grep and diff.

use std::io::{self, Write};

use comfy_table::{CellAlignment, ContentArrangement, Table, presets};

use super::layout::{self, text_width};
use super::style::{CELL_WIDTH, PIPED_CELL_WIDTH};
use crate::document::{Fit, Kind, Rows, Value};
use crate::escape::{escape_control, escape_truncated};

/// A cell as the table shows it: escaped, at most `max` columns, empty for null.
pub(super) fn cell(v: &Value, max: usize) -> String {
    v.text(", ")
        .map_or_else(String::new, |t| escape_truncated(&t, max))
}

/// Writes the table, fitted to `width` columns when given; returns the notes for stderr (the
/// columns left out).
pub fn write(out: &Rows, width: Option<usize>, w: &mut impl Write) -> io::Result<Vec<String>> {
    let max = if width.is_some() {
        CELL_WIDTH
    } else {
        PIPED_CELL_WIDTH
    };
    let headers: Vec<String> = out
        .columns
        .iter()
        .map(|c| escape_control(c.name).into_owned())
        .collect();
    let cells: Vec<Vec<String>> = out
        .rows
        .iter()
        .map(|r| r.iter().map(|v| cell(v, max)).collect())
        .collect();
    let all: Vec<usize> = (0..out.columns.len()).collect();
    let (keep, widths, mut notes) = match width {
        None => (all, None, Vec::new()),
        Some(width) => {
            let natural: Vec<usize> = headers
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    cells
                        .iter()
                        .map(|r| text_width(&r[i]))
                        .fold(text_width(h), usize::max)
                })
                .collect();
            // A list's widest item, with the comma after it: lists wrap between items.
            let items: Vec<usize> = (0..out.columns.len())
                .map(|i| {
                    if out.columns[i].kind != Kind::List {
                        return 0;
                    }
                    cells
                        .iter()
                        .flat_map(|r| r[i].split(", ").map(|item| text_width(item) + 1))
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let plan = layout::plan(&out.columns, &natural, &items, width);
            if !plan.fits && !out.rows.is_empty() {
                write_records(out, &headers, &cells, width, w)?;
                return Ok(Vec::new());
            }
            let notes = left_out_note(out, &plan.left_out, width);
            (plan.keep, Some(plan.widths), notes)
        }
    };
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    // The layout is ours: comfy-table never wraps (it would split identifiers).
    table.set_content_arrangement(ContentArrangement::Disabled);
    table.set_header(keep.iter().map(|&i| headers[i].clone()));
    // Counts read best right-aligned.
    for (k, column) in table.column_iter_mut().enumerate() {
        if out
            .rows
            .first()
            .is_some_and(|r| matches!(r[keep[k]], Value::Count(_)))
        {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    // The columns whose long identifiers were shortened: said, as the left-out ones are.
    let mut shortened: Vec<&str> = Vec::new();
    for row in &cells {
        table.add_row(keep.iter().enumerate().map(|(k, &i)| match &widths {
            Some(widths) => {
                let column = &out.columns[i];
                let shaped = layout::shape(&row[i], column.fit, widths[k]);
                if column.fit == Fit::Elide && shaped != row[i] && !shortened.contains(&column.name)
                {
                    shortened.push(column.name);
                }
                shaped
            }
            None => row[i].clone(),
        }));
    }
    if let (false, Some(width)) = (shortened.is_empty(), width) {
        notes.push(format!(
            "{} shortened in the middle (…) to fit {width} columns (--wide or -o json for whole values)",
            shortened.join(", ")
        ));
    }
    writeln!(w, "{table}")?;
    if out.rows.is_empty() {
        writeln!(w, "(no matching events)")?;
    }
    write_footer(out, width, w)?;
    Ok(notes)
}

/// Rows as records, for a terminal too narrow for even the columns that are never left out: a
/// rule with the row's number, then one `name │ value` line per column (free text wrapped, long
/// identifiers shortened, to the width), then the footer.
fn write_records(
    out: &Rows,
    headers: &[String],
    cells: &[Vec<String>],
    width: usize,
    w: &mut impl Write,
) -> io::Result<()> {
    let name_width = headers.iter().map(|h| text_width(h)).max().unwrap_or(0);
    let value_width = width.saturating_sub(name_width + 3).max(layout::MIN_VALUE);
    for (n, row) in cells.iter().enumerate() {
        let title = format!("─[ {} ]", n + 1);
        let rule = width.saturating_sub(text_width(&title));
        writeln!(w, "{title}{}", "─".repeat(rule))?;
        for (i, text) in row.iter().enumerate() {
            let shaped = layout::shape(text, out.columns[i].fit, value_width);
            for (k, line) in shaped.lines().enumerate() {
                let name = if k == 0 { headers[i].as_str() } else { "" };
                writeln!(w, "{name:<name_width$} │ {line}")?;
            }
            if shaped.is_empty() {
                writeln!(w, "{:<name_width$} │", headers[i])?;
            }
        }
    }
    write_footer(out, Some(width), w)
}

/// The footer under the table, each line broken between its parts to fit `width` when given.
fn write_footer(out: &Rows, width: Option<usize>, w: &mut impl Write) -> io::Result<()> {
    for line in &out.footer {
        let line = escape_control(line);
        match width {
            Some(width) => {
                for part in layout::join_parts(&line, width) {
                    writeln!(w, "{part}")?;
                }
            }
            None => writeln!(w, "{line}")?,
        }
    }
    Ok(())
}

/// The note that names the columns left out to fit `width`, and how to see them.
fn left_out_note(out: &Rows, left_out: &[usize], width: usize) -> Vec<String> {
    if left_out.is_empty() {
        return Vec::new();
    }
    let names: Vec<&str> = left_out.iter().map(|&i| out.columns[i].name).collect();
    let n = names.len();
    vec![format!(
        "{n} column{} left out to fit {width} columns: {} (--wide shows every column, -o json every value)",
        if n == 1 { "" } else { "s" },
        names.join(", ")
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Column;

    fn render(rows: Vec<Vec<Value>>) -> String {
        render_at(rows, Some(200)).0
    }

    fn render_at(rows: Vec<Vec<Value>>, width: Option<usize>) -> (String, Vec<String>) {
        let out = Rows {
            columns: vec![
                Column::text("error_message").wrap().rank(4),
                Column::count("count"),
                Column::text("event_id").rank(8),
            ],
            rows: rows
                .into_iter()
                .map(|mut r| {
                    r.push(Value::Str("0a1b2c3d-4e5f-6789-abcd-ef0123456789".into()));
                    r
                })
                .collect(),
            footer: vec![],
            notes: vec![],
        };
        let mut buf = Vec::new();
        let notes = write(&out, width, &mut buf).unwrap();
        (String::from_utf8(buf).unwrap(), notes)
    }

    #[test]
    fn cells_are_escaped() {
        let table = render(vec![vec![
            Value::Str("a\u{1b}[31mred\r\nb\u{7}\u{9b}c\u{202e}d\te\u{7f}".into()),
            Value::Count(1),
        ]]);
        assert!(table.contains("a\\x1b[31mred\\r\\nb\\x07\\u{9b}c\\u{202e}d\\te\\x7f"));
        assert!(!table.contains('\u{1b}'));
    }

    #[test]
    fn long_cells_are_cut_to_the_cell_width() {
        let long = "word ".repeat(100_000);
        let table = render(vec![
            vec![Value::Str(long), Value::Count(7)],
            vec![Value::Str("short".into()), Value::Count(1)],
        ]);
        for line in table.lines() {
            assert!(line.chars().count() < CELL_WIDTH + 60, "{line}");
        }
        let first = table.lines().find(|l| l.contains("word")).unwrap();
        assert!(first.contains("word word…"), "{first}");
        // A list cell is cut as one text.
        assert_eq!(
            cell(&Value::List(vec!["x".repeat(200), "y".into()]), CELL_WIDTH)
                .chars()
                .count(),
            CELL_WIDTH
        );
        // To a pipe, a cell is cut only at the bound against hostile megabytes.
        let (piped, notes) = render_at(
            vec![vec![Value::Str("word ".repeat(100_000)), Value::Count(1)]],
            None,
        );
        assert!(notes.is_empty());
        let line = piped.lines().find(|l| l.contains("word")).unwrap();
        assert!(line.chars().count() > PIPED_CELL_WIDTH, "{}", line.len());
        assert!(line.chars().count() < PIPED_CELL_WIDTH + 60);
    }

    #[test]
    fn a_narrow_terminal_wraps_free_text_and_leaves_out_columns() {
        let rows = || {
            vec![vec![
                Value::Str("User is not authorized to perform ecr:GetAuthorizationToken".into()),
                Value::Count(3),
            ]]
        };
        let (wide, notes) = render_at(rows(), Some(120));
        assert!(notes.is_empty(), "{notes:?}");
        assert!(wide.contains("0a1b2c3d-4e5f-6789-abcd-ef0123456789"));
        assert_eq!(wide.lines().count(), 5, "{wide}");
        let (narrow, notes) = render_at(rows(), Some(40));
        assert_eq!(
            notes,
            vec![
                "1 column left out to fit 40 columns: event_id (--wide shows every column, -o json every value)"
            ]
        );
        assert!(!narrow.contains("0a1b2c3d"));
        for line in narrow.lines() {
            assert!(line.chars().count() <= 40, "{line}");
        }
        assert!(narrow.contains("User is not"), "{narrow}");
        assert!(narrow.lines().count() > 5, "wrapped: {narrow}");
    }

    #[test]
    fn a_shortened_identifier_is_said() {
        let out = Rows {
            columns: vec![
                Column::time("event_time").rank(0),
                Column::text("principal").elide().rank(0),
            ],
            rows: vec![vec![
                Value::Time(0),
                Value::Str("arn:aws:sts::111111111111:assumed-role/incident-responder/erin".into()),
            ]],
            footer: vec![],
            notes: vec![],
        };
        let mut buf = Vec::new();
        let notes = write(&out, Some(60), &mut buf).unwrap();
        let table = String::from_utf8(buf).unwrap();
        assert!(
            table.contains("arn:aws:…/incident-responder/erin"),
            "{table}"
        );
        assert_eq!(
            notes,
            vec![
                "principal shortened in the middle (…) to fit 60 columns (--wide or -o json for whole values)"
            ]
        );
        let mut buf = Vec::new();
        assert!(write(&out, Some(120), &mut buf).unwrap().is_empty());
    }

    #[test]
    fn counts_and_times_are_never_cut() {
        assert_eq!(
            cell(&Value::Count(u64::MAX), CELL_WIDTH),
            u64::MAX.to_string()
        );
        assert_eq!(cell(&Value::Time(0), CELL_WIDTH), "1970-01-01T00:00:00Z");
        assert_eq!(cell(&Value::Null, CELL_WIDTH), "");
    }
}
