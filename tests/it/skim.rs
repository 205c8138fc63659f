//! The skim (`ctq::event::skim`), the fast reader of trail files, against the general parsers
//! (sonic-rs, then serde_json) as its oracle: on the fixtures, on every real sample, on generated
//! corpora and on thousands of damaged trail files, the two find the same fields in the same
//! events, or refuse the input with the same message. And the skim really is the path taken:
//! it settles every trail file of the fixtures and of a generated corpus.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use ctq::event::shape::{Shape, parse_events_general};
use ctq::event::skim::settles;

use crate::faults::{SPLITMIX_STEP, splitmix};
use crate::fuzz_check::{check, detail};
use crate::reference::{python_available, skipped};
use crate::util::fixtures;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir`, decoded when gzipped.
pub fn texts(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
                continue;
            }
            let raw = std::fs::read(&path).unwrap();
            let text = if raw.starts_with(&[0x1f, 0x8b]) {
                let mut text = Vec::new();
                match flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut text) {
                    Ok(_) => text,
                    Err(_) => continue,
                }
            } else {
                raw
            };
            out.push((path, text));
        }
    }
    out.sort();
    out
}

fn disagreement(name: &str, text: &[u8]) -> Option<String> {
    let (skimmed, general) = (detail(text, true), detail(text, false));
    (skimmed != general)
        .then(|| format!("{name}:\n  skim: {skimmed:.300?}\n  general: {general:.300?}"))
}

/// Agree on every file of `dirs`, and settle every one of them that the general parsers read as
/// one trail document (`{"Records":[…]}`): the skim is the path those files take.
fn agree_on(dirs: &[PathBuf]) -> usize {
    let (mut failures, mut settled) = (Vec::new(), 0);
    for dir in dirs {
        for (path, text) in texts(dir) {
            let name = path.display().to_string();
            failures.extend(disagreement(&name, &text));
            let mut out = Vec::new();
            let trail = parse_events_general(&text, &mut out)
                .is_ok_and(|p| p.shape == Shape::Records && p.values == 1);
            let skimmed = settles(&text);
            if trail && !skimmed {
                failures.push(format!("{name}: a trail file the skim does not settle"));
            }
            settled += usize::from(skimmed);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    settled
}

#[test]
fn the_skim_settles_every_trail_file_of_the_fixtures_alike() {
    let settled = agree_on(&[fixtures()]);
    assert!(settled > 30, "{settled} settled");
}

#[test]
fn the_skim_and_the_general_parsers_agree_on_every_real_sample() {
    let samples = manifest_dir().join("../shared/cloudtrail-samples");
    if !samples.is_dir() {
        skipped(&format!(
            "{} is missing: the skim is not compared on real samples",
            samples.display()
        ));
        return;
    }
    let settled = agree_on(&[samples]);
    assert!(settled > 10, "{settled} settled");
}

#[test]
fn the_skim_settles_a_generated_corpus_alike() {
    if !python_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ok = Command::new("python3")
        .arg(manifest_dir().join("tests/reference/gen_corpus.py"))
        .args(["7", dir.path().to_str().unwrap()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "gen_corpus.py failed");
    let settled = agree_on(&[dir.path().to_path_buf()]);
    assert!(settled > 50, "{settled} settled");
}

/// A small, reproducible generator (splitmix64 of a counter).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let out = splitmix(self.0);
        self.0 = self.0.wrapping_add(SPLITMIX_STEP);
        out
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Bytes a damaged file may gain: JSON's structure, escapes, digits, a control character, the
/// pieces of a multi-byte character and bytes that are never UTF-8.
const PIECES: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b",",
    b":",
    b"\\",
    b"\\u",
    b"\\ud800",
    b"\\udc00",
    b"0",
    b"-",
    b".",
    b"e",
    b"1e999",
    b"true",
    b"nul",
    b" ",
    b"\n",
    b"\x01",
    b"\xc3",
    b"\xa9",
    b"\xff",
    b"\xe2\x82",
    b"\"Records\"",
    b"\"eventName\":",
    b"\"userIdentity\":{",
    b"\\x",
    b"\\a",
    b"01",
    b"1.",
    b"+",
    b"E5",
    b"00",
    b"\t",
];

fn damage(rng: &mut Rng, text: &[u8]) -> Vec<u8> {
    let mut t = text.to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(t.len() + 1);
        match rng.below(5) {
            0 if at < t.len() => {
                t.remove(at);
            }
            1 if at < t.len() => t[at] = PIECES[rng.below(PIECES.len())][0],
            2 => t.truncate(at),
            3 => {
                let end = (at + rng.below(40)).min(t.len());
                let copy = t[at..end].to_vec();
                t.splice(at..at, copy);
            }
            _ => {
                let piece = PIECES[rng.below(PIECES.len())];
                t.splice(at..at, piece.iter().copied());
            }
        }
    }
    t
}

/// Thousands of damaged copies of real trail files (one to three bytes or pieces removed,
/// changed, inserted or repeated, or the file cut): whatever the skim settles, the general
/// parsers read the same; whatever it does not, they refuse or read alike. The streaming reader,
/// whose elements the skim also reads, agrees with both (`fuzz_check::check`).
#[test]
fn damaged_trail_files_are_read_alike() {
    let mut originals: Vec<Vec<u8>> = texts(&fixtures())
        .into_iter()
        .filter(|(p, t)| p.to_string_lossy().ends_with(".json.gz") && t.len() < 20_000)
        .map(|(_, t)| t)
        .take(6)
        .collect();
    originals.push(
        br#"{"Records":[{"eventName":"A\u00e9\ud83d\ude00","eventTime":"2024-01-01T00:00:00Z","x":[1,-2.5e+3,{"a":[true,false,null]}],"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/R/s","sessionContext":{"sessionIssuer":{"userName":"R"}}},"resources":[{"ARN":"a1"},5,{"ARN":"a2"}],"readOnly":"TRUE","n":[0,-1,2.5,1e5,-0.0e-3,123456789012345678901234567890,{"m":-7}],"s":"a\tb\n\\\"\/\bc\u0041","additionalEventData":{"MFAUsed":"No"},"requestParameters":{"bucketName":"b","key":"k\/1"},"responseElements":{"ConsoleLogin":"Success"},"tlsDetails":{"clientProvidedHostHeader":"sts.amazonaws.com"}}]}"#
            .to_vec(),
    );
    assert!(
        originals.len() >= 4,
        "too few small trail files in the fixtures"
    );
    let mut rng = Rng(13);
    let (mut failures, mut settled) = (Vec::new(), 0);
    let rounds = 3000;
    for round in 0..rounds {
        let original = &originals[round % originals.len()];
        let text = damage(&mut rng, original);
        settled += usize::from(settles(&text));
        if let Some(why) = disagreement(&format!("damage round {round}"), &text) {
            failures.push(why);
        }
        // And every reader alike, the streaming one (whose events the skim reads one by one)
        // included.
        if let Some(why) = check(&text) {
            failures.push(format!("damage round {round}: {why}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Some damage leaves valid JSON (a repeated string, a digit in a string): the skim reads it.
    assert!(
        settled > rounds / 20,
        "only {settled} damaged files settled"
    );
}

/// Asked for each event's own text, the skim keeps it (from its `{` to its `}`), as the general
/// parsers did before: `events --raw`, `--fields` and `detect` read it.
#[test]
fn the_skim_keeps_each_events_own_text_when_asked() {
    let text = " {\"Records\": [ {\"eventName\":\"A\", \"x\": {\"y\": [1, \"}\"]}} ,{}\n]} ";
    assert!(settles(text.as_bytes()));
    let mut out = Vec::new();
    ctq::event::shape::parse_events(text.as_bytes(), &mut out, true).unwrap();
    let raws: Vec<_> = out.iter().map(|e| e.raw.as_deref()).collect();
    assert_eq!(
        raws,
        [
            Some("{\"eventName\":\"A\", \"x\": {\"y\": [1, \"}\"]}}"),
            Some("{}")
        ]
    );
    out.clear();
    ctq::event::shape::parse_events(text.as_bytes(), &mut out, false).unwrap();
    assert!(out.iter().all(|e| e.raw.is_none()));
}

// The skim on its own.

fn skim(text: &str) -> Option<Vec<ctq::event::Event<'_>>> {
    let mut out = Vec::new();
    ctq::event::skim::records(text.as_bytes(), &mut out, false)
        .ok()
        .map(|()| out)
}
#[test]
fn reads_a_trail_file() {
    let evs = skim(
        r#" {"Records": [ {"eventName":"A\u00e9\ud83d\ude00","x":[1,-2.5e+3,{"a":[true,false,null]}],
           "userIdentity":{"arn":"arn:aws:iam::1:root","sessionContext":{"sessionIssuer":{"userName":"R"}}},
           "resources":[{"ARN":"a1"},5,{"ARN":""},{"ARN":"a2"}],"readOnly":"TRUE",
           "additionalEventData":{"MFAUsed":"No"},"requestParameters":"x"}, {}]} "#,
    )
    .unwrap();
    assert_eq!(evs.len(), 2);
    let e = &evs[0];
    assert_eq!(e.event_name.as_deref(), Some("Aé😀"));
    assert_eq!(e.user_identity.issuer_user_name.as_deref(), Some("R"));
    assert_eq!(e.resource_arns, ["a1", "a2"]);
    assert_eq!((e.read_only, e.mfa_used), (Some(true), Some(false)));
    assert!(matches!(
        e.user_identity.arn,
        Some(std::borrow::Cow::Borrowed(_))
    ));
    assert_eq!(skim(r#"{"Records":[]}"#).unwrap().len(), 0);
}

#[test]
fn gives_up_on_anything_it_does_not_settle() {
    for text in [
        r#"{"Records":[{"a":01}]}"#,
        r#"{"Records":[{"a":1.}]}"#,
        r#"{"Records":[{"a":-}]}"#,
        r#"{"Records":[{"a":[1,]}]}"#,
        r#"{"Records":[{"a":{"b":1,}}]}"#,
        r#"{"Records":[{"a":{"b"}}]}"#,
        r#"{"Records":[{"a":[1}]}"#,
        r#"{"Records":[{"a":tru}]}"#,
        r#"{"Records":[{"a":"\x"}]}"#,
        r#"{"Records":[{"a":"\u12"}]}"#,
        "{\"Records\":[{\"a\":\"tab\there\"}]}",
        r#"{"Records":[{"eventName":"\ud800"}]}"#,
        r#"{"Records":[{"eventName":"\ud800\u0041"}]}"#,
        r#"{"Records":[{"event\u004eame":"A"}]}"#,
        r#"{"Records":[{"a":1}]"#,
        r#"{"Records":[{"a":1}]} x"#,
        r#"{"Records":[{"a":1}]}{}"#,
        r#"{"Records":[5]}"#,
        r#"{"Records":{}}"#,
        r#"{"Records":[],"Records":[]}"#,
        r#"{"Events":[]}"#,
        r#"[{"eventName":"A"}]"#,
        r#"{"Records":[{"a":1},]}"#,
    ] {
        assert!(skim(text).is_none(), "{text}");
    }
    // A lone surrogate in a skipped string is fine, as it is to serde_json.
    assert!(skim(r#"{"Records":[{"x":"\ud800"}]}"#).is_some());
}

#[test]
fn nesting_past_the_limit_gives_up_without_recursing() {
    let deep = |n: usize| {
        format!(
            r#"{{"Records":[{{"x":{}1{}}}]}}"#,
            "[".repeat(n),
            "]".repeat(n)
        )
    };
    assert!(skim(&deep(90)).is_some());
    assert!(skim(&deep(200)).is_none());
    assert!(skim(&deep(1_000_000)).is_none());
}

/// With the text kept, the skim notes where each top-level member is (what `detect` reads fields
/// from) and whether a top-level key has a dot; `sessionIssuer.type` is read with its `userName`.
#[test]
fn the_skim_notes_where_each_member_is() {
    let text = r#"{"Records":[ {"eventName" : "A", "userIdentity":{"type":"AssumedRole","sessionContext":{"sessionIssuer":{"type":"Role","userName":"R"}}},"x":[1,{"y":null}] , "a.b":true},{"eventName":"B"}]}"#;
    let mut out = Vec::new();
    ctq::event::skim::records(text.as_bytes(), &mut out, true).unwrap();
    let raw = out[0].raw.as_deref().unwrap();
    let noted: Vec<(&str, &str)> = out[0]
        .layout
        .members
        .as_ref()
        .unwrap()
        .iter()
        .map(|((ka, kb), (va, vb))| {
            (
                &raw[*ka as usize..*kb as usize],
                &raw[*va as usize..*vb as usize],
            )
        })
        .collect();
    assert_eq!(
        noted,
        [
            ("eventName", r#""A""#),
            (
                "userIdentity",
                r#"{"type":"AssumedRole","sessionContext":{"sessionIssuer":{"type":"Role","userName":"R"}}}"#
            ),
            ("x", r#"[1,{"y":null}]"#),
            ("a.b", "true"),
        ]
    );
    assert!(!out[0].layout.plain_keys && out[1].layout.plain_keys);
    let u = &out[0].user_identity;
    assert_eq!(
        (u.issuer_type.as_deref(), u.issuer_user_name.as_deref()),
        (Some("Role"), Some("R"))
    );
    let mut lean = Vec::new();
    ctq::event::skim::records(text.as_bytes(), &mut lean, false).unwrap();
    assert!(lean[0].layout.members.is_none());
}

#[test]
fn aggregated_records_are_read_alike() {
    // The time, account and id of an aggregated record, whatever the order of the keys, and
    // never over an event's own eventTime, recipientAccountId or eventID.
    let cases = [
        r#"{"Records":[{"accountId":"111111111111","eventId":"e1","eventCategory":"Aggregated","timeWindow":{"windowStart":"2025-11-20T10:00:00Z","windowEnd":"2025-11-20T10:05:00Z"},"summary":{"a":[1,{"b":2}]}}]}"#,
        r#"{"Records":[{"timeWindow":{"windowStart":"2025-11-20T10:00:00Z"},"eventTime":"2025-11-20T11:00:00Z","accountId":"1","recipientAccountId":"2","eventId":"x","eventID":"y"}]}"#,
        r#"{"Records":[{"eventTime":"2025-11-20T11:00:00Z","timeWindow":{"windowStart":"2025-11-20T10:00:00Z"},"recipientAccountId":"2","accountId":"1","eventID":"y","eventId":"x"}]}"#,
        r#"{"Records":[{"eventTime":5,"timeWindow":{"windowStart":"2025-11-20T10:00:00Z"},"recipientAccountId":null,"accountId":"1"}]}"#,
        r#"{"Records":[{"timeWindow":"2025-11-20T10:00:00Z","eventId":7,"eventSource":"s3.amazonaws.com"}]}"#,
        r#"{"Records":[{"timeWindow":{"windowStart":""},"eventTime":"","accountId":""}]}"#,
    ];
    for (i, text) in cases.iter().enumerate() {
        if let Some(d) = disagreement(&format!("case {i}"), text.as_bytes()) {
            panic!("{d}");
        }
        assert!(settles(text.as_bytes()), "case {i}: the skim gives up");
    }
    let events = skim(cases[0]).unwrap();
    assert_eq!(
        events[0].event_time.as_deref(),
        Some("2025-11-20T10:00:00Z")
    );
    assert_eq!(
        events[0].recipient_account_id.as_deref(),
        Some("111111111111")
    );
    assert_eq!(events[0].event_id.as_deref(), Some("e1"));
    let events = skim(cases[1]).unwrap();
    assert_eq!(
        events[0].event_time.as_deref(),
        Some("2025-11-20T11:00:00Z")
    );
    assert_eq!(events[0].recipient_account_id.as_deref(), Some("2"));
    assert_eq!(events[0].event_id.as_deref(), Some("y"));
}
