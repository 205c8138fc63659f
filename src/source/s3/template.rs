//! What the SDK resolved for a bucket's GetObject, noted from the first one it sent
//! (`direct::Capture`), and the GETs of other keys built from it, signed by `sigv4`.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::http::SharedHttpConnector;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;

use super::sigv4;

/// What the SDK resolved for this bucket's GetObject.
#[derive(Debug)]
pub struct Template {
    /// The URL up to the key, ending in `/`: `https://BUCKET.s3.REGION.amazonaws.com/` or, with
    /// a path-style endpoint, `http://HOST:PORT/BUCKET/`.
    pub base: String,
    /// The host as it is signed (no default port), and the path up to the key.
    host: String,
    path_base: String,
    region: String,
    service: String,
    /// The signing key of the day.
    keys: sigv4::KeyCache,
    /// The user agent and checksum-mode headers, as the SDK sent them.
    headers: Vec<(http::HeaderName, http::HeaderValue)>,
    pub connector: SharedHttpConnector,
}

impl Template {
    /// What the SDK sent for `key`, as a template for other keys; None when this module would
    /// not send the same request.
    pub fn from_sent(
        uri: &str,
        headers: &aws_smithy_runtime_api::http::Headers,
        key: &str,
        connector: SharedHttpConnector,
    ) -> Option<Template> {
        let path = uri.split_once('?').map_or(uri, |(p, _)| p);
        let base = path.strip_suffix(encode_key(key).as_str())?;
        if !base.ends_with('/') || !(base.starts_with("https://") || base.starts_with("http://")) {
            return None;
        }
        // S3 Express One Zone signs with a session token of its own.
        if headers.get("x-amz-s3session-token").is_some() {
            return None;
        }
        let authorization = headers.get("authorization")?;
        let scope = authorization
            .strip_prefix("AWS4-HMAC-SHA256 Credential=")?
            .split(',')
            .next()?;
        let parts: Vec<&str> = scope.split('/').collect();
        let [_, _, region, service, "aws4_request"] = parts.as_slice() else {
            return None;
        };
        let mut kept = Vec::new();
        for name in ["user-agent", "x-amz-user-agent", "x-amz-checksum-mode"] {
            if let Some(value) = headers.get(name) {
                kept.push((
                    http::HeaderName::from_static(name),
                    http::HeaderValue::from_str(value).ok()?,
                ));
            }
        }
        let (scheme, rest) = base.split_once("://")?;
        let (authority, path) = rest.split_at(rest.find('/')?);
        let host = match (scheme, authority.rsplit_once(':')) {
            ("http", Some((host, "80"))) | ("https", Some((host, "443"))) => host,
            _ => authority,
        };
        Some(Template {
            base: base.to_string(),
            host: host.to_string(),
            path_base: path.to_string(),
            keys: sigv4::KeyCache::default(),
            region: region.to_string(),
            service: service.to_string(),
            headers: kept,
            connector,
        })
    }

    /// Whether the SDK asked for the object's checksum (`x-amz-checksum-mode`): only then is
    /// one checked, as the SDK checks it.
    pub fn asks_checksums(&self) -> bool {
        self.headers
            .iter()
            .any(|(name, value)| name == "x-amz-checksum-mode" && value == "ENABLED")
    }

    /// A GET of `url` (the base and `key`), signed at `at` with `credentials`.
    pub fn signed(
        &self,
        url: &str,
        key: &str,
        credentials: &Credentials,
        at: SystemTime,
    ) -> Option<HttpRequest> {
        let path = format!("{}{key}", self.path_base);
        let amz_date = sigv4::amz_date(at);
        let token = credentials.session_token();
        let mut signed: Vec<(&str, &str)> = vec![
            ("host", &self.host),
            ("x-amz-content-sha256", sigv4::EMPTY_SHA256),
            ("x-amz-date", &amz_date),
        ];
        if let Some(token) = token {
            signed.push(("x-amz-security-token", token));
        }
        // As `aws-sigv4`: every header but the user agent is signed.
        for (name, value) in &self.headers {
            if name != http::header::USER_AGENT {
                signed.push((name.as_str(), value.to_str().ok()?));
            }
        }
        signed.sort_unstable_by_key(|(name, _)| *name);
        let authorization = sigv4::authorization(
            &self.keys,
            credentials.access_key_id(),
            credentials.secret_access_key(),
            &self.region,
            &self.service,
            &path,
            &signed,
            at,
            &amz_date,
        );
        let secret = |text: &str| {
            let mut value = http::HeaderValue::from_str(text).ok()?;
            value.set_sensitive(true);
            Some(value)
        };
        let mut request = http::Request::builder().method("GET").uri(url);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        request = request
            .header("x-amz-content-sha256", sigv4::EMPTY_SHA256)
            .header("x-amz-date", amz_date.as_str())
            .header(http::header::AUTHORIZATION, secret(&authorization)?);
        if let Some(token) = token {
            request = request.header("x-amz-security-token", secret(token)?);
        }
        HttpRequest::try_from(request.body(SdkBody::empty()).ok()?).ok()
    }
}

/// The bytes the SDK leaves as they are in a key's path: letters, digits, `-._~` and `/`.
pub fn unescaped(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/')
}

