//! Validated settings, built once from the command line. Nothing below `lib.rs` sees clap.

use std::num::NonZeroUsize;

use crate::athena::client::AthenaSettings;
use crate::cli::{Cli, Command, Engine};
use crate::exit::UsageError;
use crate::filter::Filter;
use crate::render::{self, Format};
use crate::reports::events::{Columns, EventFilters};
use crate::source::SourceSpec;
use crate::source::s3::S3Settings;
use crate::time::{self, DAY, Micros, Window};

/// Which report to run, with its own options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportSpec {
    StsEndpoints {
        details: bool,
    },
    RootActivity {
        details: bool,
    },
    Errors {
        top: Option<usize>,
    },
    WhoTouchedBucket {
        bucket: String,
        details: bool,
    },
    Events {
        filters: Box<EventFilters>,
        columns: Columns,
        oldest_first: bool,
        limit: Option<usize>,
    },
    ConsoleLogins {
        failures: bool,
        no_mfa: bool,
    },
    NetworkActivity {
        vpces: Vec<String>,
        denied: bool,
    },
    Summary {
        top: Option<usize>,
    },
    AthenaDdl {
        table: String,
        database: String,
        event_folder: String,
        organization: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub sources: Vec<SourceSpec>,
    pub filter: Filter,
    pub format: Format,
    /// `--csv-raw`: CSV text cells exactly, not guarded against formula injection.
    pub csv_raw: bool,
    pub threads: Option<NonZeroUsize>,
    /// `--max-decompressed-size`: the most JSON bytes one input may hold.
    pub max_json: u64,
    pub report: ReportSpec,
    pub s3: S3Settings,
    /// The window was not given and S3 sources read the last 24 hours (said on stderr).
    pub default_window: bool,
    pub quiet: bool,
    pub stats: bool,
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

    pub fn from_cli(cli: Cli, now: Micros) -> Result<Config, UsageError> {
        let c = cli.common;
        let is_ddl = matches!(cli.command, Command::Athena(_));
        let engine = if is_ddl {
            Engine::Local
        } else if c.print_sql {
            Engine::Athena
        } else {
            c.engine
        };
        let on_athena = engine == Engine::Athena;
        if let Some(out) = &c.athena_output
            && !out.starts_with("s3://")
        {
            return Err(UsageError(format!(
                "--athena-output '{out}' is not an S3 location: give s3://BUCKET/PREFIX/"
            )));
        }
        if c.sources.is_empty() && !on_athena {
            return Err(UsageError(
                "no source given: pass --source with a folder, a file, - for standard input or \
                 s3://BUCKET[/PREFIX] (or set CTQ_SOURCE)"
                    .into(),
            ));
        }
        let mut sources = Vec::new();
        for s in &c.sources {
            let spec = SourceSpec::parse(s).map_err(UsageError)?;
            if !sources.contains(&spec) {
                sources.push(spec);
            }
        }
        let mut window = match c.date {
            Some(day) => Window {
                since: Some(day.0 * DAY),
                until: Some((day.0 + 1) * DAY),
            },
            None => Window {
                since: c.since.map(|t| t.resolve(now)),
                until: c.until.map(|t| t.resolve(now)),
            },
        };
        // Athena, like S3, never reads a whole trail by default.
        let any_s3 = on_athena || sources.iter().any(|s| matches!(s, SourceSpec::S3 { .. }));
        let mut default_window = false;
        if any_s3 && window.since.is_none() {
            if window.until.is_some() {
                return Err(UsageError(
                    "an S3 source or --engine athena needs --since (or --date) with --until: \
                     reading a whole bucket is never a default"
                        .into(),
                ));
            }
            window.since = Some(now - DAY);
            default_window = true;
        }
        if let (Some(s), Some(u)) = (window.since, window.until)
            && s >= u
        {
            return Err(UsageError(format!(
                "the time window is empty: --since {} is not before --until {}",
                time::format_time(s),
                time::format_time(u)
            )));
        }
        for a in &c.accounts {
            if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                return Err(UsageError(format!(
                    "--account '{a}' is not an AWS account id (12 digits, for example 123456789012)"
                )));
            }
        }
        let report = match cli.command {
            Command::StsEndpoints { details } => ReportSpec::StsEndpoints { details },
            Command::RootActivity { details } => ReportSpec::RootActivity { details },
            Command::Errors { top } => ReportSpec::Errors {
                top: (top > 0).then_some(top),
            },
            Command::WhoTouchedBucket { bucket, details } => {
                if bucket.is_empty()
                    || bucket.starts_with("arn:")
                    || bucket.starts_with("s3://")
                    || bucket.contains('/')
                {
                    return Err(UsageError(format!(
                        "'{bucket}' is not a bucket name: give the name alone, for example my-bucket"
                    )));
                }
                ReportSpec::WhoTouchedBucket { bucket, details }
            }
            Command::Events(a) => {
                let a = *a;
                for f in &a.fields {
                    if f.is_empty() || f.split('.').any(str::is_empty) {
                        return Err(UsageError(format!(
                            "--fields: '{f}' is not a field path (use dotted CloudTrail names, for example userIdentity.arn)"
                        )));
                    }
                }
                let columns = if a.raw {
                    Columns::Raw
                } else if a.fields.is_empty() {
                    Columns::Default
                } else {
                    Columns::Fields(a.fields)
                };
                let filters = Box::new(EventFilters {
                    users: a.users,
                    principals: a.principals,
                    access_keys: a.access_keys,
                    event_names: a.event_names,
                    event_sources: a.event_sources,
                    source_ips: a.source_ips,
                    buckets: a.buckets,
                    vpces: a.vpces,
                    error_codes: a.error_codes,
                    errors_only: a.errors,
                    read_only: if a.read_only {
                        Some(true)
                    } else if a.write {
                        Some(false)
                    } else {
                        None
                    },
                    categories: a.categories.iter().map(|c| c.name().to_string()).collect(),
                });
                ReportSpec::Events {
                    filters,
                    columns,
                    oldest_first: a.oldest_first,
                    limit: a.limit.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
                }
            }
            Command::ConsoleLogins { failures, no_mfa } => {
                ReportSpec::ConsoleLogins { failures, no_mfa }
            }
            Command::NetworkActivity { vpces, denied } => {
                ReportSpec::NetworkActivity { vpces, denied }
            }
            Command::Athena(crate::cli::AthenaCommand::Ddl {
                table,
                database,
                event_folder,
                organization,
            }) => ReportSpec::AthenaDdl {
                table,
                database,
                event_folder,
                organization,
            },
            Command::Summary { top } => ReportSpec::Summary {
                top: (top > 0).then_some(top),
            },
        };
        Ok(Config {
            sources,
            filter: Filter {
                window,
                accounts: c.accounts,
                regions: c.regions,
            },
            format: c.output,
            csv_raw: c.csv_raw,
            threads: c.threads,
            max_json: c
                .max_decompressed_size
                .unwrap_or(crate::decode::DEFAULT_MAX_JSON),
            report,
            s3: S3Settings {
                profile: c.profile.clone(),
                endpoint_url: c.endpoint_url,
                concurrency: c.concurrency.get(),
            },
            default_window,
            quiet: c.quiet,
            stats: c.stats,
            now,
            engine,
            athena: AthenaSettings {
                database: c.athena_database,
                table: c.athena_table,
                workgroup: c.athena_workgroup,
                output: c.athena_output,
                profile: c.profile.clone(),
            },
            print_sql: c.print_sql,
        })
    }
}
