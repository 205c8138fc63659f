//! The GETs ctq signs and sends itself (`src/source/s3/direct.rs`): after the first GetObject
//! of a bucket, which goes through the SDK, the others skip the SDK's orchestrator. The server
//! checks every signature (s3s with SigV4), and counts the GETs that came through the SDK (they
//! carry its `amz-sdk-invocation-id`), so these tests see which path each took. Everything the
//! orchestrator did must still happen on the direct path: retries of SlowDown, S3's error codes
//! and messages, the response checksum, a stalled body, `--debug`.

use serde_json::json;

use crate::faults::{Fault, On};
use crate::s3::{ACCOUNT, S3Server, counted, day_of_objects, errors_args, stat};
use crate::util::{event, gz, records, run_with, trail_path, write};

/// One object at `stamp` whose key ends in `tag`, with one error event.
fn object(bucket: &std::path::Path, stamp: &str, tag: &str) -> String {
    let key = trail_path(ACCOUNT, "us-east-1", stamp, tag);
    let ev = event("2024-09-05T10:00:00Z", "Call", json!({"errorCode": "E"}));
    write(bucket, &key, &gz(&records(&[ev])));
    key
}

#[test]
fn after_the_first_get_of_a_bucket_ctq_signs_the_others_itself() {
    let server = S3Server::start();
    let bucket = server.bucket("direct");
    day_of_objects(&bucket, "us-east-1", 30, "plain");
    // One at a time, so that the first GET has shown the way before the second starts.
    let r = run_with(
        server
            .ctq()
            .args(errors_args("direct"))
            .args(["--concurrency", "1", "--stats"]),
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!((counted(&r), stat(&r, "read")), (30, 30), "{}", r.stderr);
    assert_eq!(server.faults.requests().1, 30);
    assert_eq!(
        server.faults.sdk_gets(),
        1,
        "only the first through the SDK"
    );

    // With a session token too (the server checks it is signed like the rest).
    let r = run_with(
        server
            .ctq()
            .env("AWS_SESSION_TOKEN", "ctq-test-session-token")
            .args(errors_args("direct"))
            .args(["--concurrency", "1"]),
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(counted(&r), 30);
    assert_eq!(server.faults.sdk_gets(), 2);

    // Adaptive: many GETs start at once, and only those sent before the first was signed go
    // through the SDK.
    let many = server.bucket("many");
    day_of_objects(&many, "us-east-1", 600, "m");
    let before = server.faults.sdk_gets();
    let r = server.run(
        &errors_args("many")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(counted(&r), 600);
    let through_sdk = server.faults.sdk_gets() - before;
    assert!(
        (1..300).contains(&through_sdk),
        "{through_sdk} of 600 through the SDK"
    );
}

#[test]
fn keys_with_characters_to_escape_stay_on_the_sdk() {
    let server = S3Server::start();
    let bucket = server.bucket("odd");
    day_of_objects(&bucket, "us-east-1", 3, "plain");
    for (i, tag) in ["sp ace", "plus+sign", "caf\u{e9}", "pct%41"]
        .iter()
        .enumerate()
    {
        object(&bucket, &format!("20240905T10{i:02}Z"), tag);
    }
    let r = run_with(
        server
            .ctq()
            .args(errors_args("odd"))
            .args(["--concurrency", "1"]),
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(counted(&r), 7);
    assert_eq!(server.faults.sdk_gets(), 1 + 4);
}

/// Every failure the direct path meets, after a first GET that went well: each is told as the
/// SDK path tells it, and nothing else is lost.
#[test]
fn the_direct_path_meets_every_failure_as_the_sdk_did() {
    let server = S3Server::start();
    let bucket = server.bucket("rough");
    day_of_objects(&bucket, "us-east-1", 2, "fine");
    let throttled = object(&bucket, "20240905T1100Z", "throttled");
    let denied = object(&bucket, "20240905T1101Z", "denied");
    let locked = object(&bucket, "20240905T1102Z", "kms-locked");
    let badsum = object(&bucket, "20240905T1103Z", "badsum");
    let flipped = object(&bucket, "20240905T1104Z", "flipped");
    let stuck = object(&bucket, "20240905T1105Z", "stuck");
    let _ = (&throttled, &flipped);
    server
        .faults
        .add(On::object("badsum"), Fault::WrongChecksum, None);
    server
        .faults
        .add(On::object("flipped"), Fault::FlipBytes, Some(1));
    server.faults.add(On::object("stuck"), Fault::Stall, None);
    let run = |extra: &[&str]| {
        run_with(
            server
                .ctq()
                .env("CTQ_READ_TIMEOUT", "1")
                .args(errors_args("rough"))
                .args(["--concurrency", "1", "--stats", "--debug"])
                .args(extra),
            None,
        )
    };
    let r = run(&[]);
    assert_eq!(server.faults.sdk_gets(), 1, "{}", r.stderr);
    // The KMS refusal stops the run, as on the SDK path: nothing after it is read.
    assert_eq!(r.code, 1, "{}", r.stderr);
    let has = |line: &str| r.stderr.lines().any(|l| l.starts_with(line));
    assert!(
        has(&format!(
            "ctq: s3://rough/{locked}: cannot decrypt: the trail is encrypted with a KMS key this caller may not use"
        )),
        "{}",
        r.stderr
    );
    assert!(
        has(&format!(
            "ctq: s3://rough/{denied}: download failed: access denied (the caller needs s3:GetObject)"
        )),
        "{}",
        r.stderr
    );
    // Throttled twice, then read: three attempts in its debug line.
    assert!(
        r.stderr
            .lines()
            .any(|l| l.starts_with("ctq: debug: S3 GetObject: GET ")
                && l.contains("throttled")
                && l.contains(": HTTP 200, 3 attempts, ")),
        "{}",
        r.stderr
    );

    // Without the locked object, every other failure.
    std::fs::remove_file(bucket.join(&locked)).unwrap();
    let r = run(&[]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let has = |line: &str| r.stderr.lines().any(|l| l.starts_with(line));
    assert!(
        has(&format!(
            "ctq: s3://rough/{badsum}: download failed after 3 attempts: checksum mismatch"
        )),
        "{}",
        r.stderr
    );
    assert!(
        has(&format!(
            "ctq: s3://rough/{stuck}: download failed after 3 attempts: stalled"
        )),
        "{}",
        r.stderr
    );
    // The fine ones, the throttled one and the flipped one (fetched again) are read; the
    // denied, the mismatched and the stalled are skipped and counted.
    assert_eq!(
        (counted(&r), stat(&r, "read"), stat(&r, "failed")),
        (4, 4, 3),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("Signature="), "{}", r.stderr);
    assert_eq!(server.faults.sdk_gets(), 2, "{}", r.stderr);
}

/// The benchmark's server (`bench/s3_server.rs`) answers GETs from memory: the same bytes, and
/// the same ETag as its listings give.
#[test]
fn the_benchmark_server_answers_from_memory_as_from_disk() {
    let server = S3Server::start();
    let bucket = server.bucket("mem");
    let keys = day_of_objects(&bucket, "us-east-1", 20, "m");
    let args = errors_args("mem");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let from_disk = server.run(&args);
    assert_eq!(
        server.faults.serve_from_memory(server.root.path()).unwrap(),
        20
    );
    // Spoiled on disk: only memory can answer with the objects now.
    for key in &keys {
        std::fs::write(bucket.join(key), b"not gzip").unwrap();
    }
    let from_memory = server.run(&args);
    assert_eq!(from_memory.code, 0, "{}", from_memory.stderr);
    assert_eq!(from_memory.stdout, from_disk.stdout);
    assert_eq!(counted(&from_memory), 20);
}

/// A signature S3 refuses (here a clock it says is off) turns the direct path off: that GET and
/// every later one go through the SDK, which corrects its clock and fetches credentials again
/// as it always has.
#[test]
fn a_refused_signature_sends_the_rest_through_the_sdk() {
    let server = S3Server::start();
    let bucket = server.bucket("skew");
    day_of_objects(&bucket, "us-east-1", 10, "k");
    server
        .faults
        .add(On::object("k004"), Fault::TooSkewed, Some(1));
    let r = run_with(
        server
            .ctq()
            .args(errors_args("skew"))
            .args(["--concurrency", "1"]),
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(counted(&r), 10);
    assert_eq!(server.faults.hits(), 1);
    // k000 through the SDK, k001 to k003 direct, k004 refused then asked again through the
    // SDK, and k004 to k009 through the SDK.
    assert_eq!(server.faults.requests().1, 11);
    assert_eq!(server.faults.sdk_gets(), 7);
}

/// A body that trickles in, a byte every 1.5 s, never waits a whole read timeout for its next
/// byte, yet is as stalled as one that stops: under a byte a second over a read timeout (2 s
/// here) fails the attempt, on the direct path as on the SDK's.
#[test]
fn a_body_that_trickles_is_stalled() {
    let server = S3Server::start();
    let bucket = server.bucket("trickle");
    day_of_objects(&bucket, "us-east-1", 2, "fine");
    let slow = object(&bucket, "20240905T1100Z", "slow");
    server.faults.add(On::object("slow"), Fault::Trickle, None);
    let started = std::time::Instant::now();
    let r = run_with(
        server
            .ctq()
            .env("CTQ_READ_TIMEOUT", "2")
            .args(errors_args("trickle"))
            .args(["--concurrency", "1", "--stats"]),
        None,
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!((counted(&r), stat(&r, "failed")), (2, 1), "{}", r.stderr);
    assert!(
        r.stderr.lines().any(|l| l.starts_with(&format!(
            "ctq: s3://trickle/{slow}: download failed after 3 attempts: stalled"
        ))),
        "{}",
        r.stderr
    );
    assert_eq!(server.faults.sdk_gets(), 1, "{}", r.stderr);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(40),
        "{:?}",
        started.elapsed()
    );
}
