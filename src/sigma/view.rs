//! What a rule sees of an event: the event's own JSON, read as CloudTrail readers expect. A field
//! is read straight from the text where `text` is sure of it; otherwise the event is parsed, once.
//!
//! Two readings go beyond rsigma's JSON event, and ctq documents both:
//! - a field whose value is an array matches if any element matches (rsigma does this too, and
//!   follows every element when a path crosses an array);
//! - a field whose value is an object (`requestParameters|contains: 'Suspended'`) matches if any
//!   value inside it matches, at any depth: the object is shown to the rule as the list of its
//!   scalar values.
//!
//! Keyword (field-less) searches see every string value of the event at any depth. The event
//! was already held to ctq's nesting limit (`event::json::MAX_DEPTH`) when it was read, so every
//! walk here is bounded; the walks of this module are iterative anyway.

use std::borrow::Cow;
use std::cell::OnceCell;

use rsigma_eval::event::{Event, EventValue, JsonEvent};
use serde_json::Value;

use super::rule::Rule;
use super::text;
pub use super::text::Member;
use crate::event::Event as Lean;
use text::lean;

/// One event as rules see it. A field is read from what the skim read (`lean`) or straight from
/// the event's text when that is sure (`text`); otherwise, and for keyword searches, the event
/// is parsed, once, with only the top-level members its rules read.
pub struct View<'v> {
    raw: &'v str,
    /// The event as the skim read it, when it did and no top-level key has a dot: a string it
    /// holds for a path is what the text holds there (`lean`).
    lean: Option<&'v Lean<'v>>,
    /// The rules the event is shown: their `roots` are the members the parse builds.
    rules: &'v [Rule],
    shown: &'v [u32],
    /// The top-level members the skim noted, if it did.
    noted: Option<&'v [Member]>,
    /// The top-level members found here when not noted (`scanned`), and scratch space.
    buf: Vec<Member>,
    scanned: bool,
    parsed: OnceCell<Option<Value>>,
}

impl<'v> View<'v> {
    /// `noted` are the members the skim noted, if it did; `buf` is scratch space, given back by
    /// `recycle`.
    pub fn new(
        raw: &'v str,
        ev: &'v Lean<'v>,
        rules: &'v [Rule],
        shown: &'v [u32],
        mut buf: Vec<Member>,
    ) -> View<'v> {
        let noted = ev.layout.members.as_deref();
        let scanned = noted.is_none() && text::members(raw, &mut buf).is_ok();
        View {
            raw,
            lean: ev.layout.plain_keys.then_some(ev),
            rules,
            shown,
            noted,
            buf,
            scanned,
            parsed: OnceCell::new(),
        }
    }

    /// A view of JSON already parsed.
    pub fn parsed(json: Value) -> View<'static> {
        View {
            raw: "",
            lean: None,
            rules: &[],
            shown: &[],
            noted: None,
            buf: Vec::new(),
            scanned: false,
            parsed: OnceCell::from(Some(json)),
        }
    }

    pub fn recycle(self) -> Vec<Member> {
        self.buf
    }

    fn members(&self) -> Option<&[Member]> {
        match self.noted {
            Some(m) => Some(m),
            None => self.scanned.then_some(self.buf.as_slice()),
        }
    }

    /// The event parsed (its wanted members), or `None` when serde_json refuses it (a number past
    /// f64's range, say: ctq's readers took it).
    pub fn json(&self) -> Option<&Value> {
        self.parsed
            .get_or_init(|| {
                // Only the members the rules shown read; all of them if one reads every value.
                let mut wanted: Vec<&str> = Vec::new();
                let mut whole = false;
                for &i in self.shown {
                    match self.rules.get(i as usize).and_then(|r| r.roots.as_ref()) {
                        Some(roots) => wanted.extend(roots.iter().map(|r| r.as_str())),
                        None => whole = true,
                    }
                }
                let wanted = (!whole).then_some(wanted.as_slice());
                let parsed =
                    parse(self.raw, wanted).or_else(|e| match without_surrogates(self.raw) {
                        Some(clean) => parse(&clean, wanted),
                        None => Err(e),
                    });
                parsed.ok()
            })
            .as_ref()
    }

    /// Whether a rule needed the parse and serde_json refused the event: what rules said of it
    /// then is not to be kept.
    pub fn unreadable(&self) -> bool {
        matches!(self.parsed.get(), Some(None))
    }

    /// `get_field` through the parse.
    fn parsed_field(&self, path: &str) -> Option<EventValue<'_>> {
        let json = self.json()?;
        // rsigma's own path syntax (`a[0]`, escapes) goes to rsigma; a plain dotted path is
        // walked here, as rsigma walks it, without parsing the path on every call.
        if path.contains(['[', '\\']) {
            return JsonEvent::borrow(json)
                .get_field(path)
                .map(|v| owned(flatten(v)));
        }
        let found = match json.get(path) {
            Some(v) => Some(EventValue::from(v)),
            None if path.contains('.') => {
                let mut out = Vec::new();
                walk(json, path, &mut out);
                match out.len() {
                    0 => None,
                    1 => out.pop(),
                    _ => Some(EventValue::Array(out)),
                }
            }
            None => None,
        };
        found.map(flatten)
    }
}

