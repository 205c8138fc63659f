//! Hostile input: files an attacker with write access to the bucket, or a broken exporter, could
//! leave among good ones. Each test checks the exit code, the message, that nothing else was lost,
//! and for the bombs that memory stays bounded (peak RSS of the ctq process, from wait4).

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::util::*;

/// Peak memory allowed for any bomb, with 2 threads.
pub const MAX_RSS_MB: u64 = 300;

/// Writes a child's standard input, on a thread of its own.
pub type Feed = Box<dyn FnOnce(&mut dyn Write) + Send>;

/// Run ctq to the end, feeding stdin from `feed` on another thread (if given); the run and the
/// peak RSS of the ctq process in MB. ctq runs under `/usr/bin/time`, which forks it from a small
/// process: the peak of a child forked straight from this (large) test process would count the
/// pages it shared with it before exec. Without `/usr/bin/time` the peak is 0, with a note.
pub fn run_measured(cmd: &mut Command, feed: Option<Feed>) -> (Run, u64) {
    const MARK: &str = "CTQ_TEST_PEAK_RSS_KB=";
    let timed = Path::new("/usr/bin/time").exists();
    let mut wrapped = if timed {
        let mut w = Command::new("/usr/bin/time");
        w.arg("-q")
            .arg("-f")
            .arg(format!("{MARK}%M"))
            .arg(cmd.get_program());
        w
    } else {
        crate::reference::skipped(
            "/usr/bin/time is missing: peak memory is not checked (apt-get install time)",
        );
        Command::new(cmd.get_program())
    };
    wrapped.args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => wrapped.env(k, v),
            None => wrapped.env_remove(k),
        };
    }
    wrapped
        .stdin(if feed.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = wrapped.spawn().expect("spawn ctq");
    let writer = feed.map(|feed| {
        let mut stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || feed(&mut stdin))
    });
    let out = child.wait_with_output().unwrap();
    if let Some(w) = writer {
        let _ = w.join();
    }
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    let mut stderr = String::from_utf8(out.stderr).expect("stderr is UTF-8");
    let mut peak_kb = 0;
    if timed {
        let at = stderr.rfind(MARK).expect("/usr/bin/time reports the peak");
        peak_kb = stderr[at + MARK.len()..].trim().parse::<u64>().unwrap();
        stderr.truncate(at);
    }
    let code = out.status.code().expect("ctq was killed by a signal");
    (
        Run {
            code,
            stdout,
            stderr,
        },
        peak_kb / 1024,
    )
}

/// A gzip member of `n` bytes of `byte`.
fn gz_of(byte: u8, n: usize) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(&vec![byte; n]).unwrap();
    e.finish().unwrap()
}

fn good_file(dir: &Path) {
    write(
        dir,
        "good.json",
        &records(&[error_event("2024-09-05T10:00:00Z", "Good", "E", "m")]),
    );
}

fn errors(source: &Path, extra: &[&str]) -> Vec<String> {
    let mut a = vec![
        "errors".to_string(),
        "-o".into(),
        "json".into(),
        "--threads".into(),
        "2".into(),
        "-s".into(),
        source.to_str().unwrap().into(),
    ];
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// The only line of stderr that names `what`.
fn line_naming<'a>(r: &'a Run, what: &str) -> &'a str {
    let lines: Vec<&str> = r.stderr.lines().filter(|l| l.contains(what)).collect();
    assert_eq!(lines.len(), 1, "one line naming {what:?} in:\n{}", r.stderr);
    lines[0]
}

