//! `ctq detect` with Sigma correlation rules (README, "Correlation rules").
//!
//! The corpus of `tests/detect/correlation` (rules, refused rules and events written by its
//! `make_events.py`) is held to the reference (`tests/reference/sigma_reference.py`); the tests
//! here also pin what a user sees: which rules are reported, what is refused and why.

use std::path::Path;

use serde_json::{Value, json};

use crate::detect::rules_on;
use crate::reference::{compare_all, manifest_dir, python_available, run_ctq, run_reference};
use crate::util::{event, records, write};

const WINDOW: &[&str] = &["--since", "2000-01-01"];

const BASE: &str = "title: Failed login
id: 6c1c7a52-1d0e-4b8c-9d55-000000000001
name: failed_login
level: low
logsource:
  product: aws
  service: cloudtrail
detection:
  sel:
    eventName: ConsoleLogin
    errorMessage: Failed authentication
  condition: sel
";

fn correlation(title: &str, body: &str) -> String {
    format!(
        "title: {title}\nlevel: high\nauthor: test\ncorrelation:\n{}",
        body.lines().map(|l| format!("  {l}\n")).collect::<String>()
    )
}

/// Five failed logins: four from 203.0.113.9 within three minutes, one from elsewhere.
fn logins(dir: &Path) -> std::path::PathBuf {
    let failed = |t: &str, ip: &str| {
        let mut e = event(
            t,
            "ConsoleLogin",
            json!({"errorMessage": "Failed authentication"}),
        );
        e["sourceIPAddress"] = json!(ip);
        e
    };
    write(
        dir,
        "trail.json",
        &records(&[
            failed("2024-05-01T10:00:00Z", "203.0.113.9"),
            failed("2024-05-01T10:01:00Z", "203.0.113.9"),
            failed("2024-05-01T10:02:00Z", "198.51.100.1"),
            failed("2024-05-01T10:02:30Z", "203.0.113.9"),
            failed("2024-05-01T10:03:00Z", "203.0.113.9"),
            event("2024-05-01T11:00:00Z", "ListBuckets", json!({})),
        ]),
    )
}

fn detect(dir: &Path, rules: &str, extra: &[&str]) -> crate::util::Run {
    let path = write(dir, "rules.yml", rules.as_bytes());
    rules_on(path.to_str().unwrap(), &logins(dir), extra)
}

