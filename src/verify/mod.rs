//! `ctq verify`: are the window's log files complete and untampered?
//!
//! With log file validation on, CloudTrail writes an hourly digest per account, region and trail
//! that lists every log file delivered in its hour with its SHA-256, names the previous digest
//! with its SHA-256, and is signed (SHA256withRSA). `verify` finds the digests and log files of
//! the window's day folders (`local.rs`, `s3.rs`), reads every digest (`read.rs`, `digest.rs`),
//! checks each signature against the public keys (`crypto.rs`, `keys.rs`), hashes the log files
//! the in-window digests list, and makes every check on what it read (`check.rs`): one row per
//! problem, then the summary (`show.rs`). Exit 4 on any problem.

pub mod check;
pub mod crypto;
pub mod digest;
pub mod keys;
pub mod local;
pub mod model;
pub mod read;
pub mod s3;
pub mod show;
pub mod signed;

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context as _;
use rayon::prelude::*;

use crypto::Keys;
use model::{DigestFile, Hashed, LogFile};
use read::guarded;
use signed::digest_file;

use crate::config::Config;
use crate::exit::{Outcome, Repeated, warn, warn_repeated};
use crate::render;
use crate::source::SourceSpec;
use crate::source::s3::list::ObjectRef;
use crate::time;

/// `verify`'s own options (its help is the command's, in `cli.rs`).
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    /// The saved output of `aws cloudtrail list-public-keys` (JSON), instead of asking
    /// CloudTrail; repeat it for several regions
    #[arg(long = "public-keys", value_name = "FILE")]
    pub public_keys: Vec<PathBuf>,
    /// For a local copy: a JSON object from each digest's key (AWSLogs/…) to its signature, the
    /// hex of its S3 object's x-amz-meta-signature
    #[arg(long, value_name = "FILE")]
    pub signatures: Option<PathBuf>,
}

/// `ctq verify --help`'s description.
pub const LONG_ABOUT: &str = "\
Check that the window's log files are complete and untampered (signed digest files)

Reads the digest files (CloudTrail-Digest/) of the window's hours and the hour before, and the \
log files (CloudTrail/) of its day folders; checks each digest's signature, place and chain, each \
listed log file's SHA-256 (every gzip member), and that every log file of the window is in a \
digest. One row per problem (kind, account, region, object, period_start, period_end, detail), \
then a summary. Kinds: missing_log, modified_log, unlisted_log, missing_digest, modified_digest, \
bad_signature, chain_break, no_digest_period. Exit code 4 when any problem is found.

On S3, a digest's signature is its object's x-amz-meta-signature, checked against the keys \
CloudTrail's ListPublicKeys gives for its region (or --public-keys). A local copy has no object \
metadata: its signatures are not checked unless --signatures gives them.";

pub const EXAMPLES: &str = "ctq verify -s s3://my-trail-bucket --date 2024-09-05\n  \
    ctq verify -s s3://my-trail-bucket --since 7d --account 111111111111 -o json\n  \
    ctq verify -s ./trail-copy --since 2024-09-01 --until 2024-09-04 --signatures sigs.json --public-keys keys.json";

/// The first and last delivery day folders to read: one day more on each side than the window,
/// for the digest of the hour before and the digests that end after midnight.
fn days(config: &Config) -> (i64, i64) {
    let w = &config.filter.window;
    let lo = w.since.map_or(i64::MIN / 2, |s| time::day_of(s) - 1);
    let hi = w
        .until
        .map_or(time::day_of(config.now) + 1, |u| time::day_of(u - 1) + 1);
    (lo, hi.max(lo))
}

pub fn run(args: &VerifyArgs, config: &Config) -> anyhow::Result<Outcome> {
    let mut keys = Keys::default();
    for file in &args.public_keys {
        let text =
            std::fs::read(file).with_context(|| format!("--public-keys {}", file.display()))?;
        keys.add_list_output(&text)
            .map_err(|why| anyhow::anyhow!("--public-keys {}: {why}", file.display()))?;
    }
    let signatures: Option<HashMap<String, String>> = match &args.signatures {
        None => None,
        Some(file) => {
            let text =
                std::fs::read(file).with_context(|| format!("--signatures {}", file.display()))?;
            let map = crypto::read_signatures(&text)
                .map_err(|why| anyhow::anyhow!("--signatures {}: {why}", file.display()))?;
            Some(
                map.into_iter()
                    .map(|(k, v)| (digest::layout_key(&k).unwrap_or(&k).to_string(), v))
                    .collect(),
            )
        }
    };
    if config.default_window {
        warn(&format!(
            "no time window given: verifying the last 24 hours of S3, {}; use --since or --date for another window",
            config.filter.window
        ));
    }
    let found = gather(config, keys, signatures.as_ref(), HashMap::new())?;
    let doc = show::document(&found.problems, &found.counts, &config.filter.window);
    render::print(&doc.into(), config.style())?;
    Ok(Outcome {
        skipped_inputs: found.skipped,
        failed_empty: false,
        alert: !found.problems.is_empty(),
    })
}

