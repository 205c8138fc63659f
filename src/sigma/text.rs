//! Reading a field of an event straight from its JSON text, without building values.
//!
//! Most fields a rule reads are short strings (`userIdentity.sessionContext.sessionIssuer.type`),
//! and building the event's members as `serde_json::Value`s to read them cost more than the rest
//! of `detect` (BENCHMARKS.md, "Detections"). Here the top-level members of an event, as the
//! skim noted them while reading the event (or as `members` finds them), are looked up, and a
//! path is followed inside the text of its member. Only what is sure is
//! answered: a string, `true`, `false` or `null`, or several of them where a path crosses arrays.
//! Everything else gives up (`Bail`) and the caller reads the event through the parse: a number
//! (serde_json's reading of it is the reference), an object or array as a value, a key written
//! with an escape anywhere a key is compared, a string serde_json would refuse, odd text.
//!
//! The text was read as JSON before (the skim, or the general parsers), so it is valid; nothing
//! here relies on that for safety. Nothing recurses: values are skipped with a depth counter held
//! to `MAX_DEPTH`, and a path is followed with an explicit stack.
use rsigma_eval::EventValue;

pub use crate::event::Member;
pub use crate::event::path::{Bail, R, is_lean, lean, members};
use crate::event::path::{each_member, string, value_end, ws};

/// The value of `path` in the event `raw`, whose top-level members are `members`, as rsigma's
/// JSON event finds it: a top-level key spelled like the whole path first (none is when `plain`:
/// no top-level key has a dot), else the path's parts followed from the top, an array crossed by
/// following each of its elements. The last of a key given twice counts, as in a parse.
pub fn field<'r>(
    raw: &'r str,
    members: &[Member],
    path: &str,
    plain: bool,
) -> R<Option<EventValue<'r>>> {
    let s = raw.as_bytes();
    let last = |name: &str| {
        members
            .iter()
            .rev()
            .find(|((ka, kb), _)| s.get(*ka as usize..*kb as usize) == Some(name.as_bytes()))
            .map(|(_, (va, _))| *va as usize)
    };
    let dotted = path.split_once('.');
    if (dotted.is_none() || !plain)
        && let Some(v) = last(path)
    {
        return leaf(raw, v).map(Some);
    }
    let Some((root, rest)) = dotted else {
        return Ok(None);
    };
    let Some(top) = last(root) else {
        return Ok(None);
    };
    // Objects in objects, the common case, without allocating.
    let mut at = top;
    for seg in rest.split('.') {
        match s.get(at) {
            Some(b'{') => match last_in(s, at, seg)? {
                Some(v) => at = v,
                None => return Ok(None),
            },
            Some(b'[') => return crossing(raw, top, rest),
            _ => return Ok(None),
        }
    }
    leaf(raw, at).map(Some)
}

/// Where the value of the last member `key` of the object at `s[at]` starts.
fn last_in(s: &[u8], at: usize, key: &str) -> R<Option<usize>> {
    let mut found = None;
    each_member(s, at, |k, v, _| {
        if k == key.as_bytes() {
            found = Some(v);
        }
    })?;
    Ok(found)
}

/// `field` from the value at `raw[top]` along `rest`, where the path crosses an array.
fn crossing<'r>(raw: &'r str, top: usize, rest: &str) -> R<Option<EventValue<'r>>> {
    let s = raw.as_bytes();
    let segs: Vec<&str> = rest.split('.').collect();
    let mut out = Vec::new();
    let mut stack = vec![(top, 0usize)];
    let mut elements = Vec::new();
    while let Some((at, i)) = stack.pop() {
        let Some(seg) = segs.get(i) else {
            out.push(leaf(raw, at)?);
            continue;
        };
        match s.get(at) {
            Some(b'{') => {
                if let Some(v) = last_in(s, at, seg)? {
                    stack.push((v, i + 1));
                }
            }
            Some(b'[') => {
                elements.clear();
                let mut j = ws(s, at + 1);
                if s.get(j) != Some(&b']') {
                    loop {
                        elements.push(j);
                        j = ws(s, value_end(s, j)?);
                        match s.get(j) {
                            Some(b',') => j = ws(s, j + 1),
                            Some(b']') => break,
                            _ => return Err(Bail),
                        }
                    }
                }
                stack.extend(elements.iter().rev().map(|&e| (e, i)));
            }
            _ => {}
        }
    }
    Ok(match out.len() {
        0 => None,
        1 => out.pop(),
        _ => Some(EventValue::Array(out)),
    })
}

