//! The command line as the user types it: the options every command takes (`Common`), checked
//! into a `Config`, and the commands (each report's own options live in its module, `reports/`).

use std::num::NonZeroUsize;
use std::path::PathBuf;

mod fields;
pub mod parse;

use clap::{Args, Parser, Subcommand};

use crate::aws::{self, AwsSettings};
use crate::config::{AthenaSettings, Config, Engine};
use crate::ddl::AthenaCommand;
use crate::exit::{EXIT_CODES_HELP, UsageError};
use crate::filter::Filter;
use crate::render::Format;
use crate::reports;
use crate::source::SourceSpec;
use crate::source::layout::is_account_id;
use crate::source::s3::S3Settings;
use crate::time::arg::{DateArg, TimeArg};
use crate::time::{self, DAY, Micros, Window};

/// Answer questions about AWS CloudTrail logs in seconds, from S3 or from trail files on disk.
#[derive(Debug, Parser)]
#[command(
    name = "ctq",
    version,
    about,
    long_about = "Answer questions about AWS CloudTrail logs in seconds, from S3 or from trail files on disk.\n\n\
        ctq reads trail files (gzipped or not) in the S3 layout AWSLogs/…/CloudTrail/<region>/YYYY/MM/DD/, \
        straight from the bucket or from disk, skips the day folders a time window rules out, \
        parses every file in parallel and prints a ready-made report.",
    after_help = EXIT_CODES_HELP,
    after_long_help = EXIT_CODES_HELP,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes (before or after the command name).
