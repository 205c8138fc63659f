//! Bytes to JSON text: gzip is recognised by its magic bytes, never by the file name.

use std::io::Read;

use flate2::read::MultiGzDecoder;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Largest size hint taken from a gzip trailer; beyond it the buffer simply grows.
const MAX_SIZE_HINT: usize = 256 << 20;

pub fn is_gzip(raw: &[u8]) -> bool {
    raw.starts_with(&GZIP_MAGIC)
}

/// The decoded text of `raw`: `raw` itself when it is not gzip, otherwise its decompression into
/// `scratch` (reused between files by the caller). Concatenated gzip members are all read.
pub fn decode<'b>(raw: &'b [u8], scratch: &'b mut Vec<u8>) -> Result<&'b [u8], String> {
    if !is_gzip(raw) {
        return Ok(raw);
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
        assert_eq!(
            decode(b"{\"Records\":[]}", &mut s).unwrap(),
            b"{\"Records\":[]}"
        );
    }

    #[test]
    fn gzip_by_magic_and_multi_member() {
        let mut both = gz(b"{\"a\":");
        both.extend(gz(b"1}"));
        let mut s = Vec::new();
        assert_eq!(decode(&both, &mut s).unwrap(), b"{\"a\":1}");
    }

    #[test]
    fn truncated_and_corrupt() {
        let full = gz(&[b'x'; 10_000]);
        let mut s = Vec::new();
        let err = decode(&full[..full.len() / 2], &mut s).unwrap_err();
        assert!(err.contains("truncated gzip"), "{err}");
        let mut bad = full.clone();
        bad[12] ^= 0xff;
        bad[13] ^= 0xff;
        assert!(decode(&bad, &mut s).is_err());
    }
}
