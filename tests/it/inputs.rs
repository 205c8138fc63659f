//! Input shapes, bad inputs, and what the time window lets ctq skip.

use std::os::unix::fs::symlink;

use serde_json::{Value, json};

use crate::util::*;

fn errors_json(dir: &std::path::Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "errors",
        "-s",
        dir.to_str().unwrap(),
        "-o",
        "json",
        "--top",
        "0",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn the_five_shapes_give_the_same_report() {
    let evs = vec![
        error_event(
            "2024-09-05T10:00:00Z",
            "GetObject",
            "AccessDenied",
            "denied",
        ),
        error_event(
            "2024-09-05T11:00:00Z",
            "GetObject",
            "AccessDenied",
            "denied",
        ),
        error_event("2024-09-05T12:00:00Z", "PutObject", "NoSuchBucket", "gone"),
    ];
    let lines: String = evs.iter().map(|e| format!("{e}\n")).collect();
    let pretty: String = evs
        .iter()
        .map(|e| format!("{}\n", serde_json::to_string_pretty(e).unwrap()))
        .collect();
    let lookup = json!({
        "Events": evs.iter().map(|e| json!({"EventId": "x", "CloudTrailEvent": e.to_string()})).collect::<Vec<_>>(),
        "NextToken": "abc"
    });
    let shapes: Vec<(&str, Vec<u8>)> = vec![
        ("records.json.gz", gz(&records(&evs))),
        ("array.json", serde_json::to_vec(&evs).unwrap()),
        ("lines.jsonl", lines.into_bytes()),
        ("pretty-stream.json", pretty.into_bytes()),
        ("lookup.json", serde_json::to_vec(&lookup).unwrap()),
    ];
    let mut single = tempfile::tempdir().unwrap();
    for (i, e) in evs.iter().enumerate() {
        write(
            single.path(),
            &format!("e{i}.json"),
            e.to_string().as_bytes(),
        );
    }
    let want = errors_json(single.path(), &[]);
    assert_eq!(want.code, 0, "{}", want.stderr);
    assert_eq!(want.json()[0]["count"], 2);
    for (name, body) in shapes {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), name, &body);
        let got = errors_json(dir.path(), &[]);
        assert_eq!((got.code, got.stderr.as_str()), (0, ""), "{name}");
        assert_eq!(got.stdout, want.stdout, "{name}");
    }
    single.disable_cleanup(false);
}

#[test]
fn gzip_is_recognised_by_content_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let body = records(&[error_event("2024-09-05T10:00:00Z", "A", "E", "m")]);
    write(dir.path(), "gzipped-but-named.json", &gz(&body));
    write(dir.path(), "plain-but-named.json.gz", &body);
    let r = errors_json(dir.path(), &[]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert_eq!(r.json()[0]["count"], 2);
}

