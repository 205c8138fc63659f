//! What `verify` finds and reads, and what its checks report: the types `check.rs` works on
//! and `show.rs` writes.

use super::digest::{DigestName, Parsed};
use crate::source::layout::Origin;
use crate::time::Micros;

/// A digest found, as read.
#[derive(Debug, Clone)]
pub struct DigestFile {
    /// How rows name it: a path, or `s3://bucket/key`.
    pub object: String,
    /// Its key from `AWSLogs/` on.
    pub key: String,
    /// What comes before `key` in `object`: how a key of the same bucket or copy is named.
    pub root: String,
    pub origin: Origin,
    pub name: DigestName,
    /// Its content and the SHA-256 of it decompressed, or why it could not be read as a digest.
    pub read: Result<(Parsed, String), String>,
    pub signature: Sig,
    /// It could not be read (I/O, a failed download): no finding about it, and the run is
    /// partial.
    pub unreadable: Option<String>,
}

/// What became of a digest's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sig {
    Valid,
    Invalid(String),
    NotChecked(String),
}

/// A log file found in a day folder of `CloudTrail/`.
#[derive(Debug, Clone)]
pub struct LogFile {
    pub object: String,
    pub key: String,
    pub origin: Origin,
    /// The delivery minute its name gives.
    pub delivered: Option<Micros>,
}

/// A listed log file, read: the SHA-256 of its decompressed content, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hashed {
    Sha(String),
    Missing,
    /// Not gzip, or gzip that does not decode: the content was changed.
    Corrupt(String),
    /// Could not be read (I/O): skipped, not an integrity finding.
    Unreadable(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    MissingLog,
    ModifiedLog,
    UnlistedLog,
    MissingDigest,
    ModifiedDigest,
    BadSignature,
    ChainBreak,
    NoDigestPeriod,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::MissingLog,
        Kind::ModifiedLog,
        Kind::UnlistedLog,
        Kind::MissingDigest,
        Kind::ModifiedDigest,
        Kind::BadSignature,
        Kind::ChainBreak,
        Kind::NoDigestPeriod,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::MissingLog => "missing_log",
            Kind::ModifiedLog => "modified_log",
            Kind::UnlistedLog => "unlisted_log",
            Kind::MissingDigest => "missing_digest",
            Kind::ModifiedDigest => "modified_digest",
            Kind::BadSignature => "bad_signature",
            Kind::ChainBreak => "chain_break",
            Kind::NoDigestPeriod => "no_digest_period",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub kind: Kind,
    pub origin: Origin,
    pub object: String,
    pub period: (Micros, Micros),
    pub detail: String,
}

/// The counts of the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub digests_checked: u64,
    pub digests_valid: u64,
    pub log_files_checked: u64,
    pub log_files_valid: u64,
    /// Log files found whose delivery falls in the window.
    pub log_files_found: u64,
    /// Listed log files that could not be read (I/O): the run is partial.
    pub log_files_unreadable: u64,
    pub signatures_valid: u64,
    pub signatures_invalid: u64,
    pub signatures_not_checked: u64,
    /// Why signatures were not checked (one reason per run).
    pub not_checked_reason: Option<String>,
    /// Log files too recent for a digest yet.
    pub pending: u64,
    /// The first start and last end of the in-window digests.
    pub covered: Option<(Micros, Micros)>,
}