#[derive(Debug, Args)]
pub struct Common {
    /// Where to read events: a folder (walked recursively), a file, - for standard input, or
    /// s3://BUCKET[/PREFIX]
    ///
    /// Repeat to read several. In a folder, files ending .json, .jsonl or .ndjson (each optionally
    /// .gz) are read; CloudTrail-Digest folders are skipped. A path named directly is read
    /// whatever its name and kind, as a stream if need be: a process substitution <(zcat …),
    /// /dev/stdin, a named pipe. With -s - at a terminal, ctq says on stderr that it is waiting
    /// (Ctrl-D ends the input), unless --quiet. Gzip is recognised by its content, not its name. In S3, only the day
    /// prefixes of the window are listed, under AWSLogs/ (organization trails included); without
    /// a time option an S3 source reads the last 24 hours.
    #[arg(
        short = 's',
        long = "source",
        value_name = "SOURCE",
        env = "CTQ_SOURCE",
        global = true,
        help_heading = "Source"
    )]
    pub sources: Vec<String>,

    /// Only events of this UTC day: YYYY-MM-DD, today or yesterday
    ///
    /// The same as --since DAY --until DAY+1; today and yesterday are UTC days. Day folders of
    /// other days are not read, except the next day's, which holds the events delivered after
    /// midnight.
    #[arg(long, value_name = "DAY", conflicts_with_all = ["since", "until"], global = true, help_heading = "Time window (UTC, half-open [since, until))")]
    pub date: Option<DateArg>,

    /// Only events at or after T: a date, a time, today, yesterday, a duration back (7d), @epoch
    ///
    /// The forms of T, with examples:
    ///   2024-09-05                  midnight UTC of that day
    ///   2024-09-05T10:00            UTC; seconds and a Z are optional (2024-09-05T10:00:30Z)
    ///   2024-09-05T12:00+02:00      with an offset, converted to UTC (10:00Z)
    ///   today, yesterday            midnight UTC of that day
    ///   now                         this moment (for --until)
    ///   90m, 12h, 7d, 2w, 1y, 1d12h a duration back from now, in s, m, h, d, w (7 days)
    ///                               and y (365 days); -7d and '7d ago' are the same as 7d
    ///   @1725494400                 seconds since 1970-01-01T00:00:00Z, as GNU date takes it
    #[arg(
        long,
        value_name = "T",
        allow_hyphen_values = true,
        verbatim_doc_comment,
        global = true,
        help_heading = "Time window (UTC, half-open [since, until))"
    )]
    pub since: Option<TimeArg>,

    /// Only events before T (same forms as --since: 2024-09-05T10:00, yesterday, 2h, @1725494400)
    #[arg(
        long,
        value_name = "T",
        allow_hyphen_values = true,
        global = true,
        help_heading = "Time window (UTC, half-open [since, until))"
    )]
    pub until: Option<TimeArg>,

    /// Only events whose recipientAccountId is ID (repeat for several)
    #[arg(
        long = "account",
        value_name = "ID",
        global = true,
        help_heading = "Filter"
    )]
    pub accounts: Vec<String>,

    /// Only events whose awsRegion is NAME (repeat for several); not the region of the API
    /// calls, which is --api-region
    #[arg(
        long = "region",
        value_name = "NAME",
        global = true,
        help_heading = "Filter"
    )]
    pub regions: Vec<String>,

    #[command(flatten)]
    pub fields: fields::FieldArgs,

    /// Output format
    ///
    /// table is for people: control and invisible characters are shown escaped, and on a
    /// terminal the table fits its width (see --width). json (one array of row objects), ndjson
    /// (one object per line) and csv (header, then rows; lists joined with ';') are for
    /// programs and carry every value whole. Field names are the column names shown in the
    /// table header. Any case: -o JSON.
    #[arg(short = 'o', long = "output", value_enum, ignore_case = true, default_value_t = Format::Table, global = true, help_heading = "Output")]
    pub output: Format,

    /// In CSV, write text cells exactly, even those that a spreadsheet would run as a formula
    ///
    /// By default a CSV text cell that starts with =, +, -, @, TAB or CR gets a leading ' so
    /// that spreadsheets show it as text instead of running it (OWASP's advice against CSV
    /// injection: fields such as errorMessage and userAgent are set by whoever made the
    /// request). Counts, times and booleans are never changed. Use --csv-raw when a program,
    /// not a spreadsheet, reads the CSV.
    #[arg(hide_short_help = true, long, global = true, help_heading = "Output")]
    pub csv_raw: bool,

    /// Fit tables to N columns [default: the terminal's width]
    ///
    /// On a terminal, tables are fitted to its width (COLUMNS overrides it): identifiers (times,
    /// account ids, IPs, event ids) stay whole, free text such as user agents is wrapped onto a
    /// few lines, long ARNs are shortened in the middle with …, and the least important columns
    /// are left out, named on stderr. A table written to a pipe or a file is not fitted: every
    /// column, one line per row. 0 fits nothing.
    #[arg(hide_short_help = true, long, value_name = "N", value_parser = crate::render::parse_width, global = true, help_heading = "Output")]
    pub width: Option<usize>,

    /// Show every column of a table, one line per row, whatever the terminal's width
    #[arg(
        hide_short_help = true,
        long,
        global = true,
        conflicts_with = "width",
        help_heading = "Output"
    )]
    pub wide: bool,

    /// Worker threads for decompression and parsing [default: all cores]
    #[arg(hide_short_help = true, long, value_name = "N", value_parser = at_least_one("--threads"), global = true, help_heading = "Output")]
    pub threads: Option<NonZeroUsize>,

    /// The most JSON one input may hold once decompressed [default: 4G]
    ///
    /// An input past it is skipped and named, as is a gzip input that inflates more than 1000
    /// times (no real log does; a decompression bomb does). Whitespace counts. A number of bytes
    /// with an optional unit: 512M, 4G, 8GiB, 10000000.
    #[arg(hide_short_help = true, long, value_name = "SIZE", value_parser = crate::decode::parse_size, global = true, help_heading = "Source")]
    pub max_decompressed_size: Option<u64>,

    /// No progress line on stderr (it is shown only on a terminal anyway)
    #[arg(
        hide_short_help = true,
        short = 'q',
        long,
        global = true,
        help_heading = "Output"
    )]
    pub quiet: bool,

    /// After the report, print on stderr what was read: objects listed, skipped, read, failed;
    /// bytes; events; per account and region. Every warning is printed (without it, 20 of each
    /// kind)
    #[arg(hide_short_help = true, long, global = true, help_heading = "Output")]
    pub stats: bool,

    /// Also verify the log files the report reads against the trail's signed digest files, as
    /// `ctq verify` does: a one-line verdict on stderr, exit code 4 on a problem
    #[arg(hide_short_help = true, long, global = true, help_heading = "Source")]
    pub verify: bool,

    /// Exit with code 4 when the report has no rows, for scripts: `if ! ctq root-activity
    /// --fail-on-empty …; then` (an empty report exits 0 otherwise: "nobody used root" is an
    /// answer)
    #[arg(hide_short_help = true, long, global = true, help_heading = "Output")]
    pub fail_on_empty: bool,

    /// The AWS profile for S3 sources, Athena and `athena ddl` [default: the standard chain:
    /// environment, AWS_PROFILE, shared config and credentials files, SSO, container and
    /// instance roles]
    #[arg(
        hide_short_help = true,
        long,
        value_name = "NAME",
        global = true,
        help_heading = "AWS"
    )]
    pub profile: Option<String>,

    /// The region of the AWS API calls (S3, Athena), not a filter on events: see --region
    ///
    /// Default: AWS_REGION, then AWS_DEFAULT_REGION, then the profile's region, as aws-cli
    /// does. An S3 bucket is reached in its own region whatever this says; Athena runs in this
    /// one, which must be the region of the table and workgroup.
    #[arg(hide_short_help = true, long, visible_alias = "aws-region", value_name = "NAME", value_parser = aws::settings::parse_region, global = true, help_heading = "AWS")]
    pub api_region: Option<String>,

    /// Send S3 requests to this S3-compatible server, with path-style addressing (the standard
    /// AWS_ENDPOINT_URL works too)
    ///
    /// An http:// or https:// URL with a host and an optional port: http://localhost:9000.
    #[arg(hide_short_help = true, long, value_name = "URL", value_parser = aws::settings::parse_endpoint_url, global = true, help_heading = "AWS")]
    pub endpoint_url: Option<String>,

    /// Seconds to wait for a connection to AWS before the attempt fails; 0 waits for ever
    /// [default: 5]
    ///
    /// As aws-cli's --cli-connect-timeout (whose default is 60). A refused connection or an
    /// unknown host fails at once, without retries; a connection that times out is retried.
    #[arg(hide_short_help = true, long, value_name = "SECONDS", value_parser = aws::settings::parse_connect_timeout, default_value = "5", hide_default_value = true, global = true, help_heading = "AWS")]
    pub connect_timeout: aws::Timeout,

    /// Seconds to wait for AWS to send anything (an answer, or the next bytes of a download)
    /// before the attempt fails and is retried; 0 waits for ever [default: 30]
    ///
    /// As aws-cli's --cli-read-timeout (whose default is 60). A download that stalls is tried
    /// 3 times, then the object is skipped and named.
    #[arg(hide_short_help = true, long, value_name = "SECONDS", value_parser = aws::settings::parse_read_timeout, default_value = "30", hide_default_value = true, env = "CTQ_READ_TIMEOUT", global = true, help_heading = "AWS")]
    pub read_timeout: aws::Timeout,

    /// Print on stderr what the AWS clients do: where the credentials and the region came from,
    /// each request (operation, method, URI, HTTP status, attempts, time) and the SDK's own log
    ///
    /// Never a secret key or session token: they are replaced by ** redacted **, and the access
    /// key id is shown by its last 4 characters. The SDK's log is filtered by CTQ_LOG (or
    /// RUST_LOG), targets and levels such as aws_config=debug,aws_smithy_runtime=debug,warn;
    /// it never goes past debug, because at trace the SDK logs whole responses, and those of
    /// STS, SSO and instance metadata hold the keys they hand out.
    #[arg(hide_short_help = true, long, global = true, help_heading = "AWS")]
    pub debug: bool,

    /// How many S3 objects to download at once [default: adaptive]
    ///
    /// By default ctq finds the number itself: it starts at 64, doubles while the downloads get
    /// faster, up to 512, and backs off when S3 asks it to slow down (503 SlowDown) or a
    /// download breaks off. N pins it, and also caps the listings in flight (64 otherwise).
    /// --stats says what it reached.
    #[arg(hide_short_help = true, long, value_name = "N", value_parser = at_least_one("--concurrency"), global = true, help_heading = "AWS")]
    pub concurrency: Option<NonZeroUsize>,

    /// The most bytes of S3 objects in flight at once, whatever the concurrency [default: 256M]
    ///
    /// Each download counts its size (a body past 64 MiB waits on disk, not in memory); one
    /// object larger than this is still downloaded, alone. A number of bytes with an optional
    /// unit: 64M, 1G.
    #[arg(hide_short_help = true, long, value_name = "SIZE", value_parser = crate::decode::parse_size, global = true, help_heading = "AWS")]
    pub max_inflight_bytes: Option<u64>,

    /// Keep the S3 objects and listings read in DIR, so that the next question over the same
    /// past window makes no request [default DIR: ~/.cache/ctq]
    ///
    /// Off unless asked for: --cache, --cache=DIR, or CTQ_CACHE=DIR (CTQ_CACHE=1 for the
    /// default folder). Objects are kept as S3 sent them and used only with the ETag listed;
    /// the listing of a day folder is used once the day has ended for 2 hours, when no more
    /// can be delivered to it. A damaged entry is named, dropped and downloaded again. The
    /// logs are sensitive: the folder is yours to protect. `ctq cache info` and `ctq cache
    /// clear` manage it.
    #[arg(hide_short_help = true, long, value_name = "DIR", num_args = 0..=1, require_equals = true, default_missing_value = "", global = true, help_heading = "AWS")]
    pub cache: Option<PathBuf>,

    /// Read and write no cache, whatever CTQ_CACHE says
    #[arg(
        hide_short_help = true,
        long,
        global = true,
        conflicts_with = "cache",
        help_heading = "AWS"
    )]
    pub no_cache: bool,

    /// The most the cache may hold; past it, the least recently used entries go [default: 10G]
    #[arg(hide_short_help = true, long, value_name = "SIZE", value_parser = crate::decode::parse_size, global = true, help_heading = "AWS")]
    pub cache_size: Option<u64>,

    /// Where the report runs: here (local: read the logs from --source), or on Amazon Athena
    /// (athena: one SQL query over the table that `ctq athena ddl` defines)
    ///
    /// With athena, --source is not read: the table names the bucket. The rows, columns and
    /// output formats are the same. Without a time option, the last 24 hours are queried.
    #[arg(hide_short_help = true, long, value_enum, ignore_case = true, default_value_t = Engine::Local, env = "CTQ_ENGINE", global = true, help_heading = "Athena")]
    pub engine: Engine,

    /// The Athena table to query
    #[arg(
        hide_short_help = true,
        long,
        value_name = "NAME",
        default_value = "cloudtrail_logs",
        env = "CTQ_ATHENA_TABLE",
        global = true,
        help_heading = "Athena"
    )]
    pub athena_table: String,

    /// The Glue database of the table
    #[arg(
        hide_short_help = true,
        long,
        value_name = "NAME",
        default_value = "default",
        env = "CTQ_ATHENA_DATABASE",
        global = true,
        help_heading = "Athena"
    )]
    pub athena_database: String,

    /// The Athena workgroup to run in
    #[arg(
        hide_short_help = true,
        long,
        value_name = "NAME",
        default_value = "primary",
        env = "CTQ_ATHENA_WORKGROUP",
        global = true,
        help_heading = "Athena"
    )]
    pub athena_workgroup: String,

    /// Where Athena writes query results, s3://BUCKET/PREFIX/ [default: the workgroup's]
    #[arg(
        hide_short_help = true,
        long,
        value_name = "S3_URL",
        env = "CTQ_ATHENA_OUTPUT",
        global = true,
        help_heading = "Athena"
    )]
    pub athena_output: Option<String>,

    /// Print the report's Athena query and exit without running it (implies --engine athena)
    #[arg(hide_short_help = true, long, global = true, help_heading = "Athena")]
    pub print_sql: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(flatten)]
    Report(reports::Command),
    /// When one machine is not enough: set up Amazon Athena for the trail
    #[command(subcommand)]
    Athena(AthenaCommand),
    /// Print a completion script for SHELL on stdout
    ///
    /// bash: ctq completions bash > ~/.local/share/bash-completion/completions/ctq
    /// zsh: ctq completions zsh > "${fpath[1]}/_ctq"
    /// fish: ctq completions fish > ~/.config/fish/completions/ctq.fish
    Completions {
        #[arg(value_enum, ignore_case = true)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout: ctq man > ~/.local/share/man/man1/ctq.1
    Man,
    /// Check that the window's log files are complete and untampered (signed digest files)
    #[command(long_about = crate::verify::LONG_ABOUT)]
    Verify(crate::verify::VerifyArgs),
    /// What the S3 cache holds (--cache), or empty it
    #[command(subcommand)]
    Cache(crate::cache::CacheCommand),
}

