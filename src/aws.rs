//! The AWS set-up shared by the S3 source and the Athena engine: the standard credential and
//! region chain (or `--profile`), checked once, with ctq's retry and timeout settings; and the
//! one-line summary of a failed request that every AWS message uses.

use std::error::Error;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail};
use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{ProvideCredentials, StalledStreamProtectionConfig};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::RequestId;

pub const NO_CREDENTIALS: &str =
    "no AWS credentials: set AWS_PROFILE, run `aws configure` or `aws sso login`";

/// How long a request may wait for S3 to send anything (response headers, or the next bytes of
/// a body) before the attempt is given up and retried.
const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The environment variable that sets the read timeout, in seconds (`2`, `0.5`).
pub const READ_TIMEOUT_VAR: &str = "CTQ_READ_TIMEOUT";

/// The read timeout: `CTQ_READ_TIMEOUT` seconds, or 30 s.
pub fn read_timeout() -> anyhow::Result<Duration> {
    let Some(raw) = std::env::var_os(READ_TIMEOUT_VAR) else {
        return Ok(DEFAULT_READ_TIMEOUT);
    };
    let text = raw.to_string_lossy();
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 3600.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            anyhow!("{READ_TIMEOUT_VAR}: expected seconds between 0 and 3600, like 30 or 2.5, got `{text}`")
        })
}

/// The SDK configuration every client is built from. Fails, naming what to set, when no
/// credentials can be found, so that no request is ever sent unsigned.
pub async fn sdk_config(profile: Option<&str>) -> anyhow::Result<SdkConfig> {
    let read_timeout = read_timeout()?;
    if let Some(p) = profile {
        check_profile_exists(p)?;
    }
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(5))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .read_timeout(read_timeout)
                .build(),
        )
        // A body that stops arriving fails after the same wait as a response that never starts.
        .stalled_stream_protection(
            StalledStreamProtectionConfig::enabled()
                .grace_period(read_timeout)
                .build(),
        );
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    let sdk = loader.load().await;
    let provider = sdk
        .credentials_provider()
        .ok_or_else(|| anyhow!(NO_CREDENTIALS))?;
    if let Err(e) = provider.provide_credentials().await {
        return Err(credentials_error(&e, profile));
    }
    Ok(sdk)
}

/// Why no credentials could be had, in one line.
fn credentials_error(e: &(dyn Error + 'static), profile: Option<&str>) -> anyhow::Error {
    // A profile named in AWS_PROFILE that no file defines: the SDK just finds no credentials.
    if profile.is_none()
        && let Ok(p) = std::env::var("AWS_PROFILE")
        && let Err(missing) = check_profile_exists(&p)
    {
        return missing.context("AWS_PROFILE");
    }
    // `CredentialsError::CredentialsNotLoaded`: no provider of the chain found anything (the type
    // is not re-exported by the SDK crates ctq depends on, its message is stable).
    if e.to_string() == "the credential provider was not enabled" {
        return anyhow!(NO_CREDENTIALS);
    }
    let whose = profile.map_or(String::new(), |p| format!(" of profile `{p}`"));
    anyhow!(
        "cannot get the AWS credentials{whose} ({}): check the profile, or run `aws sso login`",
        root_cause(e)
    )
}

/// A profile given by name must be in the config or the credentials file, where the SDK looks.
fn check_profile_exists(profile: &str) -> anyhow::Result<()> {
    let files = ProfileFiles::locate();
    let mut known = Vec::new();
    for (path, is_config) in [(&files.config, true), (&files.credentials, false)] {
        let Some(path) = path else { continue };
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        for name in profile_names(&text, is_config) {
            if name == profile {
                return Ok(());
            }
            if !known.contains(&name) {
                known.push(name);
            }
        }
    }
    let known = if known.is_empty() {
        String::from("no profiles are defined there")
    } else {
        known.truncate(12);
        format!("profiles there: {}", known.join(", "))
    };
    bail!(
        "profile `{profile}` not found in {} ({known}): check --profile or AWS_PROFILE",
        files.config_shown
    )
}

/// Where the SDK reads profiles from.
struct ProfileFiles {
    config: Option<PathBuf>,
    credentials: Option<PathBuf>,
    /// How a message names the config file.
    config_shown: String,
}

impl ProfileFiles {
    /// `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE` (a leading `~/` is the home folder),
    /// or `~/.aws/config` and `~/.aws/credentials`.
    fn locate() -> ProfileFiles {
        let home = std::env::var_os("HOME")
            .or_else(|| std::env::var_os("USERPROFILE"))
            .map(PathBuf::from);
        let file = |var: &str, default: &str| -> (Option<PathBuf>, String) {
            match std::env::var(var) {
                Ok(p) if !p.is_empty() => {
                    let path = match p.strip_prefix("~/") {
                        Some(rest) => home.as_ref().map(|h| h.join(rest)),
                        None => Some(PathBuf::from(&p)),
                    };
                    (path, p)
                }
                _ => (
                    home.as_ref().map(|h| h.join(default)),
                    format!("~/{default}"),
                ),
            }
        };
        let (config, config_shown) = file("AWS_CONFIG_FILE", ".aws/config");
        let (credentials, _) = file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
        ProfileFiles {
            config,
            credentials,
            config_shown,
        }
    }
}

/// The profiles a file defines: `[default]` and `[profile NAME]` in the config file, `[NAME]` in
/// the credentials file.
fn profile_names(text: &str, is_config: bool) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let inner = line.strip_prefix('[')?;
            let inner = inner[..inner.find(']')?].trim();
            let name = if is_config {
                match inner.strip_prefix("profile") {
                    Some(rest) if rest.starts_with([' ', '\t']) => rest.trim(),
                    _ if inner == "default" => inner,
                    _ => return None,
                }
            } else {
                inner
            };
            (!name.is_empty()).then(|| name.to_string())
        })
        .collect()
}

