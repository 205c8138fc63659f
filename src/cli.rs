//! The command line as the user types it (clap definitions only; see `config` for what the
//! program uses).

use std::num::NonZeroUsize;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::exit::EXIT_CODES_HELP;
use crate::net::IpNet;
use crate::render::Format;
use crate::time::{DateArg, TimeArg};

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
    /// .gz) are read; CloudTrail-Digest folders are skipped. A file named directly is read
    /// whatever its name. Gzip is recognised by its content, not its name. In S3, only the day
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

    /// Only events of this UTC day, YYYY-MM-DD
    ///
    /// The same as --since DAY --until DAY+1. Day folders of other days are not read, except the
    /// next day's, which holds the events delivered after midnight.
    #[arg(long, value_name = "DAY", conflicts_with_all = ["since", "until"], global = true, help_heading = "Time window (UTC, half-open [since, until))")]
    pub date: Option<DateArg>,

    /// Only events at or after T: a date, an RFC 3339 time, or a duration back from now (90m, 12h, 7d)
    ///
    /// Examples: 2024-09-05 (midnight UTC), 2024-09-05T10:00:00Z, 2024-09-05T12:00:00+02:00
    /// (converted to UTC), 90m, 12h, 7d, 2w, 1d12h.
    #[arg(
        long,
        value_name = "T",
        global = true,
        help_heading = "Time window (UTC, half-open [since, until))"
    )]
    pub since: Option<TimeArg>,

    /// Only events before T (same forms as --since)
    #[arg(
        long,
        value_name = "T",
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

    /// Only events whose awsRegion is NAME (repeat for several)
    #[arg(
        long = "region",
        value_name = "NAME",
        global = true,
        help_heading = "Filter"
    )]
    pub regions: Vec<String>,

    /// Output format
    ///
    /// table is for people: control and invisible characters are shown escaped and cells are
    /// cut to 120 columns. json (one array of row objects), ndjson (one object per line) and
    /// csv (header, then rows; lists joined with ';') are for programs and carry every value
    /// whole. Field names are the column names shown in the table header.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table, global = true, help_heading = "Output")]
    pub output: Format,

    /// In CSV, write text cells exactly, even those that a spreadsheet would run as a formula
    ///
    /// By default a CSV text cell that starts with =, +, -, @, TAB or CR gets a leading ' so
    /// that spreadsheets show it as text instead of running it (OWASP's advice against CSV
    /// injection: fields such as errorMessage and userAgent are set by whoever made the
    /// request). Counts, times and booleans are never changed. Use --csv-raw when a program,
    /// not a spreadsheet, reads the CSV.
    #[arg(long, global = true, help_heading = "Output")]
    pub csv_raw: bool,

    /// Worker threads for decompression and parsing [default: all cores]
    #[arg(long, value_name = "N", global = true, help_heading = "Output")]
    pub threads: Option<NonZeroUsize>,

    /// The most JSON one input may hold once decompressed [default: 4G]
    ///
    /// An input past it is skipped and named, as is a gzip input that inflates more than 1000
    /// times (no real log does; a decompression bomb does). Whitespace counts. A number of bytes
    /// with an optional unit: 512M, 4G, 8GiB, 10000000.
    #[arg(long, value_name = "SIZE", value_parser = crate::decode::parse_size, global = true, help_heading = "Source")]
    pub max_decompressed_size: Option<u64>,

    /// No progress line on stderr (it is shown only on a terminal anyway)
    #[arg(short = 'q', long, global = true, help_heading = "Output")]
    pub quiet: bool,

    /// After the report, print on stderr what was read: objects listed, skipped, read, failed;
    /// bytes; events; per account and region
    #[arg(long, global = true, help_heading = "Output")]
    pub stats: bool,

    /// The AWS profile to use for S3 sources (default: the standard chain: environment,
    /// AWS_PROFILE, shared config and credentials files, SSO, container and instance roles)
    #[arg(long, value_name = "NAME", global = true, help_heading = "AWS")]
    pub profile: Option<String>,

    /// Send S3 requests to this S3-compatible server, with path-style addressing (the standard
    /// AWS_ENDPOINT_URL works too)
    #[arg(long, value_name = "URL", global = true, help_heading = "AWS")]
    pub endpoint_url: Option<String>,

    /// How many S3 objects to download at once
    #[arg(long, value_name = "N", default_value_t = NonZeroUsize::new(32).unwrap(), global = true, help_heading = "AWS")]
    pub concurrency: NonZeroUsize,

    /// Where the report runs: here (local: read the logs from --source), or on Amazon Athena
    /// (athena: one SQL query over the table that `ctq athena ddl` defines)
    ///
    /// With athena, --source is not read: the table names the bucket. The rows, columns and
    /// output formats are the same. Without a time option, the last 24 hours are queried.
    #[arg(long, value_enum, default_value_t = Engine::Local, env = "CTQ_ENGINE", global = true, help_heading = "Athena")]
    pub engine: Engine,

    /// The Athena table to query
    #[arg(
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
        long,
        value_name = "S3_URL",
        env = "CTQ_ATHENA_OUTPUT",
        global = true,
        help_heading = "Athena"
    )]
    pub athena_output: Option<String>,

    /// Print the report's Athena query and exit without running it (implies --engine athena)
    #[arg(long, global = true, help_heading = "Athena")]
    pub print_sql: bool,
}