/// The top-level members of an event that its rules read: the first part of every field path,
/// and each whole path (rsigma first looks for a top-level key spelled like the whole dotted
/// name). `None` when a rule needs the whole event (a keyword search).
pub fn roots(rule: &rsigma_parser::SigmaRule) -> Option<Vec<String>> {
    use rsigma_parser::{Detection, Modifier, SigmaValue};
    let mut out: Vec<String> = Vec::new();
    let mut add = |path: &str| add_root(&mut out, path);
    let mut stack: Vec<&Detection> = rule.detection.named.values().collect();
    while let Some(d) = stack.pop() {
        match d {
            Detection::AllOf(items) => {
                for item in items {
                    let name = item.field.name.as_deref()?;
                    // rsigma's path syntax (`a[0]`, escapes): the whole event, to be sure.
                    if name.contains(['[', '\\']) {
                        return None;
                    }
                    add(name);
                    if item.field.modifiers.contains(&Modifier::FieldRef) {
                        for v in &item.values {
                            match v {
                                SigmaValue::String(s) if !s.original.contains(['[', '\\']) => {
                                    add(&s.original)
                                }
                                _ => return None,
                            }
                        }
                    }
                }
            }
            Detection::AnyOf(ds) | Detection::And(ds) => stack.extend(ds),
            Detection::Keywords(_)
            | Detection::ArrayMatch { .. }
            | Detection::Conditional { .. } => {
                return None;
            }
        }
    }
    Some(out)
}

/// Adds what reading `path` needs of an event to `out`: its first part, and the whole path.
pub fn add_root(out: &mut Vec<String>, path: &str) {
    for p in [path, path.split('.').next().unwrap_or(path)] {
        if !out.iter().any(|o| o == p) {
            out.push(p.to_string());
        }
    }
}

/// An event's JSON with only the top-level members named in `wanted` (the others are skipped
/// without being built); the whole event when `wanted` is `None`. A member given twice is the
/// last one, as in a full parse.
pub fn parse(raw: &str, wanted: Option<&[&str]>) -> serde_json::Result<Value> {
    let Some(wanted) = wanted else {
        return serde_json::from_str(raw);
    };
    let mut de = serde_json::Deserializer::from_str(raw);
    let v = serde::de::DeserializeSeed::deserialize(Partial(wanted), &mut de)?;
    de.end()?;
    Ok(v)
}

/// `raw` with every `\uD800`–`\uDFFF` escape written `\uFFFD`: serde_json refuses a lone
/// surrogate, which ctq's readers take (a caller can put one in `requestParameters`). Used only
/// when a parse failed, so a valid pair becomes two replacement characters only there.
pub fn without_surrogates(raw: &str) -> Option<String> {
    let b = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let (mut i, mut from, mut changed) = (0, 0, false);
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        let hex = b
            .get(i + 2..i + 6)
            .and_then(|h| std::str::from_utf8(h).ok());
        let code = hex.and_then(|h| u16::from_str_radix(h, 16).ok());
        if b.get(i + 1) == Some(&b'u') && code.is_some_and(|c| (0xD800..=0xDFFF).contains(&c)) {
            out.push_str(&raw[from..i]);
            out.push_str("\\uFFFD");
            i += 6;
            from = i;
            changed = true;
        } else {
            i += 2;
        }
    }
    out.push_str(&raw[from.min(raw.len())..]);
    changed.then_some(out)
}

