//! The table view for people. CloudTrail fields such as `userAgent` and `errorMessage` are
//! attacker-controlled, so every cell goes through `crate::escape`: control, bidirectional and
//! invisible characters are written as visible escapes, never raw.

use std::io::{self, IsTerminal, Write};

use comfy_table::{CellAlignment, ContentArrangement, Table, presets};

use super::{Output, Value};
use crate::escape::escape_control;

pub fn write(out: &Output, w: &mut impl Write) -> io::Result<()> {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    // Wrap to the terminal's width only when a person is looking; piped output keeps one line
    // per row so that grep and diff work on it.
    if io::stdout().is_terminal() {
        table.set_content_arrangement(ContentArrangement::Dynamic);
    } else {
        table.set_content_arrangement(ContentArrangement::Disabled);
    }
    table.set_header(out.columns.iter().map(|c| escape_control(c).into_owned()));
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
        table.add_row(row.iter().map(|v| {
            v.text(", ")
                .map_or_else(String::new, |t| escape_control(&t).into_owned())
        }));
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
