//! `detect` reads a rule's fields from what the skim read, or straight from the event's text,
//! and evaluates rules with its own boolean pass (`sigma::view`, `sigma::text`, `sigma::eval`).
//! Here every rule, built-in and SigmaHQ's, is held to rsigma's own evaluation over the event
//! parsed by serde_json (the way `detect` worked before), on every event of the fixtures and of
//! the real samples, and on events written to catch a reader of text out: keys given twice,
//! dotted top-level keys, keys and strings with escapes, arrays where objects are expected,
//! numbers, nulls and empty strings where strings are expected.

use std::path::PathBuf;

use ctq::event::shape::parse_events;
use ctq::sigma::view::View;
use ctq::sigma::{RuleSet, Selection};

use crate::detect::shared;
use crate::skim::texts;
use crate::util::fixtures;

/// Rules of this test's own that read the fields the odd events play with, so that the tests
/// mean something without SigmaHQ's rules beside the repository.
const OWN: &str = "title: Role session
logsource:
  product: aws
  service: cloudtrail
detection:
  sel:
    userIdentity.type: AssumedRole
    userIdentity.sessionContext.sessionIssuer.type: Role
  condition: sel
---
title: Issuer type in parameters
logsource:
  product: aws
  service: cloudtrail
detection:
  sel:
    requestParameters.sessionContext.sessionIssuer.type|startswith: Ro
  condition: sel
---
title: Console login succeeded, not from AWS
logsource:
  product: aws
  service: cloudtrail
detection:
  sel:
    responseElements.ConsoleLogin: Success
  filter:
    sourceIPAddress|contains: amazonaws
  condition: sel and not filter
";

/// The built-in rules, this test's own, and SigmaHQ's when they are beside the repository.
fn rules() -> RuleSet {
    let dir = tempfile::tempdir().unwrap();
    let own = crate::util::write(dir.path(), "own.yml", OWN.as_bytes());
    let sel = Selection {
        builtin: true,
        paths: [own]
            .into_iter()
            .chain(shared("sigma-aws-cloudtrail"))
            .collect(),
        min_level: None,
        text: None,
    };
    let loaded = ctq::sigma::load(&sel).unwrap();
    assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped);
    RuleSet::new(loaded.rules, loaded.correlations)
}

/// The (file, event id, rule title) of every disagreement on the events of `text`.
/// Returns how many events were compared, and how many (event, rule) pairs matched.
fn disagreements(set: &RuleSet, name: &str, text: &[u8], out: &mut Vec<String>) -> (usize, usize) {
    let mut events = Vec::new();
    if parse_events(text, &mut events, true).is_err() {
        return (0, 0);
    }
    let all: Vec<u32> = (0..set.rules.len() as u32).collect();
    let (mut seen, mut matches) = (0, 0);
    for ev in &events {
        let Some(raw) = ev.raw.as_deref() else {
            continue;
        };
        let Ok(json) = serde_json::from_str::<serde_json::Value>(raw) else {
            continue;
        };
        seen += 1;
        let fast = View::new(raw, ev, &set.rules, &all, Vec::new());
        let parsed = View::parsed(json);
        for (i, rule) in set.rules.iter().enumerate() {
            let want = rsigma_eval::evaluate_rule(&rule.compiled, &parsed).is_some();
            matches += usize::from(want);
            if set.matches(i, &fast) != want {
                out.push(format!(
                    "{name}: event {:?}: {:?}: rsigma says {want}",
                    ev.event_id, rule.title
                ));
            }
        }
        assert!(!fast.unreadable(), "{name}: {:?}", ev.event_id);
    }
    (seen, matches)
}

