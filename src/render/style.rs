//! How a document is to be written: the format of `-o`, the CSV guard, the table's cell width.

use clap::ValueEnum;

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

/// How a document is written: the format, and whether CSV keeps text cells exactly
/// (`--csv-raw`) instead of guarding those that start like a formula.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub format: Format,
    pub csv_raw: bool,
}
