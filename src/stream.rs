//! Large trail files, read as a stream: the `Records` array is cut into events as the bytes
//! arrive, so a file of any size is processed in bounded memory.
//!
//! Whole-buffer reading is faster for the usual trail file of a few MB (libdeflate needs the
//! whole input), so only inputs above `LARGE` come here. The scanner tracks strings, escapes and
//! nesting depth to find where each event object ends, and hands each one to the same event
//! parser as the rest of ctq.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::event::{self, Event};

/// Inputs whose JSON is larger than this are streamed.
pub const LARGE: u64 = 256 << 20;

/// How much to read at a time.
pub const CHUNK: usize = 4 << 20;

/// Read a `{"Records":[…]}` document from `input`, calling `each` for every event in order.
/// Returns the number of JSON bytes read, or why the input cannot be read this way: `Ok(None)`
/// when it does not start as a trail file does (the caller reads it whole instead).
pub fn records(
    mut input: impl Read,
    keep_raw: bool,
    chunk: usize,
    mut each: impl FnMut(&Event<'_>),
) -> Result<Option<u64>, String> {
    let mut buf: Vec<u8> = Vec::with_capacity(chunk * 2);
    let mut start = 0usize; // first byte not yet consumed
    let mut total = 0u64;
    let mut eof = false;
    // Fill so that at least `want` unconsumed bytes are there (or the input ended).
    let mut fill = |buf: &mut Vec<u8>,
                    start: &mut usize,
                    eof: &mut bool,
                    total: &mut u64|
     -> Result<(), String> {
        if *start > 0 && *start >= buf.len() / 2 {
            buf.drain(..*start);
            *start = 0;
        }
        let old = buf.len();
        buf.resize(old + chunk, 0);
        let n = read_full(&mut input, &mut buf[old..]).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => {
                "truncated gzip data (the file ends before the compressed stream does)".to_string()
            }
            _ => format!("cannot read: {e}"),
        })?;
        buf.truncate(old + n);
        *total += n as u64;
        *eof = n == 0;
        Ok(())
    };

    // The opening: `{` "Records" `:` `[`, with any whitespace (and a UTF-8 BOM) between.
    while buf.len() < 64 && !eof {
        fill(&mut buf, &mut start, &mut eof, &mut total)?;
    }
    let head = buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&buf);
    let skipped = buf.len() - head.len();
    let Some(after) = opening(head) else {
        return Ok(None);
    };
    start = skipped + after;

    let mut index = 0usize;
    loop {
        // Between elements: whitespace, one comma, or the closing bracket.
        let pos = loop {
            match buf[start..]
                .iter()
                .position(|b| !b.is_ascii_whitespace() && *b != b',')
            {
                Some(p) => break start + p,
                None if eof => return Err(truncated()),
                None => {
                    start = buf.len();
                    fill(&mut buf, &mut start, &mut eof, &mut total)?;
                }
            }
        };
        start = pos;
        match buf[pos] {
            b']' => break,
            b'{' => {}
            _ => return Err(format!("\"Records\"[{index}] is not an event object")),
        }
        // Find the end of this object, reading more as needed.
        let mut scan = Scan::default();
        let end = loop {
            if let Some(end) = scan.object_end(&buf[start..]) {
                break start + end;
            }
            if eof {
                return Err(truncated());
            }
            fill(&mut buf, &mut start, &mut eof, &mut total)?;
        };
        let ev = event::parse_record(&buf[start..end], keep_raw)
            .map_err(|e| format!("\"Records\"[{index}]: {e}"))?;
        each(&ev);
        drop(ev);
        start = end;
        index += 1;
    }
    // Read to the end, so that a truncated or corrupt gzip stream is still noticed, and make
    // sure nothing but the closing brace follows.
    start += 1;
    loop {
        let rest = &buf[start..];
        if rest.iter().any(|b| !b.is_ascii_whitespace() && *b != b'}') {
            return Err("unexpected data after the \"Records\" array".into());
        }
        start = buf.len();
        if eof {
            break;
        }
        fill(&mut buf, &mut start, &mut eof, &mut total)?;
    }
    Ok(Some(total))
}

/// A reader for `path`, and the file's size, when it is large enough to be streamed: its JSON
/// (the gzip trailer's size, or the file's) is over `large` (ctq uses `LARGE`), or it is a gzip
/// file over `large / 8`.
pub fn open_large(path: &Path, large: u64) -> std::io::Result<Option<(Box<dyn Read>, u64)>> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    if len < large / 8 {
        return Ok(None);
    }
    let mut magic = [0u8; 2];
    f.read_exact(&mut magic)?;
    let gzip = magic == [0x1f, 0x8b];
    let json_size = if gzip {
        let mut trailer = [0u8; 4];
        f.seek(SeekFrom::End(-4))?;
        f.read_exact(&mut trailer)?;
        u64::from(u32::from_le_bytes(trailer)).max(len)
    } else {
        len
    };
    f.seek(SeekFrom::Start(0))?;
    let reader: Box<dyn Read> = match (gzip, json_size > large || gzip) {
        (true, true) => Box::new(MultiGzDecoder::new(BufReader::with_capacity(1 << 20, f))),
        (false, true) => Box::new(f),
        _ => return Ok(None),
    };
    Ok(Some((reader, len)))
}

