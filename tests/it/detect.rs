//! `ctq detect`: Sigma rules over the trail.
//!
//! The rows are held to `tests/reference/sigma_reference.py`, a deliberately simple Sigma
//! evaluator written from the specification and ctq's contract (through `ctq_reference.py
//! detect`), on SigmaHQ's CloudTrail rules (`../shared/sigma-aws-cloudtrail`), the built-in
//! rules, the Stratus Red Team detonations and the other real samples, the fixtures and a
//! generated corpus. The built-in rules are held to their own test events (`rules/tests.json`):
//! each fires on one event and not on its near miss.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::reference::{compare_all, manifest_dir, python_available};
use crate::util::{fixtures, records, run, write};

/// `../shared/<rel>`, or None with a note when this machine lacks it.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = manifest_dir().join("../shared").join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("note: {} is missing; tests on it are skipped", p.display());
        None
    }
}

fn sigmahq() -> Option<PathBuf> {
    shared("sigma-aws-cloudtrail")
}

const WINDOW: &[&str] = &["--since", "2000-01-01"];

#[test]
fn sigmahq_rules_on_the_stratus_detonations_agree_with_the_reference() {
    let (Some(rules), Some(stratus)) = (sigmahq(), shared("cloudtrail-samples/stratus-red-team"))
    else {
        return;
    };
    if !python_available() {
        return;
    }
    let rules = rules.to_str().unwrap();
    compare_all(
        "SigmaHQ rules on Stratus Red Team",
        &[stratus],
        &[
            &["detect", "--no-builtin", "--rules", rules],
            &["detect", "--no-builtin", "--rules", rules, "--details"],
            &[
                "detect",
                "--no-builtin",
                "--rules",
                rules,
                "--level",
                "medium",
            ],
            &["detect", "--rules", rules],
            &["detect"],
            &["detect", "--details"],
        ],
        &[WINDOW, &["--since", "2024-08-01", "--until", "2024-08-02"]],
    );
}

#[test]
fn rules_on_every_real_sample_and_the_fixtures_agree_with_the_reference() {
    if !python_available() {
        return;
    }
    let mut sources = vec![fixtures()];
    sources.extend(shared("cloudtrail-samples"));
    let rules = sigmahq().map(|p| p.to_str().unwrap().to_string());
    let mut commands: Vec<Vec<&str>> = vec![vec!["detect"], vec!["detect", "--details"]];
    if let Some(r) = &rules {
        commands.push(vec!["detect", "--rules", r]);
        commands.push(vec!["detect", "--rules", r, "--details"]);
    }
    let commands: Vec<&[&str]> = commands.iter().map(Vec::as_slice).collect();
    for s in &sources {
        compare_all(
            &format!("detect on {}", s.display()),
            std::slice::from_ref(s),
            &commands,
            &[WINDOW],
        );
    }
}

/// Each rule of `cases` (file name → `{fires, near_miss}`) fires on its event and not on its
/// near miss, run alone from `dir`; `fires: null` is a rule that cannot match as written.
fn fires_and_near_misses(dir: &Path, cases: &serde_json::Map<String, Value>) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    for (file, case) in cases {
        let rule = dir.join(file);
        for (which, want) in [("fires", true), ("near_miss", false)] {
            if case[which].is_null() {
                continue;
            }
            let path = write(
                tmp.path(),
                &format!("{file}.{which}.json"),
                &records(&[case[which].clone()]),
            );
            let out = rules_on(rule.to_str().unwrap(), &path, &[]);
            let rows = if out.code == 0 {
                out.json()
            } else {
                Value::Null
            };
            let fired = rows.as_array().is_some_and(|a| a.len() == 1);
            let right_rule = case
                .get("rule_id")
                .is_none_or(|id| !fired || rows[0]["rule_id"] == *id);
            if fired != want || out.code != 0 || !right_rule {
                problems.push(format!(
                    "{file}: {which}: exit {} rows {}; stderr {}",
                    out.code,
                    out.stdout.trim(),
                    out.stderr.trim()
                ));
            }
        }
    }
    problems
}

