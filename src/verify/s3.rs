//! `verify` on S3: the listing of the trail folders, the digests with their signatures (object
//! metadata), the public keys, and the log files the digests list, downloaded as reports
//! download (the session's gate and cache) and hashed on the rayon workers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use super::crypto::Keys;
use super::digest::{DigestName, layout_key};
use super::keys;
use super::local::DigestRef;
use super::model::{DigestFile, Hashed, LogFile};
use super::read::{hash_body, hash_reader, read_digest};
use super::signed::digest_file;
use crate::config::Config;
use crate::exit::{Repeated, warn_repeated};
use crate::progress::Progress;
use crate::source::s3::S3Session;
use crate::source::s3::list::ObjectRef;
use crate::source::{Body, Fetched, layout};
use crate::time::{DAY, Micros};

/// What the S3 sources gave before any log file is read.
#[derive(Default)]
pub struct Found {
    pub digests: Vec<DigestFile>,
    pub logs: Vec<LogFile>,
    /// The log files each bucket holds, by key (`AWSLogs/…`).
    pub objects: HashMap<String, HashMap<String, ObjectRef>>,
}

/// List the trail folders of every S3 source, read the digests with their signatures, and get
/// the public keys of their regions (unless `keys` came from --public-keys).
pub fn collect(
    specs: &[(&str, &str)],
    config: &Config,
    days: (i64, i64),
    keys: &mut Keys,
    pool: &rayon::ThreadPool,
) -> anyhow::Result<Found> {
    let session = S3Session::new(&config.s3)?;
    let mut found = Found::default();
    let from_file = !keys.is_empty();
    let mut asked: std::collections::HashSet<String> = std::collections::HashSet::new();
    for (bucket, prefix) in specs {
        let b = session.bucket(bucket)?;
        let (objects, _) = b.trail_objects(prefix, &config.filter, days, config.now)?;
        let mut digests: Vec<(DigestRef, String)> = Vec::new();
        let mut logs: HashMap<String, ObjectRef> = HashMap::new();
        for o in objects {
            let key = o.object.key.clone();
            let (Some(lk), Some(origin)) = (layout_key(&key), o.object.origin.clone()) else {
                continue;
            };
            let object = format!("s3://{}/{key}", b.name());
            let root = format!("s3://{}/{}", b.name(), &key[..key.len() - lk.len()]);
            let file_name = key.rsplit('/').next().unwrap_or_default();
            if o.digest {
                if let Some(name) = DigestName::parse(file_name) {
                    let d = DigestRef {
                        object,
                        key: lk.to_string(),
                        root,
                        origin,
                        name,
                    };
                    digests.push((d, key));
                }
            } else if crate::source::local::is_event_file_name(file_name) {
                found.logs.push(LogFile {
                    object,
                    key: lk.to_string(),
                    origin,
                    delivered: layout::delivery_time(file_name),
                });
                logs.insert(lk.to_string(), o.object);
            }
        }

        // The digests, with their signatures.
        let keys_wanted: Vec<String> = digests.iter().map(|(_, k)| k.clone()).collect();
        let bodies = b.get_digests(&keys_wanted);
        let read: Vec<_> = pool.install(|| {
            bodies
                .into_par_iter()
                .map(|r| match r {
                    Ok((body, signature)) => (read_digest(&body), Ok(signature), None),
                    Err(why) => (
                        Err(why.clone()),
                        Err("not downloaded".to_string()),
                        Some(why),
                    ),
                })
                .collect()
        });
        // The keys of each region not asked yet (never with --public-keys), for the digests'
        // time range (CloudTrail takes no time after now).
        let mut regions: Vec<String> = digests
            .iter()
            .map(|(d, _)| d.origin.region.clone())
            .filter(|r| !from_file && !asked.contains(r))
            .collect();
        regions.sort();
        regions.dedup();
        if !regions.is_empty() {
            let ends = digests.iter().map(|(d, _)| d.name.end);
            let span: (Micros, Micros) = (
                ends.clone().min().unwrap_or(0) - 2 * DAY,
                (ends.max().unwrap_or(0) + DAY).min(config.now),
            );
            session.block_on(keys::list(&config.s3.aws, &regions, span, keys))?;
            asked.extend(regions);
        }
        let mut mine: Vec<DigestFile> = Vec::new();
        for ((d, _), (read, signature, unreadable)) in digests.into_iter().zip(read) {
            mine.push(digest_file(d, read, signature, keys, unreadable));
        }

        found.objects.insert(b.name().to_string(), logs);
        found.digests.extend(mine);
    }
    Ok(found)
}

/// Download and hash the log files `wanted` (per bucket), as the reports download them (the
/// session's gate and cache); returns each one's hash by key, and how many could not be read.
pub fn hash(
    config: &Config,
    pool: &rayon::ThreadPool,
    wanted: Vec<(String, Vec<ObjectRef>)>,
) -> anyhow::Result<(HashMap<String, Hashed>, u64)> {
    let (mut hashes, mut skipped) = (HashMap::new(), 0);
    if wanted.iter().all(|(_, objects)| objects.is_empty()) {
        return Ok((hashes, skipped));
    }
    let session = S3Session::new(&config.s3)?;
    for (bucket, objects) in wanted {
        let b = session.bucket(&bucket)?;
        let (tx, rx) = tokio::sync::mpsc::channel(objects.len().max(1));
        for o in objects {
            tx.try_send(o).expect("the channel holds them all");
        }
        drop(tx);
        let fatal: Arc<Mutex<Option<String>>> = Arc::default();
        let fetched = b.download(
            rx,
            Arc::new(Progress::default()),
            Arc::clone(&fatal),
            config.max_json,
        );
        let hashed: Vec<(String, String, Hashed)> = pool.install(|| {
            fetched
                .par_bridge()
                .map(|f| {
                    let key = layout_key(&f.name).unwrap_or_default().to_string();
                    let name = f.name.clone();
                    let hashed = super::read::guarded(|| hash_fetched(f, config.max_json));
                    (key, name, hashed)
                })
                .collect()
        });
        if let Some(why) = fatal.lock().ok().and_then(|mut f| f.take()) {
            anyhow::bail!(why);
        }
        for (k, name, h) in hashed {
            if let Hashed::Unreadable(why) = &h {
                skipped += 1;
                warn_repeated(Repeated::SkippedInput, &format!("{name}: {why}"));
            }
            hashes.insert(k, h);
        }
    }
    Ok((hashes, skipped))
}

/// Hash a downloaded body; one that does not decode is fetched once more first (it may have
/// been damaged on the way).
fn hash_fetched(f: Fetched, max_json: u64) -> Hashed {
    let hash = |body: Body| match body {
        Body::Memory(v) => hash_body(v, None, max_json),
        Body::Spooled(file, _) => hash_reader(Box::new(file), max_json),
    };
    let first = match f.body {
        Ok(body) => hash(body),
        Err(why) => return Hashed::Unreadable(why),
    };
    match (first, f.refetch) {
        (Hashed::Corrupt(_), Some(refetch)) => match refetch() {
            Ok(body) => hash(body),
            Err(why) => Hashed::Unreadable(why),
        },
        (h, _) => h,
    }
}