/// `--verify` on a report: verify the window as `verify` does, with the SHA-256 of the log
/// files the report read (`scanned`, by name: a path or `s3://bucket/key`) taken from its scan,
/// which hashed them as it decompressed them. The verdict goes to stderr, in one line (and a line
/// per problem); exit 4 on a problem.
pub fn after_scan(
    config: &Config,
    prepared: std::thread::JoinHandle<anyhow::Result<Prepared>>,
    scanned: Vec<(String, Hashed)>,
) -> anyhow::Result<Outcome> {
    let known: HashMap<String, Hashed> = scanned
        .into_iter()
        .filter_map(|(name, h)| Some((digest::layout_key(&name)?.to_string(), h)))
        .collect();
    let prepared = prepared.join().map_err(|_| {
        anyhow::anyhow!("internal error while finding the digests (please report it)")
    })??;
    let found = finish(config, prepared, known, &pool(config)?)?;
    for p in &found.problems {
        warn_repeated(
            Repeated::Integrity,
            &format!(
                "integrity: {} {} ({} to {}): {}",
                p.kind.name(),
                p.object,
                time::format_time(p.period.0),
                time::format_time(p.period.1),
                p.detail
            ),
        );
    }
    // The report's own notes were said before it; this one is about the problems above.
    for note in crate::exit::capped_notes()
        .iter()
        .filter(|n| n.contains("integrity problems"))
    {
        warn(note);
    }
    if !config.quiet || !found.problems.is_empty() {
        warn(&show::verdict(&found.problems, &found.counts));
    }
    Ok(Outcome {
        skipped_inputs: found.skipped,
        failed_empty: false,
        alert: !found.problems.is_empty(),
    })
}

/// What the checks found.
pub struct Found {
    pub problems: Vec<model::Problem>,
    pub counts: model::Counts,
    /// Digests, log files and folders that could not be read.
    pub skipped: u64,
}

/// What was found and read before any log file is hashed: the digests (read, signatures
/// checked), the log files of the day folders, and where to read each.
pub struct Prepared {
    digests: Vec<DigestFile>,
    logs: Vec<LogFile>,
    /// Local log files by key (`AWSLogs/…`).
    local_paths: HashMap<String, PathBuf>,
    /// S3 log files by bucket, then key.
    objects: HashMap<String, HashMap<String, ObjectRef>>,
    /// Folders that could not be read.
    skipped: u64,
}

/// Find and read the digests and log files of the window, and check them, hashing the log
/// files the in-window digests list; `hashes` holds those already hashed, by key.
fn gather(
    config: &Config,
    keys: Keys,
    signatures: Option<&HashMap<String, String>>,
    hashes: HashMap<String, Hashed>,
) -> anyhow::Result<Found> {
    let pool = pool(config)?;
    let prepared = prepare(config, keys, signatures, &pool)?;
    finish(config, prepared, hashes, &pool)
}

fn pool(config: &Config) -> anyhow::Result<rayon::ThreadPool> {
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(n) = config.threads {
        pool = pool.num_threads(n.get());
    }
    pool.build().context("cannot start worker threads")
}

/// `--verify`: what `prepare` does, on a thread of its own while the report's scan runs.
pub fn prepare_beside(config: &Config) -> std::thread::JoinHandle<anyhow::Result<Prepared>> {
    let config = config.clone();
    std::thread::spawn(move || {
        let pool = pool(&config)?;
        prepare(&config, Keys::default(), None, &pool)
    })
}