fn cases(rel: &str) -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(manifest_dir().join(rel)).unwrap();
    match serde_json::from_str(&text).unwrap() {
        Value::Object(m) => m,
        other => panic!("{rel} is not an object: {other}"),
    }
}

/// The rules of the built-in set fire on their own test events and not on the near misses.
#[test]
fn every_builtin_rule_fires_on_its_event_and_not_on_its_near_miss() {
    let tests = cases("rules/tests.json");
    let mut files: Vec<String> = std::fs::read_dir(manifest_dir().join("rules"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yml"))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "{} built-in rules", files.len());
    let mut problems: Vec<String> = files
        .iter()
        .filter(|f| !tests.contains_key(f.as_str()))
        .map(|f| format!("{f}: no test events in rules/tests.json"))
        .collect();
    problems.extend(fires_and_near_misses(&manifest_dir().join("rules"), &tests));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// SigmaHQ's rules that fire on none of the real samples each have a synthetic event that they
/// match and a near miss (`tests/detect/sigmahq-cases.json`); every other SigmaHQ rule fires on
/// a sample.
#[test]
fn silent_sigmahq_rules_fire_on_their_synthetic_events() {
    let (Some(rules), Some(samples)) = (sigmahq(), shared("cloudtrail-samples")) else {
        return;
    };
    let tests = cases("tests/detect/sigmahq-cases.json");
    let problems = fires_and_near_misses(&rules, &tests);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let out = rules_on(rules.to_str().unwrap(), &samples, &[]);
    let fired: Vec<String> = out
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule_id"].as_str().unwrap().to_string())
        .collect();
    let mut uncovered = Vec::new();
    for e in std::fs::read_dir(&rules).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".yml") || tests.contains_key(&name) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let id = text
            .lines()
            .find_map(|l| l.strip_prefix("id: "))
            .unwrap()
            .trim();
        if !fired.iter().any(|f| f == id) {
            uncovered.push(name);
        }
    }
    assert!(
        uncovered.is_empty(),
        "fire on no sample and have no synthetic case: {uncovered:?}"
    );
}

/// The built-in rules fire on at least 30 of the 35 Stratus Red Team detonations.
#[test]
fn builtin_rules_fire_on_the_stratus_detonations() {
    let Some(stratus) = shared("cloudtrail-samples/stratus-red-team") else {
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&stratus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut silent = Vec::new();
    for f in &files {
        let out = run(&[
            "detect",
            "-s",
            f.to_str().unwrap(),
            "--since",
            "2000-01-01",
            "-o",
            "json",
        ]);
        assert_eq!(out.code, 0, "{}: {}", f.display(), out.stderr);
        if out.json().as_array().is_none_or(|a| a.is_empty()) {
            silent.push(f.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    let fired = files.len() - silent.len();
    assert!(
        fired >= 30,
        "the built-in rules fire on {fired} of {} detonations; silent on {silent:?}",
        files.len()
    );
}

fn rule(dir: &Path, name: &str, body: &str) -> PathBuf {
    write(dir, name, body.as_bytes())
}

const GOOD: &str = "title: Trail stopped
id: 0b8e0c8e-5d1f-4a55-9b0e-000000000001
level: high
author: test
logsource:
  product: aws
  service: cloudtrail
detection:
  sel:
    eventName: StopLogging
  condition: sel
";

fn trail(dir: &Path) -> PathBuf {
    write(
        dir,
        "trail.json",
        &records(&[
            crate::util::event("2024-05-01T10:00:00Z", "StopLogging", json!({})),
            crate::util::event("2024-05-01T11:00:00Z", "ListBuckets", json!({})),
        ]),
    )
}

fn detect(args: &[&str], trail: &Path) -> crate::util::Run {
    let mut all = vec![
        "detect",
        "-s",
        trail.to_str().unwrap(),
        "--since",
        "2000-01-01",
    ];
    all.extend(args);
    run(&all)
}

/// Only the rules of `rules` (no built-in ones) over `source`, since 2000, as JSON, with `extra`.
pub fn rules_on(rules: &str, source: &Path, extra: &[&str]) -> crate::util::Run {
    let mut args = vec!["--no-builtin", "--rules", rules, "-o", "json"];
    args.extend(extra);
    detect(&args, source)
}

#[test]
fn bad_rules_are_named_and_the_others_still_run() {
    let dir = tempfile::tempdir().unwrap();
    let t = trail(dir.path());
    let rules = dir.path().join("rules");
    rule(&rules, "good.yml", GOOD);
    rule(
        &rules,
        "broken.yml",
        "title: x\nlogsource: {product: aws\ndetection:\n",
    );
    rule(
        &rules,
        "unknown.yml",
        &GOOD
            .replace("eventName:", "eventName|frobnicate:")
            .replace("000000000001", "000000000002"),
    );
    rule(
        &rules,
        "windows.yml",
        &GOOD
            .replace("product: aws\n  service: cloudtrail", "product: windows")
            .replace("000000000001", "000000000003"),
    );
    rule(
        &rules,
        "expand.yml",
        &GOOD
            .replace("eventName:", "eventName|expand:")
            .replace("000000000001", "000000000004"),
    );
    rule(&rules, "notes.txt", "not a rule");
    let out = detect(
        &[
            "--no-builtin",
            "--rules",
            rules.to_str().unwrap(),
            "-o",
            "json",
        ],
        &t,
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    let rows = out.json();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(rows[0]["title"], "Trail stopped");
    for (file, why) in [
        ("broken.yml", "YAML parse error"),
        ("unknown.yml", "Unknown modifier 'frobnicate'"),
        (
            "windows.yml",
            "log source product: windows, service: (none) is not AWS CloudTrail",
        ),
        ("expand.yml", "the modifier `expand` is not supported"),
    ] {
        let line = out
            .stderr
            .lines()
            .find(|l| l.contains(file))
            .unwrap_or_else(|| panic!("{file} is not named: {}", out.stderr));
        assert!(line.contains(why), "{line}");
    }
    assert!(!out.stderr.contains("notes.txt"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("4 rules or rule files skipped (named above); the 1 other rule runs"),
        "{}",
        out.stderr
    );
}

#[test]
fn no_rule_to_run_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let t = trail(dir.path());
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = detect(&["--no-builtin", "--rules", empty.to_str().unwrap()], &t);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("no .yml or .yaml file in this folder"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("no rules to run"), "{}", out.stderr);
    // An empty folder next to the built-in rules: named, the rest run, exit 3.
    let out = detect(&["--rules", empty.to_str().unwrap(), "-o", "json"], &t);
    assert_eq!(out.code, 3, "{}", out.stderr);
    let out = detect(&["--rules", "/nonexistent/rules"], &t);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("--rules /nonexistent/rules"),
        "{}",
        out.stderr
    );
    let out = detect(&["--rule", "no such rule anywhere"], &t);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("none is left after --level and --rule"),
        "{}",
        out.stderr
    );
}

#[test]
fn yaml_bombs_and_huge_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let t = trail(dir.path());
    let mut bomb = String::from(
        "title: bomb\nlogsource: {product: aws}\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..10u8 {
        let (prev, cur) = ((b'a' + i - 1) as char, (b'a' + i) as char);
        bomb += &format!(
            "{cur}: &{cur} [{}]\n",
            vec![format!("*{prev}"); 9].join(",")
        );
    }
    bomb += "detection:\n  sel:\n    eventName: *j\n  condition: sel\n";
    let b = rule(dir.path(), "bomb.yml", &bomb);
    // rsigma's condition parser recurses once per `not`: 16,000 of them overflowed the stack.
    let nots = rule(
        dir.path(),
        "nots.yml",
        &GOOD.replace(
            "condition: sel",
            &format!("condition: {}sel", "not ".repeat(16_000)),
        ),
    );
    let big = rule(
        dir.path(),
        "big.yml",
        &format!("{GOOD}# {}\n", "x".repeat(2 << 20)),
    );
    for (path, why) in [
        (b, "repetition limit exceeded"),
        (big, "larger than 1024 KiB"),
        (nots, "16000 `not` in a row: more than 64"),
    ] {
        let out = detect(&["--rules", path.to_str().unwrap(), "-o", "json"], &t);
        assert_eq!(out.code, 3, "{}", out.stderr);
        assert!(out.stderr.contains(why), "{}", out.stderr);
    }
}

#[test]
fn fail_on_exits_4_when_a_rule_at_or_above_the_level_matched() {
    let dir = tempfile::tempdir().unwrap();
    let t = trail(dir.path());
    let r = rule(dir.path(), "good.yml", GOOD);
    let r = r.to_str().unwrap();
    for (level, code) in [("high", 4), ("medium", 4), ("critical", 0)] {
        let out = detect(
            &[
                "--no-builtin",
                "--rules",
                r,
                "--fail-on",
                level,
                "-o",
                "json",
            ],
            &t,
        );
        assert_eq!(out.code, code, "--fail-on {level}: {}", out.stderr);
    }
    // The alert stands on a partial read too.
    let bad = write(dir.path(), "bad.json", b"{not json");
    let out = run(&[
        "detect",
        "--no-builtin",
        "--rules",
        r,
        "--fail-on",
        "high",
        "-s",
        t.to_str().unwrap(),
        "-s",
        bad.to_str().unwrap(),
        "--since",
        "2000-01-01",
    ]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    // --details and --raw trip it the same way.
    for mode in ["--details", "--raw"] {
        let out = detect(
            &["--no-builtin", "--rules", r, "--fail-on", "low", mode],
            &t,
        );
        assert_eq!(out.code, 4, "{mode}: {}", out.stderr);
    }
}

#[test]
fn list_rules_reads_no_events() {
    let dir = tempfile::tempdir().unwrap();
    let r = rule(dir.path(), "good.yml", GOOD);
    let out = run(&[
        "detect",
        "--list-rules",
        "--rules",
        r.to_str().unwrap(),
        "-s",
        "/nonexistent",
        "-o",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows = out.json();
    let rows = rows.as_array().unwrap();
    assert!(rows.len() >= 31, "{}", rows.len());
    let ours = rows.iter().find(|r| r["title"] == "Trail stopped").unwrap();
    assert_eq!(
        *ours,
        json!({"rule_id": "0b8e0c8e-5d1f-4a55-9b0e-000000000001", "title": "Trail stopped",
               "level": "high", "author": "test", "source": r.to_str().unwrap()})
    );
    assert!(
        rows.iter()
            .filter(|r| r["source"] == "builtin")
            .all(|r| r["author"] == "ctq")
    );
    let out = run(&[
        "detect",
        "--list-rules",
        "--level",
        "critical",
        "-o",
        "json",
    ]);
    assert!(
        out.json()
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["level"] == "critical")
    );
}

#[test]
fn raw_prints_each_matching_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let t = trail(dir.path());
    let r = rule(dir.path(), "good.yml", GOOD);
    let twin = rule(
        dir.path(),
        "twin.yml",
        &GOOD
            .replace("000000000001", "000000000009")
            .replace("Trail stopped", "Twin"),
    );
    let out = detect(
        &[
            "--no-builtin",
            "--rules",
            r.to_str().unwrap(),
            "--rules",
            twin.to_str().unwrap(),
            "--raw",
        ],
        &t,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{}", out.stdout);
    let ev: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(ev["eventName"], "StopLogging");
}

/// Rules written to exercise every Sigma feature (`tests/detect/features/rules`), each with
/// events that match and near misses (`tests/detect/features/events`): ctq and the reference
/// agree on every one, in both output modes and in several windows.
#[test]
fn every_sigma_feature_agrees_with_the_reference() {
    if !python_available() {
        return;
    }
    let dir = manifest_dir().join("tests/detect/features");
    let rules = dir.join("rules");
    let rules = rules.to_str().unwrap();
    compare_all(
        "Sigma features",
        &[dir.join("events")],
        &[
            &["detect", "--no-builtin", "--rules", rules],
            &["detect", "--no-builtin", "--rules", rules, "--details"],
            &["detect", "--rules", rules, "--level", "low"],
        ],
        &[WINDOW],
    );
    // Every feature rule fires on something: a rule that never fires tests nothing.
    let out = rules_on(rules, &dir.join("events"), &[]);
    let listed = run(&[
        "detect",
        "--list-rules",
        "--no-builtin",
        "--rules",
        rules,
        "-o",
        "json",
    ]);
    assert_eq!(
        out.json().as_array().unwrap().len(),
        listed.json().as_array().unwrap().len(),
        "some feature rules fire on nothing: {}",
        out.stdout
    );
}

/// The seeded corpora of `tests/reference/gen_corpus.py` (odd types, escapes, duplicates,
/// several shapes): ctq and the reference agree with the built-in rules and SigmaHQ's.
#[test]
fn generated_corpora_agree_with_the_reference() {
    if !python_available() {
        return;
    }
    let rules = sigmahq().map(|p| p.to_str().unwrap().to_string());
    let mut commands: Vec<Vec<&str>> = vec![vec!["detect"], vec!["detect", "--details"]];
    if let Some(r) = &rules {
        commands.push(vec!["detect", "--rules", r]);
    }
    let commands: Vec<&[&str]> = commands.iter().map(Vec::as_slice).collect();
    for seed in [1, 2] {
        let dir = crate::reference::generated_corpus(seed);
        compare_all(
            &format!("detect on generated corpus {seed}"),
            &[dir.path().to_path_buf()],
            &commands,
            &[WINDOW, &["--date", "2024-09-05"]],
        );
    }
}

/// Cases a review found where a rule was never shown an event it matches, or an event was
/// dropped (`tests/detect/review/<case>/{rule.yml,events.json}`): ctq and the reference agree.
#[test]
fn reviewed_cases_agree_with_the_reference() {
    if !python_available() {
        return;
    }
    let dir = manifest_dir().join("tests/detect/review");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 8);
    for case in cases {
        let rule = case.join("rule.yml");
        let rule = rule.to_str().unwrap();
        compare_all(
            &case.display().to_string(),
            &[case.join("events.json")],
            &[
                &["detect", "--no-builtin", "--rules", rule],
                &["detect", "--no-builtin", "--rules", rule, "--details"],
            ],
            &[WINDOW],
        );
        let out = rules_on(rule, &case.join("events.json"), &[]);
        assert_eq!(
            out.json().as_array().map(Vec::len),
            Some(1),
            "{}: {}",
            case.display(),
            out.stderr
        );
    }
}

/// An event serde_json cannot hold (a number past f64's range) is named and the run exits 3;
/// a condition of 15,000 `not` hidden behind YAML escapes does not overflow the stack.
#[test]
fn events_and_rules_the_parsers_refuse_are_not_silently_lost() {
    let dir = tempfile::tempdir().unwrap();
    let t = write(
        dir.path(),
        "big.json",
        br#"{"Records":[{"eventTime":"2024-05-01T10:00:00Z","eventName":"StopLogging","eventID":"e1","requestParameters":{"n":1e400}}]}"#,
    );
    // A rule that reads requestParameters, so the number must be parsed.
    let r = rule(
        dir.path(),
        "params.yml",
        &GOOD.replace(
            "    eventName: StopLogging\n",
            "    eventName: StopLogging\n    requestParameters|exists: true\n",
        ),
    );
    let out = detect(
        &["--no-builtin", "--rules", r.to_str().unwrap(), "-o", "json"],
        &t,
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("1 event could not be shown to the rules"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("e1"), "{}", out.stderr);
    let nots = rule(
        dir.path(),
        "nots.yml",
        &GOOD.replace(
            "condition: sel",
            &format!("condition: \"{}sel\"", "not\\t".repeat(15_000)),
        ),
    );
    let out = detect(&["--no-builtin", "--rules", nots.to_str().unwrap()], &t);
    assert!(matches!(out.code, 0 | 1 | 3), "{}", out.stderr);
}
