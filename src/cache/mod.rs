//! `--cache`: S3 objects and listings kept on disk, so that the next question over the same
//! past window makes no request.
//!
//! CloudTrail never rewrites an object (each key is unique), so a cached object stays true as
//! long as its ETag is the one listed. A day folder holds what was delivered that day, and a
//! delivery lands in the folder of its own delivery day, so the listing of a folder whose day
//! ended more than `SETTLED` ago is complete for good; the same holds for the folders of the
//! layout walk (accounts, regions) for a window whose last day ended that long before the walk.
//! A listing is kept with the time it was made, and used only when it was made late enough.
//!
//! On disk, under DIR: `objects/XX/HASH` (the object's bytes as S3 sent them, gzip or not) and
//! `listings/XX/HASH`, each behind a header that names what it holds (bucket, key, ETag; or
//! bucket, prefix, time listed) and the CRC-32 and length of the rest. HASH is a 64-bit FNV-1a
//! of the name: two names that collide only take each other's place, because a hit is believed
//! only when the header names what was asked. An entry whose header or CRC does not match is
//! damaged: it is named on stderr, removed, and the object downloaded again.
//!
//! Entries are written to a temporary name in the same folder and renamed, so a concurrent run
//! sees a whole entry or none. Reading an entry sets its modification time: after a run that
//! wrote, the least recently used entries are removed until the cache is under 90% of its cap.

mod entry;
mod folder;

use std::fs;
use std::io::{self, Seek};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use entry::{entries, fnv1a, read_entry, touch, write_entry};
pub use folder::{CacheCommand, Info, clear, command, default_dir, info};

use crate::source::Body;
use crate::time::{DAY, HOUR, Micros};

/// `--cache-size` by default.
pub const DEFAULT_SIZE: u64 = 10 << 30;
/// How long after its day ends a day folder may still get a delivery (late ones land in the
/// folder of their own delivery day; this covers clocks and the delivery itself).
pub const SETTLED: Micros = 2 * HOUR;
/// An entry read into memory up to this size; past it the entry's file is handed over as it is.
const IN_MEMORY: u64 = 1 << 20;
/// The most a listing entry may hold: a listing larger than this is not cached.
const MAX_LISTING: u64 = 256 << 20;

/// What the cache did in a run, for `--stats`.
#[derive(Debug, Default)]
pub struct CacheStats {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub listing_hits: AtomicU64,
    pub listing_misses: AtomicU64,
    pub damaged: AtomicU64,
    pub written: AtomicU64,
    pub write_failures: AtomicU64,
}

/// An open cache folder.
#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
    cap: u64,
    /// Where the objects come from (an endpoint URL, or `s3` for AWS): two servers may have a
    /// bucket of the same name, and their entries must not mix.
    namespace: String,
    pub stats: CacheStats,
}

/// The result of looking an object up.
pub enum Lookup {
    Hit(Body),
    Miss,
    /// An entry was there but damaged (removed); the reason, to be told.
    Damaged(String),
}

/// One object of a listing, as cached: key, size, ETag.
pub type Listed = (String, u64, String);

