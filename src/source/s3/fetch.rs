//! Downloading the listed objects for the rayon workers.
//!
//! Objects arrive from the listing (`list::list_days`) as their day prefix is listed. Each
//! waits for the session's `Gate` (how many downloads and how many bytes may be in flight,
//! adapting to what S3 gives unless `--concurrency` pins it), then its body goes through a
//! channel to the rayon workers, which gunzip and parse it. The permit of a download is held
//! until its body is handed over, so memory is bounded by the gate, not by the number or size
//! of objects; a body over `decode::WHOLE` bytes waits in an unnamed temporary file rather than
//! in memory.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;

use super::Bucket;
use super::direct::Getter;
use super::get_error::GetError;
use super::list::{Feed, Listing, ObjectRef, Walk};
use crate::aws;
use crate::cache::Lookup;
use crate::decode::{WHOLE, human_size};
use crate::filter::Filter;
use crate::progress::Progress;
use crate::source::{Body, Fetched, Refetch};
use crate::time::Micros;

/// Objects listed but not yet downloaded, at most: the listing waits when the downloads lag.
const QUEUED: usize = 4096;
/// Cache entries read at once (each read holds its body until the workers take it).
const CACHE_READS: usize = 16;

impl Bucket<'_> {
    /// List the day prefixes of `walk` and download their objects, both in the background;
    /// bodies (or why they could not be had) arrive on the returned iterator, and what was
    /// listed is counted in the returned `Listing`, complete once the iterator has ended. A
    /// failure that means nothing more can be read (a listing that fails, a KMS key the caller
    /// may not use) is put in `fatal` and stops further downloads.
    pub fn read(
        &self,
        walk: Walk,
        filter: &Filter,
        now: Micros,
        progress: Arc<Progress>,
        fatal: Arc<Mutex<Option<String>>>,
        max_json: u64,
    ) -> (
        Arc<Mutex<Listing>>,
        impl Iterator<Item = Fetched> + Send + 'static,
    ) {
        let listing: Arc<Mutex<Listing>> = Arc::default();
        let (objects_tx, objects) = tokio::sync::mpsc::channel::<ObjectRef>(QUEUED);
        self.list_days(
            walk,
            filter,
            now,
            Feed {
                progress: Arc::clone(&progress),
                listing: Arc::clone(&listing),
                fatal: Arc::clone(&fatal),
                objects: objects_tx,
            },
        );
        (listing, self.download(objects, progress, fatal, max_json))
    }

    /// Download the objects that arrive on `objects` (from a listing, or a list of keys
    /// `verify` wants), each through the session's gate and cache, as `read` does; bodies (or why
    /// they could not be had) arrive on the returned iterator.
    pub fn download(
        &self,
        objects: tokio::sync::mpsc::Receiver<ObjectRef>,
        progress: Arc<Progress>,
        fatal: Arc<Mutex<Option<String>>>,
        max_json: u64,
    ) -> impl Iterator<Item = Fetched> + Send + 'static {
        let mut objects = objects;
        let gate = Arc::clone(&self.session.gate);
        let read_timeout = self.session.read_timeout;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Fetched>(64);
        let (client, bucket) = (self.getter.clone(), self.name.clone());
        let handle = self.session.rt.handle().clone();
        let cache = self.session.cache.clone();
        // With a cache, each object is looked up there first (a few at once, on blocking
        // threads); only the misses go on to be downloaded.
        let mut objects = match &cache {
            None => objects,
            Some(cache) => {
                let (misses_tx, misses) = tokio::sync::mpsc::channel::<ObjectRef>(QUEUED);
                let (cache, bucket, tx, client) = (
                    Arc::clone(cache),
                    bucket.clone(),
                    tx.clone(),
                    client.clone(),
                );
                let (progress, handle) = (Arc::clone(&progress), handle.clone());
                self.session.rt.spawn(async move {
                    let reads = Arc::new(tokio::sync::Semaphore::new(CACHE_READS));
                    while let Some(obj) = objects.recv().await {
                        let permit = Arc::clone(&reads)
                            .acquire_owned()
                            .await
                            .expect("semaphore is never closed");
                        let (cache, bucket, tx, misses_tx, client, progress, handle) = (
                            Arc::clone(&cache),
                            bucket.clone(),
                            tx.clone(),
                            misses_tx.clone(),
                            client.clone(),
                            Arc::clone(&progress),
                            handle.clone(),
                        );
                        tokio::spawn(async move {
                            let lookup = {
                                let (cache, bucket, key, etag) = (
                                    Arc::clone(&cache),
                                    bucket.clone(),
                                    obj.key.clone(),
                                    obj.etag.clone(),
                                );
                                let size = obj.size;
                                tokio::task::spawn_blocking(move || {
                                    cache.object(&bucket, &key, &etag, size)
                                })
                                .await
                                .unwrap_or(Lookup::Miss)
                            };
                            let name = format!("s3://{bucket}/{}", obj.key);
                            match lookup {
                                Lookup::Hit(body) => {
                                    progress.downloaded(body.size());
                                    // A copy that does not decode is dropped and downloaded.
                                    let (key, etag) = (obj.key.clone(), obj.etag.clone());
                                    let refetch: Refetch = Box::new(move || {
                                        cache.drop_object(&bucket, &key);
                                        crate::exit::warn(&format!(
                                            "s3://{bucket}/{key}: the cached copy did not decode: dropped, downloaded again"
                                        ));
                                        let mut body = handle
                                            .block_on(get_object(&client, &bucket, &key, read_timeout))
                                            .map_err(GetError::into_reason)?;
                                        progress.downloaded(body.size());
                                        cache.put_object(&bucket, &key, &etag, &mut body);
                                        Ok(body)
                                    });
                                    let _ = tx
                                        .send(Fetched {
                                            name,
                                            origin: obj.origin,
                                            body: Ok(body),
                                            refetch: Some(refetch),
                                        })
                                        .await;
                                }
                                Lookup::Damaged(why) => {
                                    crate::exit::warn(&format!(
                                        "{name}: the cached copy is damaged ({why}): dropped, downloaded again"
                                    ));
                                    let _ = misses_tx.send(obj).await;
                                }
                                Lookup::Miss => {
                                    let _ = misses_tx.send(obj).await;
                                }
                            }
                            drop(permit);
                        });
                    }
                });
                misses
            }
        };
        let stopped =
            move |fatal: &Mutex<Option<String>>| fatal.lock().map(|f| f.is_some()).unwrap_or(true);
        self.session.rt.spawn(async move {
            while let Some(obj) = objects.recv().await {
                if stopped(&fatal) {
                    break;
                }
                let name = format!("s3://{bucket}/{}", obj.key);
                // An object larger than the JSON one input may hold cannot be read whole:
                // gzip or not, its JSON is at least about as large. It is not downloaded.
                if obj.size > max_json.saturating_add(max_json / 64) {
                    let _ = tx
                        .send(Fetched {
                            name,
                            origin: obj.origin,
                            body: Err(format!(
                                "an object of {}, over --max-decompressed-size ({}): not downloaded",
                                human_size(obj.size),
                                human_size(max_json)
                            )),
                            refetch: None,
                        })
                        .await;
                    continue;
                }
                let permit = gate.acquire(obj.size).await;
                if stopped(&fatal) {
                    break;
                }
                let (client, bucket, tx, progress, fatal, handle, cache) = (
                    client.clone(),
                    bucket.clone(),
                    tx.clone(),
                    Arc::clone(&progress),
                    Arc::clone(&fatal),
                    handle.clone(),
                    cache.clone(),
                );
                tokio::spawn(async move {
                    let body = match get_object(&client, &bucket, &obj.key, read_timeout).await {
                        Ok(body) => {
                            progress.downloaded(body.size());
                            Ok(body)
                        }
                        Err(GetError::Fatal(why)) => {
                            if let Ok(mut f) = fatal.lock() {
                                f.get_or_insert(format!("{name}: {why}"));
                            }
                            return;
                        }
                        Err(GetError::Object(why)) => Err(why),
                    };
                    // Kept in the cache as it came, before the workers see it.
                    let body = match (body, &cache) {
                        (Ok(mut body), Some(cache)) => {
                            let (cache, bucket, key, etag) = (
                                Arc::clone(cache),
                                bucket.clone(),
                                obj.key.clone(),
                                obj.etag.clone(),
                            );
                            tokio::task::spawn_blocking(move || {
                                cache.put_object(&bucket, &key, &etag, &mut body);
                                body
                            })
                            .await
                            .map_err(|_| "could not keep it in the cache".to_string())
                        }
                        (body, _) => body,
                    };
                    // A body that arrived but does not decode may have been damaged on the way
                    // without a checksum to tell: the worker may ask for it once more. It runs
                    // on a rayon thread, outside the runtime, so it may block on it.
                    let refetch: Option<Refetch> = body.is_ok().then(|| {
                        let key = obj.key.clone();
                        Box::new(move || {
                            let body = handle
                                .block_on(get_object(&client, &bucket, &key, read_timeout))
                                .map_err(GetError::into_reason)?;
                            progress.downloaded(body.size());
                            Ok(body)
                        }) as Refetch
                    });
                    // The permit is released only once the body is handed over.
                    let _ = tx
                        .send(Fetched {
                            name,
                            origin: obj.origin,
                            body,
                            refetch,
                        })
                        .await;
                    drop(permit);
                });
            }
        });
        std::iter::from_fn(move || rx.blocking_recv())
    }
}

