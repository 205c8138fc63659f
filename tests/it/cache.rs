//! `--cache`: a second question over the same past window makes no request, counted at the S3
//! test server; damaged entries are named, dropped and downloaded again; concurrent runs share
//! a cache without a corrupt entry; the cap evicts the least recently used; `ctq cache info` and
//! `ctq cache clear` manage it.

use std::path::Path;

use crate::s3::{S3Server, counted, day_of_objects, errors_args, stat_text};
use crate::util::{Run, run_with};

/// `errors` over 2024-09-05 of `bucket`, as JSON, with the cache in `dir` and --stats.
fn cached_run(server: &S3Server, bucket: &str, dir: &Path, extra: &[&str]) -> Run {
    run_with(
        server
            .ctq()
            .args(errors_args(bucket))
            .arg(format!("--cache={}", dir.display()))
            .arg("--stats")
            .args(extra),
        None,
    )
}

/// (listings, GETs) the server answered while `f` ran.
fn requests_during<T>(server: &S3Server, f: impl FnOnce() -> T) -> (T, (u64, u64)) {
    let (l0, g0) = server.faults.requests();
    let out = f();
    let (l1, g1) = server.faults.requests();
    (out, (l1 - l0, g1 - g0))
}

/// Every entry file of the cache's objects.
fn object_entries(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for shard in std::fs::read_dir(dir.join("objects")).unwrap() {
        for f in std::fs::read_dir(shard.unwrap().path()).unwrap() {
            out.push(f.unwrap().path());
        }
    }
    out.sort();
    out
}

#[test]
fn a_second_run_over_a_past_window_makes_no_request() {
    let server = S3Server::start();
    let bucket = server.bucket("trail");
    day_of_objects(&bucket, "us-east-1", 20, "a");
    day_of_objects(&bucket, "eu-west-1", 20, "b");
    let dir = tempfile::tempdir().unwrap();
    let (first, (lists, gets)) =
        requests_during(&server, || cached_run(&server, "trail", dir.path(), &[]));
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(lists > 0 && gets == 40, "{lists} listings, {gets} GETs");
    assert!(
        stat_text(&first, "cache").starts_with("objects 0 hits, 40 misses"),
        "{}",
        first.stderr
    );
    let (second, requests) =
        requests_during(&server, || cached_run(&server, "trail", dir.path(), &[]));
    assert_eq!(requests, (0, 0), "{}", second.stderr);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.stdout, first.stdout);
    assert!(
        stat_text(&second, "cache").starts_with("objects 40 hits, 0 misses · listings "),
        "{}",
        second.stderr
    );
    // The same through CTQ_CACHE; --no-cache asks S3 again.
    let (third, requests) = requests_during(&server, || {
        run_with(
            server
                .ctq()
                .args(errors_args("trail"))
                .env("CTQ_CACHE", dir.path()),
            None,
        )
    });
    assert_eq!(
        (requests, third.stdout.as_str()),
        ((0, 0), first.stdout.as_str())
    );
    let (_, (_, gets)) = requests_during(&server, || {
        run_with(
            server
                .ctq()
                .args(errors_args("trail"))
                .arg("--no-cache")
                .env("CTQ_CACHE", dir.path()),
            None,
        )
    });
    assert_eq!(gets, 40);
    // A new object in the folder with another ETag: the old entry is not believed.
    let keys = day_of_objects(&bucket, "us-east-1", 1, "a");
    let path = bucket.join(&keys[0]);
    let mut bytes = crate::util::gz(&crate::util::records(&[
        crate::util::event(
            "2024-09-05T10:00:00Z",
            "Call",
            serde_json::json!({"errorCode": "E", "awsRegion": "us-east-1"}),
        ),
        crate::util::event(
            "2024-09-05T10:00:01Z",
            "Call",
            serde_json::json!({"errorCode": "E", "awsRegion": "us-east-1"}),
        ),
    ]));
    std::fs::write(&path, &mut bytes).unwrap();
    // The listing of a settled day is cached, so the changed object is seen by its ETag only
    // when the listing is made again: a fresh cache of listings, the same objects.
    std::fs::remove_dir_all(dir.path().join("listings")).unwrap();
    let (changed, (_, gets)) =
        requests_during(&server, || cached_run(&server, "trail", dir.path(), &[]));
    assert_eq!(gets, 1, "{}", changed.stderr);
    assert_eq!(counted(&changed), 41);
}

