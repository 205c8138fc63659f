//! The cheap test in front of every rule: which values of a few lean fields (`eventName`,
//! `eventSource`, `userIdentity.type`, `userAgent`) a rule requires, read from its condition,
//! and an index from those values to the rules, so that an event is shown only the rules it
//! could match. 54 of SigmaHQ's 57 CloudTrail rules require an `eventName`.
//!
//! A gate is an over-approximation: every event a rule matches passes its gate. It is derived
//! only from what a rule must match: a plain or trailing-`*` value of a gate field (with no
//! modifier but `startswith` and `cased`), ANDed with anything. `not`, keywords and every other
//! modifier leave a rule ungated (shown every event). An event whose lean field is absent (or
//! empty, or not a string: the lean event does not keep those) passes every gate on that field.

use std::collections::HashMap;

use rsigma_parser::{
    ConditionExpr, Detection, DetectionItem, Modifier, Quantifier, SelectorPattern, SigmaRule,
    SigmaValue, SpecialChar, StringPart,
};

use crate::event::Event;

/// The lean fields a gate can test, most selective first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    EventName,
    EventSource,
    IdentityType,
    UserAgent,
}

impl Field {
    pub const ALL: [Field; 4] = [
        Field::EventName,
        Field::EventSource,
        Field::IdentityType,
        Field::UserAgent,
    ];

    fn from_path(path: &str) -> Option<Field> {
        match path {
            "eventName" => Some(Field::EventName),
            "eventSource" => Some(Field::EventSource),
            "userIdentity.type" => Some(Field::IdentityType),
            "userAgent" => Some(Field::UserAgent),
            _ => None,
        }
    }

    pub fn of<'e>(self, ev: &'e Event<'_>) -> Option<&'e str> {
        match self {
            Field::EventName => ev.event_name.as_deref(),
            Field::EventSource => ev.event_source.as_deref(),
            Field::IdentityType => ev.user_identity.kind.as_deref(),
            Field::UserAgent => ev.user_agent.as_deref(),
        }
    }
}

/// A required value, lower-cased: the whole field, or its start.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Needle {
    Exact(String),
    Prefix(String),
}

/// What a rule requires: nothing (`Open`), or one of these field values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    Open,
    AnyOf(Vec<(Field, Needle)>),
}

impl Gate {
    /// How narrow a gate is, for choosing among the sides of an AND: a smaller key is better.
    fn cost(&self) -> (usize, usize) {
        match self {
            Gate::Open => (usize::MAX, usize::MAX),
            Gate::AnyOf(alts) => {
                let worst = alts.iter().map(|(f, _)| *f as usize).max().unwrap_or(0);
                (worst, alts.len())
            }
        }
    }

    fn and(gates: impl IntoIterator<Item = Gate>) -> Gate {
        gates
            .into_iter()
            .min_by_key(Gate::cost)
            .unwrap_or(Gate::Open)
    }

    fn or(gates: impl IntoIterator<Item = Gate>) -> Gate {
        let mut all = Vec::new();
        for g in gates {
            match g {
                Gate::Open => return Gate::Open,
                Gate::AnyOf(alts) => all.extend(alts),
            }
        }
        if all.is_empty() {
            // An OR of nothing matches nothing; keep the rule open rather than reason about it.
            return Gate::Open;
        }
        all.sort();
        all.dedup();
        Gate::AnyOf(all)
    }
}

/// The gate of a rule, from its conditions (several conditions: any of them).
pub fn analyse(rule: &SigmaRule) -> Gate {
    let d = &rule.detection;
    let mut budget = 10_000usize;
    Gate::or(
        d.conditions
            .iter()
            .map(|c| condition(c, &d.named, &mut budget)),
    )
}