impl Common {
    /// The cache folder `ctq cache` works on: --cache=DIR, else CTQ_CACHE, else the default.
    pub fn cache_folder(&self) -> Result<std::path::PathBuf, UsageError> {
        let default = crate::cache::default_dir();
        let env = std::env::var_os("CTQ_CACHE").filter(|v| !v.is_empty() && v != "0");
        cache_folder(self.cache.clone(), env, default.clone())?
            .or(default)
            .ok_or_else(|| UsageError("no cache folder: give one with --cache=DIR".into()))
    }
}

/// The cache folder of `--cache[=DIR]` (an empty DIR: the default one) or, without it, of
/// CTQ_CACHE (`1`: the default folder; empty or `0`: none).
fn cache_folder(
    option: Option<PathBuf>,
    env: Option<std::ffi::OsString>,
    default: Option<PathBuf>,
) -> Result<Option<PathBuf>, UsageError> {
    let wanted = match (option, env) {
        (Some(dir), _) => Some(dir),
        (None, Some(v)) if v.is_empty() || v == "0" => None,
        (None, Some(v)) if v == "1" => Some(PathBuf::new()),
        (None, Some(v)) => Some(PathBuf::from(v)),
        (None, None) => None,
    };
    match wanted {
        Some(dir) if dir.as_os_str().is_empty() => default.map(Some).ok_or_else(|| {
            UsageError("--cache: no HOME or XDG_CACHE_HOME to find the default folder in; give one with --cache=DIR".into())
        }),
        other => Ok(other),
    }
}