#[test]
fn a_listing_of_a_day_not_yet_over_is_made_again() {
    let server = S3Server::start();
    let bucket = server.bucket("trail");
    day_of_objects(&bucket, "us-east-1", 3, "a");
    let dir = tempfile::tempdir().unwrap();
    let today = |server: &S3Server| {
        run_with(
            server
                .ctq()
                .args(["errors", "-s", "s3://trail", "--date", "today"])
                .arg(format!("--cache={}", dir.path().display())),
            None,
        )
    };
    let (first, (lists, _)) = requests_during(&server, || today(&server));
    assert!(lists > 0, "{}", first.stderr);
    let (_, (again, _)) = requests_during(&server, || today(&server));
    assert_eq!(again, lists, "every listing is made again");
}

#[test]
fn a_damaged_entry_is_named_dropped_and_downloaded_again() {
    let server = S3Server::start();
    let bucket = server.bucket("trail");
    day_of_objects(&bucket, "us-east-1", 6, "a");
    let dir = tempfile::tempdir().unwrap();
    let first = cached_run(&server, "trail", dir.path(), &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let entries = object_entries(dir.path());
    assert_eq!(entries.len(), 6);
    // One entry with a byte flipped, one cut short, one replaced by junk.
    let mut flipped = std::fs::read(&entries[0]).unwrap();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x40;
    std::fs::write(&entries[0], &flipped).unwrap();
    let whole = std::fs::read(&entries[1]).unwrap();
    std::fs::write(&entries[1], &whole[..whole.len() - 5]).unwrap();
    std::fs::write(&entries[2], b"{\"Records\":[]}").unwrap();
    let (second, (_, gets)) =
        requests_during(&server, || cached_run(&server, "trail", dir.path(), &[]));
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.stdout, first.stdout, "never reported as data");
    assert_eq!(gets, 3, "{}", second.stderr);
    let named = second
        .stderr
        .lines()
        .filter(|l| l.contains("the cached copy is damaged") && l.contains("s3://trail/AWSLogs/"))
        .count();
    assert_eq!(named, 3, "{}", second.stderr);
    assert!(stat_text(&second, "cache").contains("3 damaged entries dropped"));
    // Downloaded again, and kept again: a third run makes no request.
    let (_, requests) = requests_during(&server, || cached_run(&server, "trail", dir.path(), &[]));
    assert_eq!(requests, (0, 0));
}

