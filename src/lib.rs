//! ctq: answer questions about AWS CloudTrail logs.
//!
//! `run` wires the stages together: command line → `Config` → sources (local walk, S3 listing and
//! downloads) → parallel scan → report → render. It neither parses events nor formats rows itself.

pub mod athena;
pub mod aws;
pub mod cli;
pub mod config;
pub mod decode;
pub mod escape;
pub mod event;
pub mod exit;
pub mod filter;
pub mod net;
pub mod progress;
pub mod render;
pub mod reports;
pub mod scan;
pub mod source;
pub mod time;

use std::io::{self, BufWriter, IsTerminal, Write};
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use rayon::prelude::*;

use crate::cli::Cli;
use crate::config::{Config, ReportSpec};
use crate::exit::{Outcome, warn};
use crate::progress::{Progress, Ticker, human_bytes};
use crate::render::Document;
use crate::reports::{
    Report, bucket::WhoTouchedBucket, console::ConsoleLogins, errors::Errors, events::Events,
    network::NetworkActivity, root::RootActivity, sts::StsEndpoints, summary::Summary,
};
use crate::scan::{ScanStats, Work};
use crate::source::s3::S3Session;
use crate::source::s3::list::Listing;
use crate::source::{Fetched, Found, Input, SourceSpec};

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let config = Config::from_cli(cli, time::now())?;
    if let ReportSpec::AthenaDdl { .. } = &config.report {
        return athena_ddl(&config);
    }
    if config.engine == cli::Engine::Athena {
        return athena_report(&config);
    }
    let progress = Arc::new(Progress::default());
    let ticker = Ticker::start(
        Arc::clone(&progress),
        !config.quiet && io::stderr().is_terminal(),
    );

    let found = find_local(&config)?;
    progress.listed(found.inputs.len() as u64 + found.files_skipped_by_time);
    progress.to_read(found.inputs.len() as u64);

    // S3: list every source first (a listing error stops everything before any download), then
    // start the downloads; bodies reach the rayon workers through bounded channels.
    let s3_specs = config.s3_sources();
    let session = if s3_specs.is_empty() {
        None
    } else {
        Some(S3Session::new(&config.s3)?)
    };
    if config.default_window {
        warn(&format!(
            "no time window given: reading the last 24 hours ({}) of S3; use --since or --date for another window",
            config.filter.window
        ));
    }
    let fatal: Arc<Mutex<Option<String>>> = Arc::default();
    let mut listings = Vec::new();
    let mut downloads: Vec<Box<dyn Iterator<Item = Fetched> + Send>> = Vec::new();
    if let Some(session) = &session {
        let mut buckets = Vec::new();
        for (bucket, prefix) in &s3_specs {
            let b = session.bucket(bucket)?;
            let listing = b.list(prefix, &config.filter, config.now, &progress)?;
            buckets.push((b, listing));
        }
        for (b, mut listing) in buckets {
            let objects = std::mem::take(&mut listing.objects);
            listings.push((b.name().to_string(), listing));
            downloads.push(Box::new(b.fetch(
                objects,
                Arc::clone(&progress),
                Arc::clone(&fatal),
                config.max_json,
            )));
        }
    }

    // Parsing recurses once per nesting level, up to event::MAX_DEPTH; a debug build's frames
    // are large enough that the default 2 MiB stack would not hold that many. Only the pages
    // used count against memory.
    let mut pool = rayon::ThreadPoolBuilder::new().stack_size(16 << 20);
    if let Some(n) = config.threads {
        pool = pool.num_threads(n.get());
    }
    let pool = pool.build().context("cannot start worker threads")?;
    let fetched = downloads.into_iter().flatten();
    let (output, stats) = pool.install(|| {
        let work = || {
            found
                .inputs
                .par_iter()
                .map(Work::Local)
                .chain(fetched.par_bridge().map(Work::Fetched))
        };
        match &config.report {
            ReportSpec::StsEndpoints { details } => {
                run_report(work(), &config, StsEndpoints::new(*details), &progress)
            }
            ReportSpec::RootActivity { details } => {
                run_report(work(), &config, RootActivity::new(*details), &progress)
            }
            ReportSpec::Errors { top } => run_report(work(), &config, Errors::new(*top), &progress),
            ReportSpec::WhoTouchedBucket { bucket, details } => run_report(
                work(),
                &config,
                WhoTouchedBucket::new(bucket, *details),
                &progress,
            ),
            ReportSpec::Events {
                filters,
                columns,
                oldest_first,
                limit,
            } => run_report(
                work(),
                &config,
                Events::new((**filters).clone(), columns.clone(), *oldest_first, *limit),
                &progress,
            ),
            ReportSpec::ConsoleLogins { failures, no_mfa } => run_report(
                work(),
                &config,
                ConsoleLogins::new(*failures, *no_mfa),
                &progress,
            ),
            ReportSpec::NetworkActivity { vpces, denied } => run_report(
                work(),
                &config,
                NetworkActivity::new(vpces.clone(), *denied),
                &progress,
            ),
            ReportSpec::Summary { top } => {
                run_report(work(), &config, Summary::new(*top, config.now), &progress)
            }
            ReportSpec::AthenaDdl { .. } => unreachable!("athena ddl returns before scanning"),
        }
    });
    drop(ticker);
    if let Some(why) = fatal.lock().ok().and_then(|mut f| f.take()) {
        bail!(why);
    }

    print_document(&output, config.style())?;

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
    if config.stats {
        print_stats(&found, &listings, &stats);
    }
    Ok(Outcome {
        skipped_inputs: skipped,
    })
}

