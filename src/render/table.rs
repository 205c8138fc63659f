//! The table view for people. CloudTrail fields such as `userAgent` and `errorMessage` are
//! attacker-controlled, so control characters (and the bidirectional overrides that reorder what
//! a terminal shows) are written as visible escapes, never raw.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};

use comfy_table::{CellAlignment, ContentArrangement, Table, presets};

use super::{Output, Value};

/// `\x1b`, `\r`, `\n`, `\t`, `\u{9b}`, `\u{202e}` … instead of the raw character.
pub fn escape_control(s: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) && (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

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
    table.set_header(out.columns.iter().copied());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(escape_control("curl/8.0"), "curl/8.0");
        assert_eq!(
            escape_control("a\u{1b}[31mred\r\nb\u{7}\u{9b}c\u{202e}d\te\u{7f}"),
            "a\\x1b[31mred\\r\\nb\\x07\\u{9b}c\\u{202e}d\\te\\x7f"
        );
    }
}
