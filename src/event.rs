//! The lean, borrowed CloudTrail event and the input shapes a file can come in.
//!
//! Only the fields the reports need are kept; everything else is skipped without being built.
//! Parsing is lenient by design: CloudTrail fields change type between services and over time
//! (`requestParameters` may be an object, a string or null; `resources` may be missing), so a field
//! of an unexpected type is treated as absent instead of rejecting the event. Empty strings are
//! absent too, which is what every report wants ("first non-empty", "absent or empty is null").

use std::borrow::Cow;
use std::fmt;

use std::cell::Cell;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// A string field that may be borrowed from the input buffer (no escapes) or owned (escapes).
pub type Str<'a> = Cow<'a, str>;

/// The fields of one CloudTrail event that ctq's reports read.
#[derive(Debug, Default, Clone)]
pub struct Event<'a> {
    pub event_time: Option<Str<'a>>,
    pub event_source: Option<Str<'a>>,
    pub event_name: Option<Str<'a>>,
    pub aws_region: Option<Str<'a>>,
    pub source_ip: Option<Str<'a>>,
    pub user_agent: Option<Str<'a>>,
    pub error_code: Option<Str<'a>>,
    pub error_message: Option<Str<'a>>,
    pub event_id: Option<Str<'a>>,
    pub recipient_account_id: Option<Str<'a>>,
    pub event_version: Option<Str<'a>>,
    pub user_identity: UserIdentity<'a>,
    /// `tlsDetails.clientProvidedHostHeader`
    pub tls_host: Option<Str<'a>>,
    /// `requestParameters.bucketName`
    pub bucket_name: Option<Str<'a>>,
    /// `requestParameters.key`
    pub object_key: Option<Str<'a>>,
    /// `resources[].ARN`
    pub resource_arns: Vec<Str<'a>>,
    pub vpc_endpoint_id: Option<Str<'a>>,
    pub event_category: Option<Str<'a>>,
    pub event_type: Option<Str<'a>>,
    /// `readOnly`: a JSON bool, or the string "true"/"false" in any letter case.
    pub read_only: Option<bool>,
    /// `responseElements.ConsoleLogin` (Success / Failure)
    pub console_login: Option<Str<'a>>,
    /// `additionalEventData.MFAUsed`: a JSON bool, or "Yes"/"No" in any letter case.
    pub mfa_used: Option<bool>,
    /// `managementEvent`: a JSON bool, or the string "true"/"false" in any letter case.
    pub management_event: Option<bool>,
    /// The event's own JSON text, kept only when the caller asks for it (`events --raw/--fields`).
    pub raw: Option<Str<'a>>,
}

#[derive(Debug, Default, Clone)]
pub struct UserIdentity<'a> {
    pub kind: Option<Str<'a>>,
    pub arn: Option<Str<'a>>,
    pub invoked_by: Option<Str<'a>>,
    pub principal_id: Option<Str<'a>>,
    pub account_id: Option<Str<'a>>,
    pub user_name: Option<Str<'a>>,
    pub access_key_id: Option<Str<'a>>,
    /// `sessionContext.sessionIssuer.userName`: the role name of an assumed-role session.
    pub issuer_user_name: Option<Str<'a>>,
}

impl<'a> Event<'a> {
    /// The principal as the reports define it: the first non-empty of `userIdentity.arn`,
    /// `invokedBy`, `principalId`, `accountId`, `type`, else `unknown`.
    pub fn principal(&self) -> &str {
        let u = &self.user_identity;
        [
            &u.arn,
            &u.invoked_by,
            &u.principal_id,
            &u.account_id,
            &u.kind,
        ]
        .into_iter()
        .find_map(|f| f.as_deref())
        .unwrap_or("unknown")
    }

    /// True when the object had at least one field that only CloudTrail events have; used to tell
    /// an event from some other JSON object (a config file, a CloudWatch Logs envelope).
    fn looks_like_event(&self) -> bool {
        self.event_time.is_some()
            || self.event_name.is_some()
            || self.event_source.is_some()
            || self.event_id.is_some()
            || self.event_version.is_some()
    }

    /// Detach from the input buffer (used for lookup-events, whose events are JSON in a string).
    pub fn into_owned(self) -> Event<'static> {
        fn o(s: Option<Str<'_>>) -> Option<Str<'static>> {
            s.map(|s| Cow::Owned(s.into_owned()))
        }
        let u = self.user_identity;
        Event {
            event_time: o(self.event_time),
            event_source: o(self.event_source),
            event_name: o(self.event_name),
            aws_region: o(self.aws_region),
            source_ip: o(self.source_ip),
            user_agent: o(self.user_agent),
            error_code: o(self.error_code),
            error_message: o(self.error_message),
            event_id: o(self.event_id),
            recipient_account_id: o(self.recipient_account_id),
            event_version: o(self.event_version),
            user_identity: UserIdentity {
                kind: o(u.kind),
                arn: o(u.arn),
                invoked_by: o(u.invoked_by),
                principal_id: o(u.principal_id),
                account_id: o(u.account_id),
                user_name: o(u.user_name),
                access_key_id: o(u.access_key_id),
                issuer_user_name: o(u.issuer_user_name),
            },
            tls_host: o(self.tls_host),
            bucket_name: o(self.bucket_name),
            object_key: o(self.object_key),
            resource_arns: self
                .resource_arns
                .into_iter()
                .map(|s| Cow::Owned(s.into_owned()))
                .collect(),
            vpc_endpoint_id: o(self.vpc_endpoint_id),
            event_category: o(self.event_category),
            event_type: o(self.event_type),
            read_only: self.read_only,
            console_login: o(self.console_login),
            mfa_used: self.mfa_used,
            management_event: self.management_event,
            raw: o(self.raw),
        }
    }