/// Where a report runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// Read the logs here, from --source
    Local,
    /// One SQL query on Amazon Athena
    Athena,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Who still calls the global STS endpoint (sts.amazonaws.com)?
    ///
    /// STS calls with a TLS host header, grouped by host, endpoint (global or regional), region
    /// and user agent. The table ends with totals, including STS calls without a host header
    /// (AWS services acting on your behalf).
    StsEndpoints {
        /// List every call to the global endpoint instead of grouping
        #[arg(long)]
        details: bool,
    },
    /// Did anyone use the root user?
    ///
    /// Events whose userIdentity.type is Root, grouped by event name and invoking service.
    RootActivity {
        /// List every root event instead of grouping
        #[arg(long)]
        details: bool,
    },
    /// What fails most?
    ///
    /// Events with an errorCode, grouped by event name, error code and error message.
    Errors {
        /// How many rows to print (0 for all)
        #[arg(long, value_name = "N", default_value_t = 10)]
        top: usize,
    },
    /// Who touched this S3 bucket?
    ///
    /// Events whose requestParameters.bucketName is BUCKET, or with a resource ARN that is the
    /// bucket or an object in it, grouped by principal and event name.
    WhoTouchedBucket {
        /// The bucket name (not an ARN)
        bucket: String,
        /// List every matching event instead of grouping
        #[arg(long)]
        details: bool,
    },
    /// What did this user, access key or IP do? Search events
    ///
    /// Every event that passes the filters, newest first. Repeats of one filter are OR, different
    /// filters are AND. For example: --user alice --since 1d; --access-key AKIA…; --source-ip
    /// 203.0.113.0/24 --errors; --bucket prod-data --write.
    Events(Box<EventsArgs>),
    /// Who signed in to the console, from where, with or without MFA, and which attempts failed?
    ///
    /// Every ConsoleLogin event. The table ends with totals: successes, failures, logins
    /// without MFA, root logins.
    ConsoleLogins {
        /// Only failed sign-ins (responseElements.ConsoleLogin is Failure)
        #[arg(long)]
        failures: bool,
        /// Only sign-ins without MFA (additionalEventData.MFAUsed is No)
        #[arg(long)]
        no_mfa: bool,
    },
    /// What went through a VPC endpoint, and what did its policy deny?
    ///
    /// Network activity events grouped by VPC endpoint, event source, event name, principal and
    /// error code.
    NetworkActivity {
        /// Only this VPC endpoint (repeat for several)
        #[arg(long = "vpce", value_name = "ID")]
        vpces: Vec<String>,
        /// Only calls the endpoint policy denied (errorCode VpceAccessDenied)
        #[arg(long)]
        denied: bool,
    },
    /// When one machine is not enough: set up Amazon Athena for the trail
    #[command(subcommand)]
    Athena(AthenaCommand),
    /// What is in this window at all?
    ///
    /// Totals, first and last event, counts by category, account and region, the top event
    /// sources, event names, principals and source IPs, and a timeline of events per hour, day
    /// or month (a bar chart in the table view). Event times before 2013-11-01 or more than a
    /// day ahead are implausible: counted, but left out of the first and last event and the
    /// timeline.
    Summary {
        /// How many rows in each top list (0 for all)
        #[arg(long, value_name = "N", default_value_t = 10)]
        top: usize,
    },
}

