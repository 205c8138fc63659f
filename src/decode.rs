//! Bytes to JSON text: gzip is recognised by its magic bytes, never by the file name, and no
//! input can inflate without a bound.
//!
//! Two ways in. An input whose JSON fits in `WHOLE` bytes is decompressed into one buffer (the
//! fast path: libdeflate needs the whole input, and a trail file is a few MB). Anything larger
//! goes through `stream_reader`, a streaming decoder behind `Capped`, which stops at
//! `--max-decompressed-size` and at a compression ratio no real log reaches (`MAX_RATIO`).

use std::cell::Cell;
use std::io::{self, BufRead, BufReader, Read};
use std::ptr::NonNull;
use std::rc::Rc;

use flate2::read::MultiGzDecoder;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Inputs whose JSON is at most this large are read into one buffer; larger ones stream.
pub const WHOLE: usize = 64 << 20;

/// The default `--max-decompressed-size`: JSON bytes one input may inflate to.
pub const DEFAULT_MAX_JSON: u64 = 4 << 30;

/// JSON bytes per compressed byte beyond which an input is a decompression bomb. CloudTrail's
/// gzip files inflate 10–30 times; deflate's own ceiling is about 1032.
pub const MAX_RATIO: u64 = 1000;

/// The ratio is only checked past this many JSON bytes: a tiny file may inflate a lot, harmlessly.
const RATIO_FLOOR: u64 = WHOLE as u64;

pub fn is_gzip(raw: &[u8]) -> bool {
    raw.starts_with(&GZIP_MAGIC)
}

/// A libdeflate decompressor, kept by one worker from file to file.
///
/// libdeflate decompresses a whole buffer about 1.2x as fast as flate2's fastest backend here
/// (BENCHMARKS.md); a trail file is one gzip member whose trailer gives its size, so the output
/// buffer can be sized exactly. Anything else goes to flate2's streaming decoder.
pub struct Inflater(NonNull<libdeflate_sys::libdeflate_decompressor>);

// SAFETY: a libdeflate decompressor has no thread affinity; `Inflater` owns it exclusively and
// only `&mut self` methods use it, so moving it to another thread is sound.
unsafe impl Send for Inflater {}

impl Default for Inflater {
    fn default() -> Self {
        // SAFETY: no preconditions; a null result (out of memory) is checked below.
        let p = unsafe { libdeflate_sys::libdeflate_alloc_decompressor() };
        Inflater(NonNull::new(p).expect("libdeflate: out of memory"))
    }
}

impl Drop for Inflater {
    fn drop(&mut self) {
        // SAFETY: the pointer came from libdeflate_alloc_decompressor and is freed only here.
        unsafe { libdeflate_sys::libdeflate_free_decompressor(self.0.as_ptr()) }
    }
}

impl Inflater {
    /// Decompress `raw` into `out` when it is exactly one gzip member of the size its trailer
    /// says; false (with `out` unspecified) for anything else: several members, more than 4 GiB,
    /// truncated or corrupt data.
    fn single_member(&mut self, raw: &[u8], out: &mut Vec<u8>, limit: usize) -> bool {
        if raw.len() < 18 {
            return false;
        }
        let isize = u32::from_le_bytes(raw[raw.len() - 4..].try_into().unwrap()) as usize;
        // The trailer may lie (it is the size mod 2^32, and anyone can write it): it only sizes
        // the buffer, which libdeflate never writes past, and never beyond `limit`.
        if isize > limit || isize > raw.len().saturating_mul(1032) {
            return false; // deflate expands at most ~1032:1; anything more is not this trailer
        }
        out.clear();
        out.reserve(isize);
        let (mut in_used, mut out_len) = (0usize, 0usize);
        // SAFETY: the input and output pointers and lengths describe live buffers (the output is
        // the vector's spare capacity); libdeflate writes at most `capacity` bytes and reports
        // how many, and only that many are then marked initialised.
        let ret = unsafe {
            libdeflate_sys::libdeflate_gzip_decompress_ex(
                self.0.as_ptr(),
                raw.as_ptr().cast(),
                raw.len(),
                out.as_mut_ptr().cast(),
                out.capacity(),
                &mut in_used,
                &mut out_len,
            )
        };
        if ret == libdeflate_sys::libdeflate_result_LIBDEFLATE_SUCCESS && in_used == raw.len() {
            // SAFETY: libdeflate initialised the first `out_len <= capacity` bytes.
            unsafe { out.set_len(out_len) };
            true
        } else {
            out.clear();
            false
        }
    }
}

/// What `decode` made of a buffer.
pub enum Decoded<'b> {
    /// The whole JSON text, at most `limit` bytes.
    Whole(&'b [u8]),
    /// More than `limit` bytes of JSON: read it with `stream_reader` instead.
    TooLarge,
}

