//! The parallel scan: inputs in, one merged accumulator and input statistics out.
//!
//! Each input (a local file to open, or a body S3 has already downloaded: `source::Fetched`) is
//! read, decoded and parsed on a rayon worker, then its events are filtered and observed: whole
//! when its JSON fits in `decode::WHOLE` bytes, as a stream (`event::stream`) past that. A file
//! that cannot be read, gunzipped or parsed is named on stderr, counted and contributes nothing
//! (a whole input's events are observed only once all of it has parsed; a streamed input's go to
//! an accumulator of its own, joined to the report at its end), so a half-readable file never
//! leaves half its events in a report.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::Read as _;
use std::panic::AssertUnwindSafe;

use rayon::prelude::*;

use crate::decode::{self, Decoded, WHOLE, read_error};
use crate::event::Event;
use crate::event::json::{TOO_MANY, reset_after_panic};
use crate::event::shape::parse_events;
use crate::event::stream;
use crate::exit::{Repeated, warn_repeated};
use crate::filter::Filter;
use crate::progress::Progress;
use crate::reports::Report;
use crate::source::layout::Origin;
use crate::source::local;
use crate::source::{Body, Fetched, Input, io_reason};
use crate::time::{Micros, parse_event_time};
use crate::verify::crypto::sha256_hex;
use crate::verify::model::Hashed;
use crate::verify::read::Hashing;

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
    /// The earliest and latest time of the events outside the window.
    pub outside_window: Option<(Micros, Micros)>,
    /// Events in the window left out by `--account` or `--region`.
    pub events_out_of_scope: u64,
    /// Aggregated events (summaries, not calls) left out by a report that does not read them.
    pub events_aggregated: u64,
    /// Bytes as read (compressed where the input was gzip).
    pub input_bytes: u64,
    /// Inputs read and events in them, per account and region where the layout tells.
    pub per_origin: BTreeMap<Origin, (u64, u64)>,
    /// `--verify`: the SHA-256 of each trail log file's decompressed content, by name (or why
    /// there is none), computed as it was decompressed.
    pub hashes: Vec<(String, Hashed)>,
}

impl ScanStats {
    fn merge(&mut self, o: ScanStats) {
        self.inputs_read += o.inputs_read;
        self.inputs_skipped += o.inputs_skipped;
        self.json_bytes += o.json_bytes;
        self.events += o.events;
        self.events_matched += o.events_matched;
        self.events_untimed += o.events_untimed;
        self.events_out_of_scope += o.events_out_of_scope;
        self.events_aggregated += o.events_aggregated;
        self.outside_window = span(self.outside_window, o.outside_window);
        self.input_bytes += o.input_bytes;
        self.hashes.extend(o.hashes);
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

/// Run `report` over every work item on the current rayon pool. No input's JSON may exceed
/// `max_json` bytes (`--max-decompressed-size`). With `hash_logs` (`--verify`), the
/// decompressed content of each trail log file is hashed too (`ScanStats::hashes`).
pub fn scan<'a, R: Report>(
    work: impl ParallelIterator<Item = Work<'a>>,
    filter: &Filter,
    report: &R,
    progress: &Progress,
    max_json: u64,
    hash_logs: bool,
) -> (R, ScanStats) {
    quiet_panics_in_inputs();
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
            let hash = hash_logs && is_log_file(&name);
            let mut sha = None;
            let mut result = guarded(
                work, &name, filter, report, &mut acc, &mut stats, &mut bufs, max_json,
                hash.then_some(&mut sha),
            );
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
                sha = None;
                result = guarded(
                    Work::Fetched(again),
                    &name,
                    filter,
                    report,
                    &mut acc,
                    &mut stats,
                    &mut bufs,
                    max_json,
                    hash.then_some(&mut sha),
                );
            }
            if hash {
                let hashed = match (&sha, &result) {
                    (Some(sha), _) => Hashed::Sha(sha.clone()),
                    (None, Err(why)) if why.starts_with("cannot read") => {
                        Hashed::Unreadable(why.clone())
                    }
                    (None, Err(why)) => Hashed::Corrupt(why.clone()),
                    (None, Ok(_)) => Hashed::Unreadable("not hashed".into()),
                };
                stats.hashes.push((name.clone(), hashed));
            }
            match result {
                Ok(read) => {
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
                    if read.values > 1 && read.documents > 0 {
                        warn_repeated(
                            Repeated::ManyDocuments,
                            &format!(
                                "{name}: {} JSON documents in one file (files concatenated?); all of them were read",
                                read.values
                            ),
                        );
                    }
                }
                Err(why) => {
                    progress.failed();
                    warn_repeated(Repeated::SkippedInput, &format!("{name}: {why}"));
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

/// `scan_one`, with a panic while reading the input (a bug, most likely set off by odd input)
/// turned into that input's skip: the run goes on.
#[allow(clippy::too_many_arguments)]
fn guarded<R: Report>(
    work: Work<'_>,
    name: &str,
    filter: &Filter,
    report: &R,
    acc: &mut R,
    stats: &mut ScanStats,
    bufs: &mut Buffers,
    max_json: u64,
    sha: Option<&mut Option<String>>,
) -> Result<Read, String> {
    IN_INPUT.with(|f| f.set(true));
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        // Debug builds only: how the tests make a panic happen in one input's work.
        #[cfg(debug_assertions)]
        if std::env::var("CTQ_TEST_PANIC_ON").is_ok_and(|p| name.contains(&p)) {
            panic!("a test panic, as asked by CTQ_TEST_PANIC_ON");
        }
        let _ = name;
        scan_one(work, filter, report, acc, stats, bufs, max_json, sha)
    }))
    .unwrap_or_else(|payload| {
        *bufs = Buffers::default();
        reset_after_panic();
        Err(format!(
            "internal error while reading this input, which is skipped (please report it): {}",
            panic_message(&payload)
        ))
    });
    IN_INPUT.with(|f| f.set(false));
    result
}