#[test]
fn each_kind_of_bad_file_is_named_with_its_reason_and_the_rest_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let good = gz(&records(&[error_event(
        "2024-09-05T10:00:00Z",
        "A",
        "E",
        "m",
    )]));
    write(p, "good.json.gz", &good);
    let truncated = write(p, "truncated.json.gz", &good[..good.len() / 2]);
    let invalid = write(
        p,
        "invalid.json",
        b"{\"Records\": [{\"eventName\": \"A\",}]}",
    );
    let cut = write(p, "cut.json", b"{\"Records\": [{\"eventName\": \"A\"}");
    let digest = write(p, "digest.json", br#"{"awsAccountId":"1","digestStartTime":"2024-09-05T00:00:00Z","digestEndTime":"x","digestS3Bucket":"b","digestS3Object":"o","logFiles":[]}"#);
    let config = write(
        p,
        "config.json",
        br#"{"region": "us-east-1", "output": "json"}"#,
    );
    let cw = write(p, "cw.json", br#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[]}"#);
    let numbers = write(p, "numbers.json", b"[1, 2, 3]");
    let empty = write(p, "empty.json", b"");
    let binary = write(p, "binary.json", &[0u8, 159, 146, 150]);
    let dangling = p.join("dangling.json.gz");
    symlink(p.join("does-not-exist"), &dangling).unwrap();
    std::fs::create_dir(p.join("a-folder")).unwrap();
    let to_folder = p.join("folder-link.json");
    symlink(p.join("a-folder"), &to_folder).unwrap();

    let r = errors_json(p, &[]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(r.json()[0]["count"], 1, "the good file is still counted");
    let expect = [
        (truncated, "truncated gzip data"),
        (invalid, "invalid JSON: "),
        (cut, "truncated JSON: "),
        (digest, "a CloudTrail digest file"),
        (config, "a JSON object with keys region, output"),
        (cw, "a CloudWatch Logs subscription envelope"),
        (numbers, "a JSON array whose element 0 is a JSON number"),
        (empty, "empty file"),
        (binary, "invalid JSON"),
        (dangling, "cannot read: no such file or folder"),
        (
            to_folder,
            "not a regular file (a link to a folder, not followed)",
        ),
    ];
    let lines: Vec<&str> = r.stderr.lines().collect();
    for (path, reason) in &expect {
        let prefix = format!("ctq: {}: {reason}", path.display());
        assert!(
            lines.iter().any(|l| l.starts_with(&prefix)),
            "no line starting {prefix:?} in:\n{}",
            r.stderr
        );
    }
    assert!(
        r.stderr.contains(&format!(
            "ctq: {} of {} inputs skipped",
            expect.len(),
            expect.len() + 1
        )),
        "{}",
        r.stderr
    );
}

#[test]
fn a_file_that_fails_half_way_contributes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let a = error_event("2024-09-05T10:00:00Z", "A", "E", "m");
    let body = format!("{a}\n{a}\nnot json\n");
    write(dir.path(), "half.jsonl", body.as_bytes());
    let r = errors_json(dir.path(), &[]);
    assert_eq!(r.code, 3);
    assert_eq!(r.json(), json!([]));
    assert!(r.stderr.contains("line 3"), "{}", r.stderr);
}

#[test]
fn digest_folders_and_other_files_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(
        p,
        "AWSLogs/111111111111/CloudTrail/us-east-1/2024/09/05/111111111111_CloudTrail_us-east-1_20240905T1005Z_a.json.gz",
        &gz(&records(&[error_event(
            "2024-09-05T10:00:00Z",
            "A",
            "E",
            "m",
        )])),
    );
    // Garbage in places ctq must never look: any read would be a warning and exit 3.
    write(
        p,
        "AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2024/09/05/111111111111_CloudTrail-Digest_us-east-1_x_20240905T1005Z.json.gz",
        b"garbage",
    );
    write(p, "notes.txt", b"garbage");
    write(p, "archive.json.bz2", b"garbage");
    let r = errors_json(p, &[]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert_eq!(r.json()[0]["count"], 1);
    // Named directly, a file is read whatever its name.
    let r = run(&["errors", "-s", p.join("notes.txt").to_str().unwrap()]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("notes.txt: invalid JSON"), "{}", r.stderr);
}

#[test]
fn standard_input_plain_and_gzipped() {
    let body = records(&[error_event("2024-09-05T10:00:00Z", "A", "E", "m")]);
    for input in [body.clone(), gz(&body)] {
        let r = run_stdin(&["errors", "-s", "-", "-o", "ndjson"], &input);
        assert_eq!((r.code, r.stderr.as_str()), (0, ""));
        assert_eq!(
            r.stdout,
            "{\"event_name\":\"A\",\"error_code\":\"E\",\"error_message\":\"m\",\"count\":1}\n"
        );
    }
    let r = run_stdin(&["errors", "-s", "-"], b"{oops");
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.starts_with("ctq: <stdin>: invalid JSON"),
        "{}",
        r.stderr
    );
}

/// The layout of a day: `files` is (delivery stamp, events).
fn trail_tree(p: &std::path::Path, files: &[(&str, Vec<Value>)]) {
    for (i, (stamp, evs)) in files.iter().enumerate() {
        write(
            p,
            &trail_path("111111111111", "us-east-1", stamp, &format!("f{i:02}")),
            &gz(&records(evs)),
        );
    }
}

#[test]
fn events_straddling_midnight_are_found_in_the_next_days_folder() {
    let dir = tempfile::tempdir().unwrap();
    trail_tree(
        dir.path(),
        &[
            (
                "20240905T1205Z",
                vec![error_event("2024-09-05T12:01:00Z", "Noon", "E", "m")],
            ),
            // Delivered four minutes after midnight, holding the last events of the 5th.
            (
                "20240906T0004Z",
                vec![
                    error_event("2024-09-05T23:58:30Z", "LateOn5th", "E", "m"),
                    error_event("2024-09-06T00:00:10Z", "EarlyOn6th", "E", "m"),
                ],
            ),
        ],
    );
    let names = |r: &Run| -> Vec<String> {
        r.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["event_name"].as_str().unwrap().to_string())
            .collect()
    };
    let on5 = errors_json(dir.path(), &["--date", "2024-09-05"]);
    assert_eq!(names(&on5), ["LateOn5th", "Noon"]);
    let on6 = errors_json(dir.path(), &["--date", "2024-09-06"]);
    assert_eq!(names(&on6), ["EarlyOn6th"]);
    let window = errors_json(
        dir.path(),
        &[
            "--since",
            "2024-09-05T23:58:30Z",
            "--until",
            "2024-09-06T00:00:10Z",
        ],
    );
    assert_eq!(
        names(&window),
        ["LateOn5th"],
        "half-open: until is excluded, since included"
    );
}

