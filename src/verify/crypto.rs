//! SHA-256, the public keys that sign digests, and the SHA256withRSA check of a signature.
//!
//! RSA is AWS-LC's (`aws-lc-rs`, already built for the SDK's TLS): PKCS #1 v1.5 with SHA-256,
//! keys of 2048 to 8192 bits, as CloudTrail signs. A public key is the DER `RSAPublicKey` that
//! `ListPublicKeys` returns (base64 in the CLI's JSON).

use std::collections::HashMap;

use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::time::{self, Micros};

/// The lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Hex text (either case) to bytes.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// A public key that signs digests.
#[derive(Debug, Clone)]
pub struct PublicKey {
    pub der: Vec<u8>,
    /// When CloudTrail signed with it, as `ListPublicKeys` says.
    pub validity: Option<(Micros, Micros)>,
}

/// The public keys known to the run, by fingerprint (lowercase hex).
#[derive(Debug, Clone, Default)]
pub struct Keys {
    by_fingerprint: HashMap<String, PublicKey>,
}

impl Keys {
    pub fn add(&mut self, fingerprint: &str, key: PublicKey) {
        self.by_fingerprint
            .insert(fingerprint.to_ascii_lowercase(), key);
    }

    pub fn len(&self) -> usize {
        self.by_fingerprint.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_fingerprint.is_empty()
    }

    pub fn get(&self, fingerprint: &str) -> Option<&PublicKey> {
        self.by_fingerprint.get(&fingerprint.to_ascii_lowercase())
    }

    /// Read the saved output of `aws cloudtrail list-public-keys` (`{"PublicKeyList": [{"Value":
    /// base64, "Fingerprint": hex, "ValidityStartTime", "ValidityEndTime"}]}`; times as the
    /// CLI prints them: ISO 8601 or seconds since the epoch).
    pub fn add_list_output(&mut self, text: &[u8]) -> Result<usize, String> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Listed {
            public_key_list: Vec<Entry>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Entry {
            value: String,
            fingerprint: String,
            validity_start_time: Option<serde_json::Value>,
            validity_end_time: Option<serde_json::Value>,
        }
        let listed: Listed = serde_json::from_slice(text)
            .map_err(|e| format!("not the output of aws cloudtrail list-public-keys: {e}"))?;
        let n = listed.public_key_list.len();
        for e in listed.public_key_list {
            let der = base64::engine::general_purpose::STANDARD
                .decode(e.value.trim())
                .map_err(|why| format!("the key {} is not base64: {why}", e.fingerprint))?;
            let when = |v: &Option<serde_json::Value>| match v {
                Some(serde_json::Value::String(s)) => time::parse_event_time(s),
                Some(serde_json::Value::Number(n)) => n.as_f64().map(|s| (s * 1e6) as Micros),
                _ => None,
            };
            let validity = when(&e.validity_start_time).zip(when(&e.validity_end_time));
            self.add(&e.fingerprint, PublicKey { der, validity });
        }
        Ok(n)
    }
}

/// Whether `signature_hex` is a valid SHA256withRSA signature of `message` by `key`.
pub fn verify(key: &PublicKey, message: &[u8], signature_hex: &str) -> Result<(), String> {
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
    let signature = unhex(signature_hex.trim()).ok_or("the signature is not hex")?;
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &key.der)
        .verify(message, &signature)
        .map_err(|_| "the signature does not match the digest and its public key".to_string())
}

/// `--signatures FILE`: a JSON object from each digest's S3 key (`AWSLogs/…`, as in its
/// `digestS3Object`) to its signature in hex, as S3 holds it in `x-amz-meta-signature`.
pub fn read_signatures(text: &[u8]) -> Result<HashMap<String, String>, String> {
    serde_json::from_slice(text)
        .map_err(|e| format!("not a JSON object from digest keys to hex signatures: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_both_ways() {
        assert_eq!(hex(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(unhex("00ABff"), Some(vec![0, 0xab, 0xff]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn the_cli_output_of_list_public_keys() {
        let text = br#"{"PublicKeyList": [
            {"ValidityStartTime": 1453076702.0, "ValidityEndTime": 1455668702.0,
             "Value": "MAwCBQC0AAAAAQIDAQAB", "Fingerprint": "7138807A"},
            {"ValidityStartTime": "2016-02-16T00:25:02+00:00", "ValidityEndTime": "2016-03-17T00:25:02+00:00",
             "Value": "MAwCBQC0AAAAAQIDAQAB", "Fingerprint": "ab"}]}"#;
        let mut keys = Keys::default();
        assert_eq!(keys.add_list_output(text), Ok(2));
        let k = keys.get("7138807a").unwrap();
        assert_eq!(k.validity.unwrap().0, 1_453_076_702_000_000);
        assert!(keys.get("AB").unwrap().validity.is_some());
        assert!(keys.add_list_output(b"[]").is_err());
        let bad = br#"{"PublicKeyList": [{"Value": "***", "Fingerprint": "cd"}]}"#;
        assert!(
            keys.add_list_output(bad)
                .unwrap_err()
                .contains("not base64")
        );
    }

    #[test]
    fn a_key_that_is_not_rsa_verifies_nothing() {
        let key = PublicKey {
            der: vec![0x30, 0x00],
            validity: None,
        };
        assert!(verify(&key, b"m", "00").is_err());
        assert!(verify(&key, b"m", "not hex").is_err());
    }
}
