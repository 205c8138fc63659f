//! Large inputs, read as a stream: arrays of events are cut into single events as the bytes
//! arrive, so an input of any size is read in bounded memory.
//!
//! Whole-buffer reading is faster for the usual trail file of a few MB (libdeflate needs the
//! whole input), so only inputs whose JSON is over `decode::WHOLE` come here. The scanner tracks
//! strings, escapes and nesting to find where each value ends (iteratively: no nesting depth can
//! overflow the stack), and hands each event to the same event parser as the rest of ctq
//! (`shape::parse_element`).
//!
//! Every shape the whole-buffer reader accepts is accepted here, with the same meaning: the
//! elements of `"Records"` and of a top-level array are streamed one by one; any other top-level
//! value (one event, lookup-events output, something else) is read whole, up to `MAX_VALUE`
//! bytes, and parsed by `shape::parse_events`. Whitespace between values is dropped as it is
//! read, so padding costs time (bounded by the size and ratio caps) but never memory.

use std::io::Read;

use super::Event;
use super::json::{check_value, is_json_space, json_error};
use super::shape::{Shape, parse_element, parse_events};
use crate::decode::{human_size, read_error};

/// How much to read at a time.
pub const CHUNK: usize = 4 << 20;

/// The largest single event, or other top-level value that is not an array of events, that is
/// read: real events are a few KB (CloudTrail omits request fields over 100 KB).
pub const MAX_VALUE: usize = crate::decode::WHOLE;

/// Where the events of a stream go.
pub trait Sink {
    fn event(&mut self, ev: &Event<'_>);
    /// A `"Records"` key seen again in the same document: forget the events of the earlier one
    /// (the last one wins, as in serde_json and jq).
    fn restart_document(&mut self);
    /// A top-level value read to its end.
    fn end_value(&mut self);
}

/// What a stream held, besides its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Streamed {
    /// JSON bytes read.
    pub json_bytes: u64,
    /// As `shape::Parsed`: top-level values, and how many of them were documents.
    pub values: usize,
    pub documents: usize,
}

/// Read every event of `input`, in order.
pub fn read(
    input: impl Read,
    keep_raw: bool,
    chunk: usize,
    sink: &mut impl Sink,
) -> Result<Streamed, String> {
    let mut r = Reader {
        input,
        buf: Vec::with_capacity(chunk * 2),
        start: 0,
        eof: false,
        total: 0,
        chunk,
    };
    r.fill_to(3)?;
    if r.buf.starts_with(b"\xEF\xBB\xBF") {
        r.start = 3;
    }
    let (mut values, mut documents) = (0usize, 0usize);
    while let Some(first) = r.next_token()? {
        if !matches!(
            first,
            b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n'
        ) {
            // Not JSON at all (a gzip of zeros, a binary file): say so at once instead of
            // reading on.
            let at = r.total - (r.buf.len() - r.start) as u64;
            let what = if first.is_ascii_graphic() {
                format!("'{}'", first as char)
            } else {
                format!("byte 0x{first:02x}")
            };
            return Err(in_value(
                values,
                &format!("invalid JSON: {what} at offset {at}, where a JSON value should start"),
            ));
        }
        let document = match first {
            b'{' if r.records_opening()? => {
                r.records(keep_raw, sink)?;
                true
            }
            b'[' => {
                r.start += 1;
                r.elements(keep_raw, true, sink)?;
                true
            }
            _ => {
                let (s, e) = r.value_end(MAX_VALUE, "a top-level JSON value")?;
                let mut events = Vec::new();
                let parsed = parse_events(&r.buf[s..e], &mut events, keep_raw)
                    .map_err(|why| in_value(values, &why))?;
                for ev in &events {
                    sink.event(ev);
                }
                r.start = e;
                parsed.shape != Shape::Single
            }
        };
        sink.end_value();
        values += 1;
        documents += usize::from(document);
    }
    if values == 0 {
        return Err("empty file (no JSON)".into());
    }
    Ok(Streamed {
        json_bytes: r.total,
        values,
        documents,
    })
}

/// A message about the `index`th top-level value, numbered from 1 as people count, when the
/// input holds several.
fn in_value(index: usize, why: &str) -> String {
    if index == 0 {
        why.to_string()
    } else {
        format!("value {}: {why}", index + 1)
    }
}

