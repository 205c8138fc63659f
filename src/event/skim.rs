//! The fast path for the input ctq reads most: a trail file, `{"Records":[{…},…]}`. A strict,
//! iterative JSON reader written for that one shape reads the fields of `Event` and skips the
//! rest without building it, at about twice the speed of the serde visitors over sonic-rs
//! (BENCHMARKS.md, "The skim").
//!
//! It settles only what it is sure of. Whatever is not plain valid JSON of that shape, or that
//! the general parsers might read differently, makes it give up (`Bail`), and `shape` reads the
//! text again with sonic-rs and serde_json, which also write the error messages. So it gives up
//! on: invalid JSON of any kind, a top-level key other than one `Records`, an element of
//! `Records` that is not an object, a key with an escape where keys are matched, a kept string
//! with an escaped lone surrogate, and nesting past `MAX_DEPTH`. When it does finish, its events
//! equal the general parsers' (tests below, and `tests/it/skim.rs` on every sample).
//!
//! Nothing here recurses but along the fixed paths of `Event` (`StrAt`'s path is at most two
//! keys); skipped values are walked with a depth counter and a bit stack.

use std::borrow::Cow;

use super::json::{MAX_DEPTH, MAX_HELD, is_json_space};
pub use super::jstring::Bail;
use super::jstring::{R, hex4, number_end, special, unescape};
use super::{Event, Layout, Member, Str, UserIdentity};

/// Read `text` (any byte-order mark already removed) as a trail file into `out`. When it does,
/// the text was UTF-8: every string's bytes over 0x7f are checked, and no other byte over 0x7f
/// is valid JSON. With `keep_raw`, each event carries its own text, from its `{` to its `}`.
/// `Err(Bail)` leaves `out` holding whatever was read so far: the caller clears it.
pub fn records<'a>(text: &'a [u8], out: &mut Vec<Event<'a>>, keep_raw: bool) -> R<()> {
    let mut c = Cur { s: text, i: 0 };
    c.eat(b'{')?;
    let key = c.key()?;
    if key != b"Records" {
        return Err(Bail);
    }
    c.eat(b'[')?;
    if c.ws()? == b']' {
        c.i += 1;
    } else {
        loop {
            c.eat(b'{')?;
            let start = c.i - 1;
            if out.len() >= MAX_HELD {
                return Err(Bail);
            }
            out.push(Event::default());
            let ev = out.last_mut().ok_or(Bail)?;
            c.event(ev, keep_raw.then_some(start))?;
            if keep_raw {
                // Checked already (every string's UTF-8; JSON is ASCII outside strings), but
                // the SIMD check is cheap and spares an unchecked conversion.
                let raw = simdutf8::basic::from_utf8(&text[start..c.i]).map_err(|_| Bail)?;
                ev.raw = Some(Str::Borrowed(raw));
            }
            match c.ws()? {
                b',' => c.i += 1,
                b']' => {
                    c.i += 1;
                    break;
                }
                _ => return Err(Bail),
            }
        }
    }
    c.eat(b'}')?;
    c.end()
}

/// Read `text` as one event object and nothing else (an element of an array the streaming reader
/// cut out). With `strict` (a bare top-level array), an object with none of an event's own fields
/// is left to the general parsers, which say what it is instead.
pub fn element(text: &[u8], strict: bool, keep_raw: bool) -> R<Event<'_>> {
    let mut c = Cur { s: text, i: 0 };
    c.eat(b'{')?;
    let mut ev = Event::default();
    c.event(&mut ev, keep_raw.then_some(0))?;
    if strict && !ev.looks_like_event() {
        return Err(Bail);
    }
    c.end()?;
    Ok(ev)
}

/// Whether the skim settles `text` on its own (for the tests that check it is the path taken).
pub fn settles(text: &[u8]) -> bool {
    records(text, &mut Vec::new(), false).is_ok()
}

