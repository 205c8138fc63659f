//! The table view for people. CloudTrail fields such as `userAgent` and `errorMessage` are
//! attacker-controlled, so every cell goes through `crate::escape` (control, bidirectional and
//! invisible characters shown as visible escapes, never raw) and is cut to `CELL_WIDTH` columns
//! before comfy-table sees it: a cell of megabytes costs no more than a short one, and the full
//! value stays in JSON and CSV.

use std::io::{self, IsTerminal, Write};

use comfy_table::{CellAlignment, ContentArrangement, Table, presets};

use super::style::CELL_WIDTH;
use crate::document::{Rows, Value};
use crate::escape::{escape_control, escape_truncated};

/// A cell as the table shows it: escaped, at most `CELL_WIDTH` columns, empty for null.
pub(super) fn cell(v: &Value) -> String {
    v.text(", ")
        .map_or_else(String::new, |t| escape_truncated(&t, CELL_WIDTH))
}

pub fn write(out: &Rows, w: &mut impl Write) -> io::Result<()> {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    // Wrap to the terminal's width only when a person is looking; piped output keeps one line
    // per row so that grep and diff work on it.
    if io::stdout().is_terminal() {
        table.set_content_arrangement(ContentArrangement::Dynamic);
    } else {
        table.set_content_arrangement(ContentArrangement::Disabled);
    }
    table.set_header(
        out.columns
            .iter()
            .map(|c| escape_control(c.name).into_owned()),
    );
    // Counts read best right-aligned.
    for (i, column) in table.column_iter_mut().enumerate() {
        if out
            .rows
            .first()
            .is_some_and(|r| matches!(r[i], Value::Count(_)))
        {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    for row in &out.rows {
        table.add_row(row.iter().map(cell));
    }
    if out.rows.is_empty() {
        writeln!(w, "{table}")?;
        writeln!(w, "(no matching events)")?;
    } else {
        writeln!(w, "{table}")?;
    }
    for line in &out.footer {
        writeln!(w, "{}", escape_control(line))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Column;

    fn render(rows: Vec<Vec<Value>>) -> String {
        let out = Rows {
            columns: vec![Column::text("error_message"), Column::count("count")],
            rows,
            footer: vec![],
        };
        let mut buf = Vec::new();
        write(&out, &mut buf).unwrap();
        String::from_utf8(buf).unwrap()
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
            assert!(line.chars().count() < CELL_WIDTH + 20, "{line}");
        }
        let first = table.lines().find(|l| l.contains("word")).unwrap();
        assert!(first.contains("word word…"), "{first}");
        // A list cell is cut as one text.
        assert_eq!(
            cell(&Value::List(vec!["x".repeat(200), "y".into()]))
                .chars()
                .count(),
            CELL_WIDTH
        );
    }

    #[test]
    fn counts_and_times_are_never_cut() {
        assert_eq!(cell(&Value::Count(u64::MAX)), u64::MAX.to_string());
        assert_eq!(cell(&Value::Time(0)), "1970-01-01T00:00:00Z");
        assert_eq!(cell(&Value::Null), "");
    }
}
