//! The filters on any field that every command takes: `--where PATH…`, `--match TEXT` and
//! `--resource ARN-or-NAME` (README, "Filters on any field").
//!
//! What a path finds. `requestParameters.instanceType` is followed key by key from the top of
//! the event; the last of a key given twice counts, as in a parse. An array met along the way is
//! crossed: each of its elements that is an object is followed (`resources[].ARN` and
//! `resources.ARN` are the same path), and an array at the end gives its elements. Arrays inside
//! arrays are not crossed further. The values found are strings (compared decoded), numbers,
//! `true` and `false` (compared as their JSON text, as logged), and objects or arrays (which have
//! no text: only `PATH?` and `!=` see them); `null` is no value.
//!
//! The tests. `=` some value is VALUE; `!=` none is; `~` some value matches the regular
//! expression (Rust's `regex`, anywhere in the value); `*=` some value contains TEXT; `?` there is
//! a value. Tests of one path are OR, and `!=` tests are each required; different paths are AND.
//!
//! Reading. A path the skim read (`event::path::lean`) that holds a non-empty string is answered
//! from the lean event, so `errors --where eventSource=…` reads no text. Anything else is read
//! from the event's own text (`Event::raw`, kept when any of these filters is given), without
//! building values and without recursion (`event::path`).

use std::borrow::Cow;

use regex::{Regex, RegexBuilder};

pub use super::grep::{Grep, parse_match};
use crate::event::Event;
use crate::event::path::{self, Bail, R};

/// A field path as typed, checked: its keys, and the path without `[]` (two spellings of one
/// path are one group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    pub keys: Vec<String>,
    pub text: String,
}

/// One `--where` test's operator and operand.
#[derive(Debug, Clone)]
pub enum Op {
    Eq(String),
    Ne(String),
    Regex(Regex),
    Contains(String),
    Exists,
}

/// One `--where` as typed, checked.
#[derive(Debug, Clone)]
pub struct Where {
    pub path: Path,
    pub op: Op,
}

/// A value at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leaf<'r> {
    /// A string, decoded; a number, `true` or `false` as written.
    Text(Cow<'r, str>),
    /// An object or an array inside an array.
    Compound,
}

impl Leaf<'_> {
    fn text(&self) -> Option<&str> {
        match self {
            Leaf::Text(t) => Some(t),
            Leaf::Compound => None,
        }
    }
}

/// The `--where`, `--match` and `--resource` filters of a run.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    /// The tests other than `!=`, by path: an event passes a group when one of its tests holds.
    pub groups: Vec<(Path, Vec<Op>)>,
    /// The `!=` tests (`Op::Ne`): each must hold.
    pub nots: Vec<(Path, Op)>,
    /// `--match`.
    pub matches: Vec<Grep>,
    /// `--resource`.
    pub resources: Vec<String>,
}

const PATH_HELP: &str = "dotted CloudTrail names such as requestParameters.instanceType, \
                         with [] after a name for any element of an array";

/// Checks a field path (`resources[].ARN`).
pub fn parse_path(text: &str) -> Result<Path, String> {
    let mut keys = Vec::new();
    for part in text.split('.') {
        let key = part.strip_suffix("[]").unwrap_or(part);
        if key.is_empty() || key.contains(['[', ']', '=', '~', '?']) {
            return Err(format!("'{text}' is not a field path ({PATH_HELP})"));
        }
        keys.push(key.to_string());
    }
    Ok(Path {
        text: keys.join("."),
        keys,
    })
}

