//! The shapes a decoded input can come in, and the parsers that read them.
//!
//! A trail file (`{"Records":[…]}`), a bare array of events, one event, events one after another
//! (newline-delimited or pretty-printed), `aws cloudtrail lookup-events` output, and several
//! documents one after another. The skim (`skim`) reads a plain trail file, the input ctq reads
//! most; sonic-rs whatever the skim does not settle; serde_json again whatever sonic-rs does not
//! finish cleanly, and every input whose events are kept raw: all three agree, and the messages
//! are serde_json's.

use std::borrow::Cow;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::de::{Element, EventSeed, Key, describe_object, event_field, string_at};
use super::json::{
    Any, Kind, MAX_HELD, Skip, TOO_DEEP, TOO_MANY, check_depth, is_json_space, is_too_deep,
    json_error, line_of, utf8, visit_others, with_sonic,
};
use super::{Event, skim};

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
    parse_with(text, out, keep_raw, true)
}

/// `parse_events` without the skim (`skim`): only the general parsers. For the tests that hold
/// the two to the same events, and the benchmark that compares them.
#[doc(hidden)]
pub fn parse_events_general<'a>(
    text: &'a [u8],
    out: &mut Vec<Event<'a>>,
) -> Result<Parsed, String> {
    parse_with(text, out, false, false)
}

fn parse_with<'a>(
    text: &'a [u8],
    out: &mut Vec<Event<'a>>,
    keep_raw: bool,
    skim: bool,
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
    // A plain trail file is settled by the skim, which checks UTF-8 itself (BENCHMARKS.md, "The
    // skim"): about 1.8x as fast as sonic-rs with ctq's serde visitors.
    if skim {
        if skim::records(text, out, keep_raw).is_ok() {
            return one(Shape::Records);
        }
        out.clear();
    }
    // Next, sonic-rs, a SIMD JSON parser about 1.5x as fast here as serde_json, for one value of
    // any shape. Anything it does not finish cleanly (several values, invalid JSON) is read
    // again below by serde_json, whose streaming and error messages ctq relies on, so the
    // parsers agree on what a file holds.
    utf8(text)?;
    if !keep_raw {
        if let Some(top) = sonic_first(text, Any(TopSeed { out, keep_raw })) {
            return top.and_then(top_shape).and_then(one);
        }
        out.clear();
    }
    check_depth(text)?;
    let mut de = serde_json::Deserializer::from_slice(text);
    let shape = match Any(TopSeed { out, keep_raw }).deserialize(&mut de) {
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
        if out.len() >= MAX_HELD {
            return Err(TOO_MANY.to_string());
        }
        let offset = stream.byte_offset();
        let raw = match stream.next() {
            None => break,
            Some(Ok(raw)) => raw,
            Some(Err(e)) => return Err(json_error(&e)),
        };
        let mut de = serde_json::Deserializer::from_str(raw.get());
        let top = Any(TopSeed { out, keep_raw })
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

/// The first of the two parsers: sonic-rs reads all of `text` with `seed`. `Some` when that
/// settles it (the whole text read cleanly, or nested too deep for either parser), `None` when
/// serde_json must read the text again.
fn sonic_first<'de, S: DeserializeSeed<'de>>(
    text: &'de [u8],
    seed: S,
) -> Option<Result<S::Value, String>> {
    let mut de = sonic_rs::Deserializer::from_slice(text);
    match with_sonic(|| seed.deserialize(&mut de)) {
        Ok(value) if de.end().is_ok() => Some(Ok(value)),
        Err(e) if is_too_deep(&e) => Some(Err(format!("{TOO_DEEP} (line {})", e.line()))),
        _ => None,
    }
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

/// One element of an array of events, for the streaming reader: an object is an event (with
/// `raw` kept on request). Anything else is an error saying what it is; so is, with `strict` (a
/// bare top-level array rather than `Records`), an object with none of an event's own fields.
pub fn parse_element(bytes: &[u8], keep_raw: bool, strict: bool) -> Result<Event<'_>, String> {
    if let Ok(mut event) = skim::element(bytes, strict, keep_raw) {
        if keep_raw {
            event.raw = Some(Cow::Borrowed(
                simdutf8::basic::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())?,
            ));
        }
        return Ok(event);
    }
    utf8(bytes)?;
    if !keep_raw {
        match sonic_first(bytes, Any(EventSeed)) {
            Some(Ok(Ok(element))) => return element_event(element, strict),
            Some(Err(why)) => return Err(why),
            _ => {}
        }
    }
    check_depth(bytes)?;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match Any(EventSeed)
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

/// A top-level value: a trail document, lookup-events output, an array of events or one event.
struct TopSeed<'o, 'a> {
    out: &'o mut Vec<Event<'a>>,
    keep_raw: bool,
}

impl<'de, 'o> Visitor<'de> for TopSeed<'o, 'de> {
    type Value = Top;
    visit_others!(
        "CloudTrail events",
        |kind: Kind| Top::Other(format!("{}, not CloudTrail events", kind.json_noun()));
        Null Bool Number Str
    );

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
                    records = Some(map.next_value_seed(Any(EventsSeed {
                        out: &mut *self.out,
                        strict: false,
                        keep_raw: self.keep_raw,
                    }))?);
                }
                // A trail file's "Records" take precedence over lookup-events' "Events".
                "Events" if records.is_some() => {
                    map.next_value::<Skip>()?;
                }
                "Events" => {
                    self.out.truncate(base);
                    lookup = Some(map.next_value_seed(Any(LookupSeed {
                        out: &mut *self.out,
                        keep_raw: self.keep_raw,
                    }))?)
                }
                k => {
                    if !event_field(&mut ev, k, &mut map)? && other_keys.len() < 64 {
                        other_keys.push(k.to_string());
                    }
                }
            }
        }
        ev.settle();
        // `Records` first, then `Events`: what each read, or why it could not.
        let read = (records.map(|r| (r, Top::Records))).or(lookup.map(|r| (r, Top::Lookup)));
        if let Some((result, top)) = read {
            return Ok(result.map_or_else(Top::Other, |()| top));
        }
        if ev.looks_like_event() {
            self.out.push(ev);
            return Ok(Top::Event);
        }
        Ok(Top::Other(describe_object(&other_keys)))
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