/// The report on stdout, in the chosen format, then its notes on stderr.
fn print_document(doc: &Document, style: render::Style) -> anyhow::Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    render::write(doc, style, &mut out)
        .and_then(|()| out.flush())
        .context("cannot write the report")?;
    for note in render::notes(doc) {
        warn(&note);
    }
    Ok(())
}

/// Generated text (SQL) on stdout; `what` names it in the error.
fn print_text(text: &str, what: &str) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .with_context(|| format!("cannot write {what}"))
}

fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn run_report<'a, R: Report>(
    work: impl ParallelIterator<Item = Work<'a>>,
    config: &Config,
    report: R,
    progress: &Progress,
) -> (Document, ScanStats) {
    let (report, stats) = scan::scan(work, &config.filter, &report, progress, config.max_json);
    (report.finish().into(), stats)
}

fn find_local(config: &Config) -> anyhow::Result<Found> {
    let mut found = Found::default();
    for spec in &config.sources {
        match spec {
            SourceSpec::Path(p) => source::local::find(p, &config.filter.window, &mut found)?,
            SourceSpec::Stdin => found.inputs.push(Input::Stdin),
            SourceSpec::S3 { .. } => {}
        }
    }
    // The same file reached through two sources is read once.
    let mut seen = std::collections::HashSet::new();
    found.inputs.retain(|input| match input {
        Input::File(p) | Input::Named(p) => {
            seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()))
        }
        Input::Stdin => true,
    });
    Ok(found)
}

/// `--stats`: what was read, on stderr after the report. One `key: value` per line so that
/// scripts (and the tests) can read it.
fn print_stats(found: &Found, listings: &[(String, Listing)], stats: &ScanStats) {
    let mut lines = Vec::new();
    let local_listed = found.inputs.len() as u64 + found.files_skipped_by_time;
    let s3_listed: u64 = listings.iter().map(|(_, l)| l.objects_listed).sum();
    let s3_skipped: u64 = listings.iter().map(|(_, l)| l.skipped_by_time).sum();
    lines.push(format!("objects listed: {}", local_listed + s3_listed));
    lines.push(format!(
        "skipped by time: {}",
        found.files_skipped_by_time + s3_skipped
    ));
    if found.folders_skipped_by_time > 0 {
        lines.push(format!(
            "day folders skipped by time: {}",
            found.folders_skipped_by_time
        ));
    }
    for (bucket, l) in listings {
        lines.push(format!(
            "s3://{bucket}: day prefixes listed: {} · list requests: {}",
            l.day_prefixes, l.list_requests
        ));
    }
    lines.push(format!("read: {}", stats.inputs_read));
    lines.push(format!(
        "failed: {}",
        stats.inputs_skipped + found.unreadable
    ));
    lines.push(format!(
        "bytes: {} read ({}), {} of JSON",
        stats.input_bytes,
        human_bytes(stats.input_bytes),
        human_bytes(stats.json_bytes)
    ));
    lines.push(format!(
        "events: {} read, {} matched the filters",
        stats.events, stats.events_matched
    ));
    for (origin, (files, events)) in &stats.per_origin {
        lines.push(format!(
            "account {} region {}: {} read, {}",
            origin.account,
            origin.region,
            plural(*files, "object"),
            plural(*events, "event")
        ));
    }
    let mut err = io::stderr().lock();
    for line in lines {
        // Account and region come from paths and keys: escaped like every message.
        let _ = writeln!(err, "ctq: stats: {}", escape::escape_control(&line));
    }
}

