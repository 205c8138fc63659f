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

fn rules() -> RuleSet {
    let sel = Selection {
        builtin: true,
        paths: shared("sigma-aws-cloudtrail").into_iter().collect(),
        min_level: None,
        text: None,
    };
    let loaded = ctq::sigma::load(&sel).unwrap();
    RuleSet::new(loaded.rules, loaded.correlations)
}

/// The (file, event id, rule title) of every disagreement on the events of `text`.
fn disagreements(set: &RuleSet, name: &str, text: &[u8], out: &mut Vec<String>) -> usize {
    let mut events = Vec::new();
    if parse_events(text, &mut events, true).is_err() {
        return 0;
    }
    let all: Vec<u32> = (0..set.rules.len() as u32).collect();
    let mut seen = 0;
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
            if set.matches(i, &fast) != want {
                out.push(format!(
                    "{name}: event {:?}: {:?}: rsigma says {want}",
                    ev.event_id, rule.title
                ));
            }
        }
        assert!(!fast.unreadable(), "{name}: {:?}", ev.event_id);
    }
    seen
}

#[test]
fn rules_read_the_text_as_rsigma_reads_the_parsed_event() {
    let set = rules();
    let mut dirs: Vec<PathBuf> = vec![fixtures()];
    dirs.extend(shared("cloudtrail-samples"));
    let (mut bad, mut events) = (Vec::new(), 0);
    for dir in &dirs {
        for (path, text) in texts(dir) {
            events += disagreements(&set, &path.display().to_string(), &text, &mut bad);
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert!(events > 1000, "only {events} events");
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
        let seen = disagreements(&set, &format!("odd event {n}"), text.as_bytes(), &mut bad);
        assert_eq!(seen, 1, "{event}");
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
