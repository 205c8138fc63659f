//! The parallel engine: inputs in, one merged report and input statistics out.
//!
//! Each input is read, decoded and parsed whole on a rayon worker, then its events are filtered
//! and observed. A file that cannot be read, gunzipped or parsed is named on stderr, counted and
//! contributes nothing (its events are observed only once the whole file has parsed), so a
//! half-readable file never leaves half its events in a report.

use std::collections::BTreeMap;
use std::io::Read;

use rayon::prelude::*;

use crate::config::Filter;
use crate::decode;
use crate::event::{self, Event};
use crate::exit::warn;
use crate::progress::Progress;
use crate::reports::Report;
use crate::source::Input;
use crate::source::local::io_reason;
use crate::stream;
use crate::time::parse_event_time;

/// What the scan read, for messages and exit codes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScanStats {
    pub inputs_read: u64,
    pub inputs_skipped: u64,
    /// Bytes of JSON after decompression.
    pub json_bytes: u64,
    pub events: u64,
    /// Events that passed the filters and were given to the report.
    pub events_matched: u64,
    /// Events left out of a time window because their time could not be read.
    pub events_untimed: u64,
    /// Bytes as read (compressed where the input was gzip).
    pub input_bytes: u64,
    /// Inputs read and events in them, per account and region where the layout tells.
    pub per_origin: BTreeMap<Origin, (u64, u64)>,
}

impl ScanStats {
    fn merge(&mut self, o: ScanStats) {
        self.inputs_read += o.inputs_read;
        self.inputs_skipped += o.inputs_skipped;
        self.json_bytes += o.json_bytes;
        self.events += o.events;
        self.events_matched += o.events_matched;
        self.events_untimed += o.events_untimed;
        self.input_bytes += o.input_bytes;
        for (k, (files, events)) in o.per_origin {
            let e = self.per_origin.entry(k).or_default();
            e.0 += files;
            e.1 += events;
        }
    }
}

/// Buffers reused by one worker from file to file.
#[derive(Default)]
struct Buffers {
    raw: Vec<u8>,
    text: Vec<u8>,
    inflater: decode::Inflater,
}

/// One unit of work: a local input to read, or an object body already fetched (S3).
pub enum Work<'a> {
    Local(&'a Input),
    Fetched(Fetched),
}

/// An object downloaded by a source that does its own I/O, or the reason it could not be.
pub struct Fetched {
    /// How messages name it: `s3://bucket/key`.
    pub name: String,
    pub origin: Option<Origin>,
    pub body: Result<Vec<u8>, String>,
    /// Download the object again: a body that fails gzip or JSON may have been damaged on the
    /// way, so it is fetched once more before it is skipped.
    pub refetch: Option<Refetch>,
}

/// Fetch an object's body once more (blocks the calling worker until it has arrived).
pub type Refetch = Box<dyn FnOnce() -> Result<Vec<u8>, String> + Send>;

/// The account and region an input belongs to, from its place in the trail layout.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    pub account: String,
    pub region: String,
}

