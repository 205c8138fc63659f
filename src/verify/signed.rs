//! A digest's signature, checked: SHA256withRSA over its signing string, with the public key
//! whose fingerprint it names.

use super::crypto::{self, Keys};
use super::digest;
use super::local::DigestRef;
use super::model::{DigestFile, Sig};

/// A digest as read, with its signature checked: `signature` is the hex signature found (None:
/// the object has none), or why none could be looked for.
pub fn digest_file(
    d: DigestRef,
    read: Result<(digest::Parsed, String), String>,
    signature: Result<Option<String>, String>,
    keys: &Keys,
    unreadable: Option<String>,
) -> DigestFile {
    let sig = match (&read, signature) {
        _ if unreadable.is_some() => Sig::NotChecked("the digest could not be read".into()),
        (_, Err(why)) => Sig::NotChecked(why),
        (Err(_), _) => Sig::NotChecked("not a readable digest".into()),
        (Ok(_), Ok(None)) => {
            Sig::Invalid("no signature: the object has no x-amz-meta-signature".into())
        }
        (Ok((p, sha)), Ok(Some(s))) => check_signature(&p.content, sha, &s, keys),
    };
    DigestFile {
        object: d.object,
        key: d.key,
        root: d.root,
        origin: d.origin,
        name: d.name,
        read,
        signature: sig,
        unreadable,
    }
}

fn check_signature(c: &digest::Content, sha: &str, signature: &str, keys: &Keys) -> Sig {
    if !c
        .digest_signature_algorithm
        .eq_ignore_ascii_case("SHA256withRSA")
    {
        return Sig::Invalid(format!(
            "signature algorithm '{}', not SHA256withRSA",
            c.digest_signature_algorithm
        ));
    }
    if keys.is_empty() {
        return Sig::NotChecked("no public keys: give --public-keys FILE".into());
    }
    let Some(key) = keys.get(&c.digest_public_key_fingerprint) else {
        return Sig::Invalid(format!(
            "no public key has the fingerprint {} it names",
            c.digest_public_key_fingerprint
        ));
    };
    let message = digest::signing_string(c, sha);
    match crypto::verify(key, message.as_bytes(), signature) {
        Ok(()) => Sig::Valid,
        Err(why) => Sig::Invalid(why),
    }
}