/// A key as the SDK puts it in the path: every other byte percent-encoded.
fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 16);
    for &b in key.as_bytes() {
        if unescaped(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use aws_smithy_runtime_api::client::http::HttpConnector;
    use aws_smithy_runtime_api::client::http::HttpConnectorFuture;
    use aws_smithy_runtime_api::client::identity::Identity;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::client::result::ConnectorError;

    impl Template {
        /// `url` signed by `aws-sigv4`'s request signer, as the SDK signs for S3: the oracle of
        /// `signed`.
        fn signed_by_sdk(
            &self,
            url: &str,
            credentials: &Credentials,
            at: SystemTime,
        ) -> http::Request<SdkBody> {
            use aws_sigv4::http_request::{
                PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest,
                SigningSettings, UriPathNormalizationMode, sign,
            };
            let mut request = http::Request::builder().method("GET").uri(url);
            for (name, value) in &self.headers {
                request = request.header(name, value);
            }
            let mut request = request.body(SdkBody::empty()).unwrap();
            // As the SDK signs for S3: the key's escapes signed as they are, its path not
            // normalized, the payload's hash in x-amz-content-sha256.
            let mut settings = SigningSettings::default();
            settings.percent_encoding_mode = PercentEncodingMode::Single;
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
            settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
            let identity = Identity::from(credentials.clone());
            let params = aws_sigv4::sign::v4::SigningParams::builder()
                .identity(&identity)
                .region(&self.region)
                .name(&self.service)
                .time(at)
                .settings(settings)
                .build()
                .unwrap()
                .into();
            let headers = request
                .headers()
                .iter()
                .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)));
            let signable =
                SignableRequest::new("GET", url, headers, SignableBody::Bytes(&[])).unwrap();
            let (instructions, _) = sign(signable, &params).unwrap().into_parts();
            instructions.apply_to_request_http1x(&mut request);
            request
        }
    }

    #[derive(Debug)]
    struct Unused;

    impl HttpConnector for Unused {
        fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
            HttpConnectorFuture::ready(Err::<HttpResponse, _>(ConnectorError::other(
                "not sent in this test".into(),
                None,
            )))
        }
    }

    fn template(base: &str, region: &str, headers: &[(&'static str, &str)]) -> Template {
        let mut sent = aws_smithy_runtime_api::http::Headers::new();
        sent.insert(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240905/{region}/s3/aws4_request, SignedHeaders=host, Signature=00"
            ),
        );
        for (name, value) in headers {
            sent.insert(*name, value.to_string());
        }
        let key = "AWSLogs/111111111111/CloudTrail/us-east-1/2024/09/05/k.json.gz";
        Template::from_sent(
            &format!("{base}{key}?x-id=GetObject"),
            &sent,
            key,
            SharedHttpConnector::new(Unused),
        )
        .expect("a template")
    }

    /// ctq's signer gives `aws-sigv4`'s signature, byte for byte, on every shape of request it
    /// sends: virtual-host and path-style, default and explicit ports, with and without a
    /// session token, user-agent headers with runs of spaces, keys of every unescaped byte,
    /// days apart (the cached key must change with the day) and secrets apart.
    #[test]
    fn the_signature_is_the_sdks() {
        let agents: &[(&'static str, &str)] = &[
            ("user-agent", "aws-sdk-rust/1.3 os/linux  lang/rust"),
            (
                "x-amz-user-agent",
                "aws-sdk-rust/1.3  api/s3/1.157 os/linux",
            ),
            ("x-amz-checksum-mode", "ENABLED"),
        ];
        let shapes = [
            (
                "https://trail.s3.eu-west-1.amazonaws.com/",
                "eu-west-1",
                agents,
            ),
            (
                "https://s3.us-east-1.amazonaws.com:443/trail/",
                "us-east-1",
                agents,
            ),
            ("http://127.0.0.1:9000/trail/", "us-east-1", &[][..]),
            ("http://localhost:80/trail/", "ap-south-1", agents),
        ];
        let credentials = [
            Credentials::new(
                "AKIDEXAMPLE",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                None,
                None,
                "t",
            ),
            Credentials::new(
                "ASIAEXAMPLE",
                "other/secret+key",
                Some("FwoGZXIvYXdzE//token==".into()),
                None,
                "t",
            ),
        ];
        let keys = [
            "AWSLogs/o-abc123/111111111111/CloudTrail/us-east-1/2024/09/05/111111111111_CloudTrail_us-east-1_20240905T1015Z_AbC.json.gz",
            "a/B-c_d.e~f/0123456789",
        ];
        let times = [1_725_531_300u64, 1_725_531_300 + 86_400, 1_725_617_699];
        for (base, region, headers) in shapes {
            let t = template(base, region, headers);
            for c in &credentials {
                for key in keys {
                    for secs in times {
                        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
                        let url = format!("{base}{key}");
                        let ours = t.signed(&url, key, c, at).unwrap();
                        let sdk = t.signed_by_sdk(&url, c, at);
                        for name in [
                            "authorization",
                            "x-amz-date",
                            "x-amz-content-sha256",
                            "x-amz-security-token",
                        ] {
                            assert_eq!(
                                ours.headers().get(name),
                                sdk.headers().get(name).and_then(|v| v.to_str().ok()),
                                "{name} of {url} at {secs}"
                            );
                        }
                        assert_eq!(ours.uri(), sdk.uri().to_string());
                    }
                }
            }
        }
    }

    #[test]
    fn keys_are_encoded_as_the_sdk_encodes_them() {
        assert_eq!(
            encode_key("AWSLogs/o-1/123/CloudTrail/us-east-1/2024/09/05/a_b-c.d~e.json.gz"),
            "AWSLogs/o-1/123/CloudTrail/us-east-1/2024/09/05/a_b-c.d~e.json.gz"
        );
        assert_eq!(encode_key("a b+c:d\u{e9}"), "a%20b%2Bc%3Ad%C3%A9");
    }
}
