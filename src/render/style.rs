//! How a document is to be written: the format of `-o`, the CSV guard, the table's width.

use clap::ValueEnum;

/// The widest a table cell is shown on a terminal, in columns; longer text ends with `…`.
pub const CELL_WIDTH: usize = 120;

/// The widest a table cell is written to a pipe (or with `--wide`): every real value fits; the
/// bound is against a hostile field of megabytes. JSON and CSV keep every value whole.
pub const PIPED_CELL_WIDTH: usize = 4096;

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

/// How a document is written: the format, and whether CSV keeps text cells exactly
/// (`--csv-raw`) instead of guarding those that start like a formula.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub format: Format,
    pub csv_raw: bool,
    /// The terminal width a table is fitted to; None for a pipe or `--wide` (every column, one
    /// line per row).
    pub width: Option<usize>,
}

/// The narrowest `--width` a table is fitted to; a terminal narrower than this gets it anyway.
pub const MIN_WIDTH: usize = 20;

/// The width tables are fitted to: `--width` when given (0: no fitting), none with `--wide` or
/// when stdout is not a terminal, else `COLUMNS` when it holds a number, else the terminal's own
/// width, else 80.
pub fn table_width(width: Option<usize>, wide: bool) -> Option<usize> {
    use std::io::IsTerminal;
    if wide {
        return None;
    }
    if let Some(w) = width {
        return (w > 0).then_some(w.max(MIN_WIDTH));
    }
    let stdout = std::io::stdout();
    if !stdout.is_terminal() {
        return None;
    }
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0);
    let detected = || terminal_size::terminal_size_of(&stdout).map(|(w, _)| usize::from(w.0));
    Some(
        columns
            .or_else(detected)
            .unwrap_or(80)
            .clamp(MIN_WIDTH, 10_000),
    )
}

/// `--width`: a number of columns, at least `MIN_WIDTH`, or 0 for no fitting.
pub fn parse_width(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Ok(0),
        Ok(n) if (MIN_WIDTH..=10_000).contains(&n) => Ok(n),
        _ => Err(format!(
            "--width must be a number of columns from {MIN_WIDTH} to 10000, or 0 to fit nothing"
        )),
    }
}
