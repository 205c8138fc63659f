//! The local engine: sources → scan → finish → document, with `--stats`.
//!
//! Local paths are walked, and the S3 layouts walked down to their region folders, first (an
//! error there stops the run before anything is downloaded); then each bucket's day prefixes
//! are listed in the background and their objects downloaded as they are listed, and the bodies
//! reach the rayon workers through bounded channels, next to the local files. A listing that
//! fails later still stops the run before any report is printed.

use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, bail};
use rayon::prelude::*;

use crate::config::Config;
use crate::escape;
use crate::exit::{Outcome, warn};
use crate::progress::{Progress, Ticker, human_bytes, plural};
use crate::render;
use crate::reports::{Context, Report, ReportDef};
use crate::scan::{self, ScanStats, Work};
use crate::source::s3::S3Session;
use crate::source::s3::gate::GateReport;
use crate::source::s3::list::Listing;
use crate::source::{self, Fetched, Found, Input, SourceSpec};

/// Runs `report` over the sources of `config` and prints it.
pub fn run<R: ReportDef>(report: &R, config: &Config) -> anyhow::Result<Outcome> {
    let cx = Context {
        filter: &config.filter,
        now: config.now,
    };
    // Events before the window that the report reads too (`ReportDef::lookback`): the files are
    // found, listed and read as for a window that starts that much earlier.
    let widened;
    let config = match (report.lookback(), config.filter.window.since) {
        (back, Some(since)) if back > 0 => {
            let mut c = config.clone();
            c.filter.window.since = Some(since.saturating_sub(back));
            widened = c;
            &widened
        }
        _ => config,
    };
    // `--verify`: the digests are found and read while the scan runs.
    let verifying = config.verify.then(|| crate::verify::prepare_beside(config));
    let progress = Arc::new(Progress::default());
    let ticker = Ticker::start(
        Arc::clone(&progress),
        !config.quiet && io::stderr().is_terminal(),
    );

    let found = find_local(config)?;
    progress.listed(found.inputs.len() as u64 + found.files_skipped_by_time);
    progress.to_read(found.inputs.len() as u64);

    // S3: walk every source's layout first (an error there stops everything before any
    // download), then list the day prefixes and download their objects, both in the background.
    let s3_specs = config.s3_sources();
    let session = if s3_specs.is_empty() {
        None
    } else {
        Some(S3Session::new(&config.s3)?)
    };
    if config.default_window {
        warn(&format!(
            "no time window given: reading the last 24 hours of S3, {}; use --since or --date for another window",
            config.filter.window
        ));
    }
    let fatal: Arc<Mutex<Option<String>>> = Arc::default();
    let mut listings = Vec::new();
    let mut downloads: Vec<Box<dyn Iterator<Item = Fetched> + Send>> = Vec::new();
    if let Some(session) = &session {
        let mut walks = Vec::new();
        for (bucket, prefix) in &s3_specs {
            let b = session.bucket(bucket)?;
            let walk = b.walk(prefix, &config.filter, config.now)?;
            walks.push((b, walk));
        }
        for (b, walk) in walks {
            let (listing, fetched) = b.read(
                walk,
                &config.filter,
                config.now,
                Arc::clone(&progress),
                Arc::clone(&fatal),
                config.max_json,
            );
            listings.push((b.name().to_string(), listing));
            downloads.push(Box::new(fetched));
        }
    }

    // Parsing recurses once per nesting level, up to event::json::MAX_DEPTH; a debug build's frames
    // are large enough that the default 2 MiB stack would not hold that many. Only the pages
    // used count against memory.
    let mut pool = rayon::ThreadPoolBuilder::new().stack_size(16 << 20);
    if let Some(n) = config.threads {
        pool = pool.num_threads(n.get());
    }
    let pool = pool.build().context("cannot start worker threads")?;
    let fetched = downloads.into_iter().flatten();
    let accumulator = report.accumulator(&cx);
    let (output, stats) = pool.install(|| {
        let work = found
            .inputs
            .par_iter()
            .map(Work::Local)
            .chain(fetched.par_bridge().map(Work::Fetched));
        let (acc, stats) = scan::scan(
            work,
            &config.filter,
            &accumulator,
            &progress,
            config.max_json,
            config.verify,
        );
        (acc.finish(), stats)
    });
    drop(ticker);
    if let Some(why) = fatal.lock().ok().and_then(|mut f| f.take()) {
        bail!(why);
    }
    // Keep the cache under its cap: the least recently used entries go.
    if let Some(cache) = session.as_ref().and_then(S3Session::cache) {
        cache.evict();
    }
    // The downloads have ended, and with them the listings that fed them.
    let listings: Vec<(String, Listing)> = listings
        .into_iter()
        .map(|(bucket, l)| {
            let l = l.lock().map(|l| l.clone()).unwrap_or_default();
            (bucket, l)
        })
        .collect();

    render::print(&output, config.style())?;
    if output.is_empty() {
        let (s3_listed, s3_skipped) = s3_totals(&listings);
        let why = Empty {
            inputs: found.inputs.len() as u64 + s3_listed - s3_skipped,
            folders_outside: found.folders_skipped_by_time,
            days_outside: found.days_skipped,
            files_outside: found.files_skipped_by_time + s3_skipped,
            stats: &stats,
            config,
        };
        for note in why.notes() {
            warn(&note);
        }
    }

    if stats.events_untimed > 0 {
        warn(&format!(
            "{} without a readable eventTime left out of the time window",
            plural(stats.events_untimed, "event")
        ));
    }
    let capped = crate::exit::capped_notes();
    for note in &capped {
        warn(note);
    }
    let skipped = stats.inputs_skipped + found.unreadable;
    if skipped > 0 {
        let named = if capped.is_empty() {
            "named above".to_string()
        } else {
            format!(
                "the first {} of each kind named above",
                crate::exit::WARN_CAP
            )
        };
        warn(&format!(
            "{skipped} of {} skipped ({named}); the report covers the rest",
            plural(skipped + stats.inputs_read, "input")
        ));
    }
    if config.stats {
        print_stats(
            &found,
            &listings,
            &stats,
            session.as_ref().map(S3Session::gate_report),
            session.as_ref().and_then(S3Session::cache),
        );
    }
    let mut outcome = Outcome {
        skipped_inputs: skipped,
        failed_empty: config.fail_on_empty && output.is_empty(),
        alert: false,
    };
    if let Some(prepared) = verifying {
        let verified = crate::verify::after_scan(config, prepared, stats.hashes)?;
        outcome.skipped_inputs += verified.skipped_inputs;
        outcome.alert = verified.alert;
    }
    Ok(outcome)
}