/// A scalar this reads for sure, at `raw[at]`.
fn leaf(raw: &str, at: usize) -> R<EventValue<'_>> {
    let s = raw.as_bytes();
    let word = |w: &[u8]| s.get(at..at + w.len()) == Some(w);
    match s.get(at).ok_or(Bail)? {
        b'"' => Ok(EventValue::Str(string(raw, at)?.0)),
        b't' if word(b"true") => Ok(EventValue::Bool(true)),
        b'f' if word(b"false") => Ok(EventValue::Bool(false)),
        b'n' if word(b"null") => Ok(EventValue::Null),
        _ => Err(Bail),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::event::json::MAX_DEPTH;

    /// Paths into objects, arrays, arrays of arrays, missing members and a flat dotted key, for
    /// the readers of a field to be held to rsigma's (`view` walks the parsed event).
    pub(in crate::sigma) const PATHS: [&str; 15] = [
        "a",
        "a.b",
        "a.b.c",
        "a.b.d",
        "a.e",
        "a.e.f",
        "a.e.f.g",
        "g",
        "g.x",
        "h.i.j.k",
        "h.i.j",
        "l.m",
        "missing",
        "a.missing",
        "a.b.c.d",
    ];
    use rsigma_eval::{Event, JsonEvent};

    fn read<'r>(raw: &'r str, path: &str) -> R<Option<EventValue<'r>>> {
        let mut m = Vec::new();
        members(raw, &mut m)?;
        let plain = m
            .iter()
            .all(|((a, b), _)| !raw[*a as usize..*b as usize].contains('.'));
        field(raw, &m, path, plain)
    }

    /// Whatever this answers, rsigma's JSON event over the parsed text answers the same.
    #[test]
    fn answers_as_rsigma_does_or_gives_up() {
        let raw = r#" {"a": {"b": [{"c": "1"}, {"c": ["2", "3"]}, [{"c": "x"}], {"d": 4}], "e": {"f": null}},
            "a.b": "flat", "g": [], "h": {"i": [{"j": {"k": "deep"}}]}, "l": [[{"m": true}]],
            "s": "t\u00e9\n", "dup": "first", "dup": "last", "n": 12, "o": {"x": "1", "x": "2"},
            "q": {"r\u0073": "escaped key"}, "": {"": "empty"}} "#;
        let json: serde_json::Value = serde_json::from_str(raw).unwrap();
        let rsigma = JsonEvent::borrow(&json);
        let mut gave_up = Vec::new();
        let more = ["s", "dup", "n", "o.x", "q.rs", "q.x", ".", "", "s.x", "n.x"];
        for path in PATHS.into_iter().chain(more) {
            match read(raw, path) {
                Ok(v) => assert_eq!(v, rsigma.get_field(path), "{path}"),
                Err(Bail) => gave_up.push(path),
            }
        }
        // Objects, arrays and numbers as values (the empty key's is an object); a key written
        // with an escape.
        assert_eq!(
            gave_up,
            [
                "a", "a.b.c", "a.b.d", "a.e", "g", "h.i.j", "n", "q.rs", "q.x", ""
            ]
        );
    }

    #[test]
    fn odd_text_gives_up_and_never_panics() {
        for raw in [
            "",
            "{",
            "[]",
            r#"{"a"}"#,
            r#"{"a":}"#,
            r#"{"a":"x"} junk"#,
            r#"{"a":"x""#,
            r#"{"a":[1,}"#,
            r#"{"a\"b":1}"#,
            r#"{"a":{"b":"#,
            "{\"a\":\"\u{e9}",
        ] {
            let mut m = Vec::new();
            if members(raw, &mut m).is_ok() {
                let _ = field(raw, &m, "a.b", false);
            }
        }
        let n = MAX_DEPTH as usize + 1;
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(n), "]".repeat(n));
        assert_eq!(members(&deep, &mut Vec::new()), Err(Bail));
    }
}
