//! Reading an event's JSON text without building values: the spans of strings, values, members
//! and elements, found iteratively (a depth counter held to `MAX_DEPTH`, never recursion), and
//! the fields the skim already read (`lean`).
//!
//! The text was read as JSON before (the skim, or the general parsers), so it is valid; nothing
//! here relies on that for safety: odd text gives up (`Bail`). `sigma::text` follows a rule's
//! field through these spans as rsigma does, `filter::field` a `--where` path.

use std::borrow::Cow;

use super::json::MAX_DEPTH;
use super::{Event, Member};

/// The text cannot be read here for sure: read the event through the parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bail;

pub type R<T> = Result<T, Bail>;

pub fn ws(s: &[u8], mut i: usize) -> usize {
    while matches!(s.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The end (past the closing quote) of the string opening at `s[i]`, and whether it holds an
/// escape.
pub fn string_end(s: &[u8], i: usize) -> R<(usize, bool)> {
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

/// The string opening at `raw[at]`, decoded (borrowed when it holds no escape), and where it
/// ends.
pub fn string(raw: &str, at: usize) -> R<(Cow<'_, str>, usize)> {
    let (end, escaped) = string_end(raw.as_bytes(), at)?;
    Ok(if escaped {
        let text = raw.get(at..end).ok_or(Bail)?;
        let owned: String = serde_json::from_str(text).map_err(|_| Bail)?;
        (Cow::Owned(owned), end)
    } else {
        (Cow::Borrowed(raw.get(at + 1..end - 1).ok_or(Bail)?), end)
    })
}

/// The first `"` or `\` at or after `s[j]`, eight bytes at a time: strings are short (a call to
/// a vector search costs more than it saves on most of them).
pub(crate) fn quote_or_backslash(s: &[u8], mut j: usize) -> Option<usize> {
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
pub fn value_end(s: &[u8], i: usize) -> R<usize> {
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
pub fn each_member(s: &[u8], at: usize, mut f: impl FnMut(&[u8], usize, usize)) -> R<usize> {
    let mut escapes = false;
    let end = each_member_raw(s, at, |k, escaped, v, vend| {
        escapes |= escaped;
        if !escapes {
            f(k, v, vend);
        }
    })?;
    if escapes { Err(Bail) } else { Ok(end) }
}

/// Calls `f(key as written, whether it holds an escape, value start, value end)` for each member
/// of the object opening at `s[at]`, in order; returns where the object ends.
pub fn each_member_raw(
    s: &[u8],
    at: usize,
    mut f: impl FnMut(&[u8], bool, usize, usize),
) -> R<usize> {
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
        let key = s.get(i + 1..kend - 1).ok_or(Bail)?;
        i = ws(s, kend);
        if s.get(i) != Some(&b':') {
            return Err(Bail);
        }
        let v = ws(s, i + 1);
        let vend = value_end(s, v)?;
        f(key, escaped, v, vend);
        i = ws(s, vend);
        match s.get(i) {
            Some(b',') => i = ws(s, i + 1),
            Some(b'}') => return Ok(i + 1),
            _ => return Err(Bail),
        }
    }
}

/// Calls `f(element start)` for each element of the array opening at `s[at]`, in order.
pub fn each_element(s: &[u8], at: usize, mut f: impl FnMut(usize)) -> R<usize> {
    if s.get(at) != Some(&b'[') {
        return Err(Bail);
    }
    let mut j = ws(s, at + 1);
    if s.get(j) == Some(&b']') {
        return Ok(j + 1);
    }
    loop {
        f(j);
        j = ws(s, value_end(s, j)?);
        match s.get(j) {
            Some(b',') => j = ws(s, j + 1),
            Some(b']') => return Ok(j + 1),
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
mod tests {
    use super::*;

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
    fn members_and_elements_are_found_and_escaped_keys_told() {
        let raw = r#" {"a": [1, "x", {"b": []}], "c\u0064": null} "#;
        let s = raw.as_bytes();
        let mut seen = Vec::new();
        let end = each_member_raw(s, 1, |k, e, v, ve| {
            seen.push((String::from_utf8_lossy(k).into_owned(), e, &raw[v..ve]))
        })
        .unwrap();
        assert_eq!(&raw[end..], " ");
        assert_eq!(
            seen,
            [
                ("a".to_string(), false, r#"[1, "x", {"b": []}]"#),
                (r"c\u0064".to_string(), true, "null")
            ]
        );
        assert_eq!(each_member(s, 1, |_, _, _| {}), Err(Bail));
        let mut at = Vec::new();
        each_element(s, 7, |e| at.push(&raw[e..value_end(s, e).unwrap()])).unwrap();
        assert_eq!(at, ["1", r#""x""#, r#"{"b": []}"#]);
        assert_eq!(each_element(b"[1,", 0, |_| {}), Err(Bail));
    }
}
