//! S3 under load, on the test server with latency: the downloads' concurrency adapts (and
//! `--concurrency` pins it), the bytes in flight stay under `--max-inflight-bytes`, SlowDown
//! answers make it back off without losing an object, and the first downloads start while the
//! day prefixes are still being listed. Behaviour checks only: the speed is measured by
//! `bench/run.sh`.

use std::time::Duration;

use crate::faults::Latency;
use crate::s3::{S3Server, counted, day_of_objects, errors_args, stat_text};
use crate::util::run_with;

fn latency(ms: u64) -> Option<Latency> {
    Some(Latency {
        first_byte: Duration::from_millis(ms),
        jitter: 0.5,
    })
}

/// At 400 ms a GET, the adaptive limit climbs past its start of 64 and past the old fixed 32;
/// `--concurrency 4` holds the server at 4 GETs at once. The latency is that high so that the
/// server's own CPU time per GET (a debug build, on a loaded CI machine) is not what caps the
/// GETs at once: at 30 ms it capped them at 64 on CI while ctq had 256 in flight (at 400 ms, 137 with
/// both cores busy elsewhere).
#[test]
fn the_concurrency_adapts_to_latency_and_a_pinned_one_holds() {
    let server = S3Server::start();
    let bucket = server.bucket("far");
    for region in ["us-east-1", "eu-west-1", "ap-south-1"] {
        day_of_objects(&bucket, region, 400, "obj");
    }
    server.faults.set_latency(latency(400));
    let r = run_with(server.ctq().args(errors_args("far")).arg("--stats"), None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(counted(&r), 1200);
    let line = stat_text(&r, "downloads in flight");
    assert!(line.starts_with("adaptive"), "{line}");
    let peak = server.faults.peak_gets();
    assert!(peak > 64, "at most {peak} GETs at once: {line}");

    let pinned = S3Server::start();
    let bucket = pinned.bucket("far");
    day_of_objects(&bucket, "us-east-1", 60, "obj");
    pinned.faults.set_latency(latency(10));
    let r = run_with(
        pinned
            .ctq()
            .args(errors_args("far"))
            .args(["--stats", "--concurrency", "4"]),
        None,
    );
    assert_eq!((r.code, counted(&r)), (0, 60), "{}", r.stderr);
    assert!(
        stat_text(&r, "downloads in flight").starts_with("pinned at 4"),
        "{}",
        r.stderr
    );
    assert!(
        (1..=4).contains(&pinned.faults.peak_gets()),
        "{}",
        pinned.faults.peak_gets()
    );
}

/// Objects of about 40 KB under a cap of 100 KB in flight: never more than 2 GETs at once,
/// whatever the adaptive limit says; and every object is still read.
#[test]
fn the_bytes_in_flight_stay_under_the_cap() {
    let server = S3Server::start();
    let bucket = server.bucket("big");
    padded_objects(&bucket, 24);
    server.faults.set_latency(latency(20));
    let r = run_with(
        server
            .ctq()
            .args(errors_args("big"))
            .args(["--stats", "--max-inflight-bytes", "100000"]),
        None,
    );
    assert_eq!((r.code, counted(&r)), (0, 24), "{}", r.stderr);
    let peak = server.faults.peak_gets();
    assert!((1..=4).contains(&peak), "{peak} GETs at once");
}

/// `n` objects of `day_of_objects`, each padded to more than 20 KB of gzip with 40,000
/// letters that barely compress.
fn padded_objects(bucket: &std::path::Path, n: usize) {
    let keys = day_of_objects(bucket, "us-east-1", n, "big");
    let mut seed = 1u64;
    for key in &keys {
        let path = bucket.join(key);
        let pad: String = (0..40_000)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                char::from(b'a' + (seed >> 59) as u8)
            })
            .collect();
        let events = crate::util::records(&[crate::util::event(
            "2024-09-05T10:00:00Z",
            "Call",
            serde_json::json!({"errorCode": "E", "awsRegion": "us-east-1",
                "requestParameters": {"pad": pad}}),
        )]);
        std::fs::write(&path, crate::util::gz(&events)).unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() > 20_000);
    }
}

/// A bandwidth cap of 100 KB/s per body: four objects of more than 20 KB, one at a time, take
/// at least 0.8 s, and read the same.
#[test]
fn the_server_caps_each_bodys_bandwidth() {
    let server = S3Server::start();
    let bucket = server.bucket("thin");
    padded_objects(&bucket, 4);
    server.faults.set_bandwidth(Some(100_000));
    let started = std::time::Instant::now();
    let r = run_with(
        server
            .ctq()
            .args(errors_args("thin"))
            .args(["--concurrency", "1"]),
        None,
    );
    let took = started.elapsed();
    assert_eq!((r.code, counted(&r)), (0, 4), "{}", r.stderr);
    assert!(took >= Duration::from_millis(800), "{took:?}");
}