/// A value parser for a count that must be at least 1, with the error in words.
fn at_least_one(option: &'static str) -> impl Fn(&str) -> Result<NonZeroUsize, String> + Clone {
    move |s: &str| {
        s.trim()
            .parse::<usize>()
            .ok()
            .and_then(NonZeroUsize::new)
            .ok_or_else(|| format!("{option} must be a whole number, at least 1"))
    }
}

impl Common {
    /// The settings, validated: `now` is taken once for the run; `is_ddl` says the command is
    /// `athena ddl`, which runs no report, so never on Athena; `reads_events` is false for a
    /// command that needs no source (`detect --list-rules`).
    pub fn config(
        self,
        now: Micros,
        is_ddl: bool,
        reads_events: bool,
    ) -> Result<Config, UsageError> {
        let c = self;
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
        if c.sources.is_empty() && !on_athena && reads_events {
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
        if c.verify && on_athena {
            return Err(UsageError(
                "--verify checks the files themselves, so it runs on this machine, not with --engine athena: run ctq verify for the same window".into(),
            ));
        }
        if c.verify && sources.contains(&SourceSpec::Stdin) {
            return Err(UsageError(
                "--verify needs the trail's folders or S3 (digests name files by their keys), not standard input".into(),
            ));
        }
        let mut window = match c.date.map(|d| d.resolve(now)) {
            Some(day) => Window {
                since: Some(day * DAY),
                until: Some((day + 1) * DAY),
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
            if !is_account_id(a) {
                return Err(UsageError(format!(
                    "--account '{a}' is not an AWS account id (12 digits, for example 123456789012)"
                )));
            }
        }
        let cache_dir = if c.no_cache {
            None
        } else {
            cache_folder(
                c.cache,
                std::env::var_os("CTQ_CACHE"),
                crate::cache::default_dir(),
            )?
        };
        let aws = AwsSettings {
            profile: c.profile,
            region: c.api_region,
            connect_timeout: c.connect_timeout,
            read_timeout: c.read_timeout,
            debug: c.debug,
        };
        Ok(Config {
            sources,
            filter: Filter {
                window,
                accounts: c.accounts,
                regions: c.regions,
                fields: c.fields.into_fields(),
            },
            format: c.output,
            csv_raw: c.csv_raw,
            width: crate::render::table_width(c.width, c.wide),
            threads: c.threads,
            max_json: c
                .max_decompressed_size
                .unwrap_or(crate::decode::DEFAULT_MAX_JSON),
            s3: S3Settings {
                aws: aws.clone(),
                endpoint_url: c.endpoint_url,
                concurrency: c.concurrency.map(NonZeroUsize::get),
                max_inflight_bytes: c
                    .max_inflight_bytes
                    .unwrap_or(crate::source::s3::gate::DEFAULT_MAX_BYTES),
                cache: cache_dir
                    .map(|dir| (dir, c.cache_size.unwrap_or(crate::cache::DEFAULT_SIZE))),
            },
            default_window,
            quiet: c.quiet,
            stats: c.stats,
            verify: c.verify,
            fail_on_empty: c.fail_on_empty,
            now,
            engine,
            athena: AthenaSettings {
                database: c.athena_database,
                table: c.athena_table,
                workgroup: c.athena_workgroup,
                output: c.athena_output,
                aws,
            },
            print_sql: c.print_sql,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