/// Athena's list price per TB scanned (us-east-1 and most regions; 10 MB minimum per query).
const ATHENA_USD_PER_TB: f64 = 5.0;

/// `--engine athena`: the report as one query on Athena, printed like the local engine's.
fn athena_report(config: &Config) -> anyhow::Result<Outcome> {
    let target = athena::sql::Target {
        database: config.athena.database.clone(),
        table: config.athena.table.clone(),
    };
    let sql = athena::sql::query(&config.report, &config.filter, config.now, &target)
        .map_err(exit::UsageError)?;
    if config.print_sql {
        print_text(&sql, "the query")?;
        return Ok(Outcome::default());
    }
    if !config.sources.is_empty() {
        warn("--source is not read with --engine athena: the Athena table names the bucket");
    }
    if config.default_window {
        warn(&format!(
            "no time window given: querying the last 24 hours ({}); use --since or --date for another window",
            config.filter.window
        ));
    }
    let result = athena::client::run(&sql, &config.athena, |id| {
        if !config.quiet {
            warn(&format!(
                "athena: query {id} started in workgroup {}",
                config.athena.workgroup
            ));
        }
    })?;
    let doc = athena::results::document(&config.report, &result)?;
    print_document(&doc, config.style())?;
    warn(&athena_cost_line(&result));
    Ok(Outcome::default())
}

/// `athena: query ID · 1.2 GB scanned · about $0.0061 at $5/TB`
fn athena_cost_line(r: &athena::client::QueryResult) -> String {
    let scanned = match r.scanned_bytes {
        Some(b) => {
            let b = b.max(0) as u64;
            // Athena bills at least 10 MB per query, in whole MB.
            let billed = b.div_ceil(1_000_000).max(10) * 1_000_000;
            format!(
                "{} scanned · about ${:.4} at ${ATHENA_USD_PER_TB}/TB",
                human_bytes(b),
                billed as f64 / 1e12 * ATHENA_USD_PER_TB
            )
        }
        None => "data scanned not reported".to_string(),
    };
    let mut line = format!("athena: query {} · {scanned}", r.id);
    if let Some(ms) = r.engine_millis {
        line.push_str(&format!(" · {:.1} s in the engine", ms as f64 / 1000.0));
    }
    line.push_str(&format!(" · {}", plural(r.rows.len() as u64, "row")));
    line
}

/// `ctq athena ddl`: the table definition, from the bucket's layout or from the options.
fn athena_ddl(config: &Config) -> anyhow::Result<Outcome> {
    let ReportSpec::AthenaDdl {
        table,
        database,
        event_folder,
        organization,
    } = &config.report
    else {
        unreachable!("called for athena ddl only")
    };
    let s3 = config.s3_sources();
    let [(bucket, prefix)] = s3[..] else {
        return Err(exit::UsageError(
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
        let segs: Vec<&str> = prefix.split('/').filter(|s| !s.is_empty()).collect();
        let (awslogs, org_in_prefix) = match segs.iter().position(|s| *s == "AWSLogs") {
            Some(at) => (
                format!("{}/", segs[..=at].join("/")),
                segs.get(at + 1)
                    .filter(|s| s.starts_with("o-"))
                    .map(|s| s.to_string()),
            ),
            None if segs.is_empty() => ("AWSLogs/".to_string(), None),
            None => (format!("{}/AWSLogs/", segs.join("/")), None),
        };
        athena::TableSpec {
            bucket: bucket.to_string(),
            awslogs,
            organization: organization.clone().or(org_in_prefix),
            accounts: filter.accounts.clone(),
            regions: filter.regions.clone(),
            event_folder: event_folder.clone(),
            database: database.clone(),
            table: table.clone(),
            first_day,
        }
    } else {
        let session = S3Session::new(&config.s3)?;
        let layout = session
            .bucket(bucket)?
            .layout(prefix, filter, event_folder)?;
        if layout.accounts.is_empty() {
            bail!(
                "s3://{bucket}/{prefix}: no {event_folder} logs found for a table (check --event-folder, --account and --region)"
            );
        }
        athena::TableSpec {
            bucket: bucket.to_string(),
            awslogs: layout.awslogs,
            organization: organization.clone().or(layout.organization),
            accounts: layout.accounts.into_iter().collect(),
            regions: layout.regions.into_iter().collect(),
            event_folder: event_folder.clone(),
            database: database.clone(),
            table: table.clone(),
            first_day,
        }
    };
    print_text(&athena::ddl(&spec), "the table definition")?;
    Ok(Outcome::default())
}
