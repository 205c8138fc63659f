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
    let mut reader = decode::stream_reader(
        head,
        rest.unwrap_or_else(|| Box::new(std::io::empty())),
        max_json,
    );
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Hashed::Sha(hex(&sha.finalize())),
            Ok(n) => sha.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Hashed::Corrupt(decode::read_error(&e)),
        }
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
