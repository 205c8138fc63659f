//! Bytes to JSON text: gzip is recognised by its magic bytes, never by the file name.

use std::io::Read;
use std::ptr::NonNull;

use flate2::read::MultiGzDecoder;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Largest size hint taken from a gzip trailer; beyond it the buffer simply grows.
const MAX_SIZE_HINT: usize = 256 << 20;

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
    fn single_member(&mut self, raw: &[u8], out: &mut Vec<u8>) -> bool {
        if raw.len() < 18 {
            return false;
        }
        let isize = u32::from_le_bytes(raw[raw.len() - 4..].try_into().unwrap()) as usize;
        if isize > MAX_SIZE_HINT.max(raw.len().saturating_mul(1032)) {
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

/// The decoded text of `raw`: `raw` itself when it is not gzip, otherwise its decompression into
/// `scratch` (reused between files by the caller). Concatenated gzip members are all read.
pub fn decode<'b>(
    raw: &'b [u8],
    scratch: &'b mut Vec<u8>,
    inflater: &mut Inflater,
) -> Result<&'b [u8], String> {
    if !is_gzip(raw) {
        return Ok(raw);
    }
    if inflater.single_member(raw, scratch) {
        return Ok(&scratch[..]);
    }
    scratch.clear();
    // The trailer's ISIZE is the uncompressed size mod 2^32 of the last member: a good hint for
    // the usual single-member file, harmless otherwise.
    if raw.len() >= 18 {
        let isize = u32::from_le_bytes(raw[raw.len() - 4..].try_into().unwrap()) as usize;
        scratch.reserve(isize.min(MAX_SIZE_HINT));
    }
    match MultiGzDecoder::new(raw).read_to_end(scratch) {
        Ok(_) => Ok(&scratch[..]),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err("truncated gzip data (the file ends before the compressed stream does)".into())
        }
        Err(e) => Err(format!("corrupt gzip data: {e}")),
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

    #[test]
    fn plain_text_passes_through() {
        let mut s = Vec::new();
        let d = &mut Inflater::default();
        assert_eq!(
            decode(b"{\"Records\":[]}", &mut s, d).unwrap(),
            b"{\"Records\":[]}"
        );
    }

    #[test]
    fn gzip_by_magic_and_multi_member() {
        let mut both = gz(b"{\"a\":");
        both.extend(gz(b"1}"));
        let mut s = Vec::new();
        let d = &mut Inflater::default();
        assert_eq!(decode(&both, &mut s, d).unwrap(), b"{\"a\":1}");
        // Members whose sizes are the same: the first alone must not pass for the whole file.
        let mut same = gz(b"[1,");
        same.extend(gz(b"2]]"));
        assert_eq!(decode(&same, &mut s, d).unwrap(), b"[1,2]]");
        // A single member, the common case, and an empty one.
        assert_eq!(
            decode(&gz(&[b'y'; 100_000]), &mut s, d).unwrap(),
            &[b'y'; 100_000][..]
        );
        assert_eq!(decode(&gz(b""), &mut s, d).unwrap(), b"");
    }

    #[test]
    fn truncated_and_corrupt() {
        let full = gz(&[b'x'; 10_000]);
        let mut s = Vec::new();
        let d = &mut Inflater::default();
        let err = decode(&full[..full.len() / 2], &mut s, d).unwrap_err();
        assert!(err.contains("truncated gzip"), "{err}");
        let mut bad = full.clone();
        bad[12] ^= 0xff;
        bad[13] ^= 0xff;
        assert!(decode(&bad, &mut s, d).is_err());
        // A wrong size in the trailer is caught by the checks, not trusted.
        let mut lying = full.clone();
        let n = lying.len();
        lying[n - 4..].copy_from_slice(&5u32.to_le_bytes());
        assert!(decode(&lying, &mut s, d).is_err());
    }
}
