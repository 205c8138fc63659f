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

use std::borrow::Cow;

use rsigma_eval::EventValue;

use crate::event::Event;
pub use crate::event::Member;
use crate::event::json::MAX_DEPTH;

/// The text cannot be read here for sure: read the event through the parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bail;

pub type R<T> = Result<T, Bail>;

fn ws(s: &[u8], mut i: usize) -> usize {
    while matches!(s.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The end (past the closing quote) of the string opening at `s[i]`, and whether it holds an
/// escape.
fn string_end(s: &[u8], i: usize) -> R<(usize, bool)> {
    let mut j = i + 1;
    let mut escaped = false;
    loop {
        j = quote_or_backslash(s, j).ok_or(Bail)?;
        if s[j] == b'"' {
            return Ok((j + 1, escaped));
        }
        escaped = true;
        j += 2;
    }
}

/// The first `"` or `\` at or after `s[j]`, eight bytes at a time: strings are short (a call to
/// a vector search costs more than it saves on most of them).
fn quote_or_backslash(s: &[u8], mut j: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The high bit of each byte that is zero; only the lowest one found is used, and the
    // lowest is exact.
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    while let Some(word) = s.get(j..j + 8) {
        let w = u64::from_le_bytes(word.try_into().ok()?);
        let hit = zero(w ^ (ONES * b'"' as u64)) | zero(w ^ (ONES * b'\\' as u64));
        if hit != 0 {
            return Some(j + (hit.trailing_zeros() / 8) as usize);
        }
        j += 8;
    }
    let rest = s.get(j..)?;
    rest.iter()
        .position(|&b| b == b'"' || b == b'\\')
        .map(|at| j + at)
}

/// What a byte is to `value_end` inside an object or array.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'"' as usize] = 1;
    t[b'{' as usize] = 2;
    t[b'[' as usize] = 2;
    t[b'}' as usize] = 3;
    t[b']' as usize] = 3;
    t
};

/// The end of the value starting at `s[i]`.
fn value_end(s: &[u8], i: usize) -> R<usize> {
    match s.get(i).ok_or(Bail)? {
        b'"' => Ok(string_end(s, i)?.0),
        b'{' | b'[' => {
            let (mut j, mut depth) = (i, 0usize);
            loop {
                let b = *s.get(j).ok_or(Bail)?;
                match CLASS[b as usize] {
                    0 => j += 1,
                    1 => j = string_end(s, j)?.0,
                    2 => {
                        depth += 1;
                        if depth > MAX_DEPTH as usize {
                            return Err(Bail);
                        }
                        j += 1;
                    }
                    _ => {
                        depth -= 1;
                        j += 1;
                        if depth == 0 {
                            return Ok(j);
                        }
                    }
                }
            }
        }
        _ => {
            let rest = s.get(i..).ok_or(Bail)?;
            let len = rest
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .ok_or(Bail)?;
            if len == 0 {
                return Err(Bail);
            }
            Ok(i + len)
        }
    }
}

/// Calls `f(key, value start, value end)` for each member of the object opening at `s[at]`, in
/// order. A key with an escape gives up: it may spell a key the caller looks for.
fn each_member(s: &[u8], at: usize, mut f: impl FnMut(&[u8], usize, usize)) -> R<usize> {
    if s.get(at) != Some(&b'{') {
        return Err(Bail);
    }
    let mut i = ws(s, at + 1);
    if s.get(i) == Some(&b'}') {
        return Ok(i + 1);
    }
    loop {
        if s.get(i) != Some(&b'"') {
            return Err(Bail);
        }
        let (kend, escaped) = string_end(s, i)?;
        if escaped {
            return Err(Bail);
        }
        let key = s.get(i + 1..kend - 1).ok_or(Bail)?;
        i = ws(s, kend);
        if s.get(i) != Some(&b':') {
            return Err(Bail);
        }
        let v = ws(s, i + 1);
        let vend = value_end(s, v)?;
        f(key, v, vend);
        i = ws(s, vend);
        match s.get(i) {
            Some(b',') => i = ws(s, i + 1),
            Some(b'}') => return Ok(i + 1),
            _ => return Err(Bail),
        }
    }
}

/// The top-level members of the event `raw` (an object), into `out` (cleared first).
pub fn members(raw: &str, out: &mut Vec<Member>) -> R<()> {
    out.clear();
    let s = raw.as_bytes();
    if raw.len() > u32::MAX as usize {
        return Err(Bail);
    }
    let at = ws(s, 0);
    let end = each_member(s, at, |k, v, vend| {
        let kat = k.as_ptr() as usize - s.as_ptr() as usize;
        out.push((
            (kat as u32, (kat + k.len()) as u32),
            (v as u32, vend as u32),
        ));
    })?;
    if ws(s, end) != s.len() {
        return Err(Bail);
    }
    Ok(())
}

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
        b'"' => {
            let (end, escaped) = string_end(s, at)?;
            if escaped {
                let text = raw.get(at..end).ok_or(Bail)?;
                let owned: String = serde_json::from_str(text).map_err(|_| Bail)?;
                Ok(EventValue::Str(Cow::Owned(owned)))
            } else {
                let text = raw.get(at + 1..end - 1).ok_or(Bail)?;
                Ok(EventValue::Str(Cow::Borrowed(text)))
            }
        }
        b't' if word(b"true") => Ok(EventValue::Bool(true)),
        b'f' if word(b"false") => Ok(EventValue::Bool(false)),
        b'n' if word(b"null") => Ok(EventValue::Null),
        _ => Err(Bail),
    }
}

