//! What the user chose about the AWS clients (`--profile`, `--api-region`, `--endpoint-url`, the
//! timeouts, `--debug`), each value checked as clap parses it: a typo is a usage error (exit 2)
//! before any request is made, not a failure at run time.

use std::time::Duration;

use crate::escape::escape_control;

/// The settings every AWS client of a run is built with (S3 and Athena alike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    /// `--profile`; None: the standard chain (AWS_PROFILE, then `default`).
    pub profile: Option<String>,
    /// `--api-region`; None: AWS_REGION, AWS_DEFAULT_REGION, then the profile's.
    pub region: Option<String>,
    pub connect_timeout: Timeout,
    pub read_timeout: Timeout,
    /// `--debug`: the credential source, each request and the SDK's log on stderr.
    pub debug: bool,
}

impl Default for AwsSettings {
    fn default() -> AwsSettings {
        AwsSettings {
            profile: None,
            region: None,
            connect_timeout: Timeout::DEFAULT_CONNECT,
            read_timeout: Timeout::DEFAULT_READ,
            debug: false,
        }
    }
}

/// A timeout in seconds. `0` waits for ever, as aws-cli's `--cli-read-timeout 0` does: a user
/// who types 0 on a slow link means "do not give up", and a bound of 3600 s keeps every other
/// value a plausible wait rather than an overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout(Option<Duration>);

impl Timeout {
    /// aws-cli waits 60 s for a connection; an endpoint that takes 5 s to accept one is down or
    /// unreachable, and a quick failure says so sooner.
    pub const DEFAULT_CONNECT: Timeout = Timeout(Some(Duration::from_secs(5)));
    /// How long to wait for S3 to send anything (response headers, or the next bytes of a body).
    pub const DEFAULT_READ: Timeout = Timeout(Some(Duration::from_secs(30)));
    const MAX_SECONDS: f64 = 3600.0;

    /// The wait; None: no timeout.
    pub fn get(self) -> Option<Duration> {
        self.0
    }

    fn parse(text: &str, what: &str) -> Result<Timeout, String> {
        let secs = text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && (0.0..=Timeout::MAX_SECONDS).contains(s))
            .ok_or_else(|| {
                format!(
                    "{what} must be a number of seconds between 0 and 3600, like 30 or 2.5 \
                     (0: no timeout)"
                )
            })?;
        Ok(Timeout((secs > 0.0).then(|| Duration::from_secs_f64(secs))))
    }
}

/// clap's parser of `--connect-timeout`.
pub fn parse_connect_timeout(text: &str) -> Result<Timeout, String> {
    Timeout::parse(text, "--connect-timeout")
}

/// clap's parser of `--read-timeout` (and of CTQ_READ_TIMEOUT, its environment variable, which a
/// message must name too: the user may not have typed the option at all).
pub fn parse_read_timeout(text: &str) -> Result<Timeout, String> {
    Timeout::parse(text, "--read-timeout (or CTQ_READ_TIMEOUT)")
}

/// clap's parser of `--api-region`: a region name as AWS spells them (`eu-west-1`,
/// `us-gov-west-1`, `cn-north-1`). Anything else would only fail later, as a signing or
/// endpoint error that does not say the region was mistyped.
pub fn parse_region(text: &str) -> Result<String, String> {
    let ok = (1..=64).contains(&text.len())
        && text.starts_with(|c: char| c.is_ascii_lowercase())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(text.to_string())
    } else {
        Err("a region name is lower-case letters, digits and dashes, like eu-west-1".to_string())
    }
}