/// Reads `--where` (clap's value parser): `PATH=VALUE`, `PATH!=VALUE`, `PATH~REGEX`,
/// `PATH*=TEXT` or `PATH?`.
pub fn parse_where(arg: &str) -> Result<Where, String> {
    let op_at = arg.char_indices().find(|&(i, c)| {
        c == '=' || c == '~' || arg[i..].starts_with("!=") || arg[i..].starts_with("*=")
    });
    let (path, op) = match op_at {
        Some((i, c)) => {
            let (path, op_len) = match c {
                '!' | '*' => (&arg[..i], 2),
                _ => (&arg[..i], 1),
            };
            let value = &arg[i + op_len..];
            if value.is_empty() {
                return Err(format!(
                    "'{arg}' has an empty value (to keep events where a field is set, write PATH?)"
                ));
            }
            let op = match c {
                '=' => Op::Eq(value.to_string()),
                '!' => Op::Ne(value.to_string()),
                '*' => Op::Contains(value.to_string()),
                _ => Op::Regex(regex(value).map_err(|e| format!("'{arg}': {e}"))?),
            };
            (path, op)
        }
        None => match arg.strip_suffix('?') {
            Some(path) => (path, Op::Exists),
            None => {
                return Err(format!(
                    "'{arg}' has no test: PATH=VALUE, PATH!=VALUE, PATH~REGEX, PATH*=TEXT or PATH?"
                ));
            }
        },
    };
    Ok(Where {
        path: parse_path(path)?,
        op,
    })
}

/// A regular expression as `--where PATH~REGEX` takes it, with its size held to a bound.
fn regex(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .size_limit(1 << 22)
        .dfa_size_limit(1 << 22)
        .build()
        .map_err(|e| {
            let text = e.to_string();
            let last = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            format!("not a regular expression: {}", last.trim())
        })
}

/// Reads `--resource` (clap's value parser).
pub fn parse_resource(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("an empty ARN or name".into());
    }
    Ok(text.to_string())
}

impl Fields {
    pub fn new(wheres: Vec<Where>, matches: Vec<Grep>, resources: Vec<String>) -> Self {
        let mut f = Fields {
            matches,
            resources,
            ..Fields::default()
        };
        for w in wheres {
            match w.op {
                Op::Ne(_) => f.nots.push((w.path, w.op)),
                op => match f.groups.iter_mut().find(|(p, _)| p.text == w.path.text) {
                    Some((_, ops)) => ops.push(op),
                    None => f.groups.push((w.path, vec![op])),
                },
            }
        }
        f
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
            && self.nots.is_empty()
            && self.matches.is_empty()
            && self.resources.is_empty()
    }

    /// Whether the event passes every filter.
    pub fn accepts(&self, ev: &Event<'_>) -> bool {
        let raw = ev.raw.as_deref().unwrap_or("");
        self.groups.iter().all(|(path, ops)| {
            with_values(ev, raw, path, |vals| ops.iter().any(|op| holds(op, vals)))
        }) && self
            .nots
            .iter()
            .all(|(path, op)| with_values(ev, raw, path, |vals| holds(op, vals)))
            && (self.resources.is_empty() || names_resource(ev, raw, &self.resources))
            && (self.matches.is_empty() || self.matches.iter().any(|g| g.is_match(raw)))
    }
}

fn holds(op: &Op, vals: &[Leaf<'_>]) -> bool {
    let texts = || vals.iter().filter_map(Leaf::text);
    match op {
        Op::Eq(v) => texts().any(|t| t == v),
        Op::Ne(v) => !texts().any(|t| t == v),
        Op::Regex(re) => texts().any(|t| re.is_match(t)),
        Op::Contains(v) => texts().any(|t| t.contains(v.as_str())),
        Op::Exists => !vals.is_empty(),
    }
}

/// `f` of the values at `path` in the event.
fn with_values<T>(ev: &Event<'_>, raw: &str, path: &Path, f: impl FnOnce(&[Leaf<'_>]) -> T) -> T {
    if let Some(Some(s)) = path::lean(ev, &path.text) {
        return f(&[Leaf::Text(Cow::Borrowed(s))]);
    }
    let mut out = Vec::new();
    // The text was read as JSON already: it gives up only past the nesting the parsers allow,
    // which they refused before.
    let _ = values(raw, ev.layout.members.as_deref(), &path.keys, &mut out);
    f(&out)
}