thread_local! {
    /// This thread is reading an input: a panic here becomes that input's skip.
    static IN_INPUT: Cell<bool> = const { Cell::new(false) };
}

/// Keep the default panic message (with its raw text) off stderr for panics while reading an
/// input: `scan` names the input and the reason itself, escaped like every message.
fn quiet_panics_in_inputs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_INPUT.with(Cell::get) {
                default(info);
            }
        }));
    });
}

fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

/// What one input held besides its events (see `shape::Parsed`).
#[derive(Debug, Default, Clone, Copy)]
struct Read {
    values: usize,
    documents: usize,
}

/// Where the events of a streamed input go: an accumulator of the input's own, joined to the
/// report only once the whole input has been read, so a broken input adds nothing.
struct Pending<'f, R> {
    filter: &'f Filter,
    proto: &'f R,
    /// The top-level value being read (a repeated "Records" key starts it again).
    value: (R, ScanStats),
    /// The values read to the end.
    done: (R, ScanStats),
}

impl<R: Report> stream::Sink for Pending<'_, R> {
    fn event(&mut self, ev: &Event<'_>) {
        self.value.1.events += 1;
        observe(ev, self.filter, &mut self.value.0, &mut self.value.1, false);
    }
    fn restart_document(&mut self) {
        self.value = (self.proto.clone(), ScanStats::default());
    }
    fn end_value(&mut self) {
        let (acc, stats) =
            std::mem::replace(&mut self.value, (self.proto.clone(), ScanStats::default()));
        self.done.0.merge(acc);
        self.done.1.merge(stats);
    }
}

/// Read, decode, parse and observe one input; with `sha`, keep the SHA-256 of its decompressed
/// content there.
#[allow(clippy::too_many_arguments)]
fn scan_one<R: Report>(
    work: Work<'_>,
    filter: &Filter,
    proto: &R,
    acc: &mut R,
    stats: &mut ScanStats,
    bufs: &mut Buffers,
    max_json: u64,
    mut sha: Option<&mut Option<String>>,
) -> Result<Read, String> {
    let limit = WHOLE.min(usize::try_from(max_json).unwrap_or(WHOLE));
    // The input's first bytes (all of it, when it is at most `WHOLE`), and the rest as a reader.
    let (head, rest): (Vec<u8>, Option<Box<dyn std::io::Read>>) = match work {
        Work::Fetched(Fetched {
            body: Ok(Body::Memory(body)),
            ..
        }) => {
            stats.input_bytes += body.len() as u64;
            (body, None)
        }
        work => {
            let (mut reader, size): (Box<dyn std::io::Read>, Option<u64>) = match work {
                Work::Fetched(f) => match f.body? {
                    Body::Spooled(file, n) => (Box::new(file), Some(n)),
                    Body::Memory(_) => unreachable!("taken above"),
                },
                Work::Local(Input::File(path)) => match local::open_regular(path) {
                    Ok(Ok((f, len))) => (Box::new(f), Some(len)),
                    Ok(Err(what)) => return Err(format!("not a regular file ({what})")),
                    Err(e) => return Err(format!("cannot read: {}", io_reason(&e))),
                },
                Work::Local(Input::Named(path)) => {
                    let f = std::fs::File::open(path)
                        .map_err(|e| format!("cannot read: {}", io_reason(&e)))?;
                    let size = f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
                    (Box::new(f), size)
                }
                Work::Local(Input::Stdin) => (Box::new(std::io::stdin().lock()), None),
            };
            // The worker's buffer, lent to this input and given back below.
            let mut head = std::mem::take(&mut bufs.raw);
            head.clear();
            if let Some(size) = size.filter(|&n| n <= WHOLE as u64) {
                head.reserve(size as usize);
            }
            (&mut reader)
                .take(WHOLE as u64 + 1)
                .read_to_end(&mut head)
                .map_err(|e| read_error(&e))?;
            if head.len() > WHOLE {
                stats.input_bytes += size.unwrap_or(0);
                (head, Some(reader))
            } else {
                stats.input_bytes += head.len() as u64;
                (head, None)
            }
        }
    };
    let keep_raw = acc.wants_raw() || filter.needs_raw();
    if rest.is_none() {
        let read = match decode::decode(&head, &mut bufs.text, &mut bufs.inflater, limit) {
            // More events than one parse holds (`{"Records":[{},{},…]}`): streamed below.
            Ok(Decoded::Whole(text)) => match hashed(text, sha.as_deref_mut())
                .and_then(|()| read_whole(text, filter, acc, stats, keep_raw))
            {
                Err(why) if why == TOO_MANY => None,
                read => Some(read),
            },
            Ok(Decoded::TooLarge) => None,
            Err(why) => Some(Err(why)),
        };
        if let Some(read) = read {
            bufs.raw = head;
            return read;
        }
    }
    // Too large to hold: stream it (the bytes already read first, not copied), into an
    // accumulator of its own.
    let reader = decode::stream_reader(
        head,
        rest.unwrap_or_else(|| Box::new(std::io::empty())),
        max_json,
    );
    // Hashed as it streams, unless the whole text was hashed above (too many events for one
    // parse); the rest is read to its end for the hash once the events are.
    let mut reader = Hashing::new(reader, sha.as_deref().is_some_and(Option::is_none));
    let mut pending = Pending {
        filter,
        proto,
        value: (proto.clone(), ScanStats::default()),
        done: (proto.clone(), ScanStats::default()),
    };
    let streamed = stream::read(&mut reader, keep_raw, stream::CHUNK, &mut pending)?;
    if let Some(out) = sha.filter(|_| reader.is_hashing()) {
        std::io::copy(&mut reader, &mut std::io::sink()).map_err(|e| read_error(&e))?;
        *out = reader.finish();
    }
    let (file_acc, mut file_stats) = pending.done;
    acc.merge(file_acc);
    file_stats.json_bytes = streamed.json_bytes;
    stats.merge(file_stats);
    Ok(Read {
        values: streamed.values,
        documents: streamed.documents,
    })
}