#[test]
fn concurrent_runs_share_a_cache_without_a_corrupt_entry() {
    let server = S3Server::start();
    let bucket = server.bucket("trail");
    day_of_objects(&bucket, "us-east-1", 40, "a");
    let dir = tempfile::tempdir().unwrap();
    let runs: Vec<std::process::Child> = (0..4)
        .map(|_| {
            server
                .ctq()
                .args(errors_args("trail"))
                .arg(format!("--cache={}", dir.path().display()))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<_> = runs
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for o in &outs {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(o.stdout, outs[0].stdout);
    }
    // No temporary file left, every entry whole: the next run makes no request and says
    // nothing of damage.
    for shard in std::fs::read_dir(dir.path().join("objects")).unwrap() {
        for f in std::fs::read_dir(shard.unwrap().path()).unwrap() {
            let name = f.unwrap().file_name();
            assert!(!name.to_string_lossy().starts_with(".tmp"), "{name:?}");
        }
    }
    let (after, requests) =
        requests_during(&server, || cached_run(&server, "trail", dir.path(), &[]));
    assert_eq!(requests, (0, 0), "{}", after.stderr);
    assert!(!after.stderr.contains("damaged entr") || after.stderr.contains(" 0 damaged"));
    assert_eq!(after.stdout.as_bytes(), outs[0].stdout.as_slice());
}

#[test]
fn the_cap_evicts_the_least_recently_used_and_the_cache_commands_manage_it() {
    let server = S3Server::start();
    let bucket = server.bucket("trail");
    day_of_objects(&bucket, "us-east-1", 30, "a");
    let dir = tempfile::tempdir().unwrap();
    let run = cached_run(&server, "trail", dir.path(), &["--cache-size", "4000"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let info = |dir: &Path| {
        run_with(
            crate::util::ctq()
                .args(["cache", "info"])
                .arg(format!("--cache={}", dir.display())),
            None,
        )
    };
    let i = info(dir.path());
    assert_eq!(i.code, 0, "{}", i.stderr);
    let size: u64 = i
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("size: "))
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}", i.stdout));
    assert!(size <= 4000, "{}", i.stdout);
    assert!(i.stdout.contains("objects: "), "{}", i.stdout);
    // Evicted objects are downloaded again by the next run.
    let (_, (_, gets)) = requests_during(&server, || {
        cached_run(&server, "trail", dir.path(), &["--cache-size", "4000"])
    });
    assert!(gets > 0);
    let cleared = run_with(
        crate::util::ctq()
            .args(["cache", "clear"])
            .arg(format!("--cache={}", dir.path().display())),
        None,
    );
    assert_eq!(cleared.code, 0, "{}", cleared.stderr);
    assert!(cleared.stdout.starts_with("removed "), "{}", cleared.stdout);
    let i = info(dir.path());
    assert!(
        i.stdout.contains("objects: 0\nlistings: 0\nsize: 0 "),
        "{}",
        i.stdout
    );
    // `cache` takes no report options.
    let r = run_with(
        crate::util::ctq().args(["cache", "info", "--date", "2024-09-05"]),
        None,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// An entry that is sound on disk (its CRC matches) but whose object does not gunzip: the
/// workers' failure drops it and downloads the object again, and the report is whole.
#[test]
fn a_cached_copy_that_does_not_decode_is_dropped_and_downloaded_again() {
    let server = S3Server::start();
    let bucket = server.bucket("trail");
    let keys = day_of_objects(&bucket, "us-east-1", 2, "a");
    let dir = tempfile::tempdir().unwrap();
    let first = cached_run(&server, "trail", dir.path(), &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    // Rewrite the entry of the first object with the middle of its gzip garbled, and a header
    // (its last 4 bytes: the CRC-32 of the data) that matches.
    let object = std::fs::read(bucket.join(&keys[0])).unwrap();
    let entry = object_entries(dir.path())
        .into_iter()
        .find(|p| std::fs::read(p).unwrap().ends_with(&object))
        .expect("the entry of the first object");
    let whole = std::fs::read(&entry).unwrap();
    let start = whole.len() - object.len();
    let mut data = object.clone();
    let mid = data.len() / 2;
    for b in &mut data[mid..mid + 8] {
        *b = !*b;
    }
    let mut crc = flate2::Crc::new();
    crc.update(&data);
    let mut forged = whole[..start].to_vec();
    forged[start - 4..].copy_from_slice(&crc.sum().to_le_bytes());
    forged.extend_from_slice(&data);
    std::fs::write(&entry, &forged).unwrap();
    let (second, (_, gets)) =
        requests_during(&server, || cached_run(&server, "trail", dir.path(), &[]));
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.stdout, first.stdout);
    assert_eq!(gets, 1, "{}", second.stderr);
    assert!(
        second
            .stderr
            .contains("the cached copy did not decode: dropped, downloaded again"),
        "{}",
        second.stderr
    );
    let (_, requests) = requests_during(&server, || cached_run(&server, "trail", dir.path(), &[]));
    assert_eq!(requests, (0, 0), "kept again, with its ETag");
}