#[test]
fn folders_and_files_outside_the_window_are_never_opened() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    trail_tree(
        p,
        &[(
            "20240905T1005Z",
            vec![error_event("2024-09-05T10:01:00Z", "In", "E", "m")],
        )],
    );
    // Corrupt files where the window says no matching event can be: reading any of them would
    // print a warning and exit 3.
    for (stamp, tag) in [
        ("20240904T2355Z", "day-before"),
        ("20240907T0004Z", "two-days-after"),
        ("20230905T1005Z", "year-before"),
        ("20240805T1005Z", "month-before"),
    ] {
        write(
            p,
            &trail_path("111111111111", "us-east-1", stamp, tag),
            b"corrupt",
        );
    }
    // Same day folder, delivered long before the window starts: skipped by its name.
    write(
        p,
        &trail_path("111111111111", "us-east-1", "20240905T0805Z", "early"),
        b"corrupt",
    );
    let r = errors_json(
        p,
        &[
            "--since",
            "2024-09-05T09:00:00Z",
            "--until",
            "2024-09-06T00:00:00Z",
        ],
    );
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert_eq!(r.json()[0]["event_name"], "In");
    // Without a window every file is read, and the corrupt ones are reported.
    let r = errors_json(p, &[]);
    assert_eq!(r.code, 3);
    assert_eq!(
        r.stderr.matches("not a").count() + r.stderr.matches("invalid JSON").count(),
        5,
        "{}",
        r.stderr
    );
    // A file delivered within the skew margin before the window is still read.
    write(
        p,
        &trail_path("111111111111", "us-east-1", "20240905T0850Z", "margin"),
        b"corrupt",
    );
    let r = errors_json(p, &["--since", "2024-09-05T09:00:00Z"]);
    assert!(r.stderr.contains("margin"), "{}", r.stderr);
}

#[test]
fn events_without_a_readable_time() {
    let dir = tempfile::tempdir().unwrap();
    let evs = vec![
        error_event("2024-09-05T10:00:00Z", "Timed", "E", "m"),
        error_event("last tuesday", "Untimed", "E", "m"),
        event(
            "2024-09-05T10:00:00Z",
            "Null",
            json!({"eventTime": null, "errorCode": "E"}),
        ),
    ];
    write(dir.path(), "a.json", &records(&evs));
    let all = errors_json(dir.path(), &[]);
    assert_eq!(all.code, 0);
    assert_eq!(
        all.json().as_array().unwrap().len(),
        3,
        "kept without a window"
    );
    let win = errors_json(dir.path(), &["--date", "2024-09-05"]);
    assert_eq!(win.code, 0);
    assert_eq!(win.json().as_array().unwrap().len(), 1);
    assert!(
        win.stderr
            .contains("2 events without a readable eventTime left out"),
        "{}",
        win.stderr
    );
}

#[test]
fn account_and_region_filters() {
    let dir = tempfile::tempdir().unwrap();
    let e = |acct: &str, region: &str| {
        event(
            "2024-09-05T10:00:00Z",
            &format!("{acct}-{region}"),
            json!({"errorCode": "E", "recipientAccountId": acct, "awsRegion": region}),
        )
    };
    write(
        dir.path(),
        "a.json",
        &records(&[
            e("111111111111", "us-east-1"),
            e("111111111111", "eu-west-1"),
            e("222222222222", "us-east-1"),
            e("333333333333", "ap-southeast-2"),
        ]),
    );
    let names = |extra: &[&str]| -> Vec<String> {
        let r = errors_json(dir.path(), extra);
        let mut v: Vec<String> = r
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["event_name"].as_str().unwrap().into())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names(&["--account", "111111111111"]),
        ["111111111111-eu-west-1", "111111111111-us-east-1"]
    );
    assert_eq!(
        names(&["--region", "us-east-1"]),
        ["111111111111-us-east-1", "222222222222-us-east-1"]
    );
    assert_eq!(
        names(&[
            "--account",
            "111111111111",
            "--account",
            "333333333333",
            "--region",
            "ap-southeast-2",
            "--region",
            "eu-west-1"
        ]),
        ["111111111111-eu-west-1", "333333333333-ap-southeast-2"]
    );
}

#[test]
fn the_same_file_through_two_sources_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "sub/a.json",
        &records(&[error_event("2024-09-05T10:00:00Z", "A", "E", "m")]),
    );
    let r = run(&[
        "errors",
        "-o",
        "json",
        "-s",
        dir.path().to_str().unwrap(),
        "-s",
        f.to_str().unwrap(),
    ]);
    assert_eq!(r.json()[0]["count"], 1);
}