/// clap's parser of `--endpoint-url`: `http://` or `https://`, a host, an optional port, an
/// optional path. Without a scheme the SDK would fail at the first request with a message about
/// URIs; here the user gets the fix (`localhost:9000` → `http://localhost:9000`).
pub fn parse_endpoint_url(text: &str) -> Result<String, String> {
    if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("a URL has no spaces or control characters".to_string());
    }
    let lower = text.to_ascii_lowercase();
    let Some(rest) = ["http://", "https://"]
        .iter()
        .find_map(|s| lower.starts_with(s).then(|| &text[s.len()..]))
    else {
        if text.contains("://") {
            return Err("the endpoint must be an http:// or https:// URL".to_string());
        }
        return Err(format!(
            "the endpoint needs a scheme: did you mean http://{}?",
            escape_control(text)
        ));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(
            "the endpoint URL may not hold a user name or password: credentials come from the \
             AWS settings (--profile, AWS_ACCESS_KEY_ID)"
                .to_string(),
        );
    }
    let (host, port) = match authority.strip_prefix('[') {
        // An IPv6 literal: [::1]:9000.
        Some(v6) => match v6.split_once(']') {
            Some((h, after)) => (h, after.strip_prefix(':')),
            None => ("", None),
        },
        None => match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return Err("the endpoint URL has no host, like http://localhost:9000".to_string());
    }
    if let Some(p) = port
        && !p.parse::<u16>().is_ok_and(|n| n > 0)
    {
        return Err("the port of the endpoint URL must be a number from 1 to 65535".to_string());
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_in_seconds_zero_for_none() {
        let t = |s| parse_read_timeout(s).map(Timeout::get);
        assert_eq!(t("30"), Ok(Some(Duration::from_secs(30))));
        assert_eq!(t(" 2.5 "), Ok(Some(Duration::from_millis(2500))));
        assert_eq!(t("0"), Ok(None));
        assert_eq!(t("3600"), Ok(Some(Duration::from_secs(3600))));
        for bad in ["", "soon", "-1", "3601", "inf", "NaN", "1e400", "30s"] {
            let e = t(bad).unwrap_err();
            assert!(
                e.starts_with("--read-timeout (or CTQ_READ_TIMEOUT) must be a number of seconds between 0 and 3600"),
                "{bad}: {e}"
            );
        }
        assert!(
            parse_connect_timeout("x")
                .unwrap_err()
                .starts_with("--connect-timeout must be")
        );
    }

    #[test]
    fn region_names() {
        for ok in ["eu-west-1", "us-gov-west-1", "cn-north-1", "local"] {
            assert_eq!(parse_region(ok).as_deref(), Ok(ok));
        }
        for bad in [
            "",
            "EU-WEST-1",
            "eu west 1",
            "1eu",
            "eu_west_1",
            "eu-west-1\n",
        ] {
            assert!(parse_region(bad).is_err(), "{bad:?}");
        }
        assert!(parse_region(&"a".repeat(65)).is_err());
    }

    #[test]
    fn endpoint_urls() {
        for ok in [
            "http://localhost:9000",
            "https://s3.example.com",
            "HTTP://127.0.0.1:9000/",
            "http://[::1]:9000/base",
            "https://minio.internal/path?x=1",
        ] {
            assert_eq!(parse_endpoint_url(ok).as_deref(), Ok(ok));
        }
        assert_eq!(
            parse_endpoint_url("localhost:9000").unwrap_err(),
            "the endpoint needs a scheme: did you mean http://localhost:9000?"
        );
        let err = |s| parse_endpoint_url(s).unwrap_err();
        assert!(err("ftp://host").contains("http:// or https://"));
        assert!(err("http://").contains("no host"));
        assert!(err("http:///bucket").contains("no host"));
        assert!(err("http://:9000").contains("no host"));
        assert!(err("http://host:0").contains("port"));
        assert!(err("http://host:99999").contains("port"));
        assert!(err("http://host:x").contains("port"));
        assert!(err("http://[::1").contains("no host"));
        assert!(err("http://user:pw@host").contains("user name or password"));
        assert!(err("http://host\u{1b}[31m").contains("control"));
        assert!(err("http://a b").contains("spaces"));
    }
}