fn titles(out: &crate::util::Run) -> Vec<(String, u64)> {
    out.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["title"].as_str().unwrap().to_string(),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_correlation_counts_bursts_per_group_and_hides_its_rule_unless_generate() {
    let dir = tempfile::tempdir().unwrap();
    let burst = correlation(
        "Login burst",
        "type: event_count\nrules: [failed_login]\ngroup-by: [sourceIPAddress]\ntimespan: 5m\ncondition:\n  gte: 2",
    );
    let out = detect(dir.path(), &format!("{BASE}---\n{burst}"), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // 203.0.113.9: fires at the second login, the window empties, fires again at the fourth.
    assert_eq!(titles(&out), [("Login burst".to_string(), 2)]);
    let rows = out.json();
    assert_eq!(rows[0]["first_seen"], "2024-05-01T10:01:00Z");
    assert_eq!(rows[0]["last_seen"], "2024-05-01T10:03:00Z");
    assert_eq!(rows[0]["author"], "test");

    let with = burst.replace("level: high\n", "level: high\ngenerate: true\n");
    let out = detect(dir.path(), &format!("{BASE}---\n{with}"), &[]);
    assert_eq!(
        titles(&out),
        [
            ("Login burst".to_string(), 2),
            ("Failed login".to_string(), 5)
        ]
    );

    let details = detect(dir.path(), &format!("{BASE}---\n{burst}"), &["--details"]);
    let details = details.json();
    let rows: Vec<&str> = details
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event_time"].as_str().unwrap())
        .collect();
    assert_eq!(rows, ["2024-05-01T10:03:00Z", "2024-05-01T10:01:00Z"]);

    let raw = detect(dir.path(), &format!("{BASE}---\n{burst}"), &["--raw"]);
    assert_eq!(raw.stdout.lines().count(), 2, "{}", raw.stdout);
    for line in raw.stdout.lines() {
        let ev: Value = serde_json::from_str(line).unwrap();
        assert_eq!(ev["sourceIPAddress"], "203.0.113.9");
    }

    // --fail-on counts the correlation's level, not its hidden rule's.
    let out = detect(
        dir.path(),
        &format!("{BASE}---\n{burst}"),
        &["--fail-on", "high"],
    );
    assert_eq!(out.code, 4, "{}", out.stderr);
    // --level keeps the correlation, and its low rule still runs for it.
    let out = detect(
        dir.path(),
        &format!("{BASE}---\n{burst}"),
        &["--level", "high"],
    );
    assert_eq!(titles(&out), [("Login burst".to_string(), 2)]);
    let listed = detect(
        dir.path(),
        &format!("{BASE}---\n{burst}"),
        &["--list-rules"],
    );
    assert_eq!(
        listed.json().as_array().unwrap().len(),
        2,
        "{}",
        listed.stdout
    );
}

#[test]
fn value_count_and_temporal_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let ips = correlation(
        "Many IPs",
        "type: value_count\nrules: [6c1c7a52-1d0e-4b8c-9d55-000000000001]\ntimespan: 1h\ncondition:\n  field: sourceIPAddress\n  gte: 2",
    );
    let listing = "title: Listing\nname: listing\nlogsource:\n  product: aws\ndetection:\n  sel:\n    eventName: ListBuckets\n  condition: sel\n";
    let ordered = correlation(
        "Login then listing",
        "type: temporal_ordered\nrules: [failed_login, listing]\ntimespan: 1h",
    );
    let reversed = correlation(
        "Listing then login",
        "type: temporal_ordered\nrules: [listing, failed_login]\ntimespan: 1h",
    );
    let short = correlation(
        "Both within a minute",
        "type: temporal\nrules: [failed_login, listing]\ntimespan: 1m",
    );
    let rules = [BASE, &ips, listing, &ordered, &reversed, &short].join("---\n");
    let out = detect(dir.path(), &rules, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut got = titles(&out);
    got.sort();
    assert_eq!(
        got,
        [
            ("Login then listing".to_string(), 1),
            ("Many IPs".to_string(), 1)
        ]
    );
}

#[test]
fn correlations_ctq_does_not_run_are_named_and_the_others_still_run() {
    let dir = tempfile::tempdir().unwrap();
    let good = correlation(
        "Login burst",
        "type: event_count\nrules: [failed_login]\ntimespan: 5m\ncondition:\n  gte: 2",
    );
    let bad = [
        (
            "Sum",
            "type: value_sum\nrules: [failed_login]\ntimespan: 5m\ncondition:\n  field: x\n  gte: 2",
            "value_sum is not supported",
        ),
        (
            "Tumbling",
            "type: event_count\nrules: [failed_login]\ntimespan: 5m\nwindow: tumbling\ncondition:\n  gte: 2",
            "window: tumbling",
        ),
        (
            "Text",
            "type: temporal\nrules: [failed_login]\ntimespan: 5m\ncondition: failed_login",
            "condition written as text",
        ),
        (
            "Unknown",
            "type: event_count\nrules: [nope]\ntimespan: 5m\ncondition:\n  gte: 2",
            "no rule with this id or name",
        ),
        (
            "Chained",
            "type: event_count\nrules: [burst]\ntimespan: 5m\ncondition:\n  gte: 2",
            "correlations of correlations",
        ),
        (
            "Twice",
            "type: temporal\nrules: [failed_login, failed_login]\ntimespan: 5m",
            "twice",
        ),
        (
            "No field",
            "type: value_count\nrules: [failed_login]\ntimespan: 5m\ncondition:\n  gte: 2",
            "needs condition.field",
        ),
        (
            "Skipped",
            "type: event_count\nrules: [broken]\ntimespan: 5m\ncondition:\n  gte: 2",
            "which was skipped",
        ),
    ];
    let broken = "title: Broken\nname: broken\nlogsource:\n  product: aws\ndetection:\n  sel:\n    eventName|utf16: x\n  condition: sel\n";
    let named_good = good.replace("level: high\n", "level: high\nname: burst\n");
    let mut docs = vec![BASE.to_string(), named_good, broken.to_string()];
    docs.extend(bad.iter().map(|(t, b, _)| correlation(t, b)));
    let action = format!(
        "{}rsigma.action: reset\n",
        correlation(
            "Action",
            "type: event_count\nrules: [failed_login]\ntimespan: 5m\ncondition:\n  gte: 2"
        )
    );
    docs.push(action);
    let out = detect(dir.path(), &docs.join("---\n"), &[]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    for (title, _, why) in &bad {
        let line = out
            .stderr
            .lines()
            .find(|l| l.contains(&format!("correlation \"{title}\"")))
            .unwrap_or_else(|| panic!("{title} not named: {}", out.stderr));
        assert!(line.contains(why), "{title}: {line}");
    }
    assert!(out.stderr.contains("rsigma.action"), "{}", out.stderr);
    assert_eq!(titles(&out), [("Login burst".to_string(), 2)]);
}

/// Rules, events and refusals written for correlations (`tests/detect/correlation`): ctq and
/// the reference agree in every output mode.
#[test]
fn correlation_cases_agree_with_the_reference() {
    if !python_available() {
        return;
    }
    let dir = manifest_dir().join("tests/detect/correlation");
    let rules = dir.join("rules");
    let rules = rules.to_str().unwrap();
    let refused = dir.join("refused");
    let refused = refused.to_str().unwrap();
    let late: &[&str] = &[
        "--since",
        "2025-03-04T10:02:00Z",
        "--until",
        "2025-03-04T12:00:00Z",
    ];
    compare_all(
        "correlations",
        &[dir.join("events")],
        &[
            &["detect", "--no-builtin", "--rules", rules],
            &["detect", "--no-builtin", "--rules", rules, "--details"],
            &[
                "detect",
                "--no-builtin",
                "--rules",
                rules,
                "--level",
                "high",
            ],
            &["detect", "--no-builtin", "--rules", rules, "--rule", "c11"],
        ],
        &[WINDOW, late],
    );
    // --raw: the same lines (each event once, however many rules and correlations it fires).
    let events = dir.join("events");
    let events = events.to_str().unwrap();
    let args: Vec<String> = [
        "detect",
        "--no-builtin",
        "--rules",
        rules,
        "--raw",
        "-s",
        events,
    ]
    .iter()
    .chain(WINDOW)
    .map(|s| s.to_string())
    .collect();
    let (ctq, reference) = (run_ctq(&args), run_reference(&args));
    assert!(
        ctq.code == 0 && reference.code == 0,
        "{}{}",
        ctq.stderr,
        reference.stderr
    );
    let (a, b) = (ctq.stdout, reference.stdout);
    assert!(a.lines().count() > 40, "{a}");
    assert_eq!(a, b);
    // Every refused correlation is named (all of them with --stats), and the others still run.
    let out = rules_on(rules, &dir.join("events"), &["--rules", refused, "--stats"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    for f in std::fs::read_dir(dir.join("refused")).unwrap() {
        let f = f.unwrap().path();
        let shown = f.to_str().unwrap();
        assert!(
            out.stderr.contains(shown),
            "{shown} not named:\n{}",
            out.stderr
        );
    }
    let rows = out.json().as_array().unwrap().len();
    assert!(rows >= 30, "{rows} rows");
}

/// The seeded corpora of `tests/reference/gen_corpus.py` with correlations over common events:
/// every kind, grouped by principal, by IP and by nothing.
#[test]
fn correlations_on_generated_corpora_agree_with_the_reference() {
    if !python_available() {
        return;
    }
    let rules = tempfile::tempdir().unwrap();
    let any = "title: Any call\nname: any\nlogsource:\n  product: aws\ndetection:\n  sel:\n    eventName|exists: true\n  condition: sel\n";
    let denied = "title: Denied\nname: denied\nlogsource:\n  product: aws\ndetection:\n  sel:\n    errorCode|contains: denied\n  condition: sel\n";
    let docs = [
        any.to_string(),
        denied.to_string(),
        correlation(
            "Busy principal",
            "type: event_count\nrules: [any]\ngroup-by: [userIdentity.arn]\ntimespan: 10m\ncondition:\n  gte: 5",
        ),
        correlation(
            "Denied burst",
            "type: event_count\nrules: [denied]\ngroup-by: [userIdentity.arn, sourceIPAddress]\ntimespan: 1h\ncondition:\n  gt: 1\n  lte: 3",
        ),
        correlation(
            "Many names",
            "type: value_count\nrules: [any]\ngroup-by: [sourceIPAddress]\ntimespan: 30m\ncondition:\n  field: eventName\n  gte: 3",
        ),
        correlation(
            "Call then denied",
            "type: temporal_ordered\nrules: [any, denied]\ngroup-by: [userIdentity.arn]\ntimespan: 1h",
        ),
        correlation(
            "Call and denied",
            "type: temporal\nrules: [denied, any]\ntimespan: 2m",
        ),
    ];
    let path = write(rules.path(), "gen.yml", docs.join("---\n").as_bytes());
    let path = path.to_str().unwrap();
    for seed in [1, 2] {
        let dir = crate::reference::generated_corpus(seed);
        compare_all(
            &format!("correlations on generated corpus {seed}"),
            &[dir.path().to_path_buf()],
            &[
                &["detect", "--no-builtin", "--rules", path],
                &["detect", "--no-builtin", "--rules", path, "--details"],
            ],
            &[WINDOW, &["--date", "2024-09-05"]],
        );
    }
}

/// Hostile correlations are refused with a reason, not run: more rules than a bit set holds, a
/// timespan past any clock, a negative threshold, and a title with terminal escapes is printed
/// escaped.
#[test]
fn hostile_correlations_are_bounded_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let refs: Vec<String> = (0..65).map(|i| format!("r{i}")).collect();
    let many: String = refs
        .iter()
        .map(|r| {
            format!(
                "title: {r}\nname: {r}\nlogsource:\n  product: aws\ndetection:\n  sel:\n    eventName: ConsoleLogin\n  condition: sel\n---\n"
            )
        })
        .collect();
    let docs = [
        format!(
            "{many}{}",
            correlation(
                "Wide",
                &format!("type: temporal\nrules: [{}]\ntimespan: 5m", refs.join(", "))
            )
        ),
        correlation(
            "Forever",
            "type: event_count\nrules: [failed_login]\ntimespan: 99999999999999999y\ncondition:\n  gte: 2",
        ),
        correlation(
            "Negative",
            "type: event_count\nrules: [failed_login]\ntimespan: 5m\ncondition:\n  gte: -1",
        ),
        correlation(
            "\"Bell \\e[31m\"",
            "type: event_count\nrules: [failed_login]\ntimespan: 5m\ncondition:\n  field: x\n  gte: 2\n  window: tumbling",
        )
        .replace("  window: tumbling", "window: tumbling"),
    ];
    let text = format!("{BASE}---\n{}", docs.join("---\n"));
    let out = detect(dir.path(), &text, &["--stats"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("65 rules, more than 64"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Invalid timespan '99999999999999999y'"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("not a whole number from 0"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(r#"correlation "Bell \u{1b}[31m""#),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains('\u{1b}'),
        "raw escape on stderr: {:?}",
        out.stderr
    );
}

/// The inputs of all correlations are capped (`correlate::MAX_INPUTS`, a million, about 300 bytes
/// each): past the cap, the run keeps going, says that the correlations are incomplete and how
/// many events were not kept, and exits 3, rather than growing without bound or claiming a
/// complete result.
#[test]
fn correlations_past_the_input_cap_are_named_incomplete() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let cap = ctq::sigma::correlate::MAX_INPUTS as usize;
    let n = cap + 7;
    // One trail file of the smallest events, written here: the fixtures' helpers build values.
    let mut text = Vec::with_capacity(n * 80);
    text.extend_from_slice(b"{\"Records\":[");
    for i in 0..n {
        if i > 0 {
            text.push(b',');
        }
        let (m, s) = ((i / 60) % 60, i % 60);
        write!(
            text,
            r#"{{"eventTime":"2024-05-01T10:{m:02}:{s:02}Z","eventName":"Ping","eventID":"e{i}"}}"#
        )
        .unwrap();
    }
    text.extend_from_slice(b"]}");
    let trail = write(dir.path(), "trail.json", &text);
    drop(text);
    let ping = BASE.replace("name: failed_login", "name: ping").replace(
        "    eventName: ConsoleLogin\n    errorMessage: Failed authentication\n",
        "    eventName: Ping\n",
    );
    assert!(ping.contains("eventName: Ping\n"), "{ping}");
    let rules = format!(
        "{ping}---\n{}",
        correlation(
            "Many pings",
            "type: event_count\nrules:\n  - ping\ntimespan: 1h\ncondition:\n  gte: 100000000\n"
        )
    );
    let path = write(dir.path(), "rules.yml", rules.as_bytes());
    let out = rules_on(path.to_str().unwrap(), &trail, &[]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "the correlation rules are incomplete: more than {cap} events matched their rules, \
             and 7 events were not kept"
        )),
        "{}",
        out.stderr
    );
}