/// The gate of a condition. `budget` bounds the work on a hostile condition; when it runs out
/// the rule is left open. Conditions nest only as deep as rsigma's parser allows.
fn condition(c: &ConditionExpr, named: &HashMap<String, Detection>, budget: &mut usize) -> Gate {
    if *budget == 0 {
        return Gate::Open;
    }
    *budget -= 1;
    match c {
        ConditionExpr::And(cs) => Gate::and(cs.iter().map(|c| condition(c, named, budget))),
        ConditionExpr::Or(cs) => Gate::or(cs.iter().map(|c| condition(c, named, budget))),
        ConditionExpr::Not(_) => Gate::Open,
        ConditionExpr::Identifier(name) => named.get(name).map_or(Gate::Open, detection),
        ConditionExpr::Selector {
            quantifier,
            pattern,
        } => {
            let Some((all, dets)) = selected(quantifier, pattern, named) else {
                return Gate::Open;
            };
            let gates = dets.into_iter().map(detection);
            if all {
                Gate::and(gates)
            } else {
                Gate::or(gates)
            }
        }
    }
}

/// The detections a `1 of`/`all of` selector names, in name order, and whether all of them
/// must hold; `None` for `0 of`, which always holds. Whether `them` counts names that start
/// with `_` decides nothing for a gate: an OR takes them all (wider), an AND leaves them out (it
/// picks among fewer sides).
fn selected<'n>(
    quantifier: &Quantifier,
    pattern: &SelectorPattern,
    named: &'n HashMap<String, Detection>,
) -> Option<(bool, Vec<&'n Detection>)> {
    if matches!(quantifier, Quantifier::Count(0)) {
        return None;
    }
    let all = matches!(quantifier, Quantifier::All);
    let mut names: Vec<&String> = match pattern {
        SelectorPattern::Them => named
            .keys()
            .filter(|k| !(all && k.starts_with('_')))
            .collect(),
        SelectorPattern::Pattern(p) => named.keys().filter(|k| glob(p, k)).collect(),
    };
    names.sort();
    Some((all, names.into_iter().map(|n| &named[n]).collect()))
}

fn detection(d: &Detection) -> Gate {
    match d {
        Detection::AllOf(items) => Gate::and(items.iter().map(item)),
        Detection::AnyOf(ds) => Gate::or(ds.iter().map(detection)),
        Detection::And(ds) => Gate::and(ds.iter().map(detection)),
        Detection::Keywords(_) | Detection::ArrayMatch { .. } | Detection::Conditional { .. } => {
            Gate::Open
        }
    }
}

fn item(it: &DetectionItem) -> Gate {
    let Some(field) = it.field.name.as_deref().and_then(Field::from_path) else {
        return Gate::Open;
    };
    let mods = &it.field.modifiers;
    let startswith = mods.contains(&Modifier::StartsWith);
    if mods
        .iter()
        .any(|m| !matches!(m, Modifier::StartsWith | Modifier::Cased))
        || it.values.is_empty()
    {
        return Gate::Open;
    }
    let mut alts = Vec::new();
    for v in &it.values {
        let SigmaValue::String(s) = v else {
            return Gate::Open;
        };
        // rsigma matches a wildcard value with a case-folding regex (`ſ` is `s`), other values
        // by lower-casing: only ASCII needles are lower-cased here the same way for both.
        if !s.original.is_ascii() {
            return Gate::Open;
        }
        let needle = match s.parts.as_slice() {
            [StringPart::Plain(p)] if startswith => Needle::Prefix(p.to_lowercase()),
            [StringPart::Plain(p)] => Needle::Exact(p.to_lowercase()),
            [
                StringPart::Plain(p),
                StringPart::Special(SpecialChar::WildcardMulti),
            ] => Needle::Prefix(p.to_lowercase()),
            _ => return Gate::Open,
        };
        alts.push((field, needle));
    }
    Gate::AnyOf(alts)
}

/// A `1 of selection_*` pattern, matched as rsigma matches it.
fn glob(pattern: &str, name: &str) -> bool {
    rsigma_parser::detection_name_matches(pattern, name)
}