/// The decoded text of `raw`: `raw` itself when it is not gzip, otherwise its decompression into
/// `scratch` (reused between files by the caller). Concatenated gzip members are all read. Never
/// holds more than `limit` bytes of JSON.
pub fn decode<'b>(
    raw: &'b [u8],
    scratch: &'b mut Vec<u8>,
    inflater: &mut Inflater,
    limit: usize,
) -> Result<Decoded<'b>, String> {
    if !is_gzip(raw) {
        return Ok(if raw.len() > limit {
            Decoded::TooLarge
        } else {
            Decoded::Whole(raw)
        });
    }
    if inflater.single_member(raw, scratch, limit) {
        return Ok(Decoded::Whole(&scratch[..]));
    }
    scratch.clear();
    // The trailer's ISIZE is the uncompressed size mod 2^32 of the last member: a good hint for
    // the usual single-member file, harmless otherwise.
    if raw.len() >= 18 {
        let isize = u32::from_le_bytes(raw[raw.len() - 4..].try_into().unwrap()) as usize;
        scratch.reserve(isize.min(limit));
    }
    MultiGzDecoder::new(raw)
        .take(limit as u64 + 1)
        .read_to_end(scratch)
        .map_err(|e| read_error(&e))?;
    Ok(if scratch.len() > limit {
        scratch.clear();
        scratch.shrink_to(WHOLE);
        Decoded::TooLarge
    } else {
        Decoded::Whole(&scratch[..])
    })
}

/// A streaming reader of the JSON in `input`, whose first bytes are `head` (already read, to
/// tell gzip from text). It fails with `read_error`'s messages once the JSON passes `max_json`
/// bytes, or inflates more than `MAX_RATIO` times.
pub fn stream_reader<'r>(
    head: Vec<u8>,
    input: impl Read + 'r,
    max_json: u64,
) -> Capped<Box<dyn Read + 'r>> {
    stream_reader_with_floor(head, input, max_json, RATIO_FLOOR)
}

fn stream_reader_with_floor<'r>(
    head: Vec<u8>,
    input: impl Read + 'r,
    max_json: u64,
    ratio_floor: u64,
) -> Capped<Box<dyn Read + 'r>> {
    let gzip = is_gzip(&head);
    let compressed = Rc::new(Cell::new(0u64));
    let input = io::Cursor::new(head).chain(input);
    let (inner, compressed): (Box<dyn Read + 'r>, _) = if gzip {
        // Counted as the decoder consumes it, not as it is read ahead, so the ratio is exact.
        let counting = Counting {
            inner: BufReader::with_capacity(256 << 10, input),
            count: Rc::clone(&compressed),
        };
        (
            Box::new(flate2::bufread::MultiGzDecoder::new(counting)),
            Some(compressed),
        )
    } else {
        (Box::new(input), None)
    };
    Capped {
        inner,
        max_json,
        json: 0,
        compressed,
        ratio_floor,
    }
}

/// Counts the bytes its reader's user consumes.
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: BufRead> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        self.count.set(self.count.get() + n as u64);
        self.inner.consume(n);
    }
}

/// A reader that stops with an error at the JSON size and ratio limits.
pub struct Capped<R> {
    inner: R,
    max_json: u64,
    json: u64,
    /// Compressed bytes read so far, when the input is gzip.
    compressed: Option<Rc<Cell<u64>>>,
    ratio_floor: u64,
}

/// Why `Capped` stopped: carried inside an `io::Error` to `read_error`.
#[derive(Debug)]
struct OverLimit(String);

impl std::fmt::Display for OverLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OverLimit {}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.json += n as u64;
        if self.json > self.max_json {
            return Err(io::Error::other(OverLimit(format!(
                "decompressed size over {} (--max-decompressed-size); skipped",
                human_size(self.max_json)
            ))));
        }
        if let Some(c) = &self.compressed
            && self.json > self.ratio_floor
            && self.json > c.get().saturating_mul(MAX_RATIO)
        {
            return Err(io::Error::other(OverLimit(format!(
                "decompressed size over {MAX_RATIO} times the compressed size ({} from {}): a decompression bomb, skipped",
                human_size(self.json),
                human_size(c.get())
            ))));
        }
        Ok(n)
    }
}

/// What went wrong reading or decompressing, in words.
pub fn read_error(e: &io::Error) -> String {
    if let Some(over) = e.get_ref().and_then(|i| i.downcast_ref::<OverLimit>()) {
        return over.0.clone();
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof => {
            "truncated gzip data (the file ends before the compressed stream does)".into()
        }
        io::ErrorKind::OutOfMemory => "out of memory".into(),
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
            format!("corrupt gzip data: {e}")
        }
        _ => format!("cannot read: {}", crate::source::io_reason(e)),
    }
}

/// A size as `--max-decompressed-size` takes it: bytes, or a number with K, M, G or T (powers of
/// 1024, with or without `iB`/`B`).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => u32::MAX,
    };
    num.parse::<u64>()
        .ok()
        .filter(|n| *n > 0 && shift != u32::MAX)
        .and_then(|n| n.checked_mul(1u64 << shift.min(63)))
        .ok_or_else(|| format!("'{s}' is not a size (for example 512M, 4G, 10000000)"))
}