/// Depth of an event object (the document, `Records`, the event).
const EVENT_DEPTH: u32 = 3;

struct Cur<'a> {
    s: &'a [u8],
    i: usize,
}

/// What a string scan found between the quotes.
#[derive(Clone, Copy)]
struct Found {
    /// The index of the closing quote.
    end: usize,
    escaped: bool,
    /// Bytes over 0x7f (checked to be UTF-8); without them the string is ASCII.
    high: bool,
}

/// The spans of a member whose key is the slice `key` of `s` and whose value is `s[v..end]`,
/// from `base`. `s` is at most `u32::MAX` bytes long (`Cur::event` notes nothing otherwise), and
/// every position is at or after `base`.
#[inline(always)]
fn member(s: &[u8], base: usize, key: &[u8], v: usize, end: usize) -> Member {
    let k = (key.as_ptr() as usize).wrapping_sub(s.as_ptr() as usize);
    let at = |x: usize| x.wrapping_sub(base) as u32;
    ((at(k), at(k + key.len())), (at(v), at(end)))
}

impl<'a> Cur<'a> {
    /// The next byte that is not whitespace, not consumed.
    #[inline(always)]
    fn ws(&mut self) -> R<u8> {
        loop {
            let b = *self.s.get(self.i).ok_or(Bail)?;
            if !is_json_space(&b) {
                return Ok(b);
            }
            self.i += 1;
        }
    }

    /// The end of the text: only whitespace may follow the one value read.
    fn end(&mut self) -> R<()> {
        match self.ws() {
            Err(Bail) => Ok(()),
            Ok(_) => Err(Bail),
        }
    }

    #[inline(always)]
    fn eat(&mut self, want: u8) -> R<()> {
        if self.ws()? == want {
            self.i += 1;
            Ok(())
        } else {
            Err(Bail)
        }
    }

