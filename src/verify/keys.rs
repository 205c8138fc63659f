//! The public keys that signed the digests, from CloudTrail's `ListPublicKeys`.
//!
//! Each region signs with its own keys, so the keys are asked of each region the digests come
//! from, for the digests' time range, every page read. The client is built from the same SDK
//! configuration as S3's and Athena's (credentials, retries, timeouts, `--debug`); its endpoint
//! is CloudTrail's, or `AWS_ENDPOINT_URL_CLOUDTRAIL` (the SDK's own setting for it).

use anyhow::Context as _;
use aws_sdk_cloudtrail::Client;
use aws_sdk_cloudtrail::config::Region;
use aws_sdk_cloudtrail::primitives::DateTime;

use super::crypto::{Keys, PublicKey};
use crate::aws::{self, AwsSettings};
use crate::time::{Micros, SECOND};

/// Pages read at most per region: a region has a handful of keys.
const MAX_PAGES: usize = 100;

/// Add to `keys` the keys of each of `regions` valid within `span`.
pub async fn list(
    settings: &AwsSettings,
    regions: &[String],
    span: (Micros, Micros),
    keys: &mut Keys,
) -> anyhow::Result<()> {
    let sdk = aws::sdk_config(settings).await?;
    let base = aws_sdk_cloudtrail::config::Builder::from(&sdk)
        .interceptor(aws::debug::Observe)
        .retry_classifier(aws::FailFast);
    let time = |t: Micros| DateTime::from_secs(t.div_euclid(SECOND));
    for region in regions {
        let client = Client::from_conf(base.clone().region(Region::new(region.clone())).build());
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let out = client
                .list_public_keys()
                .start_time(time(span.0))
                .end_time(time(span.1))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| anyhow::anyhow!(aws::describe(&e)))
                .with_context(|| {
                    format!("CloudTrail ListPublicKeys in {region} (the keys that sign its digests; --public-keys FILE gives them offline)")
                })?;
            for k in out.public_key_list() {
                let (Some(value), Some(fingerprint)) = (k.value(), k.fingerprint()) else {
                    continue;
                };
                let micros = |t: Option<&DateTime>| {
                    t.map(|t| t.secs().saturating_mul(SECOND) + i64::from(t.subsec_nanos() / 1000))
                };
                let validity = micros(k.validity_start_time()).zip(micros(k.validity_end_time()));
                keys.add(
                    fingerprint,
                    PublicKey {
                        der: value.as_ref().to_vec(),
                        validity,
                    },
                );
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
    }
    Ok(())
}
