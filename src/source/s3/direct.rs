//! GetObject without the SDK's orchestrator, for the many small objects of a trail.
//!
//! A trail writes about 288 objects per account, region and day, each a few KB, and the SDK
//! spends about 300 µs of CPU on each GetObject around the request itself: runtime plugins and
//! configuration layers rebuilt per operation, interceptors, identity and endpoint resolution, a
//! user agent formatted each time, many small allocations. At organization scale that, not the
//! network, is what bounds a 2-core machine (BENCHMARKS.md, "S3 at real latency").
//!
//! So the first GetObject of each bucket goes through the SDK, and `Capture`, an interceptor on
//! that one request, notes what the SDK resolved for it: the URL before the key, the signing
//! region and service from its SigV4 `Authorization`, its user agent and checksum headers, and
//! the SDK's own HTTP connector (same TLS, proxy, connection pool and timeouts): a `Template`.
//! Later GETs are built from it, signed by `sigv4` (the SDK's key derivation and HMAC, the
//! signing key kept for the day) with the credentials of the SDK's chain (cached here until 10
//! seconds before they expire, as the SDK's identity cache keeps them), and sent on that
//! connector.
//! What the orchestrator did around them is done here: retries of throttling, 5xx and broken
//! connections with the standard backoff (none for a refused connection or an unknown host,
//! as `aws::FailFast`), the count of overloaded answers the adaptive gate reads, the response
//! checksum (`aws-smithy-checksums`, as the SDK validates it), S3's error code and message,
//! and the `--debug` line. Anything this does not recognise (another signing algorithm, a key
//! the SDK encodes differently, credentials that cannot be had) leaves the bucket on the SDK.

use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_checksums::ChecksumAlgorithm;
use aws_smithy_checksums::body::validate::ChecksumBody;
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnector, HttpConnectorSettings};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::timeout::TimeoutConfig;

use super::get_error::{ErrorAnswer, GetError, classify_get_error};
use super::template::{Template, unescaped};
use crate::aws;

/// Attempts of one request, as the SDK's standard retry strategy is set (`aws::sdk_config`).
const MAX_ATTEMPTS: u32 = 5;
/// The standard strategy's backoff: a random share of 1 s × 2^(attempt−1), at most 20 s.
const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(20);
/// Credentials are fetched again this long before they expire (the SDK's identity cache's
/// buffer), and at most once in this long whatever expiry they come with.
const REFRESH_BEFORE: Duration = Duration::from_secs(10);
const REFRESH_AT_MOST_EVERY: Duration = Duration::from_secs(10);
/// The standard strategy's retry quota: a retry takes 5 tokens (10 after a timeout), a success
/// gives back what its retries took, or 1; with no tokens left, nothing is retried.
const RETRY_TOKENS: i64 = 500;
const RETRY_COST: i64 = 5;
const TIMEOUT_RETRY_COST: i64 = 10;

/// How one bucket's objects are downloaded: the SDK client, and the direct path once the first
/// GetObject has shown it.
#[derive(Clone, Debug)]
pub struct Getter {
    pub client: Client,
    direct: Arc<Direct>,
}

#[derive(Debug)]
struct Direct {
    /// Set by the first GetObject sent through the SDK: `None` inside when it cannot be
    /// repeated without the SDK.
    template: OnceLock<Option<Template>>,
    credentials: Arc<CredentialCache>,
    /// Set when S3 refused a signature of ours (a skewed clock, credentials it no longer
    /// takes): from then on every GET goes through the SDK, which corrects the clock, fetches
    /// the credentials again, or says what is wrong as it always has.
    off: std::sync::atomic::AtomicBool,
    /// The retry quota of this bucket's direct GETs (`RETRY_TOKENS`).
    retry_tokens: std::sync::atomic::AtomicI64,
}

/// The credentials of the SDK's chain, fetched once and again shortly before they expire.
pub struct CredentialCache {
    provider: SharedCredentialsProvider,
    /// The credentials, and when they were fetched.
    current: RwLock<Option<(Credentials, Instant)>>,
    refresh: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CredentialCache(..)")
    }
}