struct Reader<R> {
    input: R,
    buf: Vec<u8>,
    /// The first byte not yet consumed.
    start: usize,
    eof: bool,
    /// Bytes read from the input.
    total: u64,
    chunk: usize,
}

impl<R: Read> Reader<R> {
    /// Read one more chunk, first dropping what was consumed when that is at least half the
    /// buffer (so consumed bytes never pile up). Offsets relative to `start` stay valid.
    fn fill(&mut self) -> Result<(), String> {
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + self.chunk, 0);
        let mut n = 0;
        let result = loop {
            match self.input.read(&mut self.buf[old + n..]) {
                Ok(0) => break Ok(()),
                Ok(k) => {
                    n += k;
                    if old + n == self.buf.len() {
                        break Ok(());
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Err(read_error(&e)),
            }
        };
        self.buf.truncate(old + n);
        self.total += n as u64;
        self.eof = n == 0;
        result
    }

    /// Make at least `n` unconsumed bytes available, unless the input ends first.
    fn fill_to(&mut self, n: usize) -> Result<(), String> {
        while self.buf.len() - self.start < n && !self.eof {
            self.fill()?;
        }
        Ok(())
    }

    /// The byte `k` past `start`, reading more as needed; None at the end of the input.
    fn at(&mut self, k: usize) -> Result<Option<u8>, String> {
        self.fill_to(k + 1)?;
        Ok(self.buf.get(self.start + k).copied())
    }

    /// Skip whitespace (dropping it) and return the next byte without consuming it.
    fn next_token(&mut self) -> Result<Option<u8>, String> {
        loop {
            if let Some(p) = self.buf[self.start..]
                .iter()
                .position(|b| !is_json_space(b))
            {
                self.start += p;
                return Ok(Some(self.buf[self.start]));
            }
            self.start = self.buf.len();
            if self.eof {
                return Ok(None);
            }
            self.fill()?;
        }
    }

    /// Whether the object at `start` opens with `{ "Records" : [`; when it does, consume that.
    /// The look-ahead is bounded: whitespace padding past `MAX_VALUE` is an error.
    fn records_opening(&mut self) -> Result<bool, String> {
        let mut k = 1;
        for token in [&b"\"Records\""[..], b":", b"["] {
            while self.at(k)?.is_some_and(|b| is_json_space(&b)) {
                k += 1;
                if k > MAX_VALUE {
                    return Err(over(MAX_VALUE, "a top-level JSON object"));
                }
            }
            for (i, &expected) in token.iter().enumerate() {
                if self.at(k + i)? != Some(expected) {
                    return Ok(false);
                }
            }
            k += token.len();
        }
        self.start += k;
        Ok(true)
    }

    /// The rest of a trail document after `{"Records":[`: its events, then any other members
    /// (a second "Records" replaces the first), then the closing brace.
    fn records(&mut self, keep_raw: bool, sink: &mut impl Sink) -> Result<(), String> {
        self.elements(keep_raw, false, sink)?;
        loop {
            match self.next_token()? {
                Some(b'}') => {
                    self.start += 1;
                    return Ok(());
                }
                Some(b',') => self.start += 1,
                None => return Err(truncated()),
                Some(_) => return Err("invalid JSON after the \"Records\" array".into()),
            }
            // One more member: its key, a colon, its value.
            if self.next_token()? != Some(b'"') {
                return Err("invalid JSON after the \"Records\" array".into());
            }
            let (s, e) = self.value_end(MAX_VALUE, "an object key")?;
            // Decoded as JSON: "Rec\u006frds" is "Records" too.
            let is_records = serde_json::from_slice::<String>(&self.buf[s..e])
                .map_err(|e| json_error(&e))?
                == "Records";
            self.start = e;
            if self.next_token()? != Some(b':') {
                return Err("invalid JSON after the \"Records\" array".into());
            }
            self.start += 1;
            match self.next_token()? {
                Some(b'[') if is_records => {
                    self.start += 1;
                    sink.restart_document();
                    self.elements(keep_raw, false, sink)?;
                }
                Some(_) => {
                    let (s, e) = self.value_end(MAX_VALUE, "a JSON value")?;
                    if is_records {
                        return Err("\"Records\" is not an array of events".into());
                    }
                    // Not read, but it must be JSON, as the whole-buffer reader requires.
                    check_value(&self.buf[s..e])?;
                    self.start = e;
                }
                None => return Err(truncated()),
            }
        }
    }

    /// The elements of an array whose `[` is consumed, through its `]`. In `Records` every
    /// object is an event; in a bare array (`strict`) an object that is not event-like means the
    /// input is some other JSON.
    fn elements(
        &mut self,
        keep_raw: bool,
        strict: bool,
        sink: &mut impl Sink,
    ) -> Result<(), String> {
        let name = |index: usize| {
            if strict {
                format!("element {index} of the top-level array")
            } else {
                format!("\"Records\"[{index}]")
            }
        };
        let mut index = 0usize;
        loop {
            // Between elements: whitespace, one comma, or the closing bracket.
            match self.next_token()? {
                Some(b']') => {
                    self.start += 1;
                    return Ok(());
                }
                Some(b',') if index > 0 => {
                    self.start += 1;
                    match self.next_token()? {
                        Some(b'{') => {}
                        Some(_) => return Err(format!("{} is not an event object", name(index))),
                        None => return Err(truncated()),
                    }
                }
                Some(b'{') if index == 0 => {}
                Some(_) => return Err(format!("{} is not an event object", name(index))),
                None => return Err(truncated()),
            }
            let (s, e) = self.value_end(MAX_VALUE, "an event")?;
            let ev = parse_element(&self.buf[s..e], keep_raw, strict).map_err(|why| {
                if strict {
                    format!("a JSON array whose element {index} is {why}")
                } else {
                    format!("{}: {why}", name(index))
                }
            })?;
            sink.event(&ev);
            drop(ev);
            self.start = e;
            index += 1;
        }
    }

    /// Where the value at `start` ends, as `(start, end)` offsets into `buf`, reading more as
    /// needed; an error past `max` bytes (`what` names the value in the message).
    fn value_end(&mut self, max: usize, what: &str) -> Result<(usize, usize), String> {
        let mut scan = Scan::default();
        loop {
            if let Some(len) = scan.value_end(&self.buf[self.start..], self.eof) {
                return Ok((self.start, self.start + len));
            }
            if self.buf.len() - self.start > max {
                return Err(over(max, what));
            }
            if self.eof {
                return Err(truncated());
            }
            self.fill()?;
        }
    }
}

fn over(max: usize, what: &str) -> String {
    format!(
        "{what} larger than {}, the most ctq reads as one value; skipped",
        human_size(max as u64)
    )
}

fn truncated() -> String {
    "truncated JSON: the input ends inside a value".into()
}

/// Where a value ends, tracked across reads: nesting depth, inside a string, after a backslash.
#[derive(Default)]
struct Scan {
    offset: usize,
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// The value is a bare scalar (number, literal): it ends at the first delimiter.
    scalar: bool,
}

impl Scan {
    /// The length of the value starting at `b[0]`, once all of it is in `b`.
    fn value_end(&mut self, b: &[u8], eof: bool) -> Option<usize> {
        if self.offset == 0 {
            match b.first()? {
                b'{' | b'[' | b'"' => {}
                _ => self.scalar = true,
            }
        }
        if self.scalar {
            while self.offset < b.len() {
                if matches!(b[self.offset], b',' | b']' | b'}' | b'[' | b'{' | b'"')
                    || is_json_space(&b[self.offset])
                {
                    return Some(self.offset.max(1));
                }
                self.offset += 1;
            }
            return eof.then_some(self.offset);
        }
        while self.offset < b.len() {
            if self.escaped {
                // The byte after a backslash that ended the previous read.
                self.escaped = false;
                self.offset += 1;
                continue;
            }
            if self.in_string {
                // Inside a string only `"` and `\` matter: jump to the next of them.
                match memchr::memchr2(b'"', b'\\', &b[self.offset..]) {
                    None => {
                        self.offset = b.len();
                        return None;
                    }
                    Some(p) => {
                        self.offset += p;
                        if b[self.offset] == b'\\' {
                            if self.offset + 1 >= b.len() {
                                // The escaped byte is in the next read.
                                self.escaped = true;
                                self.offset += 1;
                                return None;
                            }
                            self.offset += 2;
                        } else {
                            self.offset += 1;
                            self.in_string = false;
                            if self.depth == 0 {
                                return Some(self.offset);
                            }
                        }
                        continue;
                    }
                }
            }
            let c = b[self.offset];
            self.offset += 1;
            match c {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        return Some(self.offset);
                    }
                }
                _ => {}
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Names(Vec<String>);

    impl Sink for Names {
        fn event(&mut self, e: &Event<'_>) {
            self.0
                .push(e.event_name.as_deref().unwrap_or("-").to_string());
        }
        fn restart_document(&mut self) {
            self.0.push("<restart>".into());
        }
        fn end_value(&mut self) {}
    }

    fn names(text: &str, chunk: usize) -> Result<Vec<String>, String> {
        let mut out = Names::default();
        read(text.as_bytes(), false, chunk, &mut out)?;
        Ok(out.0)
    }

    #[test]
    fn events_cut_at_any_chunk_size() {
        let text = "\u{feff} { \"Records\" : [ {\"eventName\":\"A\",\"x\":\"} ] { \\\" [\"},\n{\"eventName\":\"B\\u0041\",\"n\":{\"m\":[1,{\"k\":2}]}} , {\"eventName\":\"C\"}\n] }\n";
        for chunk in [1, 2, 3, 7, 64, 4096] {
            assert_eq!(
                names(text, chunk).unwrap(),
                ["A", "BA", "C"],
                "chunk {chunk}"
            );
        }
        assert_eq!(names("{\"Records\":[]}", 3).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn every_shape_streams() {
        for chunk in [1, 5, 4096] {
            // A bare array, one event, events one after another, lookup-events output.
            assert_eq!(
                names("[{\"eventName\":\"A\"},{\"eventName\":\"B\"}]", chunk).unwrap(),
                ["A", "B"]
            );
            assert_eq!(names(" {\"eventName\":\"A\"} ", chunk).unwrap(), ["A"]);
            assert_eq!(
                names("{\"eventName\":\"A\"}\n{\"eventName\":\"B\"}\n", chunk).unwrap(),
                ["A", "B"]
            );
            let lookup = r#"{"Events":[{"CloudTrailEvent":"{\"eventName\":\"L\"}"}]}"#;
            assert_eq!(names(lookup, chunk).unwrap(), ["L"]);
            // Concatenated trail files, and a repeated "Records" key (the last one wins).
            let two = "{\"Records\":[{\"eventName\":\"A\"}]}{\"Records\":[{\"eventName\":\"B\"}]}";
            assert_eq!(names(two, chunk).unwrap(), ["A", "B"]);
            let dup = "{\"Records\":[{\"eventName\":\"A\"}],\"x\":{\"y\":[1]},\"Records\":[{\"eventName\":\"B\"}]}";
            assert_eq!(names(dup, chunk).unwrap(), ["A", "<restart>", "B"]);
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!(
            "{{\"Records\":[{{\"eventName\":\"A\",\"requestParameters\":{}{}}}]}}",
            "[".repeat(50_000),
            "]".repeat(50_000)
        );
        let err = names(&deep, 4096).unwrap_err();
        assert!(err.contains("nested more than 100 levels"), "{err}");
    }

    #[test]
    fn broken_input_is_an_error() {
        for (text, why) in [
            ("{\"Records\":[{\"eventName\":\"A\"}", "truncated"),
            ("{\"Records\":[{\"eventName\":\"A\"", "truncated"),
            (
                "{\"Records\":[{\"eventName\":\"A\"}, 5]}",
                "[1] is not an event object",
            ),
            ("{\"Records\":[{\"eventName\": A}]}", "[0]: invalid JSON"),
            ("{\"Records\":[]} trailing", "invalid JSON"),
            (
                "[{\"eventName\":\"A\"},{\"digestStartTime\":1}]",
                "element 1",
            ),
            ("", "empty file"),
            ("\u{0}\u{0}\u{0}", "invalid JSON"),
        ] {
            let err = names(text, 5).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
    }
}