    /// The last part of `userIdentity.arn`'s resource: the user, role session or role name
    /// after the last `/`, or `root` for the root user (`arn:aws:iam::123456789012:root`).
    pub fn arn_last_segment(&self) -> Option<&str> {
        let arn = self.user_identity.arn.as_deref()?;
        let resource = arn
            .splitn(6, ':')
            .nth(5)
            .filter(|_| arn.starts_with("arn:"));
        match arn.rfind('/') {
            Some(i) => Some(&arn[i + 1..]),
            None if resource == Some("root") => resource,
            None => None,
        }
        .filter(|s| !s.is_empty())
    }

    /// `eventCategory`, or for events written before CloudTrail had that field, the category
    /// it would have: `NetworkActivity` for VPC endpoint events, `Insight` for Insights events,
    /// `Data` for `managementEvent: false`, otherwise `Management`.
    pub fn category(&self) -> &str {
        if let Some(c) = self.event_category.as_deref() {
            return c;
        }
        match self.event_type.as_deref() {
            Some("AwsVpceEvent" | "AwsVpceEvents") => "NetworkActivity",
            Some("AwsCloudTrailInsight") => "Insight",
            _ if self.management_event == Some(false) => "Data",
            _ => "Management",
        }
    }
}

/// What one file turned out to be, for messages and statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Records,
    Array,
    Single,
    Lines,
    LookupEvents,
    /// Several documents (or documents and events) one after another.
    Concatenated,
}

/// What a decoded text held, besides its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed {
    pub shape: Shape,
    /// Top-level JSON values: 1 for every shape but `Lines`.
    pub values: usize,
    /// Of those, the ones that were documents (`{"Records":[…]}`, an array, lookup-events output)
    /// rather than single events. More than one value with a document among them means files
    /// were concatenated (`cat a.json b.json`): each is read, and the caller says so.
    pub documents: usize,
}

/// Parse a whole decoded file into events, or explain why it is not a CloudTrail event file.
///
/// The five accepted shapes: `{"Records":[...]}`, a top-level array of events, one event object,
/// events one after another (newline-delimited or pretty-printed, as `jq '.Records[]'` writes
/// them), and `aws cloudtrail lookup-events` output. Several documents one after another (two
/// trail files concatenated) are read too. The common case (one top-level value) is parsed in a
/// single pass; only when more values follow is the input re-read as a stream.
///
/// A key that appears twice in one object counts once, the last one, as in serde_json and jq:
/// `{"Records":[a],"Records":[b]}` holds only `b`.
///
/// With `keep_raw`, each event also carries its own JSON text (`Event::raw`).
pub fn parse_events<'a>(
    text: &'a [u8],
    out: &mut Vec<Event<'a>>,
    keep_raw: bool,
) -> Result<Parsed, String> {
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    let first = text.iter().find(|b| !is_json_space(b));
    if first.is_none() {
        return Err("empty file (no JSON)".into());
    }
    let one = |shape| {
        Ok(Parsed {
            shape,
            values: 1,
            documents: usize::from(shape != Shape::Single),
        })
    };
    // The common case (one trail file, events not kept raw) takes sonic-rs, a SIMD JSON parser
    // about 1.5x as fast here as serde_json (BENCHMARKS.md). Anything it does not finish cleanly
    // (several values, invalid JSON) is read again below by serde_json, whose streaming and
    // error messages ctq relies on, so both parsers agree on what a file holds.
    utf8(text)?;
    if !keep_raw {
        let mut de = sonic_rs::Deserializer::from_slice(text);
        match with_sonic(|| {
            (TopSeed {
                out: &mut *out,
                keep_raw,
            })
            .deserialize(&mut de)
        }) {
            Ok(top) if de.end().is_ok() => return top_shape(top).and_then(one),
            Err(e) if is_too_deep(&e) => return Err(format!("{TOO_DEEP} (line {})", e.line())),
            _ => {}
        }
        out.clear();
    }
    check_depth(text)?;
    let mut de = serde_json::Deserializer::from_slice(text);
    let shape = match (TopSeed {
        out: &mut *out,
        keep_raw,
    })
    .deserialize(&mut de)
    {
        Ok(top) => top,
        Err(e) => return Err(json_error(&e)),
    };
    if de.end().is_ok() {
        if keep_raw
            && matches!(shape, Top::Event)
            && let (Some(ev), Ok(all)) = (out.last_mut(), std::str::from_utf8(text))
        {
            ev.raw = Some(Cow::Borrowed(all.trim()));
        }
        return top_shape(shape).and_then(one);
    }
    // More than one top-level value: events one after another, or documents concatenated.
    out.clear();
    let mut stream =
        serde_json::Deserializer::from_slice(text).into_iter::<&serde_json::value::RawValue>();
    let (mut values, mut documents) = (0usize, 0usize);
    loop {
        let offset = stream.byte_offset();
        let raw = match stream.next() {
            None => break,
            Some(Ok(raw)) => raw,
            Some(Err(e)) => return Err(json_error(&e)),
        };
        let mut de = serde_json::Deserializer::from_str(raw.get());
        let top = (TopSeed {
            out: &mut *out,
            keep_raw,
        })
        .deserialize(&mut de)
        .map_err(|e| {
            format!(
                "value at line {}: {}",
                line_of(text, offset),
                json_error(&e)
            )
        })?;
        match top {
            Top::Event => {
                if keep_raw && let Some(ev) = out.last_mut() {
                    ev.raw = Some(Cow::Borrowed(raw.get()));
                }
            }
            Top::Records | Top::Array | Top::Lookup => documents += 1,
            Top::Other(why) => {
                return Err(format!(
                    "value {} (line {}) is not a CloudTrail event: {why}",
                    values + 1,
                    line_of(text, offset)
                ));
            }
        }
        values += 1;
    }
    Ok(Parsed {
        shape: if documents == 0 {
            Shape::Lines
        } else {
            Shape::Concatenated
        },
        values,
        documents,
    })
}

fn top_shape(top: Top) -> Result<Shape, String> {
    match top {
        Top::Records => Ok(Shape::Records),
        Top::Array => Ok(Shape::Array),
        Top::Event => Ok(Shape::Single),
        Top::Lookup => Ok(Shape::LookupEvents),
        Top::Other(why) => Err(why),
    }
}

