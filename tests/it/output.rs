//! Output formats, escaping of hostile text, determinism, and closed pipes.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use serde::Deserialize;
use serde_json::json;

use crate::util::*;

const HOSTILE_UA: &str = "evil\u{1b}[2J\u{1b}]0;owned\u{7}\r\nfake: line\u{9b}31m\u{202e}txt";

fn hostile_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.json",
        &records(&[event(
            "2024-09-05T10:00:00Z",
            "GetCallerIdentity",
            json!({
                "eventSource": "sts.amazonaws.com",
                "userAgent": HOSTILE_UA,
                "tlsDetails": {"tlsVersion": "TLSv1.3", "clientProvidedHostHeader": "sts.amazonaws.com"},
                "errorCode": "Bad\u{1b}[0m",
                "errorMessage": "a, \"quoted\"\nmessage"
            }),
        )]),
    );
    dir
}

#[test]
fn table_output_escapes_control_characters() {
    let dir = hostile_dir();
    let r = run(&["sts-endpoints", "-s", dir.path().to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for c in ['\u{1b}', '\u{7}', '\r', '\u{9b}', '\u{202e}'] {
        assert!(
            !r.stdout.contains(c),
            "raw {c:?} written to the terminal:\n{}",
            r.stdout
        );
    }
    assert!(
        r.stdout
            .contains(r"evil\x1b[2J\x1b]0;owned\x07\r\nfake: line\u{9b}31m\u{202e}txt"),
        "{}",
        r.stdout
    );
    let r = run(&["errors", "-s", dir.path().to_str().unwrap()]);
    assert!(
        r.stdout.contains(r"Bad\x1b[0m") && r.stdout.contains(r#"a, "quoted"\nmessage"#),
        "{}",
        r.stdout
    );
}

#[test]
fn json_and_csv_keep_the_exact_text() {
    let dir = hostile_dir();
    let d = dir.path().to_str().unwrap();
    let r = run(&["sts-endpoints", "-s", d, "-o", "json"]);
    assert_eq!(r.json()[0]["user_agent"], HOSTILE_UA);
    assert!(
        r.stdout.contains(r"evil\u001b[2J"),
        "JSON escapes control characters: {}",
        r.stdout
    );
    let r = run(&["errors", "-s", d, "-o", "csv"]);
    assert_eq!(
        r.stdout,
        "event_name,error_code,error_message,count\nGetCallerIdentity,Bad\u{1b}[0m,\"a, \"\"quoted\"\"\nmessage\",1\n"
    );
}

#[test]
fn table_view_exact_text_with_totals() {
    let dir = tempfile::tempdir().unwrap();
    let sts = |host: Option<&str>, ua: &str| {
        let mut extra = json!({"eventSource": "sts.amazonaws.com", "userAgent": ua});
        if let Some(h) = host {
            extra["tlsDetails"] = json!({"clientProvidedHostHeader": h});
        }
        event("2024-09-05T10:00:00Z", "AssumeRole", extra)
    };
    write(
        dir.path(),
        "a.json",
        &records(&[
            sts(Some("sts.amazonaws.com"), "old-sdk"),
            sts(Some("sts.amazonaws.com"), "old-sdk"),
            sts(Some("sts.us-east-1.amazonaws.com"), "new-sdk"),
            sts(None, "lambda.amazonaws.com"),
        ]),
    );
    let r = run(&["sts-endpoints", "-s", dir.path().to_str().unwrap()]);
    assert_eq!(r.code, 0);
    let want = "\
┌─────────────────────────────┬──────────┬───────────┬────────────┬───────┐
│ host_header                 ┆ endpoint ┆ region    ┆ user_agent ┆ count │
╞═════════════════════════════╪══════════╪═══════════╪════════════╪═══════╡
│ sts.amazonaws.com           ┆ global   ┆ us-east-1 ┆ old-sdk    ┆     2 │
│ sts.us-east-1.amazonaws.com ┆ regional ┆ us-east-1 ┆ new-sdk    ┆     1 │
└─────────────────────────────┴──────────┴───────────┴────────────┴───────┘
global endpoint: 2 calls · regional endpoints: 1 call · no host header (AWS services on your behalf): 1 call
";
    assert_eq!(r.stdout, want);
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct BucketRow {
    principal: String,
    event_name: Option<String>,
    count: u64,
    first_seen: Option<String>,
    last_seen: Option<String>,
    source_ips: Vec<String>,
}

#[test]
fn json_rows_decode_into_the_documented_fields() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = |time: &str, ip: Option<&str>| {
        let mut e = event(
            time,
            "GetObject",
            json!({"eventSource": "s3.amazonaws.com", "requestParameters": {"bucketName": "b", "key": "k"}}),
        );
        match ip {
            Some(ip) => e["sourceIPAddress"] = json!(ip),
            None => {
                e.as_object_mut().unwrap().remove("sourceIPAddress");
            }
        }
        e
    };
    write(
        dir.path(),
        "a.json",
        &records(&[
            s3("2024-09-05T10:00:00Z", Some("2001:db8::1")),
            s3("2024-09-05T09:00:00.750Z", Some("198.51.100.7")),
            s3("2024-09-05T11:00:00Z", None),
            s3("2024-09-05T08:00:00Z", Some("198.51.100.7")),
        ]),
    );
    let r = run(&[
        "who-touched-bucket",
        "b",
        "-s",
        dir.path().to_str().unwrap(),
        "-o",
        "json",
    ]);
    let rows: Vec<BucketRow> = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        rows,
        [BucketRow {
            principal: "arn:aws:iam::111111111111:user/alice".into(),
            event_name: Some("GetObject".into()),
            count: 4,
            first_seen: Some("2024-09-05T08:00:00Z".into()),
            last_seen: Some("2024-09-05T11:00:00Z".into()),
            source_ips: vec!["198.51.100.7".into(), "2001:db8::1".into()],
        }]
    );
    // NDJSON: the same objects, one per line; CSV joins lists with ';'.
    let r = run(&[
        "who-touched-bucket",
        "b",
        "-s",
        dir.path().to_str().unwrap(),
        "-o",
        "ndjson",
    ]);
    let line: BucketRow = serde_json::from_str(r.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(line.count, 4);
    let r = run(&[
        "who-touched-bucket",
        "b",
        "-s",
        dir.path().to_str().unwrap(),
        "-o",
        "csv",
    ]);
    assert!(
        r.stdout
            .ends_with(",4,2024-09-05T08:00:00Z,2024-09-05T11:00:00Z,198.51.100.7;2001:db8::1\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn one_thread_gives_the_same_bytes_as_many() {
    let src = fixtures();
    let src = src.to_str().unwrap();
    for cmd in [
        vec!["sts-endpoints"],
        vec!["sts-endpoints", "--details"],
        vec!["root-activity"],
        vec!["root-activity", "--details"],
        vec!["errors", "--top", "0"],
        vec!["who-touched-bucket", "prod-data"],
        vec!["who-touched-bucket", "prod-data", "--details"],
    ] {
        for format in ["table", "json", "ndjson", "csv"] {
            let mut base = cmd.clone();
            base.extend(["-s", src, "-o", format]);
            let one = run(&[base.as_slice(), &["--threads", "1"]].concat());
            let many = run(&[base.as_slice(), &["--threads", "4"]].concat());
            assert_eq!(one.code, 0, "{base:?}: {}", one.stderr);
            assert!(
                one.stdout.lines().count() > 2,
                "{base:?} printed almost nothing:\n{}",
                one.stdout
            );
            assert_eq!(one.stdout, many.stdout, "{base:?}");
        }
    }
}

#[test]
fn a_closed_pipe_ends_quietly_with_success() {
    let dir = tempfile::tempdir().unwrap();
    let evs: Vec<_> = (0..20_000)
        .map(|i| error_event("2024-09-05T10:00:00Z", &format!("Call{i}"), "E", "m"))
        .collect();
    write(dir.path(), "many.json", &records(&evs));
    let mut child = ctq()
        .args([
            "errors",
            "--top",
            "0",
            "-o",
            "ndjson",
            "-s",
            dir.path().to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped here, as `head -1` exits.
    let out = child.wait_with_output().unwrap();
    assert!(first.starts_with("{\"event_name\":\"Call"), "{first}");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}