impl CredentialCache {
    pub fn new(provider: SharedCredentialsProvider) -> CredentialCache {
        CredentialCache {
            provider,
            current: RwLock::new(None),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    /// The credentials held, unless they expire soon and were not fetched just now (a provider
    /// that hands out credentials close to their expiry is not asked again for every GET).
    fn fresh(&self) -> Option<Credentials> {
        let current = self.current.read().ok()?;
        let (c, fetched) = current.as_ref()?;
        let usable = c
            .expiry()
            .is_none_or(|e| e > SystemTime::now() + REFRESH_BEFORE)
            || fetched.elapsed() < REFRESH_AT_MOST_EVERY;
        usable.then(|| c.clone())
    }

    async fn get(&self) -> Option<Credentials> {
        if let Some(c) = self.fresh() {
            return Some(c);
        }
        let _one_at_a_time = self.refresh.lock().await;
        if let Some(c) = self.fresh() {
            return Some(c);
        }
        let c = self.provider.provide_credentials().await.ok()?;
        // New keys are kept out of `--debug` lines as the first ones were (`aws::sdk_config`).
        aws::debug::hide(c.secret_access_key());
        if let Some(token) = c.session_token() {
            aws::debug::hide(token);
        }
        aws::debug::hide_key_id(c.access_key_id());
        if let Ok(mut current) = self.current.write() {
            *current = Some((c.clone(), Instant::now()));
        }
        Some(c)
    }
}

impl Getter {
    pub fn new(client: Client, credentials: Arc<CredentialCache>) -> Getter {
        Getter {
            client,
            direct: Arc::new(Direct {
                template: OnceLock::new(),
                credentials,
                off: std::sync::atomic::AtomicBool::new(false),
                retry_tokens: std::sync::atomic::AtomicI64::new(RETRY_TOKENS),
            }),
        }
    }

    /// Send GetObject of `key`: the body to read and its announced length, or why not.
    pub async fn send(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<(ByteStream, Option<u64>), GetError> {
        // Only keys with nothing to escape, as every CloudTrail key is: a key of anything else
        // in the bucket stays on the SDK, which has always read it.
        let plain = key.bytes().all(unescaped);
        if plain
            && !self.direct.off.load(std::sync::atomic::Ordering::Relaxed)
            && let Some(Some(template)) = self.direct.template.get()
            && let Some(sent) = self.direct.send(template, key).await
        {
            return sent;
        }
        let request = self.client.get_object().bucket(bucket).key(key);
        let sent = if plain && self.direct.template.get().is_none() {
            request
                .customize()
                .interceptor(Capture {
                    direct: Arc::clone(&self.direct),
                    key: key.to_string(),
                })
                .send()
                .await
        } else {
            request.send().await
        };
        match sent {
            Ok(out) => {
                let len = out.content_length().and_then(|n| u64::try_from(n).ok());
                Ok((out.body, len))
            }
            Err(e) => Err(classify_get_error(&e)),
        }
    }
}

impl Direct {
    /// Takes `cost` retry tokens, if there are that many.
    fn take(&self, cost: i64) -> bool {
        use std::sync::atomic::Ordering;
        self.retry_tokens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n >= cost).then_some(n - cost)
            })
            .is_ok()
    }

    fn give_back(&self, n: i64) {
        use std::sync::atomic::Ordering;
        let _ = self
            .retry_tokens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                Some((t + n).min(RETRY_TOKENS))
            });
    }

    /// GetObject of `key` on the direct path, retried as the SDK retries; None when it cannot
    /// be sent without the SDK (no credentials, a request that cannot be signed, a signature
    /// S3 refused).
    async fn send(
        &self,
        t: &Template,
        key: &str,
    ) -> Option<Result<(ByteStream, Option<u64>), GetError>> {
        let Some(credentials) = self.credentials.get().await else {
            // The SDK asks the chain again, and says what is wrong if it still fails.
            self.off.store(true, std::sync::atomic::Ordering::Relaxed);
            return None;
        };
        let url = format!("{}{key}", t.base);
        let started = Instant::now();
        let mut attempt = 0;
        // Tokens taken by this GET's retries, given back when it succeeds.
        let mut taken = 0;
        loop {
            attempt += 1;
            let request = t.signed(&url, key, &credentials, SystemTime::now())?;
            aws::note_endpoint(&url);
            let outcome = match t.connector.call(request).await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    if (200..300).contains(&status) {
                        debug_line(&url, &format!("HTTP {status}"), attempt, started);
                        let len = response
                            .headers()
                            .get("content-length")
                            .and_then(|v| v.parse::<u64>().ok());
                        self.give_back(if taken > 0 { taken } else { 1 });
                        let checksum = t
                            .asks_checksums()
                            .then(|| expected_checksum(response.headers()))
                            .flatten();
                        let body = match checksum {
                            Some((algorithm, expected)) => {
                                SdkBody::from_body_1_x(ChecksumBody::new(
                                    response.into_body(),
                                    algorithm.into_impl(),
                                    expected,
                                ))
                            }
                            None => response.into_body(),
                        };
                        return Some(Ok((ByteStream::new(body), len)));
                    }
                    aws::debug::note_status(status);
                    let answer = ErrorAnswer::read(response).await;
                    if answer.refuses_signature() {
                        debug_line(&url, &format!("HTTP {status}"), attempt, started);
                        self.off.store(true, std::sync::atomic::Ordering::Relaxed);
                        return None;
                    }
                    if answer.retryable() && attempt < MAX_ATTEMPTS && self.take(RETRY_COST) {
                        taken += RETRY_COST;
                        None
                    } else {
                        debug_line(&url, &format!("HTTP {status}"), attempt, started);
                        Some(answer.into_error())
                    }
                }
                Err(e) => {
                    // As the SDK's classifiers: I/O errors and timeouts are transient, unless
                    // the endpoint refused the connection or its name does not resolve.
                    let transient = (e.is_io()
                        || e.is_timeout()
                        || e.as_other()
                            == Some(aws_smithy_types::retry::ErrorKind::TransientError))
                        && aws::unreachable_reason(&e).is_none();
                    let cost = if e.is_timeout() {
                        TIMEOUT_RETRY_COST
                    } else {
                        RETRY_COST
                    };
                    if transient && attempt < MAX_ATTEMPTS && self.take(cost) {
                        taken += cost;
                        None
                    } else {
                        let why = if e.is_timeout() {
                            "timed out".to_string()
                        } else {
                            aws::transport_reason(&e)
                        };
                        debug_line(&url, &format!("no response ({why})"), attempt, started);
                        Some(GetError::Object(format!("download failed: {why}")))
                    }
                }
            };
            match outcome {
                Some(e) => return Some(Err(e)),
                None => tokio::time::sleep(backoff(attempt)).await,
            }
        }
    }
}

