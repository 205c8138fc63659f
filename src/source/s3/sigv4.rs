//! SigV4 for the GETs `direct` sends: the canonical request, the string to sign and the
//! `Authorization` header, with the signing key kept for the day rather than derived again for
//! every request (four HMACs). The key derivation and the final HMAC are the SDK's own
//! (`aws_sigv4::sign::v4`); `aws-sigv4`'s whole request signer was 11% of ctq's CPU on many
//! small objects, mostly in building and formatting its canonical request. Its unit tests hold
//! this to `aws-sigv4`'s signature of the same request, byte for byte.

use std::sync::Mutex;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::verify::crypto::sha256_hex;

/// The SHA-256 of an empty payload, the value of `x-amz-content-sha256` on a GET.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The signing key of the last day, region, service and credentials used, with the hash of
/// the secret it was made from (not the secret).
#[derive(Default)]
pub struct KeyCache(Mutex<Option<SigningKey>>);

struct SigningKey {
    /// `day/region/service`.
    scope: String,
    secret_hash: [u8; 32],
    key: Vec<u8>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyCache(..)")
    }
}

impl KeyCache {
    fn key(&self, day: &str, secret: &str, region: &str, service: &str, at: SystemTime) -> Vec<u8> {
        let scope = format!("{day}/{region}/{service}");
        let secret_hash: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        if let Ok(cached) = self.0.lock()
            && let Some(k) = cached.as_ref()
            && k.scope == scope
            && k.secret_hash == secret_hash
        {
            return k.key.clone();
        }
        let key = aws_sigv4::sign::v4::generate_signing_key(secret, at, region, service)
            .as_ref()
            .to_vec();
        if let Ok(mut cached) = self.0.lock() {
            *cached = Some(SigningKey {
                scope,
                secret_hash,
                key: key.clone(),
            });
        }
        key
    }
}

/// `20240905T101500Z`.
pub fn amz_date(at: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at)
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// The `Authorization` header of a GET of `path` (already percent-encoded, as sent) with no
/// query and no body, signing `headers`: lowercase names, sorted, each once, `host`,
/// `x-amz-date` (`amz_date`) and `x-amz-content-sha256` among them.
#[allow(
    clippy::too_many_arguments,
    reason = "the parts of one signature, each named"
)]
pub fn authorization(
    keys: &KeyCache,
    access_key_id: &str,
    secret: &str,
    region: &str,
    service: &str,
    path: &str,
    headers: &[(&str, &str)],
    at: SystemTime,
    amz_date: &str,
) -> String {
    let mut canonical = String::with_capacity(512);
    canonical.push_str("GET\n");
    canonical.push_str(path);
    canonical.push_str("\n\n");
    let mut signed = String::with_capacity(128);
    for (name, value) in headers {
        canonical.push_str(name);
        canonical.push(':');
        // Trimmed, and each run of spaces made one.
        let mut words = value.split(' ').filter(|w| !w.is_empty());
        if let Some(first) = words.next() {
            canonical.push_str(first);
            for w in words {
                canonical.push(' ');
                canonical.push_str(w);
            }
        }
        canonical.push('\n');
        if !signed.is_empty() {
            signed.push(';');
        }
        signed.push_str(name);
    }
    canonical.push('\n');
    canonical.push_str(&signed);
    canonical.push('\n');
    canonical.push_str(EMPTY_SHA256);
    let day = &amz_date[..8];
    let scope = format!("{day}/{region}/{service}/aws4_request");
    let hashed = sha256_hex(canonical.as_bytes());
    let string_to_sign = format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashed}");
    let key = keys.key(day, secret, region, service, at);
    let signature = aws_sigv4::sign::v4::calculate_signature(&key, string_to_sign.as_bytes());
    format!(
        "AWS4-HMAC-SHA256 Credential={access_key_id}/{scope}, SignedHeaders={signed}, Signature={signature}"
    )
}
