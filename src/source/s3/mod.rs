//! S3 sources: the only async code in ctq.
//!
//! One `S3Session` (credentials, region, endpoint, a small tokio runtime) serves every S3 source
//! of a run, and reaches each `Bucket` in its own region. `list` finds the trail objects of the
//! time window (`page` reads one listing, checking every page), `fetch` downloads them for the
//! rayon workers, and `Bucket::regions` walks the layout down to the region folders (what
//! `ctq athena ddl` reads to find a trail's accounts and regions). A request
//! that fails in a way that stops the run is told in one line by `request_error`.

mod direct;
mod fetch;
pub mod gate;
mod get_error;
pub mod list;
mod page;
mod sigv4;
mod template;
pub mod trail;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::Region;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use tokio::runtime::Runtime;

use crate::aws;

/// How to reach S3, from the command line and the standard AWS environment.
#[derive(Debug, Clone)]
pub struct S3Settings {
    pub aws: aws::AwsSettings,
    pub endpoint_url: Option<String>,
    /// `--concurrency N`: the downloads in flight pinned at N (None: adaptive).
    pub concurrency: Option<usize>,
    /// `--max-inflight-bytes`: the most bytes of the downloads in flight.
    pub max_inflight_bytes: u64,
    /// `--cache`: the folder, and `--cache-size`.
    pub cache: Option<(std::path::PathBuf, u64)>,
}

/// Listings in flight at once, unless `--concurrency` pins a number.
pub const LIST_LIMIT: usize = 64;

/// One S3 connection set-up (credentials, region, endpoint) shared by every S3 source of a run.
pub struct S3Session {
    rt: Runtime,
    config: aws_sdk_s3::Config,
    /// A custom endpoint (a self-hosted or test server) was given.
    custom_endpoint: bool,
    /// How many downloads, and how many of their bytes, may be in flight: shared by every
    /// bucket of the run.
    gate: Arc<gate::Gate>,
    /// At most this many listings in flight (per bucket).
    list_limit: usize,
    /// `--cache`, when it could be opened.
    cache: Option<Arc<crate::cache::Cache>>,
    /// The longest wait for a response or for the next bytes of a body (None: no limit).
    read_timeout: Option<Duration>,
    /// The SDK chain's credentials, for the GETs signed without the SDK (`direct`).
    credentials: Arc<direct::CredentialCache>,
}

/// A bucket reached with the right region.
pub struct Bucket<'s> {
    session: &'s S3Session,
    client: Client,
    /// The same client's GetObject, and the direct path to it (`direct`).
    getter: direct::Getter,
    name: String,
}

impl S3Session {
    pub fn new(settings: &S3Settings) -> anyhow::Result<S3Session> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ctq-s3")
            .enable_all()
            .build()
            .context("cannot start the S3 client runtime")?;
        let (config, endpoint, provider) = rt.block_on(load_config(settings))?;
        // Entries are kept per endpoint: two servers may each have a bucket of the same name.
        let cache =
            settings.cache.as_ref().and_then(|(dir, size)| {
                match crate::cache::Cache::open(dir, *size, endpoint.as_deref().unwrap_or("s3")) {
                    Ok(c) => Some(Arc::new(c)),
                    Err(e) => {
                        crate::exit::warn(&format!(
                            "--cache {}: cannot use it ({}); going on without a cache",
                            dir.display(),
                            crate::source::io_reason(&e)
                        ));
                        None
                    }
                }
            });
        Ok(S3Session {
            rt,
            config,
            custom_endpoint: endpoint.is_some(),
            gate: gate::Gate::new(
                settings.concurrency.map(|n| n.max(1)),
                settings.max_inflight_bytes,
                aws::debug::overloaded,
            ),
            list_limit: settings.concurrency.unwrap_or(LIST_LIMIT).max(1),
            cache,
            read_timeout: settings.aws.read_timeout.get(),
            credentials: Arc::new(direct::CredentialCache::new(provider)),
        })
    }

    /// Run a future of the AWS side (another service's client) on the session's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// Reach `bucket`, in its own region: a bucket in eu-west-1 works from a us-east-1 profile.
    pub fn bucket(&self, name: &str) -> anyhow::Result<Bucket<'_>> {
        let client = Client::from_conf(self.config.clone());
        let region = self.rt.block_on(bucket_region(&client, name))?;
        let client = match region {
            Some(r)
                if !self.custom_endpoint
                    && Some(r.as_str()) != self.config.region().map(|x| x.as_ref()) =>
            {
                Client::from_conf(self.config.to_builder().region(Region::new(r)).build())
            }
            _ => client,
        };
        Ok(Bucket {
            session: self,
            getter: direct::Getter::new(client.clone(), Arc::clone(&self.credentials)),
            client,
            name: name.to_string(),
        })
    }
}