fn line_of(text: &[u8], offset: usize) -> usize {
    let skip = text[offset..]
        .iter()
        .take_while(|b| is_json_space(b))
        .count();
    1 + text[..offset + skip]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

pub fn json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    if text.starts_with(TOO_DEEP) || text.starts_with("recursion limit exceeded") {
        return format!("{TOO_DEEP} (line {})", e.line());
    }
    let what = match e.classify() {
        serde_json::error::Category::Eof => "truncated JSON",
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Data => "unexpected JSON",
        serde_json::error::Category::Io => "read error",
    };
    format!("{what}: {e}")
}

/// One element of an array of events, for the streaming reader: an object is an event (with
/// `raw` kept on request). Anything else is an error saying what it is; so is, with `strict` (a
/// bare top-level array rather than `Records`), an object with none of an event's own fields.
pub fn parse_element(bytes: &[u8], keep_raw: bool, strict: bool) -> Result<Event<'_>, String> {
    utf8(bytes)?;
    if !keep_raw {
        let mut de = sonic_rs::Deserializer::from_slice(bytes);
        match with_sonic(|| EventSeed.deserialize(&mut de)) {
            Ok(Ok(element)) if de.end().is_ok() => return element_event(element, strict),
            Err(e) if is_too_deep(&e) => return Err(format!("{TOO_DEEP} (line {})", e.line())),
            _ => {}
        }
    }
    check_depth(bytes)?;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match EventSeed
        .deserialize(&mut de)
        .and_then(|r| de.end().map(|()| r))
    {
        Ok(Ok(element)) => {
            let mut event = element_event(element, strict)?;
            if keep_raw {
                event.raw = std::str::from_utf8(bytes).ok().map(Cow::Borrowed);
            }
            Ok(event)
        }
        Ok(Err(why)) => Err(why),
        Err(e) => Err(json_error(&e)),
    }
}

