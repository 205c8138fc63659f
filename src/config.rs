//! The settings every command shares, validated once from the command line (`cli::Common`).
//! A report's own options stay with the report (`reports/`).

use std::num::NonZeroUsize;

use clap::ValueEnum;

use crate::aws::AwsSettings;
use crate::filter::Filter;
use crate::render::{self, Format};
use crate::source::SourceSpec;
use crate::source::s3::S3Settings;
use crate::time::Micros;

/// Where a report runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// Read the logs here, from --source
    Local,
    /// One SQL query on Amazon Athena
    Athena,
}

/// Where and how to run Athena queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AthenaSettings {
    pub database: String,
    pub table: String,
    pub workgroup: String,
    /// `s3://…` for query results; None takes the workgroup's.
    pub output: Option<String>,
    pub aws: AwsSettings,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub sources: Vec<SourceSpec>,
    pub filter: Filter,
    pub format: Format,
    /// `--csv-raw`: CSV text cells exactly, not guarded against formula injection.
    pub csv_raw: bool,
    /// The width tables are fitted to (`render::table_width`); None: every column, one line
    /// per row.
    pub width: Option<usize>,
    pub threads: Option<NonZeroUsize>,
    /// `--max-decompressed-size`: the most JSON bytes one input may hold.
    pub max_json: u64,
    pub s3: S3Settings,
    /// The window was not given and S3 sources read the last 24 hours (said on stderr).
    pub default_window: bool,
    pub quiet: bool,
    pub stats: bool,
    /// `--verify`: the files the report reads are verified against the trail's digests.
    pub verify: bool,
    /// `--fail-on-empty`: exit 4 when the report has no rows.
    pub fail_on_empty: bool,
    /// "Now", taken once, for durations and the default window.
    pub now: Micros,
    pub engine: Engine,
    pub athena: AthenaSettings,
    /// Print the Athena query instead of running it.
    pub print_sql: bool,
}

impl Config {
    /// How the report is written.
    pub fn style(&self) -> render::Style {
        render::Style {
            format: self.format,
            csv_raw: self.csv_raw,
            width: self.width,
        }
    }

    /// The `s3://BUCKET[/PREFIX]` sources, as (bucket, prefix).
    pub fn s3_sources(&self) -> Vec<(&str, &str)> {
        self.sources
            .iter()
            .filter_map(|s| match s {
                SourceSpec::S3 { bucket, prefix } => Some((bucket.as_str(), prefix.as_str())),
                _ => None,
            })
            .collect()
    }
}