/// `*` any run, `?` one character (kept for the tests of what a pattern is).
#[cfg(test)]
fn wildcard(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            pi += 1;
            mark = ni;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The keys an event's JSON must hold for the rule to match: the last part of each field the
/// rule must find (a value other than `null`, no `exists`), ANDed and ORed as the condition
/// says. A second, textual gate for rules whose lean-field gate is wide (`userIdentity.type:
/// AssumedRole` and a field only some of those events have): the event's text is searched for
/// `key"` before it is parsed. An event whose text has a `\u` escape passes (a key can be
/// spelled with escapes). Fields the skim reads (`text::is_lean`) are left out: the view has
/// them at no cost, which a search of the text is not.
pub fn required_keys(rule: &SigmaRule) -> Vec<Key> {
    let d = &rule.detection;
    let mut budget = 10_000usize;
    let sets = d
        .conditions
        .iter()
        .map(|c| keys_cond(c, &d.named, &mut budget));
    intersect(sets)
        .into_iter()
        .map(|k| Key::from(k.as_str()))
        .collect()
}

/// A key an event's text must hold (written `key"`), with its searcher, built once.
#[derive(Debug, Clone)]
pub struct Key(memchr::memmem::Finder<'static>);

impl From<&str> for Key {
    fn from(k: &str) -> Key {
        Key(memchr::memmem::Finder::new(k.as_bytes()).into_owned())
    }
}

impl PartialEq<&str> for Key {
    fn eq(&self, other: &&str) -> bool {
        self.0.needle() == other.as_bytes()
    }
}

type Keys = std::collections::BTreeSet<String>;

fn intersect(mut sets: impl Iterator<Item = Keys>) -> Keys {
    let Some(first) = sets.next() else {
        return Keys::new();
    };
    sets.fold(first, |acc, s| acc.intersection(&s).cloned().collect())
}

fn keys_cond(c: &ConditionExpr, named: &HashMap<String, Detection>, budget: &mut usize) -> Keys {
    if *budget == 0 {
        return Keys::new();
    }
    *budget -= 1;
    match c {
        ConditionExpr::And(cs) => cs
            .iter()
            .flat_map(|c| keys_cond(c, named, budget))
            .collect(),
        ConditionExpr::Or(cs) => {
            let sets: Vec<Keys> = cs.iter().map(|c| keys_cond(c, named, budget)).collect();
            intersect(sets.into_iter())
        }
        ConditionExpr::Not(_) => Keys::new(),
        ConditionExpr::Identifier(name) => named.get(name).map_or_else(Keys::new, keys_det),
        ConditionExpr::Selector {
            quantifier,
            pattern,
        } => {
            let Some((all, dets)) = selected(quantifier, pattern, named) else {
                return Keys::new();
            };
            let sets = dets.into_iter().map(keys_det);
            if all {
                sets.flatten().collect()
            } else {
                intersect(sets)
            }
        }
    }
}

fn keys_det(d: &Detection) -> Keys {
    match d {
        Detection::AllOf(items) => items.iter().filter_map(key_of).collect(),
        Detection::AnyOf(ds) => intersect(ds.iter().map(keys_det)),
        Detection::And(ds) => ds.iter().flat_map(keys_det).collect(),
        Detection::Keywords(_) | Detection::ArrayMatch { .. } | Detection::Conditional { .. } => {
            Keys::new()
        }
    }
}

fn key_of(it: &DetectionItem) -> Option<String> {
    let name = it.field.name.as_deref()?;
    if it.field.modifiers.contains(&Modifier::Exists)
        || it.values.is_empty()
        || it.values.iter().any(|v| matches!(v, SigmaValue::Null))
    {
        return None;
    }
    // A field the skim reads costs nothing to look up: searching the text for it would cost more.
    if super::text::is_lean(name) {
        return None;
    }
    let last = name.rsplit('.').next()?;
    // Only a key JSON writes one way (but for `\u` escapes, which `has_keys` looks for): no
    // quote, backslash, slash (`\/`) or control character; no bracket (rsigma's path syntax).
    let plain = |c: char| !matches!(c, '"' | '\\' | '/' | '[' | ']') && !c.is_control();
    (!last.is_empty() && name.chars().all(plain)).then(|| format!("{last}\""))
}

/// Whether `raw` may hold every one of `keys`.
pub fn has_keys(raw: &str, keys: &[Key]) -> bool {
    keys.is_empty()
        || keys.iter().all(|k| k.0.find(raw.as_bytes()).is_some())
        || ESCAPE.find(raw.as_bytes()).is_some()
}

/// A `\\u` escape, searched for once.
pub(super) static ESCAPE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\\u"));

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn gate_of(yaml: &str) -> Gate {
        let c = rsigma_parser::parse_sigma_yaml(yaml).unwrap();
        analyse(&c.rules[0])
    }

    fn rule(detection: &str) -> String {
        format!("title: t\nlogsource:\n  product: aws\ndetection:\n{detection}")
    }

    pub(crate) fn exact(f: Field, v: &str) -> (Field, Needle) {
        (f, Needle::Exact(v.into()))
    }

    #[test]
    fn gates_follow_the_condition() {
        let g = gate_of(&rule(
            "  sel:\n    eventSource: iam.amazonaws.com\n    eventName:\n      - CreateUser\n      - DeleteUser\n  condition: sel\n",
        ));
        assert_eq!(
            g,
            Gate::AnyOf(vec![
                exact(Field::EventName, "createuser"),
                exact(Field::EventName, "deleteuser")
            ])
        );
        // not: open; or with an open side: open; or of two gated sides: both.
        let g = gate_of(&rule(
            "  a:\n    eventName: X\n  b:\n    userAgent: Y\n  condition: not a\n",
        ));
        assert_eq!(g, Gate::Open);
        let g = gate_of(&rule(
            "  a:\n    eventName: X\n  b:\n    errorCode: Y\n  condition: a or b\n",
        ));
        assert_eq!(g, Gate::Open);
        let g = gate_of(&rule(
            "  sel_a:\n    eventName: X\n  sel_b:\n    userAgent: Y*\n  filter:\n    eventName: Z\n  condition: 1 of sel_* and not filter\n",
        ));
        assert_eq!(
            g,
            Gate::AnyOf(vec![
                exact(Field::EventName, "x"),
                (Field::UserAgent, Needle::Prefix("y".into()))
            ])
        );
        // contains, wildcards inside, numbers: open.
        let g = gate_of(&rule(
            "  sel:\n    eventName|contains: X\n  condition: sel\n",
        ));
        assert_eq!(g, Gate::Open);
        let g = gate_of(&rule("  sel:\n    eventName: 'A*B'\n  condition: sel\n"));
        assert_eq!(g, Gate::Open);
        let g = gate_of(&rule("  sel:\n    - 'keyword'\n  condition: sel\n"));
        assert_eq!(g, Gate::Open);
        // startswith: a prefix.
        let g = gate_of(&rule(
            "  sel:\n    eventName|startswith: Update\n  condition: sel\n",
        ));
        assert_eq!(
            g,
            Gate::AnyOf(vec![(Field::EventName, Needle::Prefix("update".into()))])
        );
    }

    #[test]
    fn required_keys_follow_the_condition() {
        let keys =
            |d: &str| required_keys(&rsigma_parser::parse_sigma_yaml(&rule(d)).unwrap().rules[0]);
        assert_eq!(
            keys(
                "  sel:\n    userIdentity.type: AssumedRole\n    userIdentity.sessionContext.ec2RoleDelivery: '1.0'\n  condition: sel\n"
            ),
            ["ec2RoleDelivery\""]
        );
        // or: only what both sides need; not, null and exists: nothing.
        assert_eq!(
            keys("  a:\n    x: 1\n    y: 2\n  b:\n    y: 3\n  condition: a or b\n"),
            ["y\""]
        );
        assert!(keys("  a:\n    x: 1\n  condition: not a\n").is_empty());
        assert!(keys("  a:\n    x: null\n    y|exists: true\n  condition: a\n").is_empty());
        assert!(has_keys(
            r#"{"a":{"ec2RoleDelivery":"1.0"}}"#,
            &["ec2RoleDelivery\"".into()]
        ));
        assert!(!has_keys(
            r#"{"a":{"ec2Role":"1.0"}}"#,
            &["ec2RoleDelivery\"".into()]
        ));
        // A key spelled with an escape cannot be ruled out.
        assert!(has_keys(
            r#"{"a":{"ec2Role\u0044elivery":"1.0"}}"#,
            &["ec2RoleDelivery\"".into()]
        ));
    }

    #[test]
    fn selector_globs() {
        assert!(glob("selection_*", "selection_a"));
        assert!(glob("filter*", "filter"));
        assert!(!glob("filter_main_*", "filter_optional"));
        // rsigma's own reading: one `*`, prefix and suffix may overlap.
        assert!(glob("ab*ba", "aba"));
        assert!(wildcard("a?c", "abc"));
        assert!(!wildcard("a?c", "ac"));
    }
}