/// GetObject and read the whole body. The request is retried on throttling (503 SlowDown),
/// timeouts and dropped connections before the response (by the SDK, or as the SDK does by
/// `direct`); a body that stops, breaks off or fails its checksum while it streams is asked for
/// again here.
async fn get_object(
    client: &Getter,
    bucket: &str,
    key: &str,
    read_timeout: Option<Duration>,
) -> Result<Body, GetError> {
    const ATTEMPTS: u32 = 3;
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        if attempt > 1 {
            tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt - 1))).await;
        }
        let (body, len) = client.send(bucket, key).await?;
        match read_body(body, len, read_timeout).await {
            Ok(data) => return Ok(data),
            Err(why) => {
                // A body that broke off or stalled: the network or S3 is overloaded.
                aws::debug::note_overloaded();
                last = why;
            }
        }
    }
    Err(GetError::Object(format!(
        "download failed after {ATTEMPTS} attempts: {last}"
    )))
}

/// The whole body of a GetObject response: in memory up to `decode::WHOLE` bytes, past that in
/// an unnamed temporary file. Each wait for more bytes is bounded by the read timeout, so a
/// server that sends the headers and then nothing cannot hold the run forever.
async fn read_body(
    mut body: ByteStream,
    len: Option<u64>,
    read_timeout: Option<Duration>,
) -> Result<Body, String> {
    let expected = len.unwrap_or(0).min(WHOLE as u64) as usize;
    let mut data = Vec::with_capacity(expected);
    let mut spool: Option<(std::fs::File, u64)> = None;
    // Bytes since the start of the current window of one read timeout: a body that trickles
    // in at under a byte a second over a whole window is as stalled as one that stops (the
    // SDK's stalled-stream protection has the same floor).
    let mut window = (std::time::Instant::now(), 0u64);
    loop {
        let next = match read_timeout {
            Some(t) => tokio::time::timeout(t, body.next()).await,
            None => Ok(body.next().await),
        };
        if let (Some(t), Ok(Some(Ok(chunk)))) = (read_timeout, &next) {
            let elapsed = window.0.elapsed();
            if elapsed >= t {
                if (window.1 as f64) < elapsed.as_secs_f64() {
                    return Err(format!(
                        "stalled: under a byte a second for {} (the read timeout, --read-timeout)",
                        aws::seconds(t)
                    ));
                }
                window = (std::time::Instant::now(), 0);
            }
            window.1 += chunk.len() as u64;
        }
        match next {
            Err(_) => {
                return Err(format!(
                    "stalled: no data for {} (the read timeout, --read-timeout)",
                    aws::seconds(read_timeout.unwrap_or_default())
                ));
            }
            Ok(None) => {
                return Ok(match spool {
                    None => Body::Memory(data),
                    Some((mut file, n)) => {
                        use std::io::Seek;
                        file.rewind()
                            .map_err(|e| format!("cannot read the temporary copy: {e}"))?;
                        Body::Spooled(file, n)
                    }
                });
            }
            Ok(Some(Ok(chunk))) => {
                if spool.is_none() && data.len() + chunk.len() > WHOLE {
                    let mut file = temp_file().map_err(|e| {
                        format!("cannot make a temporary copy of a large object: {e}")
                    })?;
                    std::io::Write::write_all(&mut file, &data)
                        .map_err(|e| format!("cannot write the temporary copy: {e}"))?;
                    spool = Some((file, data.len() as u64));
                    data = Vec::new();
                }
                match &mut spool {
                    None => data.extend_from_slice(&chunk),
                    Some((file, n)) => {
                        std::io::Write::write_all(file, &chunk)
                            .map_err(|e| format!("cannot write the temporary copy: {e}"))?;
                        *n += chunk.len() as u64;
                    }
                }
            }
            Ok(Some(Err(e))) => {
                return Err(match aws::transport_reason(&e).as_str() {
                    "checksum mismatch" => {
                        "checksum mismatch: the body differs from the checksum S3 sent".to_string()
                    }
                    reason => format!("connection lost while reading ({reason})"),
                });
            }
        }
    }
}

/// A temporary file with no name: created in the system's temporary folder and unlinked at
/// once, so it disappears with the run whatever happens.
fn temp_file() -> std::io::Result<std::fs::File> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir();
    loop {
        let path = dir.join(format!(
            "ctq-{}-{}.body",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => {
                std::fs::remove_file(&path)?;
                return Ok(file);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
}
