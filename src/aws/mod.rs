//! The AWS set-up shared by the S3 source and the Athena engine: the settings the user chose
//! (`settings`), the standard credential and region chain (or `--profile`, `--api-region`),
//! checked once, with ctq's retry and timeout settings (`sdk_config`), to which every client adds
//! the retry classifier `FailFast` and the interceptor `debug::Observe`; the one-line summary of
//! a failed request that every AWS message uses (`errors`); and `--debug` (`debug`).

pub mod debug;
mod errors;
mod profile;
pub mod settings;

use std::error::Error;

use anyhow::anyhow;
use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::credential_feature::AwsCredentialFeature;
use aws_sdk_s3::config::{Credentials, ProvideCredentials, Region, StalledStreamProtectionConfig};

pub use errors::{
    FailFast, describe, no_answer, note_endpoint, root_cause, seconds, service_error,
    transport_reason, unreachable_reason,
};
use profile::check_profile_exists;
pub use settings::{AwsSettings, Timeout};

pub const NO_CREDENTIALS: &str =
    "no AWS credentials: set AWS_PROFILE, run `aws configure` or `aws sso login`";

/// The SDK configuration every client is built from. Fails, naming what to set, when no
/// credentials can be found, so that no request is ever sent unsigned.
pub async fn sdk_config(s: &AwsSettings) -> anyhow::Result<SdkConfig> {
    if s.debug {
        let (ids, secrets) = profile::keys_in_files();
        ids.iter().for_each(|id| debug::hide_key_id(id));
        secrets.iter().for_each(|secret| debug::hide(secret));
        debug::enable();
    }
    let profile = s.profile.as_deref();
    if let Some(p) = profile {
        check_profile_exists(p)?;
    }
    let read_timeout = s.read_timeout.get();
    let mut timeouts = TimeoutConfig::builder();
    timeouts = match s.connect_timeout.get() {
        Some(t) => timeouts.connect_timeout(t),
        None => timeouts.disable_connect_timeout(),
    };
    timeouts = match read_timeout {
        Some(t) => timeouts.read_timeout(t),
        None => timeouts.disable_read_timeout(),
    };
    // A body that stops arriving fails after the same wait as a response that never starts.
    let stalled = match read_timeout {
        Some(t) => StalledStreamProtectionConfig::enabled()
            .grace_period(t)
            .build(),
        None => StalledStreamProtectionConfig::disabled(),
    };
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(5))
        .timeout_config(timeouts.build())
        .stalled_stream_protection(stalled);
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    let (region, region_from) = chosen_region(s);
    if let Some(r) = region {
        loader = loader.region(Region::new(r));
    }
    let sdk = loader.load().await;
    debug::line(&match sdk.region() {
        Some(r) => format!("region {r} (from {region_from})"),
        None => {
            "no region: none given by --api-region, AWS_REGION, AWS_DEFAULT_REGION or the profile"
                .to_string()
        }
    });
    let provider = sdk
        .credentials_provider()
        .ok_or_else(|| anyhow!(NO_CREDENTIALS))?;
    match provider.provide_credentials().await {
        Ok(creds) => {
            if debug::enabled() {
                debug::hide(creds.secret_access_key());
                if let Some(token) = creds.session_token() {
                    debug::hide(token);
                }
                debug::hide_key_id(creds.access_key_id());
                debug::line(&format!(
                    "credentials from {} (access key {})",
                    credential_source(&creds, profile),
                    creds.access_key_id()
                ));
            }
        }
        Err(e) => return Err(credentials_error(&e, profile)),
    }
    Ok(sdk)
}

/// The region ctq sets, and where it comes from. `--api-region` first; AWS_REGION is the SDK's
/// own; AWS_DEFAULT_REGION is aws-cli's, which the Rust SDK does not read, and comes before the
/// profile's as in aws-cli. None: the SDK's chain (the profile, then instance metadata).
fn chosen_region(s: &AwsSettings) -> (Option<String>, &'static str) {
    let env = |var| {
        std::env::var(var)
            .ok()
            .filter(|v: &String| !v.trim().is_empty())
    };
    if let Some(r) = &s.region {
        (Some(r.clone()), "--api-region")
    } else if env("AWS_REGION").is_some() {
        (None, "AWS_REGION")
    } else if let Some(r) = env("AWS_DEFAULT_REGION") {
        (Some(r), "AWS_DEFAULT_REGION")
    } else {
        (None, "the profile or instance metadata")
    }
}

/// Which provider of the chain gave the credentials, in words, from the features the SDK records
/// on them (for its user agent); never the keys.
fn credential_source(creds: &Credentials, profile: Option<&str>) -> String {
    use AwsCredentialFeature as F;
    let features: &[F] = creds.get_property::<Vec<F>>().map_or(&[], |v| v.as_slice());
    let has = |f: F| features.contains(&f);
    let profile = profile
        .map(str::to_string)
        .or_else(|| std::env::var("AWS_PROFILE").ok())
        .unwrap_or_else(|| "default".to_string());
    if has(F::CredentialsSso) || has(F::CredentialsProfileSso) {
        format!("SSO (profile `{profile}`)")
    } else if has(F::CredentialsEnvVarsStsWebIdToken) {
        "a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN)".to_string()
    } else if has(F::CredentialsProfileStsWebIdToken) {
        format!("a web identity token (profile `{profile}`)")
    } else if has(F::CredentialsStsAssumeRole) {
        format!("an assumed role (profile `{profile}`)")
    } else if has(F::CredentialsProcess) || has(F::CredentialsProfileProcess) {
        format!("credential_process (profile `{profile}`)")
    } else if has(F::CredentialsLogin) || has(F::CredentialsProfileLogin) {
        format!("`aws login` (profile `{profile}`)")
    } else if has(F::CredentialsProfile) {
        format!("the shared config and credentials files (profile `{profile}`)")
    } else if has(F::CredentialsEnvVars) {
        "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)".to_string()
    } else if has(F::CredentialsHttp) {
        "the container credentials endpoint (ECS, EKS)".to_string()
    } else if has(F::CredentialsImds) {
        "the instance metadata (EC2 instance role)".to_string()
    } else {
        "the default chain".to_string()
    }
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