fn counts(r: &Run) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["event_name"].as_str().unwrap().to_string(),
                row["count"].as_u64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn deep_nesting_skips_only_its_file() {
    let dir = tempfile::tempdir().unwrap();
    good_file(dir.path());
    // 18,460 nested brackets in requestParameters: 37 KB that used to overflow the stack.
    let deep = format!(
        "{{\"Records\":[{{\"eventTime\":\"2024-09-05T10:00:00Z\",\"eventName\":\"Deep\",\"errorCode\":\"E\",\"requestParameters\":{}{}}}]}}",
        "[".repeat(18_460),
        "]".repeat(18_460)
    );
    write(dir.path(), "deep.json", deep.as_bytes());
    // And the same at the top level, and in a stream of events.
    write(
        dir.path(),
        "deep-top.json",
        format!("{}{}", "[".repeat(50_000), "]".repeat(50_000)).as_bytes(),
    );
    let r = run(&errors(dir.path(), &[])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(counts(&r), [("Good".to_string(), 1)]);
    assert!(
        line_naming(&r, "deep.json:")
            .ends_with("deep.json: JSON nested more than 100 levels deep (line 1)"),
        "{}",
        r.stderr
    );
    assert!(line_naming(&r, "deep-top.json").contains("nested more than 100 levels deep"));
    assert!(r.stderr.contains("2 of 3 inputs skipped"), "{}", r.stderr);
    // `--raw` reads with serde_json: the same answer.
    let r = run(&["events", "--raw", "-s", dir.path().to_str().unwrap()]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 1);
    assert!(line_naming(&r, "deep.json:").contains("nested more than 100 levels deep"));
}

#[test]
fn a_panic_in_one_inputs_work_skips_only_that_input() {
    let dir = tempfile::tempdir().unwrap();
    good_file(dir.path());
    write(
        dir.path(),
        "boom.json",
        &records(&[error_event("2024-09-05T10:00:00Z", "Boom", "E", "m")]),
    );
    let args = errors(dir.path(), &[]);
    let r = run_with(
        ctq().args(&args).env("CTQ_TEST_PANIC_ON", "boom.json"),
        None,
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(counts(&r), [("Good".to_string(), 1)]);
    assert!(
        line_naming(&r, "boom.json").contains(
            "internal error while reading this input, which is skipped (please report it): a test panic"
        ),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked at"), "{}", r.stderr);
}

/// 10 GiB of zeros in a 10 MB gzip: gzip members of 4 MiB each, repeated.
fn zero_bomb() -> Vec<u8> {
    gz_of(0, 4 << 20).repeat(2560)
}

#[test]
fn a_zero_bomb_is_skipped_in_bounded_memory_from_a_file_and_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    good_file(dir.path());
    let bomb = zero_bomb();
    assert!(bomb.len() < 11 << 20, "{}", bomb.len());
    write(dir.path(), "zeros.json.gz", &bomb);
    let (r, rss) = run_measured(ctq().args(errors(dir.path(), &[])), None);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(counts(&r), [("Good".to_string(), 1)]);
    assert!(
        line_naming(&r, "zeros.json.gz").ends_with(
            "zeros.json.gz: invalid JSON: byte 0x00 at offset 0, where a JSON value should start"
        ),
        "{}",
        r.stderr
    );
    assert!(rss < MAX_RSS_MB, "peak RSS {rss} MB");

    let (r, rss) = run_measured(
        ctq().args(["errors", "--threads", "2", "-s", "-"]),
        Some(Box::new(move |w: &mut dyn Write| {
            let _ = w.write_all(&bomb);
        })),
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(line_naming(&r, "<stdin>").contains("invalid JSON: byte 0x00"));
    assert!(rss < MAX_RSS_MB, "peak RSS {rss} MB");
}

/// Five million empty events and one real one in 15 MB of JSON: held at once they would take
/// about 3.5 GB (an `Event` is a few hundred bytes whatever its text). Past `MAX_HELD` events the
/// file is read again as a stream, so memory stays bounded and every event still counts.
#[test]
fn millions_of_tiny_events_are_streamed_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    good_file(dir.path());
    let mut text = b"{\"Records\":[".to_vec();
    text.extend(b"{},".repeat(5_000_000));
    text.extend(br#"{"eventTime":"2024-09-05T11:00:00Z","eventName":"Tiny","errorCode":"E"}]}"#);
    write(dir.path(), "tiny.json.gz", &gz(&text));
    let (r, rss) = run_measured(ctq().args(errors(dir.path(), &["--stats"])), None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        counts(&r),
        [("Good".to_string(), 1), ("Tiny".to_string(), 1)]
    );
    assert!(
        r.stderr.contains("events: 5000002 read, 5000002 matched"),
        "{}",
        r.stderr
    );
    assert!(rss < MAX_RSS_MB, "peak RSS {rss} MB");
}

/// A valid trail file whose events are separated by 2 GiB of spaces, in about 2 MB of gzip.
fn whitespace_bomb() -> Vec<u8> {
    let mut out = gz(b"{\"Records\":[{\"eventTime\":\"2024-09-05T10:00:00Z\",\"eventName\":\"Padded\",\"errorCode\":\"E\"},");
    out.extend(gz_of(b' ', 4 << 20).repeat(512));
    out.extend(gz(
        b"{\"eventTime\":\"2024-09-05T10:00:00Z\",\"eventName\":\"Padded\",\"errorCode\":\"E\"}]}",
    ));
    out
}

#[test]
fn a_whitespace_bomb_is_stopped_by_the_ratio_cap_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    good_file(dir.path());
    let bomb = whitespace_bomb();
    assert!(bomb.len() < 3 << 20, "{}", bomb.len());
    write(dir.path(), "spaces.json.gz", &bomb);
    let (r, rss) = run_measured(ctq().args(errors(dir.path(), &[])), None);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        counts(&r),
        [("Good".to_string(), 1)],
        "nothing of the bomb is counted"
    );
    let line = line_naming(&r, "spaces.json.gz");
    assert!(
        line.contains(": decompressed size over 1000 times the compressed size ("),
        "{line}"
    );
    assert!(rss < MAX_RSS_MB, "peak RSS {rss} MB");

    // Under a size cap lower than where the ratio trips, the size cap speaks.
    let (r, rss) = run_measured(
        ctq().args(errors(dir.path(), &["--max-decompressed-size", "32M"])),
        None,
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        line_naming(&r, "spaces.json.gz")
            .ends_with("decompressed size over 32 MiB (--max-decompressed-size); skipped"),
        "{}",
        r.stderr
    );
    assert!(rss < MAX_RSS_MB, "peak RSS {rss} MB");

    // From standard input, the same.
    let (r, rss) = run_measured(
        ctq().args(["errors", "-o", "json", "--threads", "2", "-s", "-"]),
        Some(Box::new(move |w: &mut dyn Write| {
            let _ = w.write_all(&bomb);
        })),
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(line_naming(&r, "<stdin>").contains("over 1000 times the compressed size"));
    assert!(rss < MAX_RSS_MB, "peak RSS {rss} MB");
}

#[test]
fn a_2_gib_trail_on_stdin_streams_in_bounded_memory() {
    // 2 GiB of trail JSON, made on the fly: events with a 1 MiB errorMessage each.
    let message = "x".repeat(1 << 20);
    let event =
        serde_json::to_vec(&error_event("2024-09-05T10:00:00Z", "Big", "E", &message)).unwrap();
    let n = (2usize << 30) / event.len() + 1;
    let (r, rss) = run_measured(
        ctq().args(["errors", "-o", "json", "--threads", "2", "-s", "-"]),
        Some(Box::new(move |w: &mut dyn Write| {
            let mut w = std::io::BufWriter::with_capacity(1 << 20, w);
            w.write_all(b"{\"Records\":[").unwrap();
            for i in 0..n {
                if i > 0 {
                    w.write_all(b",").unwrap();
                }
                w.write_all(&event).unwrap();
            }
            w.write_all(b"]}").unwrap();
            w.flush().unwrap();
        })),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()[0]["count"], n as u64);
    assert!(rss < MAX_RSS_MB, "peak RSS {rss} MB");
}

#[test]
fn pipes_devices_and_links_to_them_in_a_tree_are_named_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    good_file(dir.path());
    let fifo = dir.path().join("pipe.json");
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    symlink("/dev/zero", dir.path().join("zero.json")).unwrap();
    symlink(&fifo, dir.path().join("link-to-pipe.json.gz")).unwrap();
    let (r, rss) = run_measured(ctq().args(errors(dir.path(), &[])), None);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(counts(&r), [("Good".to_string(), 1)]);
    assert!(
        line_naming(&r, "pipe.json:")
            .ends_with("pipe.json: not a regular file (a named pipe); skipped")
    );
    assert!(
        line_naming(&r, "zero.json")
            .ends_with("zero.json: not a regular file (a character device); skipped")
    );
    assert!(
        line_naming(&r, "link-to-pipe.json.gz")
            .ends_with("not a regular file (a named pipe); skipped")
    );
    assert!(r.stderr.contains("3 of 4 inputs skipped"), "{}", r.stderr);
    assert!(rss < MAX_RSS_MB, "peak RSS {rss} MB");
}

#[test]
fn a_pipe_named_on_the_command_line_is_read() {
    // As `ctq errors -s <(zcat trail.json.gz)` gives it.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("from-a-pipe");
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let path = fifo.clone();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        f.write_all(&records(&[error_event(
            "2024-09-05T10:00:00Z",
            "Piped",
            "E",
            "m",
        )]))
        .unwrap();
    });
    let r = run(&["errors", "-o", "json", "-s", fifo.to_str().unwrap()]);
    writer.join().unwrap();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(counts(&r), [("Piped".to_string(), 1)]);
}