/// Whether `k`, a key as written (inside its quotes), is `want`.
fn key_is(k: &[u8], escaped: bool, want: &str) -> bool {
    if !escaped {
        return k == want.as_bytes();
    }
    let mut quoted = Vec::with_capacity(k.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(k);
    quoted.push(b'"');
    serde_json::from_slice::<String>(&quoted).is_ok_and(|d| d == want)
}

/// Where the value of the last member `key` of the object at `s[at]` starts.
fn last_in(s: &[u8], at: usize, key: &str) -> R<Option<usize>> {
    let mut found = None;
    path::each_member_raw(s, at, |k, escaped, v, _| {
        if key_is(k, escaped, key) {
            found = Some(v);
        }
    })?;
    Ok(found)
}

/// The values at `keys` in the event `raw` (an object), whose top-level members are `members`
/// when the skim noted them.
pub fn values<'r, K: AsRef<str>>(
    raw: &'r str,
    members: Option<&[crate::event::Member]>,
    keys: &[K],
    out: &mut Vec<Leaf<'r>>,
) -> R<()> {
    let s = raw.as_bytes();
    let Some((first, rest)) = keys.split_first() else {
        return Ok(());
    };
    let mut at: Vec<usize> = top_member(s, members, first.as_ref())?
        .into_iter()
        .collect();
    let mut next = Vec::new();
    for key in rest {
        next.clear();
        for &a in &at {
            match s.get(a) {
                Some(b'{') => next.extend(last_in(s, a, key.as_ref())?),
                Some(b'[') => {
                    let mut elements = Vec::new();
                    path::each_element(s, a, |e| elements.push(e))?;
                    for e in elements {
                        if s.get(e) == Some(&b'{') {
                            next.extend(last_in(s, e, key.as_ref())?);
                        }
                    }
                }
                _ => {}
            }
        }
        std::mem::swap(&mut at, &mut next);
    }
    for a in at {
        if s.get(a) == Some(&b'[') {
            let mut leaves = Ok(());
            path::each_element(s, a, |e| {
                if leaves.is_ok() {
                    leaves = leaf(raw, e).map(|l| out.extend(l));
                }
            })?;
            leaves?;
        } else {
            out.extend(leaf(raw, a)?);
        }
    }
    Ok(())
}

/// The value at `raw[at]`: `None` for null.
fn leaf(raw: &str, at: usize) -> R<Option<Leaf<'_>>> {
    let s = raw.as_bytes();
    Ok(match s.get(at).ok_or(Bail)? {
        b'"' => Some(Leaf::Text(path::string(raw, at)?.0)),
        b'n' => None,
        b'{' | b'[' => Some(Leaf::Compound),
        _ => Some(Leaf::Text(Cow::Borrowed(
            raw.get(at..path::value_end(s, at)?).ok_or(Bail)?,
        ))),
    })
}

/// The first non-empty text at the `path` of the event (its text, `Event::raw`), if any: for
/// readers of a few fields the skim does not keep (`trace`).
pub fn text_at(ev: &Event<'_>, path: &[&str]) -> Option<String> {
    let raw = ev.raw.as_deref()?;
    let mut out = Vec::new();
    let _ = values(raw, ev.layout.members.as_deref(), path, &mut out);
    out.into_iter().find_map(|l| match l {
        Leaf::Text(t) if !t.is_empty() => Some(t.into_owned()),
        _ => None,
    })
}

/// `--resource`: a `resources[].ARN` names one of `wanted` (`resource_names`), or a string value
/// anywhere in `requestParameters` is one of them.
fn names_resource(ev: &Event<'_>, raw: &str, wanted: &[String]) -> bool {
    let mut arns = Vec::new();
    let members = ev.layout.members.as_deref();
    let _ = values(raw, members, &["resources", "ARN"], &mut arns);
    if arns
        .iter()
        .filter_map(Leaf::text)
        .any(|arn| wanted.iter().any(|w| arn_names(arn, w)))
    {
        return true;
    }
    let Ok(Some(start)) = top_member(raw.as_bytes(), members, "requestParameters") else {
        return false;
    };
    string_values(raw, start, |v| wanted.iter().any(|w| w == v)).unwrap_or(false)
}