/// The standard strategy's wait before attempt `attempt + 1`.
fn backoff(attempt: u32) -> Duration {
    use std::sync::atomic::{AtomicU64, Ordering};
    static DRAWS: AtomicU64 = AtomicU64::new(0);
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    let mut z = seed ^ DRAWS.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    let share = (z ^ (z >> 31)) as f64 / u64::MAX as f64;
    let ceiling = INITIAL_BACKOFF
        .saturating_mul(1 << (attempt - 1).min(16))
        .min(MAX_BACKOFF);
    ceiling.mul_f64(share)
}

/// The checksum to hold the body to: the first S3 sent of those the SDK checks (fastest
/// first), as the SDK's response checksum interceptor chooses it; none for a part-level
/// checksum of a multipart object, which cannot be checked.
fn expected_checksum(
    headers: &aws_smithy_runtime_api::http::Headers,
) -> Option<(ChecksumAlgorithm, bytes::Bytes)> {
    for name in aws_smithy_checksums::http::CHECKSUM_ALGORITHMS_IN_PRIORITY_ORDER {
        let Ok(algorithm) = name.parse::<ChecksumAlgorithm>() else {
            continue;
        };
        let Some(value) = headers.get(algorithm.into_impl().header_name()) else {
            continue;
        };
        if is_part_level(value) {
            return None;
        }
        let expected = aws_smithy_types::base64::decode(value).ok()?;
        return Some((algorithm, bytes::Bytes::from(expected)));
    }
    None
}

/// `…-3`: the checksum of a multipart object's parts, not of its bytes.
fn is_part_level(checksum: &str) -> bool {
    checksum
        .rsplit_once('-')
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn debug_line(url: &str, outcome: &str, attempt: u32, started: Instant) {
    if aws::debug::enabled() {
        let sent = format!("GET {url}");
        let took = started.elapsed().as_millis();
        aws::debug::request_line("S3 GetObject", &sent, outcome, attempt, took);
    }
}

/// Notes, on the first GetObject of a bucket sent through the SDK, what later ones need.
#[derive(Debug)]
struct Capture {
    direct: Arc<Direct>,
    key: String,
}

impl Intercept for Capture {
    fn name(&self) -> &'static str {
        "ctq::source::s3::direct::Capture"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.direct.template.get().is_some() {
            return Ok(());
        }
        let Some(client) = components.http_client() else {
            let _ = self.direct.template.set(None);
            return Ok(());
        };
        // The connector the orchestrator would use for this request (`try_attempt`).
        let mut settings = HttpConnectorSettings::builder();
        if let Some(timeouts) = cfg.load::<TimeoutConfig>() {
            settings.set_connect_timeout(timeouts.connect_timeout());
            settings.set_read_timeout(timeouts.read_timeout());
        }
        let connector = client.http_connector(&settings.build(), components);
        let request = context.request();
        let template = Template::from_sent(request.uri(), request.headers(), &self.key, connector);
        let _ = self.direct.template.set(template);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_level_checksums_are_told_apart() {
        assert!(is_part_level("abcd==-3"));
        assert!(!is_part_level("abcd=="));
        assert!(!is_part_level("ab-cd=="));
    }

    #[test]
    fn the_backoff_stays_under_its_ceiling() {
        for attempt in 1..=8 {
            let ceiling = INITIAL_BACKOFF
                .saturating_mul(1 << (attempt - 1))
                .min(MAX_BACKOFF);
            for _ in 0..100 {
                assert!(backoff(attempt) <= ceiling);
            }
        }
    }
}