struct Partial<'w>(&'w [&'w str]);

impl<'de> serde::de::DeserializeSeed<'de> for Partial<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Partial<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an event object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = m.next_key_seed(Wanted(self.0))? {
            match key {
                Some(k) => {
                    let v: Value = m.next_value()?;
                    out.insert(k, v);
                }
                None => {
                    m.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }
}

/// A key, kept (owned) only when it is wanted.
struct Wanted<'w>(&'w [&'w str]);

impl<'de> serde::de::DeserializeSeed<'de> for Wanted<'_> {
    type Value = Option<String>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Wanted<'_> {
    type Value = Option<String>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E>(self, k: &str) -> Result<Self::Value, E> {
        Ok(self.0.contains(&k).then(|| k.to_string()))
    }
}

/// The values at a dotted path, as rsigma's JSON event collects them: a key on an object is
/// followed, an array is crossed by following each element with the same key.
fn walk<'v>(root: &'v Value, path: &str, out: &mut Vec<EventValue<'v>>) {
    let segs: Vec<&str> = path.split('.').collect();
    let mut stack = vec![(root, 0usize)];
    while let Some((v, i)) = stack.pop() {
        let Some(seg) = segs.get(i) else {
            out.push(EventValue::from(v));
            continue;
        };
        match v {
            Value::Object(m) => {
                if let Some(next) = m.get(*seg) {
                    stack.push((next, i + 1));
                }
            }
            Value::Array(items) => stack.extend(items.iter().rev().map(|item| (item, i))),
            _ => {}
        }
    }
}

/// `v` holding its own strings.
fn owned(v: EventValue<'_>) -> EventValue<'static> {
    match v {
        EventValue::Str(s) => EventValue::Str(Cow::Owned(s.into_owned())),
        EventValue::Int(n) => EventValue::Int(n),
        EventValue::Float(f) => EventValue::Float(f),
        EventValue::Bool(b) => EventValue::Bool(b),
        EventValue::Null => EventValue::Null,
        // `flatten` leaves no object, and no array in an array.
        EventValue::Array(items) => EventValue::Array(items.into_iter().map(owned).collect()),
        EventValue::Map(entries) => EventValue::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k.into_owned()), owned(v)))
                .collect(),
        ),
    }
}

/// rsigma's value with every object and array in it replaced by its scalar values, at any
/// depth, as one list: a rule's value then matches if it matches any of them.
fn flatten(v: EventValue<'_>) -> EventValue<'_> {
    if !matches!(v, EventValue::Map(_) | EventValue::Array(_)) {
        return v;
    }
    let mut out = Vec::new();
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            EventValue::Map(entries) => stack.extend(entries.into_iter().rev().map(|(_, v)| v)),
            EventValue::Array(items) => stack.extend(items.into_iter().rev()),
            scalar => out.push(scalar),
        }
    }
    EventValue::Array(out)
}