/// Find the digests and log files of the window (local folders, S3) and read the digests.
fn prepare(
    config: &Config,
    mut keys: Keys,
    signatures: Option<&HashMap<String, String>>,
    pool: &rayon::ThreadPool,
) -> anyhow::Result<Prepared> {
    let days = days(config);
    let (accounts, regions) = (&config.filter.accounts, &config.filter.regions);
    let mut digests: Vec<DigestFile> = Vec::new();
    let mut logs: Vec<LogFile> = Vec::new();

    // Local copies.
    let mut inv = local::Inventory::default();
    for spec in &config.sources {
        match spec {
            SourceSpec::Path(p) => local::walk(p, days, accounts, regions, &mut inv)?,
            SourceSpec::Stdin => anyhow::bail!(
                "verify reads a trail's folders (or S3), not standard input: digests name files by their keys"
            ),
            SourceSpec::S3 { .. } => {}
        }
    }
    let local_digests: Vec<DigestFile> = pool
        .install(|| {
            inv.digests
                .par_iter()
                .map(|(d, path)| {
                    let (read, unreadable) = match std::fs::read(path) {
                        Ok(body) => (read::read_digest(&body), None),
                        Err(e) => {
                            let why = format!("cannot read: {}", crate::source::io_reason(&e));
                            (Err(why.clone()), Some(why))
                        }
                    };
                    let signature = signatures.map(|m| m.get(&d.key).cloned());
                    (d.clone(), read, signature, unreadable)
                })
                .collect::<Vec<_>>()
        })
        .into_iter()
        .map(|(d, read, sig, unreadable)| {
            let sig = match sig {
                None => Err("no S3 metadata: a local copy; --signatures gives them".to_string()),
                Some(None) => Ok(None),
                Some(Some(s)) => Ok(Some(s)),
            };
            digest_file(d, read, sig, &keys, unreadable)
        })
        .collect();
    digests.extend(local_digests);
    let local_paths: HashMap<String, PathBuf> = inv
        .logs
        .iter()
        .map(|(l, p)| (l.key.clone(), p.clone()))
        .collect();
    logs.extend(inv.logs.into_iter().map(|(l, _)| l));

    // S3.
    let s3_specs = config.s3_sources();
    let mut objects = HashMap::new();
    if !s3_specs.is_empty() {
        let found = s3::collect(&s3_specs, config, days, &mut keys, pool)?;
        digests.extend(found.digests);
        logs.extend(found.logs);
        objects = found.objects;
    }
    Ok(Prepared {
        digests,
        logs,
        local_paths,
        objects,
        skipped: inv.unreadable,
    })
}

/// Hash the log files the in-window digests list that `hashes` does not hold yet, then check.
fn finish(
    config: &Config,
    prepared: Prepared,
    mut hashes: HashMap<String, Hashed>,
    pool: &rayon::ThreadPool,
) -> anyhow::Result<Found> {
    let Prepared {
        digests,
        logs,
        local_paths,
        objects,
        mut skipped,
    } = prepared;
    let wanted = check::wanted(&digests, &config.filter.window);
    // What to read: a local path, an S3 object (by bucket), or nothing (missing).
    let mut local: Vec<(&String, &PathBuf)> = Vec::new();
    let mut remote: HashMap<String, Vec<ObjectRef>> = HashMap::new();
    let todo: Vec<(&String, &String)> = wanted
        .iter()
        .filter(|(k, _)| !hashes.contains_key(*k))
        .collect();
    for (k, object) in todo {
        let bucket = object
            .strip_prefix("s3://")
            .and_then(|rest| rest.split_once('/'))
            .map(|(b, _)| b);
        let found = match bucket {
            Some(b) => objects.get(b).and_then(|o| o.get(k)).map(|o| {
                remote.entry(b.to_string()).or_default().push(o.clone());
            }),
            None => local_paths.get(k).map(|p| local.push((k, p))),
        };
        if found.is_none() {
            hashes.insert(k.clone(), Hashed::Missing);
        }
    }
    let local_hashes: Vec<(String, Hashed)> = pool.install(|| {
        local
            .par_iter()
            .map(|(k, p)| {
                (
                    (*k).clone(),
                    guarded(|| local::hash_file(p, config.max_json)),
                )
            })
            .collect()
    });
    for (k, h) in local_hashes {
        if let Hashed::Unreadable(why) = &h {
            warn_repeated(
                Repeated::SkippedInput,
                &format!(
                    "{}: {why}",
                    wanted.get(&k).map_or(k.as_str(), String::as_str)
                ),
            );
        }
        hashes.insert(k, h);
    }
    let (remote_hashes, remote_skipped) = s3::hash(config, pool, remote.into_iter().collect())?;
    hashes.extend(remote_hashes);
    skipped += remote_skipped;

    for d in digests.iter().filter(|d| d.unreadable.is_some()) {
        skipped += 1;
        warn_repeated(
            Repeated::SkippedInput,
            &format!(
                "{}: {}",
                d.object,
                d.unreadable.as_deref().unwrap_or_default()
            ),
        );
    }
    let (problems, counts) =
        check::check(&digests, &logs, &hashes, &config.filter.window, config.now);
    Ok(Found {
        skipped: skipped + counts.log_files_unreadable,
        problems,
        counts,
    })
}
