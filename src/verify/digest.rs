//! A digest file: its name, its content, and the string its signature covers.
//!
//! CloudTrail writes one digest per hour, account, region and trail, under
//! `AWSLogs/[o-…/]<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/` (the day of its END time):
//! `<account>_CloudTrail-Digest_<region>_<trail>_<region>_<YYYYMMDDTHHMMSSZ>[_backfill].json.gz`.
//! Its content lists the log files delivered in its hour with the SHA-256 of each one's
//! decompressed content, and names the previous digest with the SHA-256 of its decompressed
//! content. Its signature (hex, in the object's `x-amz-meta-signature`) is SHA256withRSA over
//! `signing_string`. AWS documents all of it: "CloudTrail digest file structure" and "Custom
//! implementations of CloudTrail log file integrity validation".

use serde::Deserialize;

use crate::source::layout::is_account_id;
use crate::time::{self, Micros};

/// What a digest's name says: the chain it belongs to and its end time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DigestName {
    /// The trail's name, between the two regions of the file name.
    pub trail: String,
    /// A `_backfill` digest: files a late delivery left out of the hourly digests. Backfill
    /// digests chain among themselves.
    pub backfill: bool,
    pub end: Micros,
}

impl DigestName {
    /// The name of a digest file (the last segment of its key or path), if it is one.
    pub fn parse(file_name: &str) -> Option<DigestName> {
        let stem = file_name.strip_suffix(".json.gz")?;
        let (stem, backfill) = match stem.strip_suffix("_backfill") {
            Some(s) => (s, true),
            None => (stem, false),
        };
        let (rest, stamp) = stem.rsplit_once('_')?;
        let end = parse_stamp(stamp)?;
        let (account, rest) = rest.split_once("_CloudTrail-Digest_")?;
        if !is_account_id(account) {
            return None;
        }
        // `<region>_<trail>_<region>`: a trail name may hold `_`, a region never does.
        let (region, rest) = rest.split_once('_')?;
        let trail = rest.strip_suffix(region)?.strip_suffix('_')?;
        (!trail.is_empty()).then(|| DigestName {
            trail: trail.to_string(),
            backfill,
            end,
        })
    }
}

/// `20150817T150131Z`.
fn parse_stamp(s: &str) -> Option<Micros> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let iso = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15]
    );
    time::parse_event_time(&iso)
}

/// A digest file's content, as CloudTrail writes it. Unknown members are ignored; the members
/// validation needs are required, except the previous digest's, which are null in the first
/// digest of a chain.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    pub aws_account_id: String,
    pub digest_start_time: String,
    pub digest_end_time: String,
    pub digest_s3_bucket: String,
    pub digest_s3_object: String,
    pub digest_public_key_fingerprint: String,
    pub digest_signature_algorithm: String,
    pub previous_digest_s3_bucket: Option<String>,
    pub previous_digest_s3_object: Option<String>,
    pub previous_digest_hash_value: Option<String>,
    pub previous_digest_hash_algorithm: Option<String>,
    pub previous_digest_signature: Option<String>,
    pub log_files: Vec<LogEntry>,
}

/// One log file a digest lists.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    pub s3_bucket: String,
    pub s3_object: String,
    pub hash_value: String,
    pub hash_algorithm: String,
}

/// A digest's content, checked: its times read, and what the analysis needs.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub content: Content,
    pub start: Micros,
    pub end: Micros,
}

/// Read a digest's decompressed content.
pub fn parse(text: &[u8]) -> Result<Parsed, String> {
    let content: Content =
        serde_json::from_slice(text).map_err(|e| format!("not a digest file: {e}"))?;
    let time = |what: &str, s: &str| {
        time::parse_event_time(s).ok_or_else(|| format!("{what} is not a time: '{s}'"))
    };
    let start = time("digestStartTime", &content.digest_start_time)?;
    let end = time("digestEndTime", &content.digest_end_time)?;
    if end < start {
        return Err("digestEndTime is before digestStartTime".into());
    }
    for log in &content.log_files {
        if !log.hash_algorithm.eq_ignore_ascii_case("SHA-256") {
            return Err(format!(
                "a log file's hash algorithm is '{}', not SHA-256",
                log.hash_algorithm
            ));
        }
    }
    Ok(Parsed {
        content,
        start,
        end,
    })
}

