//! The AWS set-up shared by the S3 source and the Athena engine: the standard credential and
//! region chain (or `--profile`), checked once, with ctq's retry and timeout settings.

use std::time::Duration;

use anyhow::{anyhow, bail};
use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::config::ProvideCredentials;
use aws_sdk_s3::error::DisplayErrorContext;

pub const NO_CREDENTIALS: &str = "no AWS credentials found: set AWS_PROFILE or pass --profile, \
    run `aws sso login`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";

/// The SDK configuration every client is built from. Fails, naming what to set, when no
/// credentials can be found, so that no request is ever sent unsigned.
pub async fn sdk_config(profile: Option<&str>) -> anyhow::Result<SdkConfig> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(5))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .read_timeout(Duration::from_secs(30))
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
        bail!("{NO_CREDENTIALS} ({})", DisplayErrorContext(&e));
    }
    Ok(sdk)
}