/// `ctq athena …`
#[derive(Debug, Subcommand)]
pub enum AthenaCommand {
    /// Print a CREATE EXTERNAL TABLE for the trail, with partition projection on account, region
    /// and day
    ///
    /// With S3 access, the accounts, regions and organization folder are found in the bucket
    /// (--source s3://BUCKET[/PREFIX]); with --account and --region given, nothing is read and
    /// --organization names the organization folder if there is one. --since sets the first day
    /// of the day projection (default 2013/11/01).
    Ddl {
        /// The table name
        #[arg(long, default_value = "cloudtrail_logs")]
        table: String,
        /// The Glue database
        #[arg(long, default_value = "default")]
        database: String,
        /// Which events: CloudTrail (management and data) or CloudTrail-NetworkActivity
        #[arg(long, default_value = "CloudTrail", value_parser = ["CloudTrail", "CloudTrail-NetworkActivity", "CloudTrail-Insight"])]
        event_folder: String,
        /// The organization folder (o-…) when --account and --region are given without S3 access
        #[arg(long, value_name = "ID")]
        organization: Option<String>,
    },
}

/// The options of `events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Events of this IAM user, role or role session: userIdentity.userName,
    /// sessionContext.sessionIssuer.userName, or the last part of userIdentity.arn
    #[arg(long = "user", value_name = "NAME", help_heading = "Event filters")]
    pub users: Vec<String>,
    /// Events whose principal contains TEXT
    #[arg(
        long = "principal",
        value_name = "TEXT",
        help_heading = "Event filters"
    )]
    pub principals: Vec<String>,
    /// Events signed with this access key (userIdentity.accessKeyId)
    #[arg(long = "access-key", value_name = "ID", help_heading = "Event filters")]
    pub access_keys: Vec<String>,
    /// Events with this eventName
    #[arg(
        long = "event-name",
        value_name = "NAME",
        help_heading = "Event filters"
    )]
    pub event_names: Vec<String>,
    /// Events with this eventSource (for example s3.amazonaws.com)
    #[arg(
        long = "event-source",
        value_name = "SOURCE",
        help_heading = "Event filters"
    )]
    pub event_sources: Vec<String>,
    /// Events from this IP address or CIDR block (IPv4 or IPv6)
    #[arg(
        long = "source-ip",
        value_name = "IP|CIDR",
        help_heading = "Event filters"
    )]
    pub source_ips: Vec<IpNet>,
    /// Events on this S3 bucket (same rule as who-touched-bucket)
    #[arg(long = "bucket", value_name = "NAME", help_heading = "Event filters")]
    pub buckets: Vec<String>,
    /// Events through this VPC endpoint (vpcEndpointId)
    #[arg(long = "vpce", value_name = "ID", help_heading = "Event filters")]
    pub vpces: Vec<String>,
    /// Events with this errorCode
    #[arg(
        long = "error-code",
        value_name = "CODE",
        help_heading = "Event filters"
    )]
    pub error_codes: Vec<String>,
    /// Events with any errorCode
    #[arg(long, help_heading = "Event filters")]
    pub errors: bool,
    /// Only read-only calls (readOnly true)
    #[arg(long, conflicts_with = "write", help_heading = "Event filters")]
    pub read_only: bool,
    /// Only calls that change something (readOnly false)
    #[arg(long, help_heading = "Event filters")]
    pub write: bool,
    /// Events of this eventCategory (repeat for several)
    #[arg(
        long = "category",
        value_enum,
        ignore_case = true,
        help_heading = "Event filters"
    )]
    pub categories: Vec<Category>,

    /// Columns by CloudTrail field path, comma-separated (userIdentity.arn,requestParameters.bucketName)
    ///
    /// A nested object or array shows as compact JSON in tables and CSV, and as itself in JSON.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "PATHS",
        conflicts_with = "raw",
        help_heading = "Event output"
    )]
    pub fields: Vec<String>,
    /// Write each matching event exactly as it appeared in the log, one per line (for jq)
    #[arg(long, help_heading = "Event output")]
    pub raw: bool,
    /// Only the N newest matches (the N oldest with --oldest-first)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), help_heading = "Event output")]
    pub limit: Option<u64>,
    /// Oldest first instead of newest first
    #[arg(long, help_heading = "Event output")]
    pub oldest_first: bool,
}

/// CloudTrail's event categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Category {
    #[value(name = "Management")]
    Management,
    #[value(name = "Data")]
    Data,
    #[value(name = "NetworkActivity")]
    NetworkActivity,
    #[value(name = "Insight")]
    Insight,
}

impl Category {
    pub fn name(self) -> &'static str {
        match self {
            Category::Management => "Management",
            Category::Data => "Data",
            Category::NetworkActivity => "NetworkActivity",
            Category::Insight => "Insight",
        }
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