/// The string a digest's signature covers: its end time, `bucket/key`, the hex SHA-256 of its
/// decompressed content and the previous digest's signature (`null` for a chain's first).
pub fn signing_string(c: &Content, sha256_hex: &str) -> String {
    format!(
        "{}\n{}/{}\n{}\n{}",
        c.digest_end_time,
        c.digest_s3_bucket,
        c.digest_s3_object,
        sha256_hex,
        c.previous_digest_signature.as_deref().unwrap_or("null")
    )
}

/// The part of a key or path from its `AWSLogs/` segment on: what a digest's key and a local
/// copy's path have in common, whatever the prefix or folder above it.
pub fn layout_key(key: &str) -> Option<&str> {
    if key.starts_with("AWSLogs/") {
        return Some(key);
    }
    key.find("/AWSLogs/").map(|i| &key[i + 1..])
}

/// Whether a key from `AWSLogs/` on is a log file of the folder digests cover:
/// `AWSLogs/[o-…/]<account>/CloudTrail/<region>/YYYY/MM/DD/<name>`.
pub fn is_log_key(key: &str) -> bool {
    let segs: Vec<&str> = key.split('/').collect();
    let below = match segs.get(1) {
        Some(org) if org.starts_with("o-") => &segs[2..],
        _ => &segs[1..],
    };
    below.len() == 7 && below[1] == "CloudTrail"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_names() {
        let n = DigestName::parse(
            "111122223333_CloudTrail-Digest_us-east-2_my_trail.1_us-east-2_20150817T150131Z.json.gz",
        )
        .unwrap();
        assert_eq!(n.trail, "my_trail.1");
        assert!(!n.backfill);
        assert_eq!(time::format_time(n.end), "2015-08-17T15:01:31Z");
        let b = DigestName::parse(
            "111122223333_CloudTrail-Digest_us-east-2_t_us-east-2_20150817T150131Z_backfill.json.gz",
        )
        .unwrap();
        assert!(b.backfill);
        for bad in [
            "111122223333_CloudTrail_us-east-2_20150817T1501Z_abc.json.gz",
            "11112222333_CloudTrail-Digest_us-east-2_t_us-east-2_20150817T150131Z.json.gz",
            "111122223333_CloudTrail-Digest_us-east-2_t_eu-west-1_20150817T150131Z.json.gz",
            "111122223333_CloudTrail-Digest_us-east-2_t_us-east-2_20151317T150131Z.json.gz",
            "111122223333_CloudTrail-Digest_us-east-2__us-east-2_20150817T150131Z.json.gz",
        ] {
            assert_eq!(DigestName::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_signing_string() {
        let text = br#"{"awsAccountId":"111122223333","digestStartTime":"2015-08-17T14:01:31Z",
            "digestEndTime":"2015-08-17T15:01:31Z","digestS3Bucket":"b","digestS3Object":"AWSLogs/k.json.gz",
            "digestPublicKeyFingerprint":"ab","digestSignatureAlgorithm":"SHA256withRSA",
            "previousDigestS3Bucket":null,"previousDigestS3Object":null,"previousDigestHashValue":null,
            "previousDigestHashAlgorithm":null,"previousDigestSignature":null,"logFiles":[]}"#;
        let p = parse(text).unwrap();
        assert_eq!(
            signing_string(&p.content, "00ff"),
            "2015-08-17T15:01:31Z\nb/AWSLogs/k.json.gz\n00ff\nnull"
        );
        assert!(parse(b"{}").unwrap_err().starts_with("not a digest file"));
    }

    #[test]
    fn layout_keys() {
        assert_eq!(layout_key("AWSLogs/1/x"), Some("AWSLogs/1/x"));
        assert_eq!(layout_key("p/q/AWSLogs/1/x"), Some("AWSLogs/1/x"));
        assert_eq!(layout_key("./t/AWSLogs/1/x"), Some("AWSLogs/1/x"));
        assert_eq!(layout_key("p/xAWSLogs/1"), None);
        assert!(is_log_key("AWSLogs/1/CloudTrail/r/2024/09/05/f.json.gz"));
        assert!(is_log_key(
            "AWSLogs/o-abc/1/CloudTrail/r/2024/09/05/f.json.gz"
        ));
        assert!(!is_log_key(
            "AWSLogs/1/CloudTrail-Digest/r/2024/09/05/f.json.gz"
        ));
        assert!(!is_log_key("AWSLogs/1/CloudTrail/r/2024/09/f.json.gz"));
    }
}