/// Where the value of the (last) top-level member `key` of the event `s` starts: from the
/// members the skim noted, else read from the text.
fn top_member(s: &[u8], members: Option<&[crate::event::Member]>, key: &str) -> R<Option<usize>> {
    match members {
        Some(members) => Ok(members
            .iter()
            .rev()
            .find(|((ka, kb), _)| {
                let k = s.get(*ka as usize..*kb as usize).unwrap_or_default();
                key_is(k, k.contains(&b'\\'), key)
            })
            .map(|(_, (va, _))| *va as usize)),
        None => last_in(s, path::ws(s, 0), key),
    }
}

/// Whether `f` holds for a string value (not a key) inside the value at `raw[start]`, at any
/// depth. One pass over the text: every `"` met outside a string opens one.
fn string_values(raw: &str, start: usize, f: impl Fn(&str) -> bool) -> R<bool> {
    let s = raw.as_bytes();
    let end = path::value_end(s, start)?;
    let mut i = start;
    while let Some(q) = memchr::memchr(b'"', s.get(i..end).ok_or(Bail)?) {
        let at = i + q;
        let (text, after) = path::string(raw, at)?;
        let next = path::ws(s, after);
        if s.get(next) != Some(&b':') && f(&text) {
            return Ok(true);
        }
        i = after;
    }
    Ok(false)
}

/// Whether the ARN `arn` names `wanted`: an ARN is the same ARN, or one under it
/// (`arn:aws:s3:::bucket` names the objects of the bucket); a name is the resource part of the
/// ARN (what follows its fifth `:`), its first part before a `/` (a bucket, for an object), or
/// its last part after a `/` or a `:` (`role/NAME`, `function:NAME`, `instance/i-…`).
pub fn arn_names(arn: &str, wanted: &str) -> bool {
    if wanted.starts_with("arn:") {
        return arn == wanted
            || arn
                .strip_prefix(wanted)
                .is_some_and(|rest| rest.starts_with('/'));
    }
    let Some(resource) = arn.splitn(6, ':').nth(5) else {
        return false;
    };
    resource == wanted
        || resource
            .strip_prefix(wanted)
            .is_some_and(|rest| rest.starts_with('/'))
        || resource
            .strip_suffix(wanted)
            .is_some_and(|head| head.ends_with(['/', ':']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_splits_at_its_first_operator() {
        let w = parse_where("a.b!=x=y").unwrap();
        assert_eq!(w.path.text, "a.b");
        assert!(matches!(w.op, Op::Ne(ref v) if v == "x=y"));
        let w = parse_where("resources[].ARN*=arn:aws:s3:::b").unwrap();
        assert_eq!(w.path.keys, ["resources", "ARN"]);
        assert!(matches!(w.op, Op::Contains(ref v) if v == "arn:aws:s3:::b"));
        let w = parse_where("userAgent~^a=b").unwrap();
        assert!(matches!(w.op, Op::Regex(ref r) if r.as_str() == "^a=b"));
        assert!(matches!(parse_where("x.y?").unwrap().op, Op::Exists));
        assert!(parse_where("x?=1").is_err(), "a ? in a path");
    }

    #[test]
    fn arns_name_resources() {
        let obj = "arn:aws:s3:::prod-data/dir/key";
        assert!(arn_names(obj, "arn:aws:s3:::prod-data"));
        assert!(arn_names(obj, "prod-data"));
        assert!(arn_names(obj, "key"));
        assert!(!arn_names(obj, "prod"));
        assert!(!arn_names(
            "arn:aws:s3:::prod-data-2",
            "arn:aws:s3:::prod-data"
        ));
        assert!(arn_names("arn:aws:iam::111111111111:role/Admin", "Admin"));
        assert!(arn_names(
            "arn:aws:lambda:us-east-1:111111111111:function:fn",
            "fn"
        ));
        assert!(!arn_names("not-an-arn", "not-an-arn"));
    }
}