fn truncated() -> String {
    "truncated JSON: the input ends inside the \"Records\" array".into()
}

fn read_full(input: &mut impl Read, out: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < out.len() {
        match input.read(&mut out[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Where the events start in `{ "Records" : [`, or None.
fn opening(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    let ws = |i: &mut usize| {
        while b.get(*i).is_some_and(u8::is_ascii_whitespace) {
            *i += 1;
        }
    };
    for token in [&b"{"[..], b"\"Records\"", b":", b"["] {
        ws(&mut i);
        if !b[i..].starts_with(token) {
            return None;
        }
        i += token.len();
    }
    Some(i)
}

/// Where an object ends, tracked across reads: depth, inside a string, after a backslash.
#[derive(Default)]
struct Scan {
    offset: usize,
    depth: usize,
    in_string: bool,
    escaped: bool,
}

impl Scan {
    /// The length of the object starting at `b[0]` (`{`), once all of it is in `b`.
    fn object_end(&mut self, b: &[u8]) -> Option<usize> {
        while self.offset < b.len() {
            let c = b[self.offset];
            self.offset += 1;
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if c == b'\\' {
                    self.escaped = true;
                } else if c == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match c {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth -= 1;
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

    fn names(text: &str, chunk: usize) -> Result<Option<Vec<String>>, String> {
        let mut out = Vec::new();
        let r = records(text.as_bytes(), false, chunk, |e| {
            out.push(e.event_name.as_deref().unwrap_or("-").to_string())
        })?;
        Ok(r.map(|_| out))
    }

    #[test]
    fn events_cut_at_any_chunk_size() {
        let text = "\u{feff} { \"Records\" : [ {\"eventName\":\"A\",\"x\":\"} ] { \\\" [\"},\n{\"eventName\":\"B\\u0041\",\"n\":{\"m\":[1,{\"k\":2}]}} , {\"eventName\":\"C\"}\n] }\n";
        for chunk in [1, 2, 3, 7, 64, 4096] {
            assert_eq!(
                names(text, chunk).unwrap().unwrap(),
                ["A", "BA", "C"],
                "chunk {chunk}"
            );
        }
        assert_eq!(
            names("{\"Records\":[]}", 3).unwrap().unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn other_documents_are_left_to_the_whole_buffer_reader() {
        assert_eq!(names("[{\"eventName\":\"A\"}]", 8).unwrap(), None);
        assert_eq!(names("{\"Events\":[]}", 8).unwrap(), None);
    }

    #[test]
    fn a_gzipped_trail_file_streams_like_it_reads_whole() {
        use std::io::Write;
        let text = r#"{"Records":[{"eventName":"A","eventTime":"2024-09-05T10:00:00Z"},{"eventName":"B","userIdentity":{"type":"Root"}}]}"#;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(text.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.json.gz");
        std::fs::write(&path, &gz).unwrap();
        assert!(
            open_large(&path, LARGE).unwrap().is_none(),
            "small files are read whole"
        );
        let (reader, len) = open_large(&path, 16).unwrap().expect("over the threshold");
        assert_eq!(len, gz.len() as u64);
        let mut streamed = Vec::new();
        let bytes = records(reader, true, 5, |e| {
            streamed.push(e.raw.as_deref().unwrap().to_string())
        })
        .unwrap();
        assert_eq!(bytes, Some(text.len() as u64));
        let mut whole = Vec::new();
        event::parse_events(text.as_bytes(), &mut whole, true).unwrap();
        let whole: Vec<String> = whole
            .iter()
            .map(|e| e.raw.as_deref().unwrap().to_string())
            .collect();
        assert_eq!(streamed, whole);
        // Cut short: the gzip error is reported, not a partial success.
        std::fs::write(&path, &gz[..gz.len() - 10]).unwrap();
        let (reader, _) = open_large(&path, 16).unwrap().unwrap();
        let err = records(reader, false, 5, |_| {}).unwrap_err();
        assert!(
            err.contains("truncated gzip") || err.contains("cannot read"),
            "{err}"
        );
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
            ("{\"Records\":[]} trailing", "unexpected data"),
        ] {
            let err = names(text, 5).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
    }
}