/// What an empty report says about itself on stderr: nothing was found, nothing was in the
/// window, or nothing was of the accounts and regions asked for. A report that read events of
/// the window and scope and found none of its kind says nothing more: that is its answer.
struct Empty<'a> {
    inputs: u64,
    folders_outside: u64,
    /// The delivery days of the folders outside the window, first and last.
    days_outside: Option<(i64, i64)>,
    files_outside: u64,
    stats: &'a ScanStats,
    config: &'a Config,
}

impl Empty<'_> {
    fn notes(&self) -> Vec<String> {
        let window = &self.config.filter.window;
        let outside = || {
            let mut parts = Vec::new();
            if self.folders_outside > 0 {
                let mut folders = plural(self.folders_outside, "dated folder");
                if let Some((first, last)) = self.days_outside {
                    folders.push_str(&format!(
                        " covering {} to {}",
                        crate::time::format_day(first),
                        crate::time::format_day(last)
                    ));
                }
                parts.push(folders);
            }
            if self.files_outside > 0 {
                parts.push(plural(self.files_outside, "file"));
            }
            parts.join(" and ")
        };
        let s = self.stats;
        let mut notes = Vec::new();
        if self.inputs == 0 && self.folders_outside + self.files_outside > 0 {
            notes.push(format!(
                "nothing to read in the window {window}: {} outside it, not read",
                outside()
            ));
        } else if self.inputs == 0 {
            let sources: Vec<String> = self.config.sources.iter().map(|s| s.to_string()).collect();
            notes.push(format!(
                "no inputs found in {}: ctq reads files ending .json, .jsonl or .ndjson (each \
                 optionally .gz), and in S3 the day prefixes of AWSLogs/…/CloudTrail/",
                sources.join(", ")
            ));
        } else if s.events == 0 && s.inputs_read > 0 {
            notes.push(format!(
                "the {} read held no events",
                plural(s.inputs_read, "input")
            ));
        } else if s.events_matched == 0 && s.events > 0 {
            if let Some((first, last)) = s.outside_window {
                let mut note = format!(
                    "none of the {} read is in the window {window}: those outside it span {} to {}",
                    plural(s.events, "event"),
                    crate::time::format_time(first),
                    crate::time::format_time(last)
                );
                if self.folders_outside + self.files_outside > 0 {
                    note.push_str(&format!(" ({} outside it, not read)", outside()));
                }
                notes.push(note);
            }
            if s.events_out_of_scope > 0 {
                let f = &self.config.filter;
                let asked: Vec<&str> = [
                    (!f.accounts.is_empty(), "--account"),
                    (!f.regions.is_empty(), "--region"),
                    (
                        !f.fields.groups.is_empty() || !f.fields.nots.is_empty(),
                        "--where",
                    ),
                    (!f.fields.matches.is_empty(), "--match"),
                    (!f.fields.resources.is_empty(), "--resource"),
                ]
                .into_iter()
                .filter_map(|(given, name)| given.then_some(name))
                .collect();
                notes.push(format!(
                    "{} in the window, none passed {}",
                    plural(s.events_out_of_scope, "event"),
                    asked.join(", ")
                ));
            }
        }
        notes
    }
}