#[test]
fn rules_read_the_text_as_rsigma_reads_the_parsed_event() {
    let set = rules();
    let mut dirs: Vec<PathBuf> = vec![fixtures()];
    let samples = shared("cloudtrail-samples");
    // The fixtures hold 419 events; the samples (beside the repository in CI) thousands more.
    let least = if samples.is_some() { 1000 } else { 400 };
    dirs.extend(samples);
    let (mut bad, mut events) = (Vec::new(), 0);
    for dir in &dirs {
        for (path, text) in texts(dir) {
            events += disagreements(&set, &path.display().to_string(), &text, &mut bad).0;
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert!(events > least, "only {events} events");
}

#[test]
fn odd_events_are_read_as_rsigma_reads_them() {
    let set = rules();
    // Each is an AssumedRole session with a Role issuer (SigmaHQ's "AWS STS AssumeRole Misuse"),
    // a root console login, or an access key created, written in a way a reader of text could
    // get wrong.
    let base = r#""eventVersion":"1.08","eventTime":"2024-05-01T10:00:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","eventID":"e""#;
    let odd = [
        r#"{"userIdentity":{"type":"AssumedRole","sessionContext":{"sessionIssuer":{"type":"Role"}}}}"#,
        r#"{"userIdentity":{"type":"AssumedRole","sessionContext":{"sessionIssuer":{"type":"Role"}}},"userIdentity":{"type":"IAMUser"}}"#,
        r#"{"userIdentity":{"type":"IAMUser"},"userIdentity":{"type":"AssumedRole","sessionContext":{"sessionIssuer":{"type":"Role","type":"User"}}}}"#,
        r#"{"userIdentity":{"type":"IAMUser","sessionContext":{"sessionIssuer":{"type":"Role"}}},"userIdentity.type":"AssumedRole"}"#,
        r#"{"userIdentity.sessionContext.sessionIssuer.type":"Role","userIdentity":{"type":"AssumedRole"}}"#,
        r#"{"userIdentity":{"ty\u0070e":"AssumedRole","sessionContext":{"sessionIssuer":{"type":"Role"}}}}"#,
        r#"{"userIdentity":{"type":"AssumedRole","sessionContext":{"sessionIssuer":{"t\u0079pe":"Role"}}}}"#,
        r#"{"userIdentity":{"type":"Assumed\u0052ole","sessionContext":{"sessionIssuer":{"type":"R\u006fle"}}}}"#,
        r#"{"userIdentity":{"type":"AssumedRole","sessionContext":[{"sessionIssuer":{"type":"Role"}},{"sessionIssuer":{"type":"X"}}]}}"#,
        r#"{"userIdentity":[{"type":"AssumedRole"}],"x":{"sessionContext":{"sessionIssuer":{"type":"Role"}}}}"#,
        r#"{"userIdentity":{"type":"AssumedRole","sessionContext":{"sessionIssuer":{"type":["Role","x"]}}}}"#,
        r#"{"userIdentity":{"type":"AssumedRole","sessionContext":{"sessionIssuer":{"type":5}}}}"#,
        r#"{"userIdentity":{"type":"AssumedRole","sessionContext":{"sessionIssuer":{"type":null}}}}"#,
        r#"{"userIdentity":{"type":"","sessionContext":{"sessionIssuer":{"type":""}}}}"#,
        r#"{"userIdentity":{"type":"AssumedRole","sessionContext":{"sessionIssuer":"Role"}}}"#,
        r#"{"userIdentity":"AssumedRole"}"#,
        r#"{"userIdentity":{"type":"ASSUMEDROLE","sessionContext":{"sessionIssuer":{"type":"role"}}}}"#,
        r#"{"userIdentity":{"type":"Root","arn":"arn:aws:iam::1:root"},"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"}}"#,
        r#"{"userIdentity":{"type":"Root"},"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","responseElements":{"ConsoleLogin":"Success","ConsoleLogin":"Failure"}}"#,
        r#"{"eventName":"CreateAccessKey","eventSource":"iam.amazonaws.com","userIdentity":{"type":"IAMUser","userName":"a","arn":"arn:aws:iam::1:user/a"},"requestParameters":{"userName":"b"}}"#,
        r#"{"eventName":"CreateAccessKey","eventSource":"iam.amazonaws.com","userIdentity":{"type":"IAMUser","userName":"a","arn":"arn:aws:iam::1:user/a"},"requestParameters":{"userName":"a","userName":"b"}}"#,
        r#"{"eventName":"CreateAccessKey","eventSource":"iam.amazonaws.com","userIdentity":{"type":"IAMUser","userName":"a\"b","arn":"arn:aws:iam::1:user/a\"b"},"requestParameters":{"userName":"a\"b"}}"#,
    ];
    let mut bad = Vec::new();
    for (n, e) in odd.iter().enumerate() {
        // The common members first, then the odd ones, so that the last of a key given twice
        // is the odd one.
        let event = format!("{{{base},{}", &e[1..]);
        let text = format!(r#"{{"Records":[{event}]}}"#);
        let (seen, _) = disagreements(&set, &format!("odd event {n}"), text.as_bytes(), &mut bad);
        assert_eq!(seen, 1, "{event}");
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Generated events whose identity and parameters take every shape a reader of text could get
/// wrong, in random combinations (reproducible: splitmix from fixed seeds), held to rsigma as
/// above with every rule.
#[test]
fn generated_odd_events_are_read_as_rsigma_reads_them() {
    use crate::faults::splitmix;
    let set = rules();
    let mut seed = 0u64;
    let mut pick = |n: usize| {
        seed += 1;
        (splitmix(seed) % n as u64) as usize
    };
    // A value for a key whose rules expect a string (or an object, for the containers); the
    // first two, which the rules look for, half of the time.
    let leaf = |k: usize| -> String {
        let k = if k >= 24 { k - 24 } else { k % 2 };
        [
            r#""Role""#,
            r#""AssumedRole""#,
            r#""R\u006fle""#,
            r#""""#,
            "5",
            "null",
            "true",
            r#"["Role","x"]"#,
            r#"{"type":"Role"}"#,
            r#""arn:aws:sts::1:assumed-role/aws:ec2-instance/i-1""#,
            r#""ConsoleLogin""#,
            r#""Success""#,
        ][k]
            .to_string()
    };
    let (mut bad, mut matched) = (Vec::new(), 0);
    for n in 0..3000 {
        let obj = |keys: &[&str], depth: usize, pick: &mut dyn FnMut(usize) -> usize| {
            let mut members = Vec::new();
            for _ in 0..1 + pick(4) {
                let key = keys[pick(keys.len())];
                let value = if depth > 0 && key == "sessionContext" {
                    format!(
                        r#"{{"sessionIssuer":{{"type":{},"userName":"u"}}}}"#,
                        leaf(pick(36))
                    )
                } else {
                    leaf(pick(36))
                };
                members.push(format!(r#""{key}":{value}"#));
            }
            format!("{{{}}}", members.join(","))
        };
        let inner = [
            "type",
            "arn",
            "userName",
            "sessionContext",
            "t\\u0079pe",
            "principalId",
        ];
        let mut top = vec![
            r#""eventTime":"2024-05-01T10:00:00Z""#.to_string(),
            format!(r#""eventID":"g{n}""#),
        ];
        for _ in 0..2 + pick(5) {
            let member = match pick(8) {
                0 => format!(r#""userIdentity":{}"#, obj(&inner, 1, &mut pick)),
                1 => format!(r#""userIdentity":[{}]"#, obj(&inner, 1, &mut pick)),
                2 => format!(r#""eventName":{}"#, leaf(pick(36))),
                3 => format!(r#""eventSource":{}"#, leaf(pick(36))),
                4 => format!(r#""userIdentity.type":{}"#, leaf(pick(36))),
                5 => format!(
                    r#""responseElements":{{"ConsoleLogin":{}}}"#,
                    leaf(pick(36))
                ),
                6 => format!(r#""requestParameters":{}"#, obj(&inner, 0, &mut pick)),
                _ => format!(r#""sourceIPAddress":{}"#, leaf(pick(36))),
            };
            top.push(member);
        }
        let text = format!(r#"{{"Records":[{{{}}}]}}"#, top.join(","));
        let name = format!("generated event {n}");
        let (seen, hit) = disagreements(&set, &name, text.as_bytes(), &mut bad);
        assert_eq!(seen, 1, "{text}");
        matched += usize::from(hit > 0);
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    // Enough of them match a rule for the comparison to mean something.
    assert!(
        matched > 50,
        "only {matched} generated events matched a rule"
    );
}
