//! Decompress and hash: a log file's SHA-256 (all its gzip members), a digest's content.

use std::io::Read;

use sha2::{Digest as _, Sha256};

use super::crypto::hex;
use super::digest::{self, Parsed};
use super::model::Hashed;
use crate::decode::{self, Decoded, WHOLE};

/// A digest's decompressed content is at most this large (a busy trail's hour lists a few
/// thousand files, well under a megabyte each).
pub const MAX_DIGEST: usize = 64 << 20;

/// The SHA-256 of everything `reader` decompresses to. A file over `decode::WHOLE` bytes of JSON
/// is hashed as it streams; a gzip that does not decode is `Corrupt`, with the reason.
pub fn hash_reader(mut reader: Box<dyn Read + Send>, max_json: u64) -> Hashed {
    let mut head = Vec::new();
    if let Err(e) = (&mut reader).take(WHOLE as u64 + 1).read_to_end(&mut head) {
        return Hashed::Unreadable(decode::read_error(&e));
    }
    let rest = (head.len() > WHOLE).then_some(reader);
    hash_body(head, rest, max_json)
}

/// The SHA-256 of a body (its first bytes in `head`, the rest to read from `rest`).
pub fn hash_body(head: Vec<u8>, rest: Option<Box<dyn Read + Send>>, max_json: u64) -> Hashed {
    thread_local! {
        static BUFFERS: std::cell::RefCell<(Vec<u8>, decode::Inflater)> = Default::default();
    }
    let limit = WHOLE.min(usize::try_from(max_json).unwrap_or(WHOLE));
    if rest.is_none() {
        let whole = BUFFERS.with(|b| {
            let (scratch, inflater) = &mut *b.borrow_mut();
            match decode::decode(&head, scratch, inflater, limit) {
                Ok(Decoded::Whole(text)) => Some(Ok(hex(&Sha256::digest(text)))),
                Ok(Decoded::TooLarge) => None,
                Err(why) => Some(Err(why)),
            }
        });
        match whole {
            Some(Ok(sha)) => return Hashed::Sha(sha),
            Some(Err(why)) => return Hashed::Corrupt(why),
            None => {}
        }
    }
    let reader = decode::stream_reader(
        head,
        rest.unwrap_or_else(|| Box::new(std::io::empty())),
        max_json,
    );
    let mut reader = Hashing::new(reader, true);
    match std::io::copy(&mut reader, &mut std::io::sink()) {
        Ok(_) => Hashed::Sha(reader.finish().unwrap_or_default()),
        Err(e) => Hashed::Corrupt(decode::read_error(&e)),
    }
}

/// A reader that hashes what it reads (when asked to): the streamed inputs of `hash_body` and
/// of the scan (`--verify`).
pub struct Hashing<R> {
    inner: R,
    sha: Option<Sha256>,
}

impl<R> Hashing<R> {
    pub fn new(inner: R, hash: bool) -> Hashing<R> {
        Hashing {
            inner,
            sha: hash.then(Sha256::new),
        }
    }

    pub fn is_hashing(&self) -> bool {
        self.sha.is_some()
    }

    /// The hex SHA-256 of what was read, if hashing.
    pub fn finish(&mut self) -> Option<String> {
        self.sha.take().map(|s| hex(&s.finalize()))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(sha) = &mut self.sha {
            sha.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// A digest's body: decompressed, hashed and parsed, or why it is not a digest.
pub fn read_digest(body: &[u8]) -> Result<(Parsed, String), String> {
    let mut scratch = Vec::new();
    let mut inflater = decode::Inflater::default();
    let text = match decode::decode(body, &mut scratch, &mut inflater, MAX_DIGEST)? {
        Decoded::Whole(text) => text,
        Decoded::TooLarge => {
            return Err(format!(
                "over {} MiB decompressed: not a digest file",
                MAX_DIGEST >> 20
            ));
        }
    };
    let sha = hex(&Sha256::digest(text));
    Ok((digest::parse(text)?, sha))
}

/// A panic while reading one file is that file's failure, not the run's.
pub fn guarded(f: impl FnOnce() -> Hashed) -> Hashed {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Hashed::Unreadable("internal error while reading it (please report it)".into())
    })
}