    /// A key matched against names: its bytes (ASCII, no escapes), and the `:` after it.
    #[inline(always)]
    fn key(&mut self) -> R<&'a [u8]> {
        if self.ws()? != b'"' {
            return Err(Bail);
        }
        let start = self.i + 1;
        let found = self.scan(start)?;
        if found.escaped || found.high {
            return Err(Bail);
        }
        self.i = found.end + 1;
        self.eat(b':')?;
        Ok(&self.s[start..found.end])
    }

    /// After a member's value: `,` and the next key's quote (true), or the object's end (false).
    #[inline(always)]
    fn next_member(&mut self) -> R<bool> {
        match self.ws()? {
            b',' => {
                self.i += 1;
                if self.ws()? == b'"' {
                    Ok(true)
                } else {
                    Err(Bail)
                }
            }
            b'}' => {
                self.i += 1;
                Ok(false)
            }
            _ => Err(Bail),
        }
    }

    /// The members of an object whose `{` was just read, each handed to `f` with its key.
    #[inline(always)]
    fn members(&mut self, mut f: impl FnMut(&mut Self, &'a [u8]) -> R<()>) -> R<()> {
        if self.ws()? == b'}' {
            self.i += 1;
            return Ok(());
        }
        loop {
            let key = self.key()?;
            f(self, key)?;
            if !self.next_member()? {
                return Ok(());
            }
        }
    }

    /// Scan a string from `start` (after its opening quote) to its closing quote: escapes are
    /// checked to be JSON's, and bytes over 0x7f to be UTF-8.
    #[inline(always)]
    fn scan(&self, start: usize) -> R<Found> {
        let s = self.s;
        let mut i = start + special::<true>(s.get(start..).ok_or(Bail)?).ok_or(Bail)?;
        if s[i] == b'"' {
            return Ok(Found {
                end: i,
                escaped: false,
                high: false,
            });
        }
        let (mut escaped, mut high) = (false, false);
        loop {
            match s[i] {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    match *s.get(i + 1).ok_or(Bail)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                        b'u' => {
                            hex4(s, i + 2)?;
                            i += 6;
                        }
                        _ => return Err(Bail),
                    }
                }
                0x80.. => {
                    high = true;
                    i += 1;
                }
                _ => return Err(Bail),
            }
            let rest = s.get(i..).ok_or(Bail)?;
            i += if high {
                special::<false>(rest)
            } else {
                special::<true>(rest)
            }
            .ok_or(Bail)?;
        }
        if high {
            std::str::from_utf8(&s[start..i]).map_err(|_| Bail)?;
        }
        Ok(Found {
            end: i,
            escaped,
            high,
        })
    }

    /// A string whose opening quote is next, borrowed when it has no escapes.
    #[inline(always)]
    fn string(&mut self) -> R<Str<'a>> {
        let start = self.i + 1;
        let found = self.scan(start)?;
        self.i = found.end + 1;
        let bytes = &self.s[start..found.end];
        let text = if found.high {
            std::str::from_utf8(bytes).map_err(|_| Bail)?
        } else {
            // SAFETY: `scan` found no byte over 0x7f: the bytes are ASCII, which is UTF-8.
            unsafe { std::str::from_utf8_unchecked(bytes) }
        };
        if found.escaped {
            unescape(text).map(Cow::Owned)
        } else {
            Ok(Cow::Borrowed(text))
        }
    }

    /// Skip a string whose opening quote is next, checking it.
    #[inline(always)]
    fn skip_string(&mut self) -> R<()> {
        self.i = self.scan(self.i + 1)?.end + 1;
        Ok(())
    }

    fn literal(&mut self, word: &[u8]) -> R<()> {
        if self.s.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(Bail)
        }
    }

    /// A number; what follows it is checked by the caller.
    fn number(&mut self) -> R<()> {
        self.i = number_end(self.s, self.i)?;
        Ok(())
    }

    /// Skip one value at `depth` (the depth of the container it is in), without recursion: a
    /// bit stack says whether each open container is an object (1) or an array (0).
    fn skip(&mut self, depth: u32) -> R<()> {
        let room = MAX_DEPTH.saturating_sub(depth).min(127);
        let (mut stack, mut open) = (0u128, 0u32);
        loop {
            // A value.
            match self.ws()? {
                b'"' => self.skip_string()?,
                b'{' | b'[' if open == room => return Err(Bail),
                b'{' => {
                    self.i += 1;
                    if self.ws()? == b'}' {
                        self.i += 1;
                    } else {
                        stack = stack << 1 | 1;
                        open += 1;
                        self.skip_key()?;
                        continue;
                    }
                }
                b'[' => {
                    self.i += 1;
                    if self.ws()? == b']' {
                        self.i += 1;
                    } else {
                        stack <<= 1;
                        open += 1;
                        continue;
                    }
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                b'-' | b'0'..=b'9' => self.number()?,
                _ => return Err(Bail),
            }
            // After a value: close containers until one goes on with `,`.
            loop {
                if open == 0 {
                    return Ok(());
                }
                let in_object = stack & 1 == 1;
                match self.ws()? {
                    b',' => {
                        self.i += 1;
                        if in_object {
                            self.skip_key()?;
                        }
                        break;
                    }
                    b'}' if in_object => {}
                    b']' if !in_object => {}
                    _ => return Err(Bail),
                }
                self.i += 1;
                stack >>= 1;
                open -= 1;
            }
        }
    }

    /// A key in a skipped object, and its `:`.
    fn skip_key(&mut self) -> R<()> {
        if self.ws()? != b'"' {
            return Err(Bail);
        }
        self.skip_string()?;
        self.eat(b':')
    }

    /// The next value as `de::lenient` reads it: a non-empty string, else None.
    #[inline(always)]
    fn lenient(&mut self, depth: u32) -> R<Option<Str<'a>>> {
        if self.ws()? == b'"' {
            let s = self.string()?;
            return Ok(if s.is_empty() { None } else { Some(s) });
        }
        self.skip(depth)?;
        Ok(None)
    }

    /// The next value as `de::flag` reads it: a bool, or a string that is one of the two words.
    fn flag(&mut self, depth: u32, [yes, no]: [&str; 2]) -> R<Option<bool>> {
        Ok(match self.ws()? {
            b't' => {
                self.literal(b"true")?;
                Some(true)
            }
            b'f' => {
                self.literal(b"false")?;
                Some(false)
            }
            b'"' => {
                let s = self.string()?;
                if s.eq_ignore_ascii_case(yes) {
                    Some(true)
                } else if s.eq_ignore_ascii_case(no) {
                    Some(false)
                } else {
                    None
                }
            }
            _ => {
                self.skip(depth)?;
                None
            }
        })
    }

    /// The next value, if it is an object, read member by member with `f`; else skipped, and
    /// false.
    #[inline(always)]
    fn object(&mut self, depth: u32, f: impl FnMut(&mut Self, &'a [u8]) -> R<()>) -> R<bool> {
        if self.ws()? != b'{' {
            self.skip(depth)?;
            return Ok(false);
        }
        self.i += 1;
        self.members(f)?;
        Ok(true)
    }

    /// The string at `path` inside the next value (`de::StrAt`); the path is at most two keys.
    fn str_at(&mut self, depth: u32, path: &[&[u8]]) -> R<Option<Str<'a>>> {
        let mut out = None;
        self.object(depth, |c, key| {
            match path {
                [last] if *last == key => out = c.lenient(depth + 1)?,
                [first, rest @ ..] if *first == key => out = c.str_at(depth + 1, rest)?,
                _ => c.skip(depth + 1)?,
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// `sessionIssuer`'s `userName` and `type` inside the next value (`de::SessionFields`).
    fn session(&mut self, depth: u32) -> R<(Option<Str<'a>>, Option<Str<'a>>)> {
        let mut out = (None, None);
        self.object(depth, |c, key| {
            if key == b"sessionIssuer" {
                out = (None, None);
                c.object(depth + 1, |c, key| {
                    match key {
                        b"userName" => out.0 = c.lenient(depth + 2)?,
                        b"type" => out.1 = c.lenient(depth + 2)?,
                        _ => c.skip(depth + 2)?,
                    }
                    Ok(())
                })?;
            } else {
                c.skip(depth + 1)?;
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// The members of one event object, whose `{` was just read (`de::event_field`). With `base`
    /// (where the event's text starts), each member's spans are noted too, and whether a key has
    /// a dot (`Layout`): only readers of the kept text use them.
    fn event(&mut self, ev: &mut Event<'a>, base: Option<usize>) -> R<()> {
        const D: u32 = EVENT_DEPTH;
        // `key` bails on a key with an escape; only dots are left to look for.
        let mut dotted = false;
        let base = base.filter(|_| u32::try_from(self.s.len()).is_ok());
        let mut noted = Vec::with_capacity(if base.is_some() { 32 } else { 0 });
        let s = self.s;
        self.members(|c, key| {
            let value = match base {
                Some(_) => {
                    c.ws()?;
                    Some(c.i)
                }
                None => None,
            };
            match key {
                b"eventTime" => ev.event_time = c.lenient(D)?,
                b"eventSource" => ev.event_source = c.lenient(D)?,
                b"eventName" => ev.event_name = c.lenient(D)?,
                b"awsRegion" => ev.aws_region = c.lenient(D)?,
                b"sourceIPAddress" => ev.source_ip = c.lenient(D)?,
                b"userAgent" => ev.user_agent = c.lenient(D)?,
                b"errorCode" => ev.error_code = c.lenient(D)?,
                b"errorMessage" => ev.error_message = c.lenient(D)?,
                b"eventID" => ev.event_id = c.lenient(D)?,
                // An aggregated event's time, account and id (`Event::settle`).
                b"timeWindow" => ev.aggregated.window_start = c.str_at(D, &[b"windowStart"])?,
                b"accountId" => ev.aggregated.account_id = c.lenient(D)?,
                b"eventId" => ev.aggregated.event_id = c.lenient(D)?,
                b"recipientAccountId" => ev.recipient_account_id = c.lenient(D)?,
                b"eventVersion" => ev.event_version = c.lenient(D)?,
                b"userIdentity" => ev.user_identity = c.user_identity()?,
                b"tlsDetails" => ev.tls_host = c.str_at(D, &[b"clientProvidedHostHeader"])?,
                b"requestParameters" => {
                    let (mut bucket, mut object) = (None, None);
                    c.object(D, |c, key| {
                        match key {
                            b"bucketName" => bucket = c.lenient(D + 1)?,
                            b"key" => object = c.lenient(D + 1)?,
                            _ => c.skip(D + 1)?,
                        }
                        Ok(())
                    })?;
                    (ev.bucket_name, ev.object_key) = (bucket, object);
                }
                b"resources" => ev.resource_arns = c.resources()?,
                b"vpcEndpointId" => ev.vpc_endpoint_id = c.lenient(D)?,
                b"eventCategory" => ev.event_category = c.lenient(D)?,
                b"eventType" => ev.event_type = c.lenient(D)?,
                b"readOnly" => ev.read_only = c.flag(D, ["true", "false"])?,
                b"managementEvent" => ev.management_event = c.flag(D, ["true", "false"])?,
                b"responseElements" => ev.console_login = c.str_at(D, &[b"ConsoleLogin"])?,
                b"additionalEventData" => {
                    let mut mfa = None;
                    c.object(D, |c, key| {
                        if key == b"MFAUsed" {
                            mfa = c.flag(D + 1, ["yes", "no"])?;
                        } else {
                            c.skip(D + 1)?;
                        }
                        Ok(())
                    })?;
                    ev.mfa_used = mfa;
                }
                _ => {
                    dotted |= base.is_some() && key.contains(&b'.');
                    c.skip(D)?
                }
            }
            if let (Some(base), Some(v)) = (base, value) {
                noted.push(member(s, base, key, v, c.i));
            }
            Ok(())
        })?;
        ev.settle();
        if base.is_some() {
            ev.layout = Layout {
                plain_keys: !dotted,
                members: Some(noted),
            };
        }
        Ok(())
    }

    fn user_identity(&mut self) -> R<UserIdentity<'a>> {
        const D: u32 = EVENT_DEPTH + 1;
        let mut u = UserIdentity::default();
        self.object(EVENT_DEPTH, |c, key| {
            match key {
                b"type" => u.kind = c.lenient(D)?,
                b"arn" => u.arn = c.lenient(D)?,
                b"invokedBy" => u.invoked_by = c.lenient(D)?,
                b"principalId" => u.principal_id = c.lenient(D)?,
                b"accountId" => u.account_id = c.lenient(D)?,
                b"userName" => u.user_name = c.lenient(D)?,
                b"accessKeyId" => u.access_key_id = c.lenient(D)?,
                b"sessionContext" => (u.issuer_user_name, u.issuer_type) = c.session(D)?,
                _ => c.skip(D)?,
            }
            Ok(())
        })?;
        Ok(u)
    }

    /// `resources`: the `ARN` of each object of an array; anything else is no resources.
    fn resources(&mut self) -> R<Vec<Str<'a>>> {
        const D: u32 = EVENT_DEPTH + 1;
        let mut arns = Vec::new();
        if self.ws()? != b'[' {
            self.skip(EVENT_DEPTH)?;
            return Ok(arns);
        }
        self.i += 1;
        if self.ws()? == b']' {
            self.i += 1;
            return Ok(arns);
        }
        loop {
            arns.extend(self.str_at(D, &[b"ARN"])?);
            match self.ws()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Ok(arns);
                }
                _ => return Err(Bail),
            }
        }
    }
}