impl Event for View<'_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        if let Some(ev) = self.lean
            && let Some(Some(s)) = lean(ev, path)
        {
            return Some(EventValue::Str(Cow::Borrowed(s)));
        }
        let plain = self.lean.is_some();
        if let Some(members) = self.members()
            && !path.contains(['[', '\\'])
            && let Ok(found) = text::field(self.raw, members, path, plain)
        {
            return found.map(flatten);
        }
        self.parsed_field(path)
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        let Some(json) = self.json() else {
            return false;
        };
        let mut stack = vec![json];
        while let Some(v) = stack.pop() {
            match v {
                Value::String(s) if pred(s) => return true,
                Value::Object(m) => stack.extend(m.values()),
                Value::Array(a) => stack.extend(a),
                _ => {}
            }
        }
        false
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        let mut out = Vec::new();
        let mut stack: Vec<&Value> = self.json().into_iter().collect();
        while let Some(v) = stack.pop() {
            match v {
                Value::String(s) => out.push(Cow::Borrowed(s.as_str())),
                Value::Object(m) => stack.extend(m.values().rev()),
                Value::Array(a) => stack.extend(a.iter().rev()),
                _ => {}
            }
        }
        out
    }

    fn to_json(&self) -> Value {
        self.json().cloned().unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: Option<EventValue<'_>>) -> Vec<String> {
        match v {
            Some(EventValue::Array(a)) => a
                .iter()
                .map(|x| x.as_str().map(|s| s.into_owned()).unwrap_or_default())
                .collect(),
            Some(x) => vec![x.as_str().map(|s| s.into_owned()).unwrap_or_default()],
            None => vec![],
        }
    }

    #[test]
    fn only_the_wanted_members_are_built_and_the_last_of_a_twice_given_one_counts() {
        let raw = r#"{"a": {"x": 1}, "b": [1, {"c": "d"}], "a.q": 2, "a": {"x": 3}, "z": "s"}"#;
        let v = parse(raw, Some(&["a", "a.q"])).unwrap();
        assert_eq!(v, serde_json::json!({"a": {"x": 3}, "a.q": 2}));
        assert_eq!(parse(raw, None).unwrap()["b"][1]["c"], "d");
        assert!(parse(r#"{"a": 1} x"#, Some(&["a"])).is_err());
        let rule = rsigma_parser::parse_sigma_yaml(
            "title: t\nlogsource:\n  product: aws\ndetection:\n  sel:\n    userIdentity.arn|fieldref: requestParameters.userName\n    eventName: X\n  condition: sel\n",
        )
        .unwrap();
        let mut roots = roots(&rule.rules[0]).unwrap();
        roots.sort();
        assert_eq!(
            roots,
            [
                "eventName",
                "requestParameters",
                "requestParameters.userName",
                "userIdentity",
                "userIdentity.arn"
            ]
        );
        let keywords = rsigma_parser::parse_sigma_yaml(
            "title: t\nlogsource:\n  product: aws\ndetection:\n  kw:\n    - evil\n  condition: kw\n",
        )
        .unwrap();
        assert_eq!(super::roots(&keywords.rules[0]), None);
    }

    /// The walk of a plain path finds what rsigma's own JSON event finds.
    #[test]
    fn plain_paths_are_walked_as_rsigma_walks_them() {
        let json: Value = serde_json::from_str(
            r#"{"a": {"b": [{"c": 1}, {"c": [2, 3]}, [{"c": "x"}], {"d": 4}], "e": {"f": null}},
                "a.b": "flat", "g": [], "h": {"i": [{"j": {"k": "deep"}}]}, "l": [[{"m": 5}]]}"#,
        )
        .unwrap();
        let view = View::parsed(json.clone());
        let rsigma = JsonEvent::borrow(&json);
        for path in crate::sigma::text::tests::PATHS {
            assert_eq!(
                view.get_field(path),
                rsigma.get_field(path).map(flatten),
                "{path}"
            );
        }
    }

    #[test]
    fn objects_are_their_values_and_arrays_their_elements() {
        let raw = r#"{"eventName":"PutBucketVersioning","requestParameters":{"bucketName":"b","VersioningConfiguration":{"Status":"Suspended","x":[1,{"y":true}]}},"resources":[{"ARN":"arn:a"},{"ARN":"arn:b"}],"n":null}"#;
        let json = serde_json::from_str(raw).unwrap();
        let v = View::parsed(json);
        assert_eq!(strs(v.get_field("eventName")), ["PutBucketVersioning"]);
        let mut inside = strs(v.get_field("requestParameters"));
        inside.sort();
        assert_eq!(inside, ["1", "Suspended", "b", "true"]);
        assert_eq!(strs(v.get_field("resources.ARN")), ["arn:a", "arn:b"]);
        assert_eq!(strs(v.get_field("resources")), ["arn:a", "arn:b"]);
        assert_eq!(v.get_field("n"), Some(EventValue::Null));
        assert_eq!(v.get_field("missing"), None);
        assert!(v.any_string_value(&|s| s == "arn:b"));
        assert!(!v.any_string_value(&|s| s == "1"));
    }
}