/// Parse a whole decoded input, then observe its events: none of them is observed unless all of
/// the input parsed.
fn read_whole<R: Report>(
    text: &[u8],
    filter: &Filter,
    acc: &mut R,
    stats: &mut ScanStats,
    keep_raw: bool,
) -> Result<Read, String> {
    // `--match` of a text the whole input does not hold: no event of it can pass, and its events
    // need not keep their text for it.
    let none = filter.none_can_match(text);
    let keep_raw = keep_raw && (!none || acc.wants_raw());
    let mut events: Vec<Event<'_>> = Vec::new();
    let parsed = parse_events(text, &mut events, keep_raw)?;
    stats.json_bytes += text.len() as u64;
    stats.events += events.len() as u64;
    for ev in &events {
        observe(ev, filter, acc, stats, none);
    }
    Ok(Read {
        values: parsed.values,
        documents: parsed.documents,
    })
}

/// Apply the window, account and region filters to one event and give it to the report;
/// `rejected`: the filters are known to refuse it.
fn observe<R: Report>(
    ev: &Event<'_>,
    filter: &Filter,
    acc: &mut R,
    stats: &mut ScanStats,
    rejected: bool,
) {
    let time = ev.event_time.as_deref().and_then(parse_event_time);
    if !filter.window.is_unbounded() {
        match time {
            Some(t) if filter.window.contains(t) => {}
            Some(t) => {
                stats.outside_window = span(stats.outside_window, Some((t, t)));
                return;
            }
            None => {
                stats.events_untimed += 1;
                return;
            }
        }
    }
    if rejected || !filter.accepts(ev) {
        stats.events_out_of_scope += 1;
        return;
    }
    if !acc.reads_aggregated() && ev.event_category.as_deref() == Some("Aggregated") {
        stats.events_aggregated += 1;
        return;
    }
    stats.events_matched += 1;
    acc.observe(ev, time);
}

/// Keep the SHA-256 of a whole decoded input in `sha`, when asked.
fn hashed(text: &[u8], sha: Option<&mut Option<String>>) -> Result<(), String> {
    if let Some(sha) = sha {
        *sha = Some(sha256_hex(text));
    }
    Ok(())
}

/// A trail log file, by its name (`…/AWSLogs/[o-…/]<account>/CloudTrail/…`): what digests list.
fn is_log_file(name: &str) -> bool {
    crate::verify::digest::layout_key(name).is_some_and(crate::verify::digest::is_log_key)
}

/// The span of two spans of time.
fn span(a: Option<(Micros, Micros)>, b: Option<(Micros, Micros)>) -> Option<(Micros, Micros)> {
    match (a, b) {
        (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
        (a, b) => a.or(b),
    }
}