/// `4 GiB`, `512 MiB`, `1.5 KiB`: sizes in messages.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} bytes")
    } else if v.fract() == 0.0 {
        format!("{v:.0} {}", UNITS[unit])
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn whole<'b>(raw: &'b [u8], s: &'b mut Vec<u8>, d: &mut Inflater) -> Result<&'b [u8], String> {
        match decode(raw, s, d, WHOLE)? {
            Decoded::Whole(t) => Ok(t),
            Decoded::TooLarge => Err("too large".into()),
        }
    }

    #[test]
    fn plain_text_passes_through() {
        let mut s = Vec::new();
        let d = &mut Inflater::default();
        assert_eq!(
            whole(b"{\"Records\":[]}", &mut s, d).unwrap(),
            b"{\"Records\":[]}"
        );
    }

    #[test]
    fn gzip_by_magic_and_multi_member() {
        let mut both = gz(b"{\"a\":");
        both.extend(gz(b"1}"));
        let mut s = Vec::new();
        let d = &mut Inflater::default();
        assert_eq!(whole(&both, &mut s, d).unwrap(), b"{\"a\":1}");
        // Members whose sizes are the same: the first alone must not pass for the whole file.
        let mut same = gz(b"[1,");
        same.extend(gz(b"2]]"));
        assert_eq!(whole(&same, &mut s, d).unwrap(), b"[1,2]]");
        // A single member, the common case, and an empty one.
        assert_eq!(
            whole(&gz(&[b'y'; 100_000]), &mut s, d).unwrap(),
            &[b'y'; 100_000][..]
        );
        assert_eq!(whole(&gz(b""), &mut s, d).unwrap(), b"");
    }

    #[test]
    fn never_more_than_the_limit_in_memory() {
        let mut s = Vec::new();
        let d = &mut Inflater::default();
        let big = gz(&[b' '; 10_000]);
        assert!(matches!(
            decode(&big, &mut s, d, 9_999),
            Ok(Decoded::TooLarge)
        ));
        assert!(
            matches!(decode(&big, &mut s, d, 10_000), Ok(Decoded::Whole(t)) if t.len() == 10_000)
        );
        assert!(matches!(
            decode(&[b' '; 100], &mut s, d, 99),
            Ok(Decoded::TooLarge)
        ));
        // Two members: the streaming decoder stops at the limit too.
        let mut two = gz(&[b' '; 6_000]);
        two.extend(gz(&[b' '; 6_000]));
        assert!(matches!(
            decode(&two, &mut s, d, 10_000),
            Ok(Decoded::TooLarge)
        ));
    }

    #[test]
    fn streams_stop_at_the_size_and_ratio_caps() {
        let read_all = |head: Vec<u8>, max: u64| {
            let mut r = stream_reader_with_floor(head, io::empty(), max, 1 << 20);
            io::copy(&mut r, &mut io::sink()).map_err(|e| read_error(&e))
        };
        assert_eq!(read_all(vec![b' '; 5000], 5000), Ok(5000));
        let err = read_all(vec![b' '; 5001], 5000).unwrap_err();
        assert!(err.starts_with("decompressed size over 4.9 KiB"), "{err}");
        // 16 MiB of zeros gzip to about 16 KB: over 1000:1 once past the floor.
        let member = {
            let mut e = GzEncoder::new(Vec::new(), Compression::best());
            e.write_all(&vec![0u8; 4 << 20]).unwrap();
            e.finish().unwrap()
        };
        let bomb = member.repeat(4);
        let err = read_all(bomb.clone(), u64::MAX).unwrap_err();
        assert!(err.contains("over 1000 times the compressed size"), "{err}");
        // The same ratio under the floor is fine.
        let small = {
            let mut e = GzEncoder::new(Vec::new(), Compression::best());
            e.write_all(&vec![0u8; 512 << 10]).unwrap();
            e.finish().unwrap()
        };
        assert_eq!(read_all(small, u64::MAX), Ok(512 << 10));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("0").is_err());
        assert!(parse_size("4X").is_err());
        assert!(parse_size("99999999999T").is_err());
        assert_eq!(human_size(4 << 30), "4 GiB");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(12), "12 bytes");
    }

    #[test]
    fn truncated_and_corrupt() {
        let full = gz(&[b'x'; 10_000]);
        let mut s = Vec::new();
        let d = &mut Inflater::default();
        let err = whole(&full[..full.len() / 2], &mut s, d).unwrap_err();
        assert!(err.contains("truncated gzip"), "{err}");
        let mut bad = full.clone();
        bad[12] ^= 0xff;
        bad[13] ^= 0xff;
        assert!(whole(&bad, &mut s, d).is_err());
        // A wrong size in the trailer is caught by the checks, not trusted.
        let mut lying = full.clone();
        let n = lying.len();
        lying[n - 4..].copy_from_slice(&5u32.to_le_bytes());
        assert!(whole(&lying, &mut s, d).is_err());
    }
}