/// The client's configuration, the custom endpoint (a self-hosted or test server) if one was
/// given, and the credentials provider.
async fn load_config(
    settings: &S3Settings,
) -> anyhow::Result<(
    aws_sdk_s3::Config,
    Option<String>,
    aws_credential_types::provider::SharedCredentialsProvider,
)> {
    let sdk = aws::sdk_config(&settings.aws).await?;
    let provider = sdk
        .credentials_provider()
        .ok_or_else(|| anyhow!(aws::NO_CREDENTIALS))?;
    let mut b = aws_sdk_s3::config::Builder::from(&sdk)
        .interceptor(aws::debug::Observe)
        .retry_classifier(aws::FailFast);
    if sdk.region().is_none() {
        // Any region will do to ask where the bucket is.
        b = b.region(Region::new("us-east-1"));
    }
    let custom = settings
        .endpoint_url
        .clone()
        .or_else(|| sdk.endpoint_url().map(str::to_string));
    if let Some(url) = &settings.endpoint_url {
        b = b.endpoint_url(url);
    }
    if custom.is_some() {
        // Virtual-host style fails on 127.0.0.1, localhost and most self-hosted servers.
        b = b.force_path_style(true);
    }
    Ok((b.build(), custom, provider))
}

/// The bucket's region from HeadBucket (its `x-amz-bucket-region` header is there even when the
/// request itself is redirected or denied). A missing bucket stops here; a denied HeadBucket does
/// not (a caller may be allowed to list only a prefix), the listing will say what is wrong.
async fn bucket_region(client: &Client, bucket: &str) -> anyhow::Result<Option<String>> {
    match client.head_bucket().bucket(bucket).send().await {
        Ok(out) => Ok(out.bucket_region().map(str::to_string)),
        Err(e) => {
            let header = e
                .raw_response()
                .and_then(|r| r.headers().get("x-amz-bucket-region"))
                .map(str::to_string);
            match e.raw_response().map(|r| r.status().as_u16()) {
                Some(404) => bail!(
                    "s3://{bucket}: no such bucket (check the name, and the account your credentials belong to)"
                ),
                Some(_) => Ok(header),
                None => Err(request_error(&e, &format!("s3://{bucket}"))),
            }
        }
    }
}

/// An error that stops everything, in one line that names what failed and what to check.
fn request_error<E>(e: &SdkError<E, HttpResponse>, what: &str) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = e.code().unwrap_or_default();
    let message = e.message().unwrap_or_default();
    match code {
        "NoSuchBucket" => anyhow!(
            "{what}: no such bucket (check the name, and the account your credentials belong to)"
        ),
        "AccessDenied" | "AllAccessDisabled" => anyhow!(
            "{what}: access denied ({}): the caller needs s3:ListBucket on this bucket and prefix, and s3:GetObject on its objects",
            if message.is_empty() { code } else { message }
        ),
        "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "ExpiredToken"
        | "InvalidToken"
        | "TokenRefreshRequired" => anyhow!(
            "{what}: the credentials were rejected ({code}): check AWS_PROFILE or --profile, the access keys, or run `aws sso login`"
        ),
        "PermanentRedirect" | "AuthorizationHeaderMalformed" => {
            anyhow!(
                "{what}: the bucket is in another region ({code}); set --api-region (or AWS_REGION) to the bucket's region"
            )
        }
        "SlowDown" => anyhow!(
            "{what}: S3 kept asking to slow down ({}); try a lower --concurrency",
            aws::describe(e)
        ),
        _ => match e {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => anyhow!(
                "{what}: {}: check the network, --endpoint-url or AWS_ENDPOINT_URL",
                aws::no_answer(e, "S3")
            ),
            _ => anyhow!("{what}: {}", aws::describe(e)),
        },
    }
}

impl Bucket<'_> {
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl S3Session {
    /// How the downloads' concurrency went, for `--stats`.
    pub fn gate_report(&self) -> gate::GateReport {
        self.gate.report()
    }

    /// The cache of this run, if there is one.
    pub fn cache(&self) -> Option<&crate::cache::Cache> {
        self.cache.as_deref()
    }
}