#[test]
fn names_that_are_not_utf8_are_read_and_shown_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let good = std::ffi::OsStr::from_bytes(b"caf\xe9.json");
    std::fs::write(
        p.join(good),
        records(&[error_event("2024-09-05T10:00:00Z", "Latin1", "E", "m")]),
    )
    .unwrap();
    let bad = std::ffi::OsStr::from_bytes(b"bad-\xff\xfe.json");
    std::fs::write(p.join(bad), b"{not json").unwrap();
    let r = run(&errors(p, &[])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(counts(&r), [("Latin1".to_string(), 1)], "the file is read");
    assert!(
        line_naming(&r, "bad-").contains("bad-\\xff\\xfe.json: invalid JSON"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_repeated_records_key_counts_once_the_last_one_wins() {
    // jq and Python see the last "Records" only: 2 events, not 3.
    let text = br#"{"Records":[{"eventName":"First","errorCode":"E"}],"Records":[{"eventName":"Last","errorCode":"E"},{"eventName":"Last","errorCode":"E"}]}"#;
    for (name, data) in [("dup.json", text.to_vec()), ("dup.json.gz", gz(text))] {
        let r = run_stdin(&["errors", "-o", "json", "-s", "-"], &data);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        assert_eq!(counts(&r), [("Last".to_string(), 2)], "{name}");
    }
}

#[test]
fn concatenated_trail_files_are_both_read_and_said_to_be_two_documents() {
    let dir = tempfile::tempdir().unwrap();
    let a = gz(&records(&[error_event(
        "2024-09-05T10:00:00Z",
        "A",
        "E",
        "m",
    )]));
    let b = gz(&records(&[error_event(
        "2024-09-05T11:00:00Z",
        "B",
        "E",
        "m",
    )]));
    // `cat a.json.gz b.json.gz > both.json.gz`
    write(dir.path(), "both.json.gz", &[a, b].concat());
    let r = run(&errors(dir.path(), &[])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(counts(&r), [("A".to_string(), 1), ("B".to_string(), 1)]);
    assert!(
        line_naming(&r, "both.json.gz").ends_with(
            "both.json.gz: 2 JSON documents in one file (files concatenated?); all of them were read"
        ),
        "{}",
        r.stderr
    );
}

fn event_names(r: &Run) -> Vec<String> {
    r.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_name"].as_str().unwrap().to_string())
        .collect()
}

fn root_event(time: &str, name: &str, extra: Value) -> Value {
    let mut e = event(
        time,
        name,
        json!({"userIdentity": {"type": "Root", "arn": "arn:aws:iam::111111111111:root",
            "principalId": "111111111111", "accountId": "111111111111"}}),
    );
    e["userIdentity"]
        .as_object_mut()
        .unwrap()
        .remove("userName");
    if let (Value::Object(e), Value::Object(x)) = (&mut e, extra) {
        e.extend(x);
    }
    e
}

#[test]
fn the_root_user_is_named_root() {
    let login = root_event(
        "2024-09-05T10:00:00Z",
        "ConsoleLogin",
        json!({"eventSource": "signin.amazonaws.com",
               "responseElements": {"ConsoleLogin": "Success"},
               "additionalEventData": {"MFAUsed": "No"}}),
    );
    let other = root_event("2024-09-05T11:00:00Z", "CreateUser", json!({}));
    let alice = event("2024-09-05T12:00:00Z", "ListUsers", json!({}));
    let data = records(&[login, other, alice]);
    let r = run_stdin(
        &["events", "--user", "root", "-o", "json", "-s", "-"],
        &data,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let names = event_names(&r);
    assert_eq!(names, ["CreateUser", "ConsoleLogin"]);
    let r = run_stdin(&["console-logins", "-o", "json", "-s", "-"], &data);
    assert_eq!(r.json()[0]["user_name"], "root", "{}", r.stdout);
}

#[test]
fn events_without_an_event_category_get_the_one_they_would_have() {
    let strip = |mut e: Value| {
        e.as_object_mut().unwrap().remove("eventCategory");
        e
    };
    let data = records(&[
        strip(event("2024-09-05T10:00:00Z", "OldManagement", json!({}))),
        strip(event(
            "2024-09-05T10:00:01Z",
            "OldData",
            json!({"managementEvent": false}),
        )),
        strip(event(
            "2024-09-05T10:00:02Z",
            "OldVpce",
            json!({"eventType": "AwsVpceEvent"}),
        )),
        strip(event(
            "2024-09-05T10:00:03Z",
            "OldInsight",
            json!({"eventType": "AwsCloudTrailInsight"}),
        )),
        event(
            "2024-09-05T10:00:04Z",
            "NewData",
            json!({"eventCategory": "Data", "managementEvent": false}),
        ),
    ]);
    for (category, want) in [
        ("Management", vec!["OldManagement"]),
        ("Data", vec!["NewData", "OldData"]),
        ("NetworkActivity", vec!["OldVpce"]),
        ("Insight", vec!["OldInsight"]),
    ] {
        let r = run_stdin(
            &["events", "--category", category, "-o", "json", "-s", "-"],
            &data,
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        let names = event_names(&r);
        assert_eq!(names, want, "{category}");
    }
    let r = run_stdin(&["summary", "-o", "json", "-s", "-"], &data);
    assert_eq!(
        r.json()["by_category"],
        json!([{"category": "Data", "count": 2}, {"category": "Insight", "count": 1},
               {"category": "Management", "count": 1}, {"category": "NetworkActivity", "count": 1}])
    );
}

#[test]
fn bucket_arns_match_in_every_partition() {
    let with_arn = |name: &str, arn: &str| {
        event(
            "2024-09-05T10:00:00Z",
            name,
            json!({"eventSource": "s3.amazonaws.com", "resources": [{"type": "AWS::S3::Object", "ARN": arn}]}),
        )
    };
    let data = records(&[
        with_arn("Commercial", "arn:aws:s3:::prod-data/a"),
        with_arn("China", "arn:aws-cn:s3:::prod-data/a"),
        with_arn("GovCloud", "arn:aws-us-gov:s3:::prod-data"),
        with_arn("Iso", "arn:aws-iso-b:s3:::prod-data/x"),
        with_arn("Other", "arn:aws-cn:s3:::prod-data-archive/a"),
    ]);
    let r = run_stdin(
        &["who-touched-bucket", "prod-data", "-o", "json", "-s", "-"],
        &data,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut names: Vec<String> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["China", "Commercial", "GovCloud", "Iso"]);
}

#[test]
fn insights_events_saved_by_lookup_events_are_read() {
    // `aws cloudtrail lookup-events --event-category insight`: the Insights event, as a JSON
    // string in CloudTrailEvent, has no top-level eventName or eventSource.
    let insight = json!({
        "eventVersion": "1.08", "eventTime": "2024-09-05T02:51:00Z", "awsRegion": "us-east-1",
        "eventID": "654a30ff-b0f3-4527-81b6-EXAMPLEf2393", "eventType": "AwsCloudTrailInsight",
        "recipientAccountId": "123456789012", "sharedEventID": "bcbfc274-8559-4a56-beb0-EXAMPLEa6c34",
        "insightDetails": {"state": "Start", "eventSource": "ssm.amazonaws.com",
            "eventName": "UpdateInstanceInformation", "insightType": "ApiCallRateInsight",
            "insightContext": {"statistics": {"baseline": {"average": 84.4}, "insight": {"average": 669}}}},
        "eventCategory": "Insight"
    });
    let output = json!({"NextToken": "abc", "Events": [{
        "EventId": "654a30ff-b0f3-4527-81b6-EXAMPLEf2393", "EventName": "UpdateInstanceInformation",
        "ReadOnly": "false", "EventTime": 1725504660.0, "EventSource": "ssm.amazonaws.com",
        "Resources": [], "CloudTrailEvent": insight.to_string()
    }]});
    let r = run_stdin(
        &["summary", "-o", "json", "-s", "-"],
        output.to_string().as_bytes(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["events"], 1);
    assert_eq!(
        r.json()["by_category"],
        json!([{"category": "Insight", "count": 1}])
    );
}

#[test]
fn bombs_from_s3_are_skipped_in_bounded_memory() {
    let server = crate::s3::S3Server::start();
    let bucket = server.bucket("bombs");
    let key = |stamp: &str, tag: &str| trail_path("111111111111", "us-east-1", stamp, tag);
    write(&bucket, &key("20240905T1000Z", "zeros"), &zero_bomb());
    write(
        &bucket,
        &key("20240905T1005Z", "spaces"),
        &whitespace_bomb(),
    );
    write(
        &bucket,
        &key("20240905T1010Z", "good"),
        &gz(&records(&[error_event(
            "2024-09-05T10:00:00Z",
            "Good",
            "E",
            "m",
        )])),
    );
    let (r, rss) = run_measured(
        server.ctq().args([
            "errors",
            "-o",
            "json",
            "--threads",
            "2",
            "-s",
            "s3://bombs",
            "--date",
            "2024-09-05",
        ]),
        None,
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(counts(&r), [("Good".to_string(), 1)]);
    assert!(line_naming(&r, "_zeros.json.gz").contains("invalid JSON: byte 0x00 at offset 0"));
    assert!(
        line_naming(&r, "_spaces.json.gz").contains("over 1000 times the compressed size"),
        "{}",
        r.stderr
    );
    assert!(rss < MAX_RSS_MB, "peak RSS {rss} MB");
}

#[test]
fn a_large_s3_object_is_read_from_a_temporary_copy_in_bounded_memory() {
    let server = crate::s3::S3Server::start();
    let bucket = server.bucket("large");
    // 96 MiB of plain trail JSON: over the 64 MiB kept in memory, so the body goes to a
    // temporary file and is streamed from there.
    let message = "y".repeat(1 << 20);
    let events: Vec<Value> = (0..96)
        .map(|i| {
            error_event(
                &format!("2024-09-05T10:{:02}:00Z", i % 60),
                "Large",
                "E",
                &message,
            )
        })
        .collect();
    let key = trail_path("111111111111", "us-east-1", "20240905T1000Z", "large");
    let key = key.strip_suffix(".gz").unwrap();
    write(&bucket, key, &records(&events));
    let args = [
        "errors",
        "-o",
        "json",
        "--threads",
        "2",
        "-s",
        "s3://large",
        "--date",
        "2024-09-05",
    ];
    let (r, rss) = run_measured(server.ctq().args(args), None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(counts(&r), [("Large".to_string(), 96)]);
    assert!(rss < MAX_RSS_MB, "peak RSS {rss} MB");
    // Larger than the JSON an input may hold: not even downloaded.
    let r = server.run(&[&args[..], &["--max-decompressed-size", "10M"]].concat());
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        line_naming(&r, "_large.json").contains(
            "_large.json: an object of 96.1 MiB, over --max-decompressed-size (10 MiB): not downloaded"
        ),
        "{}",
        r.stderr
    );
}