/// What went wrong with a request, in a few words and one line: the service's code, message and
/// request id; or, when no usable answer came, why (timed out, connection refused, …). Never the
/// SDK's nested error chain.
pub fn describe<E>(e: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + Error + 'static,
{
    match e {
        SdkError::TimeoutError(_) => "timed out".to_string(),
        SdkError::DispatchFailure(d) if d.is_timeout() => "timed out".to_string(),
        SdkError::DispatchFailure(_) => transport_reason(e),
        SdkError::ResponseError(_) => format!("unreadable response ({})", transport_reason(e)),
        SdkError::ConstructionFailure(_) => {
            format!("the request could not be made ({})", root_cause(e))
        }
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            let mut out = match (e.code(), e.message()) {
                (Some(code), Some(m)) if !m.is_empty() => format!("{code}: {}", one_line(m)),
                (Some(code), _) => code.to_string(),
                (None, _) => format!("HTTP {status}"),
            };
            if let Some(id) = e.meta().request_id().or_else(|| e.request_id()) {
                out.push_str(&format!(" (request id {id})"));
            }
            out
        }
        _ => root_cause(e),
    }
}

/// A short reason for a request that got no usable answer, from the error's source chain: the
/// kind of the I/O error when there is one, else the innermost error's own words.
pub fn transport_reason(e: &(dyn Error + 'static)) -> String {
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(reason) = io_reason(io.kind())
        {
            return reason.to_string();
        }
        let text = err.to_string();
        if text.contains("checksum mismatch") {
            return "checksum mismatch".to_string();
        }
        if text.contains("minimum throughput") {
            return "stalled: no data arrived within the read timeout".to_string();
        }
        current = err.source();
    }
    root_cause(e)
}

fn io_reason(kind: std::io::ErrorKind) -> Option<&'static str> {
    use std::io::ErrorKind as K;
    Some(match kind {
        K::ConnectionRefused => "connection refused",
        K::ConnectionReset => "connection reset",
        K::ConnectionAborted => "connection aborted",
        K::TimedOut => "timed out",
        K::UnexpectedEof => "connection closed before the end of the response",
        K::BrokenPipe => "connection closed",
        K::NotConnected => "not connected",
        K::HostUnreachable => "host unreachable",
        K::NetworkUnreachable => "network unreachable",
        K::AddrNotAvailable => "address not available",
        _ => return None,
    })
}

/// The innermost error's message, on one line and not too long.
pub fn root_cause(e: &(dyn Error + 'static)) -> String {
    let mut root = e;
    while let Some(next) = root.source() {
        root = next;
    }
    one_line(&root.to_string())
}

fn one_line(text: &str) -> String {
    const MAX: usize = 200;
    let mut out: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.len() > MAX {
        let mut cut = MAX;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}

/// The read timeout as a message says it: `30 s`, `1.5 s`.
pub fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_as_the_sdk_reads_them() {
        let config = "[default]\nregion = x\n[profile dev] # team\n[profile  ops ]\n[sso-session s]\n[other]\n";
        assert_eq!(profile_names(config, true), ["default", "dev", "ops"]);
        let credentials = "[default]\n[ci]\naws_access_key_id = A\n";
        assert_eq!(profile_names(credentials, false), ["default", "ci"]);
    }

    #[test]
    fn a_failed_request_in_a_few_words() {
        use aws_sdk_s3::error::{ConnectorError, ErrorMetadata};
        use aws_sdk_s3::operation::get_object::GetObjectError;
        use aws_sdk_s3::primitives::SdkBody;
        let raw = |status: u16| {
            HttpResponse::try_from(
                http::Response::builder()
                    .status(status)
                    .body(SdkBody::empty())
                    .unwrap(),
            )
            .unwrap()
        };
        let meta = ErrorMetadata::builder()
            .code("SlowDown")
            .message("Please reduce\nyour request rate.")
            .custom("aws_request_id", "4442587FB7D0A2F9")
            .build();
        let e = SdkError::service_error(GetObjectError::generic(meta), raw(503));
        assert_eq!(
            describe(&e),
            "SlowDown: Please reduce your request rate. (request id 4442587FB7D0A2F9)"
        );
        let e: SdkError<GetObjectError, HttpResponse> = SdkError::service_error(
            GetObjectError::generic(ErrorMetadata::builder().build()),
            raw(502),
        );
        assert_eq!(describe(&e), "HTTP 502");

        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let e: SdkError<GetObjectError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(refused)));
        assert_eq!(describe(&e), "connection refused");
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "by peer");
        let e: SdkError<GetObjectError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::other(Box::new(reset), None));
        assert_eq!(describe(&e), "connection reset");
        let e: SdkError<GetObjectError, HttpResponse> =
            SdkError::timeout_error("attempt timeout occurred after 1s");
        assert_eq!(describe(&e), "timed out");
    }

    #[test]
    fn long_messages_are_cut_on_one_line() {
        let long = format!("a\nb {}", "x".repeat(300));
        let out = one_line(&long);
        assert!(out.starts_with("a b x") && out.ends_with('…') && !out.contains('\n'));
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(seconds(Duration::from_secs(30)), "30 s");
    }
}
