//! The command line as the user types it (clap definitions only; see `config` for what the
//! program uses).

use std::num::NonZeroUsize;

use clap::{Args, Parser, Subcommand};

use crate::exit::EXIT_CODES_HELP;
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
    /// table is for people; json (one array of row objects), ndjson (one object per line) and
    /// csv (header, then rows; lists joined with ';') are for programs. Field names are the
    /// column names shown in the table header.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table, global = true, help_heading = "Output")]
    pub output: Format,

    /// Worker threads for decompression and parsing [default: all cores]
    #[arg(long, value_name = "N", global = true, help_heading = "Output")]
    pub threads: Option<NonZeroUsize>,

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