/// Run `report` over every work item on the current rayon pool.
pub fn scan<'a, R: Report>(
    work: impl ParallelIterator<Item = Work<'a>>,
    filter: &Filter,
    report: &R,
    progress: &Progress,
) -> (R, ScanStats) {
    work.fold(
        || (report.clone(), ScanStats::default(), Buffers::default()),
        |(mut acc, mut stats, mut bufs), mut work| {
            let (name, origin) = match &work {
                Work::Local(input) => (input.to_string(), input.origin()),
                Work::Fetched(f) => (f.name.clone(), f.origin.clone()),
            };
            let (before, bytes_before) = (stats.events, stats.input_bytes);
            let local = matches!(work, Work::Local(_));
            let refetch = match &mut work {
                Work::Fetched(f) => f.refetch.take(),
                Work::Local(_) => None,
            };
            let mut result = scan_one(work, filter, report, &mut acc, &mut stats, &mut bufs);
            if result.is_err()
                && let Some(refetch) = refetch
            {
                // Once more, with a fresh copy; if it fails too, its reason is the one told.
                stats.input_bytes = bytes_before;
                let again = Fetched {
                    name: name.clone(),
                    origin: origin.clone(),
                    body: refetch(),
                    refetch: None,
                };
                result = scan_one(
                    Work::Fetched(again),
                    filter,
                    report,
                    &mut acc,
                    &mut stats,
                    &mut bufs,
                );
            }
            match result {
                Ok(()) => {
                    stats.inputs_read += 1;
                    // Downloads are counted as they arrive; local files as they are read.
                    if local {
                        progress.downloaded(stats.input_bytes - bytes_before);
                    }
                    progress.read(stats.events - before);
                    if let Some(origin) = origin {
                        let entry = stats.per_origin.entry(origin).or_default();
                        entry.0 += 1;
                        entry.1 += stats.events - before;
                    }
                }
                Err(why) => {
                    progress.failed();
                    warn(&format!("{name}: {why}"));
                    stats.inputs_skipped += 1;
                }
            }
            (acc, stats, bufs)
        },
    )
    .map(|(acc, stats, _)| (acc, stats))
    .reduce(
        || (report.clone(), ScanStats::default()),
        |(mut a, mut sa), (b, sb)| {
            a.merge(b);
            sa.merge(sb);
            (a, sa)
        },
    )
}

fn scan_one<R: Report>(
    work: Work<'_>,
    filter: &Filter,
    proto: &R,
    acc: &mut R,
    stats: &mut ScanStats,
    bufs: &mut Buffers,
) -> Result<(), String> {
    // A very large trail file is streamed, its events kept in an accumulator of its own that
    // joins the report only once the whole file has been read.
    if let Work::Local(Input::File(path)) = &work
        && let Some((reader, file_len)) = stream::open_large(path, stream::LARGE)
            .map_err(|e| format!("cannot read: {}", io_reason(&e)))?
    {
        let mut file_acc = proto.clone();
        let mut file_stats = ScanStats::default();
        let done = stream::records(reader, acc.wants_raw(), stream::CHUNK, |ev| {
            file_stats.events += 1;
            observe(ev, filter, &mut file_acc, &mut file_stats);
        })?;
        if let Some(json_bytes) = done {
            acc.merge(file_acc);
            file_stats.json_bytes = json_bytes;
            file_stats.input_bytes = file_len;
            stats.merge(file_stats);
            return Ok(());
        }
        // Not a `{"Records":[…]}` document: read it whole like any other file.
    }
    let fetched;
    let raw: &[u8] = match work {
        Work::Local(input) => {
            bufs.raw.clear();
            match input {
                Input::File(path) => {
                    std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bufs.raw))
                }
                Input::Stdin => std::io::stdin().lock().read_to_end(&mut bufs.raw),
            }
            .map_err(|e| format!("cannot read: {}", io_reason(&e)))?;
            &bufs.raw
        }
        Work::Fetched(f) => {
            fetched = f.body?;
            &fetched
        }
    };
    stats.input_bytes += raw.len() as u64;
    let text = decode::decode(raw, &mut bufs.text, &mut bufs.inflater)?;
    let mut events: Vec<Event<'_>> = Vec::new();
    event::parse_events(text, &mut events, acc.wants_raw())?;
    stats.json_bytes += text.len() as u64;
    stats.events += events.len() as u64;
    for ev in &events {
        observe(ev, filter, acc, stats);
    }
    Ok(())
}

/// Apply the window, account and region filters to one event and give it to the report.
fn observe<R: Report>(ev: &Event<'_>, filter: &Filter, acc: &mut R, stats: &mut ScanStats) {
    let time = ev.event_time.as_deref().and_then(parse_event_time);
    if !filter.window.is_unbounded() {
        match time {
            Some(t) if filter.window.contains(t) => {}
            Some(_) => return,
            None => {
                stats.events_untimed += 1;
                return;
            }
        }
    }
    if !filter.accepts(ev) {
        return;
    }
    stats.events_matched += 1;
    acc.observe(ev, time);
}