fn find_local(config: &Config) -> anyhow::Result<Found> {
    let mut found = Found::default();
    for spec in &config.sources {
        match spec {
            SourceSpec::Path(p) => source::local::find(p, &config.filter.window, &mut found)?,
            SourceSpec::Stdin => {
                if let Some(hint) = source::stdin_hint(io::stdin().is_terminal(), config.quiet) {
                    warn(hint);
                }
                found.inputs.push(Input::Stdin);
            }
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

/// The objects the S3 listings found, and how many of them their delivery time ruled out.
fn s3_totals(listings: &[(String, Listing)]) -> (u64, u64) {
    listings.iter().fold((0, 0), |(listed, skipped), (_, l)| {
        (listed + l.objects_listed, skipped + l.skipped_by_time)
    })
}

/// `--stats`: what was read, on stderr after the report. One `key: value` per line so that
/// scripts (and the tests) can read it.
fn print_stats(
    found: &Found,
    listings: &[(String, Listing)],
    stats: &ScanStats,
    gate: Option<GateReport>,
    cache: Option<&crate::cache::Cache>,
) {
    let mut lines = Vec::new();
    let local_listed = found.inputs.len() as u64 + found.files_skipped_by_time;
    let (s3_listed, s3_skipped) = s3_totals(listings);
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
    if let Some(g) = gate {
        lines.push(if g.pinned {
            format!(
                "downloads in flight: pinned at {} (--concurrency), at most {} at once",
                g.limit, g.peak_in_flight
            )
        } else {
            format!(
                "downloads in flight: adaptive, limit {} at the end, {} at its highest, at most {} at once, {} back-offs",
                g.limit, g.peak_limit, g.peak_in_flight, g.back_offs
            )
        });
    }
    if let Some(c) = cache {
        use std::sync::atomic::Ordering::Relaxed;
        let s = &c.stats;
        lines.push(format!(
            "cache: objects {} hits, {} misses · listings {} hits, {} misses · {} damaged entries dropped · {} entries written",
            s.hits.load(Relaxed),
            s.misses.load(Relaxed),
            s.listing_hits.load(Relaxed),
            s.listing_misses.load(Relaxed),
            s.damaged.load(Relaxed),
            s.written.load(Relaxed)
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