fn element_event(element: Element<'_>, strict: bool) -> Result<Event<'_>, String> {
    match element {
        Element {
            not_an_event: Some(why),
            ..
        } if strict => Err(why),
        Element { event, .. } => Ok(event),
    }
}

/// What a top-level JSON value was.
enum Top {
    Records,
    Array,
    Event,
    Lookup,
    Other(String),
}

struct TopSeed<'o, 'a> {
    out: &'o mut Vec<Event<'a>>,
    keep_raw: bool,
}

impl<'de, 'o> DeserializeSeed<'de> for TopSeed<'o, 'de> {
    type Value = Top;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Top, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'o> Visitor<'de> for TopSeed<'o, 'de> {
    type Value = Top;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("CloudTrail events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Top, A::Error> {
        match (EventsSeed {
            out: self.out,
            strict: true,
            keep_raw: self.keep_raw,
        })
        .visit_seq(seq)?
        {
            Ok(()) => Ok(Top::Array),
            Err(why) => Ok(Top::Other(why)),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut ev = Event::default();
        let mut records = None;
        let mut lookup = None;
        let mut other_keys: Vec<String> = Vec::new();
        // A repeated "Records" key: the last one wins, as in serde_json and jq.
        let base = self.out.len();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match key.0.as_ref() {
                "Records" => {
                    self.out.truncate(base);
                    lookup = None;
                    records = Some(map.next_value_seed(EventsSeed {
                        out: &mut *self.out,
                        strict: false,
                        keep_raw: self.keep_raw,
                    })?);
                }
                // A trail file's "Records" take precedence over lookup-events' "Events".
                "Events" if records.is_some() => {
                    map.next_value::<Skip>()?;
                }
                "Events" => {
                    self.out.truncate(base);
                    lookup = Some(map.next_value_seed(LookupSeed {
                        out: &mut *self.out,
                        keep_raw: self.keep_raw,
                    })?)
                }
                k => {
                    if !event_field(&mut ev, k, &mut map)? && other_keys.len() < 64 {
                        other_keys.push(k.to_string());
                    }
                }
            }
        }
        if let Some(result) = records {
            return Ok(match result {
                Ok(()) => Top::Records,
                Err(why) => Top::Other(why),
            });
        }
        if let Some(result) = lookup {
            return Ok(match result {
                Ok(()) => Top::Lookup,
                Err(why) => Top::Other(why),
            });
        }
        if ev.looks_like_event() {
            self.out.push(ev);
            return Ok(Top::Event);
        }
        Ok(Top::Other(describe_object(&other_keys)))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Top, E> {
        Ok(Top::Other("a JSON string, not CloudTrail events".into()))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Top, E> {
        Ok(Top::Other("a JSON boolean, not CloudTrail events".into()))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Top, E> {
        Ok(Top::Other("a JSON number, not CloudTrail events".into()))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Top, E> {
        Ok(Top::Other("a JSON number, not CloudTrail events".into()))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Top, E> {
        Ok(Top::Other("a JSON number, not CloudTrail events".into()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Top, E> {
        Ok(Top::Other("JSON null, not CloudTrail events".into()))
    }
}

/// Say what a JSON object that is not CloudTrail events looks like, so the user can tell a digest
/// file or a CloudWatch Logs export from a broken trail file.
fn describe_object(keys: &[String]) -> String {
    let has = |k: &str| keys.iter().any(|x| x == k);
    if has("digestStartTime") || has("digestS3Object") {
        return "a CloudTrail digest file (digestStartTime, digestS3Object), not events".into();
    }
    if has("logEvents") && has("logGroup") {
        return "a CloudWatch Logs subscription envelope (logGroup, logEvents), not CloudTrail \
                events; extract the messages first"
            .into();
    }
    if keys.is_empty() {
        return "an empty JSON object, not CloudTrail events".into();
    }
    let mut shown: Vec<&str> = keys.iter().take(6).map(String::as_str).collect();
    if keys.len() > 6 {
        shown.push("…");
    }
    format!(
        "a JSON object with keys {} (expected \"Records\", \"Events\" or an event with \"eventTime\")",
        shown.join(", ")
    )
}

/// How deep a value ctq skips may nest. Real events nest a dozen levels; a hostile file can nest
/// tens of thousands, and a parser that recurses per level would overflow the stack and abort the
/// whole run. serde_json stops at 128 levels on its own; sonic-rs skips values recursively
/// without a bound (upstream issue cloudwego/sonic-rs#232), so ctq never asks it to skip: every
/// skipped value goes through `Skip`, which counts its nesting and gives up past this depth.
pub const MAX_DEPTH: u32 = 100;

/// The message of a file nested deeper than `MAX_DEPTH`.
pub const TOO_DEEP: &str = "JSON nested more than 100 levels deep";

thread_local! {
    /// Nesting of the containers `Skip` is inside, on this thread.
    static SKIP_DEPTH: Cell<u32> = const { Cell::new(0) };
    /// The parser at work on this thread is sonic-rs (whose own skipping recurses).
    static SONIC: Cell<bool> = const { Cell::new(false) };
}

/// Any JSON value, read and dropped. Under sonic-rs it never lets the parser skip on its own
/// (see `MAX_DEPTH`): containers are visited here, one level at a time, and counted. serde_json
/// skips without recursing, so there it skips on its own; its input's depth was checked before
/// (`check_depth`).
struct Skip;

impl<'de> de::Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if SONIC.with(Cell::get) {
            d.deserialize_any(Skip)
        } else {
            d.deserialize_ignored_any(Skip)
        }
    }
}

/// Parse with sonic-rs: `f` runs with `Skip` counting nesting levels.
fn with_sonic<T>(f: impl FnOnce() -> T) -> T {
    reset_depth();
    SONIC.with(|s| s.set(true));
    let out = f();
    SONIC.with(|s| s.set(false));
    out
}

/// Whether a sonic-rs error is `Skip`'s: the input is too deep, which no other parser changes.
fn is_too_deep(e: &sonic_rs::Error) -> bool {
    e.to_string().starts_with(TOO_DEEP)
}

/// JSON is UTF-8 (RFC 8259), and the readers do not all check it where they skip: sonic-rs and
/// serde_json let invalid bytes through in strings they are not asked to keep, serde_json's
/// `--raw` reading does not. So no text that is not UTF-8 is read at all, whatever the command.
fn utf8(text: &[u8]) -> Result<(), String> {
    simdutf8::compat::from_utf8(text).map(|_| ()).map_err(|e| {
        let at = e.valid_up_to();
        format!(
            "invalid JSON: not UTF-8 text (byte 0x{:02x} at offset {at})",
            text[at]
        )
    })
}

/// JSON's whitespace: space, tab, line feed, carriage return (not form feed, unlike
/// `u8::is_ascii_whitespace`).
pub fn is_json_space(b: &u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Check that `text` is one JSON value the readers would accept, without building it: UTF-8,
/// not too deep, valid JSON (serde_json skips values without recursing).
pub fn check_value(text: &[u8]) -> Result<(), String> {
    utf8(text)?;
    check_depth(text)?;
    serde_json::from_slice::<serde::de::IgnoredAny>(text)
        .map(|_| ())
        .map_err(|e| json_error(&e))
}

/// Refuse text nested deeper than the parsers will go, before serde_json reads it. The limit is
/// counted from the top, so it is `MAX_DEPTH` plus the few levels around a skipped value (the
/// document, `Records`, the event, `requestParameters` …): what sonic-rs accepts, this accepts.
pub fn check_depth(text: &[u8]) -> Result<(), String> {
    const LIMIT: u32 = MAX_DEPTH + 8;
    let (mut depth, mut i) = (0u32, 0usize);
    while i < text.len() {
        match text[i] {
            b'"' => {
                i += 1;
                loop {
                    match memchr::memchr2(b'"', b'\\', &text[i.min(text.len())..]) {
                        None => return Ok(()), // unterminated: the parser says so
                        Some(p) if text[i + p] == b'\\' => i += p + 2,
                        Some(p) => {
                            i += p + 1;
                            break;
                        }
                    }
                }
                continue;
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > LIMIT {
                    let line = 1 + text[..i].iter().filter(|&&b| b == b'\n').count();
                    return Err(format!("{TOO_DEEP} (line {line})"));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

impl Skip {
    fn nested<E: de::Error>(f: impl FnOnce() -> Result<(), E>) -> Result<Skip, E> {
        let depth = SKIP_DEPTH.with(|d| {
            let n = d.get() + 1;
            d.set(n);
            n
        });
        let result = if depth > MAX_DEPTH {
            Err(E::custom(TOO_DEEP))
        } else {
            f()
        };
        SKIP_DEPTH.with(|d| d.set(d.get() - 1));
        result.map(|()| Skip)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = Skip;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_none<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Skip, D::Error> {
        d.deserialize_any(Skip)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Skip, D::Error> {
        d.deserialize_any(Skip)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        Skip::nested(|| {
            while seq.next_element::<Skip>()?.is_some() {}
            Ok(())
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        Skip::nested(|| {
            while map.next_entry::<Skip, Skip>()?.is_some() {}
            Ok(())
        })
    }
}

/// Forget the nesting left over by a parse that stopped half-way (an error or a panic).
fn reset_depth() {
    SKIP_DEPTH.with(|d| d.set(0));
}

/// Forget the state of a parse that a panic stopped on this thread.
pub fn reset_after_panic() {
    reset_depth();
    SONIC.with(|s| s.set(false));
}

/// A map key, borrowed when it has no escapes.
struct Key<'a>(Str<'a>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A value read leniently as a string: anything that is not a non-empty string is `None`.
struct Lenient<'a>(Option<Str<'a>>);

impl<'de> de::Deserialize<'de> for Lenient<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Lenient<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Lenient<'de>, E> {
                Ok(Lenient((!v.is_empty()).then_some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Lenient<'de>, E> {
                Ok(Lenient((!v.is_empty()).then(|| Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Lenient<'de>, E> {
                Ok(Lenient((!v.is_empty()).then_some(Cow::Owned(v))))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Lenient<'de>, E> {
                Ok(Lenient(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Lenient<'de>, E> {
                Ok(Lenient(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Lenient<'de>, E> {
                Ok(Lenient(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Lenient<'de>, E> {
                Ok(Lenient(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Lenient<'de>, E> {
                Ok(Lenient(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Lenient<'de>, A::Error> {
                while seq.next_element::<Skip>()?.is_some() {}
                Ok(Lenient(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Lenient<'de>, A::Error> {
                while map.next_entry::<Skip, Skip>()?.is_some() {}
                Ok(Lenient(None))
            }
        }
        d.deserialize_any(V)
    }
}

fn lenient<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Str<'de>>, A::Error> {
    Ok(map.next_value::<Lenient<'de>>()?.0)
}

/// Read one field of an event into `ev`; returns false (after skipping the value) for a key that
/// is not one of CloudTrail's event fields ctq knows.
fn event_field<'de, A: MapAccess<'de>>(
    ev: &mut Event<'de>,
    key: &str,
    map: &mut A,
) -> Result<bool, A::Error> {
    match key {
        "eventTime" => ev.event_time = lenient(map)?,
        "eventSource" => ev.event_source = lenient(map)?,
        "eventName" => ev.event_name = lenient(map)?,
        "awsRegion" => ev.aws_region = lenient(map)?,
        "sourceIPAddress" => ev.source_ip = lenient(map)?,
        "userAgent" => ev.user_agent = lenient(map)?,
        "errorCode" => ev.error_code = lenient(map)?,
        "errorMessage" => ev.error_message = lenient(map)?,
        "eventID" => ev.event_id = lenient(map)?,
        "recipientAccountId" => ev.recipient_account_id = lenient(map)?,
        "eventVersion" => ev.event_version = lenient(map)?,
        "userIdentity" => ev.user_identity = map.next_value_seed(ObjectSeed(UserIdentityFields))?,
        "tlsDetails" => {
            ev.tls_host = map.next_value_seed(ObjectSeed(OneField("clientProvidedHostHeader")))?
        }
        "requestParameters" => {
            (ev.bucket_name, ev.object_key) = map.next_value_seed(ObjectSeed(RequestFields))?
        }
        "resources" => ev.resource_arns = map.next_value_seed(ResourcesSeed)?,
        "vpcEndpointId" => ev.vpc_endpoint_id = lenient(map)?,
        "eventCategory" => ev.event_category = lenient(map)?,
        "eventType" => ev.event_type = lenient(map)?,
        "readOnly" => ev.read_only = true_or_false(map)?,
        "managementEvent" => ev.management_event = true_or_false(map)?,
        "responseElements" => {
            ev.console_login = map.next_value_seed(ObjectSeed(OneField("ConsoleLogin")))?
        }
        "additionalEventData" => ev.mfa_used = map.next_value_seed(ObjectSeed(AdditionalFields))?,
        // Event fields ctq does not read yet: known, skipped without building anything.
        "apiVersion"
        | "requestID"
        | "serviceEventDetails"
        | "sharedEventID"
        | "vpcEndpointAccountId"
        | "sessionCredentialFromConsole"
        | "edgeDeviceDetails"
        | "insightDetails"
        | "addendum" => {
            map.next_value::<Skip>()?;
        }
        _ => {
            map.next_value::<Skip>()?;
            return Ok(false);
        }
    }
    Ok(true)
}

/// A JSON bool, or the string "true"/"false" in any letter case; anything else is None.
fn true_or_false<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<bool>, A::Error> {
    Ok(match map.next_value::<BoolOrStr<'de>>()?.0 {
        Some(Ok(b)) => Some(b),
        Some(Err(s)) if s.eq_ignore_ascii_case("true") => Some(true),
        Some(Err(s)) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    })
}

/// Reads the fields of a nested object it cares about; a value of any other type gives the default.
trait Fields<'de> {
    type Out: Default;
    fn field<A: MapAccess<'de>>(
        &self,
        out: &mut Self::Out,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error>;
}

struct ObjectSeed<F>(F);

impl<'de, F: Fields<'de>> DeserializeSeed<'de> for ObjectSeed<F> {
    type Value = F::Out;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<F::Out, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, F: Fields<'de>> Visitor<'de> for ObjectSeed<F> {
    type Value = F::Out;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<F::Out, A::Error> {
        let mut out = F::Out::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            self.0.field(&mut out, &key.0, &mut map)?;
        }
        Ok(out)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<F::Out, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(F::Out::default())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<F::Out, E> {
        Ok(F::Out::default())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<F::Out, E> {
        Ok(F::Out::default())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<F::Out, E> {
        Ok(F::Out::default())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<F::Out, E> {
        Ok(F::Out::default())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<F::Out, E> {
        Ok(F::Out::default())
    }
    fn visit_unit<E: de::Error>(self) -> Result<F::Out, E> {
        Ok(F::Out::default())
    }
}

struct UserIdentityFields;
impl<'de> Fields<'de> for UserIdentityFields {
    type Out = UserIdentity<'de>;
    fn field<A: MapAccess<'de>>(
        &self,
        u: &mut UserIdentity<'de>,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "type" => u.kind = lenient(map)?,
            "arn" => u.arn = lenient(map)?,
            "invokedBy" => u.invoked_by = lenient(map)?,
            "principalId" => u.principal_id = lenient(map)?,
            "accountId" => u.account_id = lenient(map)?,
            "userName" => u.user_name = lenient(map)?,
            "accessKeyId" => u.access_key_id = lenient(map)?,
            "sessionContext" => {
                u.issuer_user_name = map.next_value_seed(ObjectSeed(SessionContextFields))?
            }
            _ => {
                map.next_value::<Skip>()?;
            }
        }
        Ok(())
    }
}

/// `sessionContext.sessionIssuer.userName`
struct SessionContextFields;
impl<'de> Fields<'de> for SessionContextFields {
    type Out = Option<Str<'de>>;
    fn field<A: MapAccess<'de>>(
        &self,
        out: &mut Option<Str<'de>>,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "sessionIssuer" => *out = map.next_value_seed(ObjectSeed(OneField("userName")))?,
            _ => {
                map.next_value::<Skip>()?;
            }
        }
        Ok(())
    }
}

/// One string field of a nested object.
struct OneField(&'static str);
impl<'de> Fields<'de> for OneField {
    type Out = Option<Str<'de>>;
    fn field<A: MapAccess<'de>>(
        &self,
        out: &mut Option<Str<'de>>,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        if key == self.0 {
            *out = lenient(map)?;
        } else {
            map.next_value::<Skip>()?;
        }
        Ok(())
    }
}

/// `additionalEventData.MFAUsed`: real logs write "Yes", "YES", "No" and JSON booleans.
struct AdditionalFields;
impl<'de> Fields<'de> for AdditionalFields {
    type Out = Option<bool>;
    fn field<A: MapAccess<'de>>(
        &self,
        out: &mut Option<bool>,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        if key == "MFAUsed" {
            *out = match map.next_value::<BoolOrStr<'de>>()?.0 {
                Some(Ok(b)) => Some(b),
                Some(Err(s)) if s.eq_ignore_ascii_case("yes") => Some(true),
                Some(Err(s)) if s.eq_ignore_ascii_case("no") => Some(false),
                _ => None,
            };
        } else {
            map.next_value::<Skip>()?;
        }
        Ok(())
    }
}

/// A JSON bool (`Ok`), a string (`Err`, for the caller to read), or anything else (None).
struct BoolOrStr<'a>(Option<Result<bool, Str<'a>>>);

impl<'de> de::Deserialize<'de> for BoolOrStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BoolOrStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(BoolOrStr(Some(Ok(v))))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(BoolOrStr(Some(Err(Cow::Borrowed(v)))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(BoolOrStr(Some(Err(Cow::Owned(v.to_owned())))))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(BoolOrStr(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(BoolOrStr(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(BoolOrStr(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(BoolOrStr(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<Skip>()?.is_some() {}
                Ok(BoolOrStr(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<Skip, Skip>()?.is_some() {}
                Ok(BoolOrStr(None))
            }
        }
        d.deserialize_any(V)
    }
}

struct RequestFields;
impl<'de> Fields<'de> for RequestFields {
    type Out = (Option<Str<'de>>, Option<Str<'de>>);
    fn field<A: MapAccess<'de>>(
        &self,
        out: &mut Self::Out,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "bucketName" => out.0 = lenient(map)?,
            "key" => out.1 = lenient(map)?,
            _ => {
                map.next_value::<Skip>()?;
            }
        }
        Ok(())
    }
}

/// `resources`: an array of objects with `ARN`; anything else is no resources.
struct ResourcesSeed;
impl<'de> DeserializeSeed<'de> for ResourcesSeed {
    type Value = Vec<Str<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}
impl<'de> Visitor<'de> for ResourcesSeed {
    type Value = Vec<Str<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut arns = Vec::new();
        while let Some(arn) = seq.next_element_seed(ObjectSeed(OneField("ARN")))? {
            arns.extend(arn);
        }
        Ok(arns)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Vec::new())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
}

/// One element of an array of events: the object parsed as an event, and, when it has none of
/// an event's own fields, what it looks like instead.
struct Element<'a> {
    event: Event<'a>,
    not_an_event: Option<String>,
}

/// One event object (inside `Records`, an array, or a lookup-events string); a value that is not
/// an object is `Err` with what it is.
struct EventSeed;
impl<'de> DeserializeSeed<'de> for EventSeed {
    type Value = Result<Element<'de>, String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}
impl<'de> Visitor<'de> for EventSeed {
    type Value = Result<Element<'de>, String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a CloudTrail event object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut ev = Event::default();
        let mut other_keys = Vec::new();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if !event_field(&mut ev, &key.0, &mut map)? && other_keys.len() < 64 {
                other_keys.push(key.0.into_owned());
            }
        }
        let not_an_event = (!ev.looks_like_event()).then(|| describe_object(&other_keys));
        Ok(Ok(Element {
            event: ev,
            not_an_event,
        }))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Err("a JSON array, not an event object".into()))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Err("a JSON string, not an event object".into()))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Err("a JSON boolean, not an event object".into()))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Err("a JSON number, not an event object".into()))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Err("a JSON number, not an event object".into()))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Err("a JSON number, not an event object".into()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Err("JSON null, not an event object".into()))
    }
}

/// An array of events. Inside `Records` (the trail's own format) every object is taken as an
/// event; in a bare top-level array (`strict`) an element that is not event-like means the file
/// is some other JSON array, and the file is rejected with what element was found.
struct EventsSeed<'o, 'a> {
    out: &'o mut Vec<Event<'a>>,
    strict: bool,
    keep_raw: bool,
}

impl<'de, 'o> DeserializeSeed<'de> for EventsSeed<'o, 'de> {
    type Value = Result<(), String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'o> Visitor<'de> for EventsSeed<'o, 'de> {
    type Value = Result<(), String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of CloudTrail events")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut index = 0usize;
        let mut problem = None;
        loop {
            let element = if self.keep_raw {
                // Take the element's text first, then read the event from it.
                let Some(raw) = seq.next_element::<&'de serde_json::value::RawValue>()? else {
                    break;
                };
                let mut de = serde_json::Deserializer::from_str(raw.get());
                EventSeed
                    .deserialize(&mut de)
                    .map_err(de::Error::custom)?
                    .map(|mut e| {
                        e.event.raw = Some(Cow::Borrowed(raw.get()));
                        e
                    })
            } else {
                match seq.next_element_seed(EventSeed)? {
                    Some(element) => element,
                    None => break,
                }
            };
            match element {
                Ok(Element {
                    event,
                    not_an_event: None,
                }) => self.out.push(event),
                // Inside Records every object is an event (AWS's own format, fields may be
                // null); in a bare array it means the file is some other JSON.
                Ok(Element {
                    event,
                    not_an_event: Some(why),
                }) => {
                    if self.strict {
                        problem.get_or_insert_with(|| {
                            format!("a JSON array whose element {index} is {why}")
                        });
                    } else {
                        self.out.push(event);
                    }
                }
                Err(why) if self.strict => {
                    problem.get_or_insert_with(|| {
                        format!("a JSON array whose element {index} is {why}")
                    });
                }
                Err(why) => {
                    problem.get_or_insert_with(|| format!("\"Records\"[{index}] is {why}"));
                }
            }
            index += 1;
        }
        Ok(problem.map_or(Ok(()), Err))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Err("\"Records\" is null, not an array of events".into()))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Err(
            "\"Records\" is an object, not an array of events".into()
        ))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Err("\"Records\" is a string, not an array of events".into()))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Err(
            "\"Records\" is a boolean, not an array of events".into()
        ))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Err("\"Records\" is a number, not an array of events".into()))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Err("\"Records\" is a number, not an array of events".into()))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Err("\"Records\" is a number, not an array of events".into()))
    }
}

/// The `Events` array of `aws cloudtrail lookup-events`: each entry carries the full event as a
/// JSON string in `CloudTrailEvent`.
struct LookupSeed<'o, 'a> {
    out: &'o mut Vec<Event<'a>>,
    keep_raw: bool,
}

impl<'de, 'o> DeserializeSeed<'de> for LookupSeed<'o, 'de> {
    type Value = Result<(), String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'o> Visitor<'de> for LookupSeed<'o, 'de> {
    type Value = Result<(), String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("lookup-events output")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut index = 0usize;
        let mut problem: Option<String> = None;
        while let Some(entry) = seq.next_element_seed(ObjectSeed(OneField("CloudTrailEvent")))? {
            if problem.is_none() {
                match entry {
                    None => {
                        problem = Some(format!(
                            "\"Events\"[{index}] has no \"CloudTrailEvent\" string (not lookup-events output)"
                        ))
                    }
                    Some(text) if check_depth(text.as_bytes()).is_err() => {
                        problem = Some(format!("\"Events\"[{index}].CloudTrailEvent: {TOO_DEEP}"))
                    }
                    Some(text) => {
                        let mut de = serde_json::Deserializer::from_str(&text);
                        match EventSeed.deserialize(&mut de).and_then(|r| {
                            de.end()?;
                            Ok(r)
                        }) {
                            Ok(Ok(Element {
                                event,
                                not_an_event: None,
                            })) => {
                                let mut event = event.into_owned();
                                if self.keep_raw {
                                    event.raw = Some(Cow::Owned(text.trim().to_string()));
                                }
                                self.out.push(event)
                            }
                            Ok(Ok(Element {
                                not_an_event: Some(why),
                                ..
                            }))
                            | Ok(Err(why)) => {
                                problem =
                                    Some(format!("\"Events\"[{index}].CloudTrailEvent is {why}"))
                            }
                            Err(e) => {
                                problem = Some(format!(
                                    "\"Events\"[{index}].CloudTrailEvent: {}",
                                    json_error(&e)
                                ))
                            }
                        }
                    }
                }
            }
            index += 1;
        }
        Ok(problem.map_or(Ok(()), Err))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Err(
            "\"Events\" is an object, not lookup-events output".into()
        ))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Err(
            "\"Events\" is a string, not lookup-events output".into()
        ))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Err("\"Events\" is null, not lookup-events output".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<(Shape, Vec<Event<'_>>), String> {
        let mut out = Vec::new();
        let shape = parse_events(text.as_bytes(), &mut out, false)?.shape;
        Ok((shape, out))
    }

    #[test]
    fn records_file() {
        let (shape, evs) = parse(
            r#"{"Records":[{"eventTime":"2024-09-05T01:02:03Z","eventName":"A","userIdentity":{"type":"Root","arn":"arn:aws:iam::1:root"}},{"eventName":"B\u0041"}]}"#,
        )
        .unwrap();
        assert_eq!(shape, Shape::Records);
        assert_eq!(evs.len(), 2);
        assert!(matches!(evs[0].event_name, Some(Cow::Borrowed("A"))));
        assert_eq!(evs[1].event_name.as_deref(), Some("BA"));
        assert_eq!(evs[0].principal(), "arn:aws:iam::1:root");
    }

    #[test]
    fn unexpected_types_are_absent_not_errors() {
        let (_, evs) = parse(
            r#"[{"eventName":"X","requestParameters":"bucketName=x","userIdentity":{"arn":42,"type":"IAMUser"},"tlsDetails":"x","resources":{"ARN":"arn:aws:s3:::b"},"errorCode":"","awsRegion":null}]"#,
        )
        .unwrap();
        let e = &evs[0];
        assert_eq!(e.bucket_name, None);
        assert_eq!(e.user_identity.arn, None);
        assert_eq!(e.principal(), "IAMUser");
        assert_eq!(e.tls_host, None);
        assert!(e.resource_arns.is_empty());
        assert_eq!(e.error_code, None);
        assert_eq!(e.aws_region, None);
    }

    #[test]
    fn principal_fallbacks() {
        let (_, evs) = parse(
            r#"[{"eventName":"a","userIdentity":{"invokedBy":"s3.amazonaws.com","principalId":"P"}},
                {"eventName":"b","userIdentity":{"principalId":"P","accountId":"1"}},
                {"eventName":"c","userIdentity":{"accountId":"1","type":"AWSAccount"}},
                {"eventName":"d","userIdentity":{"type":"AWSService","arn":""}},
                {"eventName":"e"}]"#,
        )
        .unwrap();
        let p: Vec<_> = evs.iter().map(|e| e.principal()).collect();
        assert_eq!(p, ["s3.amazonaws.com", "P", "1", "AWSService", "unknown"]);
    }

    #[test]
    fn single_event_lines_and_pretty_stream() {
        let (shape, evs) =
            parse(r#"{"eventName":"One","eventTime":"2024-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!((shape, evs.len()), (Shape::Single, 1));
        let (shape, evs) = parse("{\"eventName\":\"A\"}\n\n{\"eventName\":\"B\"}\n").unwrap();
        assert_eq!((shape, evs.len()), (Shape::Lines, 2));
        let (shape, evs) =
            parse("{\n  \"eventName\": \"A\"\n}\n{\n  \"eventName\": \"B\"\n}\n").unwrap();
        assert_eq!((shape, evs.len()), (Shape::Lines, 2));
    }

    #[test]
    fn raw_text_kept_for_every_shape() {
        let raw = |text: &str| -> Vec<String> {
            let mut out = Vec::new();
            parse_events(text.as_bytes(), &mut out, true).unwrap();
            out.iter()
                .map(|e| e.raw.as_deref().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            raw(r#"{"Records":[{"eventName":"A"}, {"eventName":"B","x":[1, 2]}]}"#),
            [r#"{"eventName":"A"}"#, r#"{"eventName":"B","x":[1, 2]}"#]
        );
        assert_eq!(
            raw("[\n  {\"eventName\": \"A\"}\n]"),
            ["{\"eventName\": \"A\"}"]
        );
        assert_eq!(raw(" {\"eventName\":\"A\"}\n"), ["{\"eventName\":\"A\"}"]);
        assert_eq!(
            raw("{\"eventName\":\"A\"}\n{\"eventName\":\"B\"}\n"),
            ["{\"eventName\":\"A\"}", "{\"eventName\":\"B\"}"]
        );
        assert_eq!(
            raw(r#"{"Events":[{"CloudTrailEvent":"{\"eventName\":\"A\"}"}]}"#),
            [r#"{"eventName":"A"}"#]
        );
        // Without keep_raw nothing is kept.
        let mut out = Vec::new();
        parse_events(br#"[{"eventName":"A"}]"#, &mut out, false).unwrap();
        assert!(out[0].raw.is_none());
    }

    #[test]
    fn investigation_fields() {
        let (_, evs) = parse(
            r#"[{"eventName":"ConsoleLogin","readOnly":"TRUE","vpcEndpointId":"vpce-1","eventCategory":"Management",
                 "userIdentity":{"type":"AssumedRole","userName":"u","accessKeyId":"AKIA1","arn":"arn:aws:sts::1:assumed-role/Admin/alice",
                   "sessionContext":{"sessionIssuer":{"userName":"Admin"}}},
                 "responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"YES"}},
                {"eventName":"B","readOnly":false,"additionalEventData":{"MFAUsed":false},"responseElements":"x"},
                {"eventName":"C","readOnly":"maybe","additionalEventData":{"MFAUsed":"No"}},
                {"eventName":"D","readOnly":1,"additionalEventData":{"MFAUsed":"true"}}]"#,
        )
        .unwrap();
        let e = &evs[0];
        assert_eq!(
            (e.read_only, e.mfa_used, e.console_login.as_deref()),
            (Some(true), Some(true), Some("Success"))
        );
        assert_eq!(e.user_identity.issuer_user_name.as_deref(), Some("Admin"));
        assert_eq!(e.user_identity.access_key_id.as_deref(), Some("AKIA1"));
        assert_eq!(e.arn_last_segment(), Some("alice"));
        assert_eq!(
            (
                evs[1].read_only,
                evs[1].mfa_used,
                evs[1].console_login.as_deref()
            ),
            (Some(false), Some(false), None)
        );
        assert_eq!((evs[2].read_only, evs[2].mfa_used), (None, Some(false)));
        assert_eq!((evs[3].read_only, evs[3].mfa_used), (None, None));
    }

    #[test]
    fn lookup_events_output() {
        let text = r#"{"Events":[{"EventId":"x","CloudTrailEvent":"{\"eventName\":\"AssumeRole\",\"userIdentity\":{\"arn\":\"arn:a\"}}"}],"NextToken":"t"}"#;
        let (shape, evs) = parse(text).unwrap();
        assert_eq!(shape, Shape::LookupEvents);
        assert_eq!(evs[0].event_name.as_deref(), Some("AssumeRole"));
        assert_eq!(evs[0].principal(), "arn:a");
    }

    #[test]
    fn other_json_is_explained() {
        let digest = r#"{"awsAccountId":"1","digestStartTime":"x","digestS3Object":"y"}"#;
        assert!(parse(digest).unwrap_err().contains("digest"));
        let cw = r#"{"messageType":"DATA_MESSAGE","logGroup":"g","logEvents":[]}"#;
        assert!(parse(cw).unwrap_err().contains("CloudWatch Logs"));
        assert!(parse(r#"{"a":1,"b":2}"#).unwrap_err().contains("keys a, b"));
        assert!(parse(r#"[1,2]"#).unwrap_err().contains("element 0"));
        assert!(
            parse("{\"eventName\":\"A\"}\n{\"x\":1}\n")
                .unwrap_err()
                .contains("line 2")
        );
        assert!(
            parse(r#"{"Records":[{"eventName":"A"}"#)
                .unwrap_err()
                .starts_with("truncated JSON")
        );
        assert!(parse("   ").unwrap_err().contains("empty"));
        assert_eq!(
            parse(r#"{"Records":[{"eventName":"A"},5]}"#).unwrap_err(),
            "\"Records\"[1] is a JSON number, not an event object"
        );
        assert!(parse(r#"{"Records":null}"#).unwrap_err().contains("null"));
        // An object in Records is an event even when it has none of the usual fields.
        let (_, evs) = parse(r#"{"Records":[{"foo":1}]}"#).unwrap();
        assert_eq!(evs.len(), 1);
    }
}