impl<'de, 'o> Visitor<'de> for EventsSeed<'o, 'de> {
    type Value = Result<(), String>;
    visit_others!(
        "an array of CloudTrail events",
        |kind| not_an_array("Records", kind, "an array of events");
        Null Bool Number Str Object
    );
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut index = 0usize;
        let mut problem = None;
        loop {
            if self.out.len() >= MAX_HELD {
                return Err(serde::de::Error::custom(TOO_MANY));
            }
            let element = if self.keep_raw {
                // Take the element's text first, then read the event from it.
                let Some(raw) = seq.next_element::<&'de serde_json::value::RawValue>()? else {
                    break;
                };
                let mut de = serde_json::Deserializer::from_str(raw.get());
                Any(EventSeed)
                    .deserialize(&mut de)
                    .map_err(serde::de::Error::custom)?
                    .map(|mut e| {
                        e.event.raw = Some(Cow::Borrowed(raw.get()));
                        e
                    })
            } else {
                match seq.next_element_seed(Any(EventSeed))? {
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
}

/// `"Records" is a string, not an array of events`: the member `key` holds a `kind` of value.
fn not_an_array(key: &str, kind: Kind, expected: &str) -> Result<(), String> {
    Err(format!("\"{key}\" is {}, not {expected}", kind.noun()))
}

/// What lookup-events output is, in messages.
const LOOKUP: &str = "lookup-events output";

/// The `Events` array of `aws cloudtrail lookup-events`: each entry carries the full event as a
/// JSON string in `CloudTrailEvent`.
struct LookupSeed<'o, 'a> {
    out: &'o mut Vec<Event<'a>>,
    keep_raw: bool,
}

impl<'de, 'o> Visitor<'de> for LookupSeed<'o, 'de> {
    type Value = Result<(), String>;
    visit_others!(LOOKUP, |kind| not_an_array("Events", kind, LOOKUP); Null Str Object);
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut index = 0usize;
        let mut problem: Option<String> = None;
        while let Some(entry) = seq.next_element_seed(string_at(&["CloudTrailEvent"]))? {
            if self.out.len() >= MAX_HELD {
                return Err(serde::de::Error::custom(TOO_MANY));
            }
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
                        match Any(EventSeed).deserialize(&mut de).and_then(|r| {
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
