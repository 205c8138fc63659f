//! ctq: answer questions about AWS CloudTrail logs.
//!
//! `run` wires the stages together: command line → `Config` → sources → parallel scan → report →
//! render. It neither parses events nor formats output itself.

pub mod cli;
pub mod config;
pub mod decode;
pub mod event;
pub mod exit;
pub mod render;
pub mod reports;
pub mod scan;
pub mod source;
pub mod time;

use std::io::{self, BufWriter, Write};

use anyhow::{Context, bail};

use crate::cli::Cli;
use crate::config::{Config, ReportSpec};
use crate::exit::{Outcome, warn};
use crate::render::Output;
use crate::reports::{
    Report, bucket::WhoTouchedBucket, errors::Errors, root::RootActivity, sts::StsEndpoints,
};
use crate::scan::ScanStats;
use crate::source::{Found, Input, SourceSpec};

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let config = Config::from_cli(cli, time::now())?;
    let found = find_inputs(&config)?;

    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(n) = config.threads {
        pool = pool.num_threads(n.get());
    }
    let pool = pool.build().context("cannot start worker threads")?;
    let (output, stats) = pool.install(|| match &config.report {
        ReportSpec::StsEndpoints { details } => {
            run_report(&found.inputs, &config, StsEndpoints::new(*details))
        }
        ReportSpec::RootActivity { details } => {
            run_report(&found.inputs, &config, RootActivity::new(*details))
        }
        ReportSpec::Errors { top } => run_report(&found.inputs, &config, Errors::new(*top)),
        ReportSpec::WhoTouchedBucket { bucket, details } => run_report(
            &found.inputs,
            &config,
            WhoTouchedBucket::new(bucket, *details),
        ),
    });

    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    render::write(&output, config.format, &mut out).context("cannot write the report")?;
    out.flush().context("cannot write the report")?;

    if stats.events_untimed > 0 {
        warn(&format!(
            "{} without a readable eventTime left out of the time window",
            plural(stats.events_untimed, "event")
        ));
    }
    let skipped = stats.inputs_skipped + found.unreadable;
    if skipped > 0 {
        warn(&format!(
            "{skipped} of {} skipped (named above); the report covers the rest",
            plural(skipped + stats.inputs_read, "input")
        ));
    }
    Ok(Outcome {
        skipped_inputs: skipped,
    })
}

fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn run_report<R: Report>(inputs: &[Input], config: &Config, report: R) -> (Output, ScanStats) {
    let (report, stats) = scan::scan(inputs, &config.filter, &report);
    (report.finish(), stats)
}

fn find_inputs(config: &Config) -> anyhow::Result<Found> {
    let mut found = Found::default();
    for spec in &config.sources {
        match spec {
            SourceSpec::Path(p) => source::local::find(p, &config.filter.window, &mut found)?,
            SourceSpec::Stdin => found.inputs.push(Input::Stdin),
            SourceSpec::S3 { bucket, .. } => bail!(
                "s3://{bucket}: reading from S3 is not available in this version yet; \
                 copy the objects with `aws s3 sync` and pass the folder to --source"
            ),
        }
    }
    // The same file reached through two sources is read once.
    let mut seen = std::collections::HashSet::new();
    found.inputs.retain(|input| match input {
        Input::File(p) => seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())),
        Input::Stdin => true,
    });
    Ok(found)
}
