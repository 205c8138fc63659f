//! `ctq athena ddl`: the Athena table definition for a trail, from the bucket's layout (found in
//! S3 by `discover`) or from the options alone; `table` writes the statement. Not a report: it
//! reads no events.

mod discover;
mod table;

use anyhow::bail;
use clap::Subcommand;

use crate::config::Config;
use crate::exit::{Outcome, UsageError};
use crate::render;
use crate::source::layout::AwsLogsPrefix;
use crate::source::s3::S3Session;
use crate::time;

pub use table::{TableSpec, ddl};

/// The folders next to `CloudTrail/` that hold events, as S3 spells them.
const EVENT_FOLDERS: [&str; 3] = [
    "CloudTrail",
    "CloudTrail-NetworkActivity",
    "CloudTrail-Insight",
];

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
        /// Which events: CloudTrail (management and data events), CloudTrail-NetworkActivity
        /// (network activity events) or CloudTrail-Insight (Insights events)
        #[arg(long, default_value = "CloudTrail", ignore_case = true, value_parser = EVENT_FOLDERS)]
        event_folder: String,
        /// The organization folder (o-…) when --account and --region are given without S3 access
        #[arg(long, value_name = "ID")]
        organization: Option<String>,
    },
}

/// Prints the table definition.
pub fn run(command: AthenaCommand, config: &Config) -> anyhow::Result<Outcome> {
    let AthenaCommand::Ddl {
        table,
        database,
        event_folder,
        organization,
    } = command;
    // clap accepts any case; S3 keys have one.
    let event_folder = EVENT_FOLDERS
        .into_iter()
        .find(|f| f.eq_ignore_ascii_case(&event_folder))
        .map_or(event_folder, str::to_string);
    let s3 = config.s3_sources();
    let [(bucket, prefix)] = s3[..] else {
        return Err(UsageError(
            "athena ddl needs exactly one --source s3://BUCKET[/PREFIX]: the table's location"
                .into(),
        )
        .into());
    };
    let first_day = match config.filter.window.since {
        Some(t) if !config.default_window => time::format_day(time::day_of(t)).replace('-', "/"),
        _ => "2013/11/01".to_string(),
    };
    let filter = &config.filter;
    let spec = if !filter.accounts.is_empty() && !filter.regions.is_empty() {
        // Everything is given: no S3 access needed.
        let prefix = AwsLogsPrefix::parse(prefix);
        TableSpec {
            bucket: bucket.to_string(),
            organization: organization.or(prefix.organization().map(str::to_string)),
            awslogs: prefix.awslogs,
            accounts: filter.accounts.clone(),
            regions: filter.regions.clone(),
            event_folder,
            database,
            table,
            first_day,
        }
    } else {
        let session = S3Session::new(&config.s3)?;
        let layout = discover::layout(&session.bucket(bucket)?, prefix, filter, &event_folder)?;
        if layout.accounts.is_empty() {
            bail!(
                "s3://{bucket}/{prefix}: no {event_folder} logs found for a table (check --event-folder, --account and --region)"
            );
        }
        TableSpec {
            bucket: bucket.to_string(),
            awslogs: layout.awslogs,
            organization: organization.or(layout.organization),
            accounts: layout.accounts.into_iter().collect(),
            regions: layout.regions.into_iter().collect(),
            event_folder,
            database,
            table,
            first_day,
        }
    };
    render::print_text(ddl(&spec).as_bytes(), "the table definition")?;
    Ok(Outcome::default())
}