/// Whether the skim reads `path` (`lean`).
pub fn is_lean(path: &str) -> bool {
    lean(&Event::default(), path).is_some()
}

/// The string the skim read at `path` (`Some(None)` when it read that path but found no
/// non-empty string there; `None` when it does not read it). The skim reads these paths as a
/// parse does (the last of a key given twice counts; a value that is not an object where the
/// path goes on leaves nothing), so a string it holds is the value rsigma finds. Anything else
/// is looked up in the text.
pub fn lean<'e>(ev: &'e Event<'_>, path: &str) -> Option<Option<&'e str>> {
    let u = &ev.user_identity;
    match path {
        "eventTime" => &ev.event_time,
        "eventSource" => &ev.event_source,
        "eventName" => &ev.event_name,
        "awsRegion" => &ev.aws_region,
        "sourceIPAddress" => &ev.source_ip,
        "userAgent" => &ev.user_agent,
        "errorCode" => &ev.error_code,
        "errorMessage" => &ev.error_message,
        "eventID" => &ev.event_id,
        "recipientAccountId" => &ev.recipient_account_id,
        "eventVersion" => &ev.event_version,
        "vpcEndpointId" => &ev.vpc_endpoint_id,
        "eventCategory" => &ev.event_category,
        "eventType" => &ev.event_type,
        "userIdentity.type" => &u.kind,
        "userIdentity.arn" => &u.arn,
        "userIdentity.invokedBy" => &u.invoked_by,
        "userIdentity.principalId" => &u.principal_id,
        "userIdentity.accountId" => &u.account_id,
        "userIdentity.userName" => &u.user_name,
        "userIdentity.accessKeyId" => &u.access_key_id,
        "userIdentity.sessionContext.sessionIssuer.userName" => &u.issuer_user_name,
        "userIdentity.sessionContext.sessionIssuer.type" => &u.issuer_type,
        "tlsDetails.clientProvidedHostHeader" => &ev.tls_host,
        "requestParameters.bucketName" => &ev.bucket_name,
        "requestParameters.key" => &ev.object_key,
        "responseElements.ConsoleLogin" => &ev.console_login,
        _ => return None,
    }
    .as_deref()
    .into()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

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
    fn quotes_and_backslashes_are_found_at_every_offset() {
        for len in 0..40 {
            for at in 0..len {
                for c in [b'"', b'\\'] {
                    let mut t = vec![b'a'; len];
                    t[at] = c;
                    // A byte past either, and bytes that differ from them by one bit.
                    if at + 1 < len {
                        t[at + 1] = b'"';
                    }
                    t[..at].iter_mut().for_each(|b| *b = b'"' ^ 0x80);
                    assert_eq!(quote_or_backslash(&t, 0), Some(at), "{len} {at}");
                }
            }
            assert_eq!(quote_or_backslash(&vec![b'#'; len], 0), None);
        }
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