impl Cache {
    /// Open (creating it if needed) the cache in `dir`, capped at `cap` bytes, for the objects
    /// of `namespace` (the endpoint they come from).
    pub fn open(dir: &Path, cap: u64, namespace: &str) -> io::Result<Cache> {
        for sub in ["objects", "listings"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        Ok(Cache {
            dir: dir.to_path_buf(),
            cap,
            namespace: namespace.to_string(),
            stats: CacheStats::default(),
        })
    }

    /// A bucket's name as entries hold it: with the namespace, which no bucket name contains.
    fn scoped(&self, bucket: &str) -> String {
        format!("{}\u{0}{bucket}", self.namespace)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, kind: &str, name: &[&[u8]]) -> PathBuf {
        let h = fnv1a(name);
        self.dir
            .join(kind)
            .join(format!("{:02x}", h >> 56))
            .join(format!("{h:016x}"))
    }

    /// The cached copy of `bucket/key` with this ETag and size, if a sound one is there.
    pub fn object(&self, bucket: &str, key: &str, etag: &str, size: u64) -> Lookup {
        let bucket = &self.scoped(bucket);
        let path = self.path("objects", &[bucket.as_bytes(), key.as_bytes()]);
        let names = [bucket.as_bytes(), key.as_bytes(), etag.as_bytes()];
        match read_entry(&path, &names, IN_MEMORY) {
            Ok(Some((body, len))) if len == size => {
                self.stats.hits.fetch_add(1, Relaxed);
                touch(&path);
                Lookup::Hit(body)
            }
            // Another ETag or size: the object changed (or another name took the slot).
            Ok(_) => {
                self.stats.misses.fetch_add(1, Relaxed);
                Lookup::Miss
            }
            Err(why) => {
                self.stats.damaged.fetch_add(1, Relaxed);
                self.stats.misses.fetch_add(1, Relaxed);
                let _ = fs::remove_file(&path);
                Lookup::Damaged(why)
            }
        }
    }

    /// Remove the cached copy of `bucket/key` (its body did not decode).
    pub fn drop_object(&self, bucket: &str, key: &str) {
        let bucket = &self.scoped(bucket);
        self.stats.damaged.fetch_add(1, Relaxed);
        let _ = fs::remove_file(self.path("objects", &[bucket.as_bytes(), key.as_bytes()]));
    }

    /// Keep `body`, the whole object `bucket/key` with this ETag. A failure to write is counted
    /// and otherwise ignored: the cache is an aid, the run goes on.
    pub fn put_object(&self, bucket: &str, key: &str, etag: &str, body: &mut Body) {
        let bucket = &self.scoped(bucket);
        let path = self.path("objects", &[bucket.as_bytes(), key.as_bytes()]);
        let names = [bucket.as_bytes(), key.as_bytes(), etag.as_bytes()];
        let written = match body {
            Body::Memory(data) => write_entry(&path, &names, &mut &data[..]),
            Body::Spooled(file, _) => (|| {
                file.rewind()?;
                let r = write_entry(&path, &names, file);
                file.rewind()?;
                r
            })(),
        };
        match written {
            Ok(()) => self.stats.written.fetch_add(1, Relaxed),
            Err(_) => self.stats.write_failures.fetch_add(1, Relaxed),
        };
    }

    /// A listing of `prefix` made no earlier than `complete_at` (a listing made before then
    /// may lack objects delivered since), as (common prefixes, objects).
    pub fn listing(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: bool,
        complete_at: Micros,
    ) -> Option<(Vec<String>, Vec<Listed>)> {
        let bucket = &self.scoped(bucket);
        let path = self.listing_path(bucket, prefix, delimiter);
        let names = listing_names(bucket, prefix, delimiter);
        let names: Vec<&[u8]> = names.iter().map(|n| n.as_slice()).collect();
        let found = match read_entry(&path, &names, MAX_LISTING) {
            Ok(Some((Body::Memory(data), _))) => {
                serde_json::from_slice::<CachedListing>(&data).ok()
            }
            Ok(_) => None,
            Err(_) => {
                self.stats.damaged.fetch_add(1, Relaxed);
                let _ = fs::remove_file(&path);
                None
            }
        };
        match found {
            Some(l) if l.listed_at >= complete_at => {
                self.stats.listing_hits.fetch_add(1, Relaxed);
                touch(&path);
                Some((l.prefixes, l.objects))
            }
            _ => {
                self.stats.listing_misses.fetch_add(1, Relaxed);
                None
            }
        }
    }

    /// Keep a listing of `prefix` made at `listed_at`.
    pub fn put_listing(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: bool,
        listed_at: Micros,
        prefixes: &[String],
        objects: &[Listed],
    ) {
        let bucket = &self.scoped(bucket);
        let path = self.listing_path(bucket, prefix, delimiter);
        let names = listing_names(bucket, prefix, delimiter);
        let names: Vec<&[u8]> = names.iter().map(|n| n.as_slice()).collect();
        let data = serde_json::to_vec(&CachedListingRef {
            listed_at,
            prefixes,
            objects,
        })
        .unwrap_or_default();
        if data.len() as u64 > MAX_LISTING {
            return;
        }
        match write_entry(&path, &names, &mut &data[..]) {
            Ok(()) => self.stats.written.fetch_add(1, Relaxed),
            Err(_) => self.stats.write_failures.fetch_add(1, Relaxed),
        };
    }

    fn listing_path(&self, bucket: &str, prefix: &str, delimiter: bool) -> PathBuf {
        let names = listing_names(bucket, prefix, delimiter);
        let names: Vec<&[u8]> = names.iter().map(|n| n.as_slice()).collect();
        self.path("listings", &names)
    }

    /// After a run that wrote: remove the least recently used entries until the cache is
    /// under 90% of its cap. Returns (entries removed, bytes removed).
    pub fn evict(&self) -> (u64, u64) {
        if self.stats.written.load(Relaxed) == 0 {
            return (0, 0);
        }
        let mut entries = entries(&self.dir);
        let total: u64 = entries.iter().map(|e| e.1).sum();
        if total <= self.cap {
            return (0, 0);
        }
        let target = self.cap / 10 * 9;
        entries.sort_by_key(|e| e.2);
        let (mut left, mut removed, mut freed) = (total, 0, 0);
        for (path, size, _) in entries {
            if left <= target {
                break;
            }
            if fs::remove_file(&path).is_ok() {
                left -= size;
                removed += 1;
                freed += size;
            }
        }
        (removed, freed)
    }
}

/// The day a listing of a day folder is complete: `SETTLED` after the end of its day.
pub fn day_complete_at(day: i64) -> Micros {
    (day + 1) * DAY + SETTLED
}

#[derive(serde::Deserialize)]
struct CachedListing {
    listed_at: Micros,
    prefixes: Vec<String>,
    objects: Vec<Listed>,
}

#[derive(serde::Serialize)]
struct CachedListingRef<'a> {
    listed_at: Micros,
    prefixes: &'a [String],
    objects: &'a [Listed],
}