/// One request in ten answered 503 SlowDown: every object is still read, and the adaptive
/// limit backs off.
#[test]
fn slow_down_answers_make_it_back_off_and_lose_nothing() {
    let server = S3Server::start();
    let bucket = server.bucket("busy");
    for region in ["us-east-1", "eu-west-1"] {
        day_of_objects(&bucket, region, 300, "obj");
    }
    server.faults.set_latency(latency(10));
    server.faults.set_slow_down(0.1);
    let r = run_with(server.ctq().args(errors_args("busy")).arg("--stats"), None);
    assert_eq!((r.code, counted(&r)), (0, 600), "{}", r.stderr);
    assert!(server.faults.slowed() > 0);
    let line = stat_text(&r, "downloads in flight");
    let back_offs: u64 = line
        .rsplit(", ")
        .next()
        .and_then(|s| s.strip_suffix(" back-offs"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(back_offs > 0, "{line}");
}

/// Thirty regions' day prefixes, listed at most 4 at once at 20 ms each: the first object GET
/// arrives before the last listing, and the report is the whole of it.
#[test]
fn the_first_downloads_start_while_the_listing_goes_on() {
    let server = S3Server::start();
    let bucket = server.bucket("wide");
    let regions: Vec<String> = (0..30).map(|i| format!("xx-test-{i}")).collect();
    for region in &regions {
        day_of_objects(&bucket, region, 2, "obj");
    }
    server.faults.set_latency(latency(20));
    let r = run_with(
        server
            .ctq()
            .args(errors_args("wide"))
            .args(["--stats", "--concurrency", "4"]),
        None,
    );
    assert_eq!((r.code, counted(&r)), (0, 60), "{}", r.stderr);
    let (listings, _) = server.faults.requests();
    let at_first_get = server.faults.listings_at_first_get().unwrap();
    assert!(
        at_first_get < listings,
        "the first GET came after all {listings} listings"
    );
}

/// A gzip member of `data`.
fn member(data: &[u8]) -> Vec<u8> {
    crate::util::gz(data)
}

/// An S3 object of 2 GiB of trail JSON (events with a 1 MiB errorMessage each, one gzip member
/// per event, about 100 times smaller gzipped) is read whole, streaming, in bounded memory, as
/// the same from standard input is (`hostile::a_2_gib_trail_on_stdin_streams_in_bounded_memory`).
#[test]
fn a_2_gib_object_streams_in_bounded_memory() {
    // A message of 16 KiB of letters that do not repeat, repeated: deflate finds the repeats
    // within its 32 KiB window, about 100:1, well under the decompression-bomb ratio.
    let mut seed = 7u64;
    let period: String = (0..16 << 10)
        .map(|_| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            char::from(b'a' + ((seed >> 33) % 26) as u8)
        })
        .collect();
    let message = period.repeat(64);
    let event = serde_json::to_vec(&crate::util::event(
        "2024-09-05T10:00:00Z",
        "Big",
        serde_json::json!({"errorCode": "E", "errorMessage": message, "awsRegion": "us-east-1"}),
    ))
    .unwrap();
    let n = (2usize << 30) / event.len() + 1;
    let mut next = b",".to_vec();
    next.extend_from_slice(&event);
    let (first, middle) = (
        member(&[b"{\"Records\":[".as_slice(), &event].concat()),
        member(&next),
    );
    let server = S3Server::start();
    let bucket = server.bucket("huge");
    let key = crate::util::trail_path(crate::s3::ACCOUNT, "us-east-1", "20240905T1000Z", "huge");
    let path = bucket.join(&key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    use std::io::Write;
    f.write_all(&first).unwrap();
    for _ in 1..n {
        f.write_all(&middle).unwrap();
    }
    f.write_all(&member(b"]}")).unwrap();
    f.flush().unwrap();
    drop(f);
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size < 100 << 20, "{size} bytes of gzip");
    let (r, rss) = crate::hostile::run_measured(
        server
            .ctq()
            .args(errors_args("huge"))
            .args(["--threads", "2"]),
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(counted(&r), n as u64);
    assert!(
        rss < crate::hostile::MAX_RSS_MB,
        "peak RSS {rss} MB for {n} events"
    );
}
