//! Aggregated events (`CloudTrail-Aggregated/`): five-minute summaries of data events, with
//! their own record shape (AWS, "CloudTrail record contents for aggregated events": `accountId`,
//! `eventId`, `eventCategory` `Aggregated`, `eventType` `AwsAggregatedEvent`, `timeWindow` with
//! `windowStart`, `windowEnd`, `windowSize`, and `summary`). `events` lists them with their
//! window's start as `event_time`, `summary` counts them by category, `--category Aggregated`
//! selects them, and the reports about calls leave them out.

use serde_json::{Value, json};

use crate::util::{gz, records, run, run_stdin, write};

/// An aggregated record with every field AWS documents, of the API_ACTIVITY template.
fn aggregated(start: &str, end: &str, id: &str) -> Value {
    json!({
        "eventVersion": "1.0",
        "accountId": "111111111111",
        "eventId": id,
        "eventCategory": "Aggregated",
        "eventType": "AwsAggregatedEvent",
        "awsRegion": "us-east-1",
        "eventSource": "s3.amazonaws.com",
        "timeWindow": {"windowStart": start, "windowEnd": end, "windowSize": "PT5M"},
        "summary": {
            "primaryDimension": {"dimension": "eventName", "value": "GetObject"},
            "details": [
                {"dimension": "userIdentity.arn", "value": "arn:aws:iam::111111111111:role/app", "statistics": {"count": 1200}},
                {"dimension": "errorCode", "value": "AccessDenied", "statistics": {"count": 3}}
            ],
            "statistics": {"count": 1203}
        }
    })
}

fn trail() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "AWSLogs/111111111111/CloudTrail-Aggregated/us-east-1/2025/11/20/111111111111_CloudTrail-Aggregated_us-east-1_20251120T1015Z_a1b2c3d4e5f6a7b8.json.gz",
        &gz(&records(&[
            aggregated("2025-11-20T10:00:00Z", "2025-11-20T10:05:00Z", "agg-1"),
            aggregated("2025-11-20T10:05:00Z", "2025-11-20T10:10:00Z", "agg-2"),
        ])),
    );
    write(
        dir.path(),
        "AWSLogs/111111111111/CloudTrail/us-east-1/2025/11/20/111111111111_CloudTrail_us-east-1_20251120T1015Z_b1b2c3d4e5f6a7b8.json.gz",
        &gz(&records(&[json!({
            "eventVersion": "1.09",
            "eventTime": "2025-11-20T10:07:00Z",
            "eventSource": "s3.amazonaws.com",
            "eventName": "GetObject",
            "awsRegion": "us-east-1",
            "errorCode": "AccessDenied",
            "eventID": "call-1",
            "eventCategory": "Data",
            "recipientAccountId": "111111111111",
            "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111111111111:assumed-role/app/s"}
        })])),
    );
    dir
}

#[test]
fn events_lists_them_at_their_window_start() {
    let dir = trail();
    let s = dir.path().to_str().unwrap();
    let r = run(&[
        "events",
        "-s",
        s,
        "--category",
        "Aggregated",
        "--oldest-first",
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = r.json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert_eq!(rows[0]["event_time"], "2025-11-20T10:00:00Z");
    assert_eq!(rows[1]["event_time"], "2025-11-20T10:05:00Z");
    assert_eq!(rows[0]["event_source"], "s3.amazonaws.com");
    // Their account and id, in the columns every event has.
    let r = run(&[
        "events",
        "-s",
        s,
        "--category",
        "aggregated",
        "--fields",
        "eventId,accountId,recipientAccountId,summary.statistics.count",
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = r.stdout;
    assert!(text.contains("\"agg-2\""), "{text}");
    assert!(text.contains("1203"), "{text}");
    // The window applies to their window's start.
    let r = run(&[
        "events",
        "-s",
        s,
        "--since",
        "2025-11-20T10:04",
        "--category",
        "Aggregated",
        "-o",
        "json",
    ]);
    assert_eq!(r.json().as_array().unwrap().len(), 1, "{}", r.stdout);
    // From standard input too.
    let body = records(&[aggregated(
        "2025-11-20T10:00:00Z",
        "2025-11-20T10:05:00Z",
        "agg-9",
    )]);
    let r = run_stdin(&["events", "-s", "-", "-o", "json"], &body);
    assert_eq!(
        r.json()[0]["event_time"],
        "2025-11-20T10:00:00Z",
        "{}",
        r.stdout
    );
    assert_eq!(r.json()[0]["account"], "111111111111", "{}", r.stdout);
}

#[test]
fn summary_counts_them_by_category() {
    let dir = trail();
    let r = run(&["summary", "-s", dir.path().to_str().unwrap(), "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert_eq!(j["events"], 3, "{j}");
    let cats = j["by_category"].as_array().unwrap();
    let count = |name: &str| {
        cats.iter()
            .find(|c| c["category"] == name)
            .map(|c| c["count"].clone())
    };
    assert_eq!(count("Aggregated"), Some(json!(2)), "{cats:?}");
    assert_eq!(count("Data"), Some(json!(1)), "{cats:?}");
}

#[test]
fn reports_about_calls_leave_them_out() {
    let dir = trail();
    let s = dir.path().to_str().unwrap();
    let r = run(&["event-sources", "-s", s, "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert_eq!(j.as_array().unwrap().len(), 1, "{j}");
    assert_eq!(j[0]["count"], 1, "{j}");
    let r = run(&["errors", "-s", s, "-o", "json"]);
    assert_eq!(r.json()[0]["count"], 1, "{}", r.stdout);
}