fn listing_names(bucket: &str, prefix: &str, delimiter: bool) -> [Vec<u8>; 3] {
    [
        bucket.as_bytes().to_vec(),
        prefix.as_bytes().to_vec(),
        if delimiter { b"/".to_vec() } else { Vec::new() },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io::Read;
    use std::time::SystemTime;

    fn body_bytes(b: Body) -> Vec<u8> {
        match b {
            Body::Memory(v) => v,
            Body::Spooled(mut f, n) => {
                let mut v = Vec::new();
                (&mut f).take(n).read_to_end(&mut v).unwrap();
                v
            }
        }
    }

    #[test]
    fn an_object_comes_back_only_with_its_etag_and_size() {
        let dir = tempfile::tempdir().unwrap();
        let c = Cache::open(dir.path(), DEFAULT_SIZE, "s3").unwrap();
        assert!(matches!(c.object("b", "k", "e1", 3), Lookup::Miss));
        c.put_object("b", "k", "e1", &mut Body::Memory(b"abc".to_vec()));
        match c.object("b", "k", "e1", 3) {
            Lookup::Hit(b) => assert_eq!(body_bytes(b), b"abc"),
            _ => panic!("no hit"),
        }
        assert!(matches!(c.object("b", "k", "e2", 3), Lookup::Miss));
        assert!(matches!(c.object("b", "k", "e1", 4), Lookup::Miss));
        assert!(matches!(c.object("b2", "k", "e1", 3), Lookup::Miss));
        // A large object comes back as its file, positioned at the data.
        let big: Vec<u8> = (0..3 << 20).map(|i| (i % 251) as u8).collect();
        c.put_object("b", "big", "e", &mut Body::Memory(big.clone()));
        match c.object("b", "big", "e", big.len() as u64) {
            Lookup::Hit(b @ Body::Spooled(..)) => assert_eq!(body_bytes(b), big),
            _ => panic!("no spooled hit"),
        }
    }

    #[test]
    fn a_damaged_entry_is_named_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let c = Cache::open(dir.path(), DEFAULT_SIZE, "s3").unwrap();
        c.put_object("b", "k", "e", &mut Body::Memory(b"0123456789".to_vec()));
        let path = c.path("objects", &[c.scoped("b").as_bytes(), b"k"]);
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&path, &bytes).unwrap();
        match c.object("b", "k", "e", 10) {
            Lookup::Damaged(why) => assert!(why.contains("CRC"), "{why}"),
            _ => panic!("not damaged"),
        }
        assert!(!path.exists());
        c.put_object("b", "k", "e", &mut Body::Memory(b"0123456789".to_vec()));
        fs::write(&path, &fs::read(&path).unwrap()[..40]).unwrap();
        assert!(matches!(c.object("b", "k", "e", 10), Lookup::Damaged(_)));
        fs::write(&path, b"junk").unwrap();
        assert!(matches!(c.object("b", "k", "e", 10), Lookup::Damaged(_)));
        assert_eq!(c.stats.damaged.load(Relaxed), 3);
    }

    #[test]
    fn a_listing_is_used_only_when_made_after_its_folder_was_complete() {
        let dir = tempfile::tempdir().unwrap();
        let c = Cache::open(dir.path(), DEFAULT_SIZE, "s3").unwrap();
        let objects = vec![("p/a\nb".to_string(), 5, "\"e\"".to_string())];
        c.put_listing("b", "p/", false, 1000, &[], &objects);
        assert_eq!(
            c.listing("b", "p/", false, 1000),
            Some((vec![], objects.clone()))
        );
        assert_eq!(c.listing("b", "p/", false, 1001), None);
        assert_eq!(
            c.listing("b", "p/", true, 0),
            None,
            "another kind of listing"
        );
        assert_eq!(day_complete_at(0), DAY + 2 * HOUR);
    }

    #[test]
    fn the_least_recently_used_go_first() {
        let dir = tempfile::tempdir().unwrap();
        let c = Cache::open(dir.path(), 2500, "s3").unwrap();
        let old = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        for (i, key) in ["a", "b", "c"].iter().enumerate() {
            c.put_object("b", key, "e", &mut Body::Memory(vec![0; 1000]));
            let p = c.path("objects", &[c.scoped("b").as_bytes(), key.as_bytes()]);
            File::options()
                .append(true)
                .open(&p)
                .unwrap()
                .set_modified(old + std::time::Duration::from_secs(i as u64))
                .unwrap();
        }
        // "a" is used: "b" is now the least recently used, and goes; two fit under 90%.
        assert!(matches!(c.object("b", "a", "e", 1000), Lookup::Hit(_)));
        let (removed, _) = c.evict();
        assert_eq!(removed, 1);
        assert!(matches!(c.object("b", "a", "e", 1000), Lookup::Hit(_)));
        assert!(matches!(c.object("b", "b", "e", 1000), Lookup::Miss));
        assert!(matches!(c.object("b", "c", "e", 1000), Lookup::Hit(_)));
        let i = info(dir.path());
        assert_eq!((i.objects, i.listings), (2, 0));
        assert_eq!(clear(dir.path()).unwrap().0, 2);
        assert_eq!(info(dir.path()).objects, 0);
    }
}
