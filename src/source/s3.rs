//! S3 sources: the only async code in ctq.
//!
//! Finding the objects walks the trail layout with delimiter listings, level by level and in
//! parallel (`AWSLogs/` → `o-…/` → accounts → event folders → regions), narrowed by `--account`
//! and `--region`, then lists only the day prefixes `…/<region>/YYYY/MM/DD/` that can hold events
//! of the window (the delivery-time rule of `Window::may_hold_delivery_day`). Object names give
//! the delivery time, so objects delivered before the window are never downloaded.
//!
//! Reading them: at most `--concurrency` GetObject calls are in flight; each body goes through a
//! bounded channel to the rayon workers, which gunzip and parse it. The permit of a download is
//! held until its body is handed over, so memory is bounded by the concurrency, not by the number
//! or size of objects.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::interceptors::AfterDeserializationInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, Region, RuntimeComponents};
use aws_sdk_s3::error::{BoxError, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use aws_sdk_s3::operation::list_objects_v2::{ListObjectsV2Error, ListObjectsV2Output};
use aws_sdk_s3::types::EncodingType;
use tokio::runtime::Runtime;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::layout::{self, Level};
use crate::aws;
use crate::decode::WHOLE;
use crate::filter::Filter;
use crate::progress::Progress;
use crate::source::layout::Origin;
use crate::source::local::is_event_file_name;
use crate::source::{Body, Fetched, Refetch};
use crate::time::{self, Micros};

/// How to reach S3, from the command line and the standard AWS environment.
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    pub concurrency: usize,
}

/// One S3 connection set-up (credentials, region, endpoint) shared by every S3 source of a run.
pub struct S3Session {
    rt: Runtime,
    config: aws_sdk_s3::Config,
    /// A custom endpoint (a self-hosted or test server) was given.
    custom_endpoint: bool,
    concurrency: usize,
    /// The longest wait for a response or for the next bytes of a body.
    read_timeout: Duration,
}

/// A bucket reached with the right region.
pub struct Bucket<'s> {
    session: &'s S3Session,
    client: Client,
    name: String,
}

/// An object to read.
#[derive(Debug, Clone)]
pub struct ObjectRef {
    pub key: String,
    pub size: u64,
    pub origin: Option<Origin>,
}

/// Where a trail's logs are: `<awslogs>[<organization>/]<account>/<event folder>/<region>/`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrailLayout {
    /// The key prefix up to and including `AWSLogs/`.
    pub awslogs: String,
    pub organization: Option<String>,
    pub accounts: std::collections::BTreeSet<String>,
    pub regions: std::collections::BTreeSet<String>,
}

/// What listing found.
#[derive(Debug, Default)]
pub struct Listing {
    pub objects: Vec<ObjectRef>,
    /// Trail objects seen in the day prefixes listed (read or skipped).
    pub objects_listed: u64,
    /// Objects whose name says they were delivered before the window.
    pub skipped_by_time: u64,
    /// `…/YYYY/MM/DD/` prefixes listed.
    pub day_prefixes: u64,
    /// ListObjectsV2 requests made.
    pub list_requests: u64,
}

impl S3Session {
    pub fn new(settings: &S3Settings) -> anyhow::Result<S3Session> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ctq-s3")
            .enable_all()
            .build()
            .context("cannot start the S3 client runtime")?;
        let (config, custom_endpoint) = rt.block_on(load_config(settings))?;
        Ok(S3Session {
            rt,
            config,
            custom_endpoint,
            concurrency: settings.concurrency.max(1),
            read_timeout: aws::read_timeout()?,
        })
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
            client,
            name: name.to_string(),
        })
    }
}

async fn load_config(settings: &S3Settings) -> anyhow::Result<(aws_sdk_s3::Config, bool)> {
    let sdk = crate::aws::sdk_config(settings.profile.as_deref()).await?;
    let mut b = aws_sdk_s3::config::Builder::from(&sdk);
    if sdk.region().is_none() {
        // Any region will do to ask where the bucket is.
        b = b.region(Region::new("us-east-1"));
    }
    let custom = settings.endpoint_url.is_some() || sdk.endpoint_url().is_some();
    if let Some(url) = &settings.endpoint_url {
        b = b.endpoint_url(url);
    }
    if custom {
        // Virtual-host style fails on 127.0.0.1, localhost and most self-hosted servers.
        b = b.force_path_style(true);
    }
    Ok((b.build(), custom))
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
                "{what}: the bucket is in another region ({code}); set AWS_REGION to the bucket's region"
            )
        }
        "SlowDown" => anyhow!(
            "{what}: S3 kept asking to slow down ({}); try a lower --concurrency",
            aws::describe(e)
        ),
        _ => match e {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => anyhow!(
                "{what}: cannot reach S3 ({}): check the network, --endpoint-url or AWS_ENDPOINT_URL",
                aws::describe(e)
            ),
            _ => anyhow!("{what}: {}", aws::describe(e)),
        },
    }
}

/// A node of the layout walk.
#[derive(Debug, Clone)]
enum Node {
    AwsLogs(String),
    Org(String),
    Account { prefix: String, account: String },
    EventFolder { prefix: String, account: String },
    Region { prefix: String, origin: Origin },
}

impl Bucket<'_> {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// List the objects of the window under `prefix`, walking only the parts of the layout the
    /// filters allow.
    pub fn list(
        &self,
        prefix: &str,
        filter: &Filter,
        now: Micros,
        progress: &Progress,
    ) -> anyhow::Result<Listing> {
        self.session
            .rt
            .block_on(self.list_async(prefix, filter, now, progress))
    }

    async fn list_async(
        &self,
        prefix: &str,
        filter: &Filter,
        now: Micros,
        progress: &Progress,
    ) -> anyhow::Result<Listing> {
        let mut listing = Listing::default();
        let regions = self.region_folders(prefix, filter, &mut listing).await?;

        // The day prefixes of the window in every region folder.
        let (lo, hi) = delivery_day_range(filter, now);
        let mut day_prefixes: Vec<(String, Origin)> = Vec::new();
        for node in &regions {
            let Node::Region { prefix, origin } = node else {
                continue;
            };
            if hi - lo <= 62 {
                for day in lo..=hi {
                    let (y, m, d) = time::civil_from_days(day);
                    day_prefixes.push((format!("{prefix}{y:04}/{m:02}/{d:02}/"), origin.clone()));
                }
            } else {
                // A long window: find the day folders that exist instead of guessing thousands.
                for p in self
                    .existing_day_folders(prefix, filter, &mut listing)
                    .await?
                {
                    day_prefixes.push((p, origin.clone()));
                }
            }
        }
        listing.day_prefixes = day_prefixes.len() as u64;
        let prefixes: Vec<String> = day_prefixes.iter().map(|(p, _)| p.clone()).collect();
        let results = self.list_many(prefixes, false, &mut listing).await?;
        for ((_, origin), (_, objects)) in day_prefixes.iter().zip(results) {
            for (key, size) in objects {
                let name = key.rsplit('/').next().unwrap_or_default();
                if !is_event_file_name(name) {
                    continue;
                }
                listing.objects_listed += 1;
                if layout::delivery_time(name)
                    .is_some_and(|t| !filter.window.may_hold_delivery_time(t))
                {
                    listing.skipped_by_time += 1;
                    continue;
                }
                listing.objects.push(ObjectRef {
                    key,
                    size,
                    origin: Some(origin.clone()),
                });
            }
        }
        progress.listed(listing.objects_listed);
        progress.to_read(listing.objects.len() as u64);
        Ok(listing)
    }

    /// Walk the layout down to the region folders (`…/<account>/<event folder>/<region>/`), one
    /// level at a time, each level's listings in parallel, narrowed by `--account`/`--region`.
    async fn region_folders(
        &self,
        prefix: &str,
        filter: &Filter,
        listing: &mut Listing,
    ) -> anyhow::Result<Vec<Node>> {
        let mut nodes = start_nodes(prefix, filter);
        let mut regions = Vec::new();
        let root = nodes.first().map(|n| node_prefix(n).to_string());
        let mut saw_anything = false;
        while !nodes.is_empty() {
            let (ready, to_list): (Vec<Node>, Vec<Node>) = nodes
                .into_iter()
                .partition(|n| matches!(n, Node::Region { .. }));
            regions.extend(ready);
            let prefixes: Vec<String> =
                to_list.iter().map(|n| node_prefix(n).to_string()).collect();
            let results = self.list_many(prefixes, true, listing).await?;
            nodes = Vec::new();
            for (node, (children, _)) in to_list.iter().zip(results) {
                saw_anything |= !children.is_empty();
                for child in children {
                    let name = child
                        .trim_end_matches('/')
                        .rsplit('/')
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    if let Some(next) = child_node(node, &name, &child, filter) {
                        nodes.push(next);
                    }
                }
            }
        }
        if !saw_anything && regions.is_empty() {
            bail!(
                "s3://{}/{}: no CloudTrail logs there (expected AWSLogs/<account>/CloudTrail/<region>/…): check the bucket and prefix",
                self.name,
                root.unwrap_or_default()
            );
        }
        Ok(regions)
    }

    /// The trail's layout under `prefix`: where `AWSLogs/` is, the organization segment if any,
    /// and the accounts and regions of `event_folder`, for a table definition.
    pub fn layout(
        &self,
        prefix: &str,
        filter: &Filter,
        event_folder: &str,
    ) -> anyhow::Result<TrailLayout> {
        let regions = self.session.rt.block_on(async {
            let mut listing = Listing::default();
            self.region_folders(prefix, filter, &mut listing).await
        })?;
        // One table has one location: an organization folder, or the account folders beside it.
        let mut layouts: std::collections::BTreeMap<Option<String>, TrailLayout> =
            Default::default();
        for node in regions {
            let Node::Region { prefix, origin } = node else {
                continue;
            };
            let segs: Vec<&str> = prefix.split('/').collect();
            let Some(at) = segs.iter().position(|s| *s == "AWSLogs") else {
                continue;
            };
            if segs.get(at + 3).is_none_or(|f| *f != event_folder)
                && segs.get(at + 2).is_none_or(|f| *f != event_folder)
            {
                continue;
            }
            let org = segs
                .get(at + 1)
                .filter(|s| s.starts_with("o-"))
                .map(|s| s.to_string());
            let layout = layouts.entry(org.clone()).or_default();
            layout.awslogs = format!("{}/", segs[..=at].join("/"));
            layout.organization = org;
            layout.accounts.insert(origin.account);
            layout.regions.insert(origin.region);
        }
        if layouts.len() > 1 {
            let choices: Vec<String> = layouts
                .values()
                .map(|l| match &l.organization {
                    Some(o) => format!("s3://{}/{}{o}/ (organization trail)", self.name, l.awslogs),
                    None => format!(
                        "s3://{}/{} with --account {} (account trail)",
                        self.name,
                        l.awslogs,
                        l.accounts
                            .iter()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(" --account ")
                    ),
                })
                .collect();
            bail!(
                "s3://{}/{prefix}: holds both an organization trail and account trails, and one table has one location: use {}",
                self.name,
                choices.join(", or ")
            );
        }
        Ok(layouts.into_values().next().unwrap_or_default())
    }

    /// `YYYY/`, `MM/`, `DD/` folders under a region that the window keeps.
    async fn existing_day_folders(
        &self,
        region_prefix: &str,
        filter: &Filter,
        listing: &mut Listing,
    ) -> anyhow::Result<Vec<String>> {
        let mut level = vec![(region_prefix.to_string(), Level::Region)];
        for _ in 0..3 {
            let prefixes: Vec<String> = level.iter().map(|(p, _)| p.clone()).collect();
            let results = self.list_many(prefixes, true, listing).await?;
            let mut next = Vec::new();
            for ((_, lvl), (children, _)) in level.iter().zip(results) {
                for child in children {
                    let name = child
                        .trim_end_matches('/')
                        .rsplit('/')
                        .next()
                        .unwrap_or_default();
                    if let Some(l @ (Level::Year(_) | Level::Month(..) | Level::Day)) =
                        lvl.child(name, &filter.window)
                    {
                        next.push((child.clone(), l));
                    }
                }
            }
            level = next;
        }
        Ok(level.into_iter().map(|(p, _)| p).collect())
    }

    /// List several prefixes in parallel (at most `--concurrency` at once), every page of each.
    /// Returns, in the order given, each prefix's common prefixes and objects.
    async fn list_many(
        &self,
        prefixes: Vec<String>,
        delimiter: bool,
        listing: &mut Listing,
    ) -> anyhow::Result<Vec<(Vec<String>, Vec<(String, u64)>)>> {
        let limit = Arc::new(Semaphore::new(self.session.concurrency));
        let mut set = JoinSet::new();
        for (i, prefix) in prefixes.into_iter().enumerate() {
            let (client, bucket, limit) =
                (self.client.clone(), self.name.clone(), Arc::clone(&limit));
            set.spawn(async move {
                let _permit = limit
                    .acquire_owned()
                    .await
                    .expect("semaphore is never closed");
                (i, list_one(&client, &bucket, &prefix, delimiter).await)
            });
        }
        let mut out = vec![(Vec::new(), Vec::new()); set.len()];
        while let Some(joined) = set.join_next().await {
            let (i, result) = joined.context("a listing task failed")?;
            let (prefixes, objects, requests) = result?;
            listing.list_requests += requests;
            out[i] = (prefixes, objects);
        }
        Ok(out)
    }

    /// Download `objects` in the background; bodies (or why they could not be had) arrive on the
    /// returned iterator. A failure that means no object can be read (a KMS key the caller may
    /// not use) is put in `fatal` and stops further downloads.
    pub fn fetch(
        &self,
        objects: Vec<ObjectRef>,
        progress: Arc<Progress>,
        fatal: Arc<Mutex<Option<String>>>,
        max_json: u64,
    ) -> impl Iterator<Item = Fetched> + Send + 'static {
        let concurrency = self.session.concurrency;
        let read_timeout = self.session.read_timeout;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Fetched>(concurrency);
        let (client, bucket) = (self.client.clone(), self.name.clone());
        let handle = self.session.rt.handle().clone();
        self.session.rt.spawn(async move {
            let permits = Arc::new(Semaphore::new(concurrency));
            for obj in objects {
                let permit = permits
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("semaphore is never closed");
                if fatal.lock().map(|f| f.is_some()).unwrap_or(true) {
                    break;
                }
                let (client, bucket, tx, progress, fatal, handle) = (
                    client.clone(),
                    bucket.clone(),
                    tx.clone(),
                    Arc::clone(&progress),
                    Arc::clone(&fatal),
                    handle.clone(),
                );
                tokio::spawn(async move {
                    let name = format!("s3://{bucket}/{}", obj.key);
                    // An object larger than the JSON one input may hold cannot be read whole:
                    // gzip or not, its JSON is at least about as large. It is not downloaded.
                    if obj.size > max_json.saturating_add(max_json / 64) {
                        let _ = tx
                            .send(Fetched {
                                name,
                                origin: obj.origin,
                                body: Err(format!(
                                    "an object of {}, over --max-decompressed-size ({}): not downloaded",
                                    crate::decode::human_size(obj.size),
                                    crate::decode::human_size(max_json)
                                )),
                                refetch: None,
                            })
                            .await;
                        drop(permit);
                        return;
                    }
                    let body = match get_object(&client, &bucket, &obj.key, read_timeout).await {
                        Ok(body) => {
                            progress.downloaded(body.size());
                            Ok(body)
                        }
                        Err(GetError::Fatal(why)) => {
                            if let Ok(mut f) = fatal.lock() {
                                f.get_or_insert(format!("{name}: {why}"));
                            }
                            return;
                        }
                        Err(GetError::Object(why)) => Err(why),
                    };
                    // A body that arrived but does not decode may have been damaged on the way
                    // without a checksum to tell: the worker may ask for it once more. It runs
                    // on a rayon thread, outside the runtime, so it may block on it.
                    let refetch: Option<Refetch> = body.is_ok().then(|| {
                        let key = obj.key.clone();
                        Box::new(move || {
                            let body = handle
                                .block_on(get_object(&client, &bucket, &key, read_timeout))
                                .map_err(GetError::into_reason)?;
                            progress.downloaded(body.size());
                            Ok(body)
                        }) as Refetch
                    });
                    // The permit is released only once the body is handed over.
                    let _ = tx
                        .send(Fetched {
                            name,
                            origin: obj.origin,
                            body,
                            refetch,
                        })
                        .await;
                    drop(permit);
                });
            }
        });
        std::iter::from_fn(move || rx.blocking_recv())
    }
}

enum GetError {
    /// This object is skipped; the run goes on.
    Object(String),
    /// Nothing more can be read.
    Fatal(String),
}

impl GetError {
    fn into_reason(self) -> String {
        match self {
            GetError::Object(why) | GetError::Fatal(why) => why,
        }
    }
}

/// GetObject and read the whole body. The SDK retries throttling (503 SlowDown), timeouts and
/// dropped connections before the response; a body that stops, breaks off or fails its checksum
/// while it streams is asked for again here.
async fn get_object(
    client: &Client,
    bucket: &str,
    key: &str,
    read_timeout: Duration,
) -> Result<Body, GetError> {
    const ATTEMPTS: u32 = 3;
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        if attempt > 1 {
            tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt - 1))).await;
        }
        let out = match client.get_object().bucket(bucket).key(key).send().await {
            Ok(out) => out,
            Err(e) => return Err(classify_get_error(&e)),
        };
        match read_body(out, read_timeout).await {
            Ok(data) => return Ok(data),
            Err(why) => last = why,
        }
    }
    Err(GetError::Object(format!(
        "download failed after {ATTEMPTS} attempts: {last}"
    )))
}

/// The whole body of a GetObject response: in memory up to `decode::WHOLE` bytes, past that in
/// an unnamed temporary file. Each wait for more bytes is bounded by the read timeout, so a
/// server that sends the headers and then nothing cannot hold the run forever.
async fn read_body(out: GetObjectOutput, read_timeout: Duration) -> Result<Body, String> {
    let expected = out.content_length().unwrap_or(0).clamp(0, WHOLE as i64) as usize;
    let mut body = out.body;
    let mut data = Vec::with_capacity(expected);
    let mut spool: Option<(std::fs::File, u64)> = None;
    loop {
        match tokio::time::timeout(read_timeout, body.next()).await {
            Err(_) => {
                return Err(format!(
                    "stalled: no data for {} (the read timeout, {})",
                    aws::seconds(read_timeout),
                    aws::READ_TIMEOUT_VAR
                ));
            }
            Ok(None) => {
                return Ok(match spool {
                    None => Body::Memory(data),
                    Some((mut file, n)) => {
                        use std::io::Seek;
                        file.rewind()
                            .map_err(|e| format!("cannot read the temporary copy: {e}"))?;
                        Body::Spooled(file, n)
                    }
                });
            }
            Ok(Some(Ok(chunk))) => {
                if spool.is_none() && data.len() + chunk.len() > WHOLE {
                    let mut file = temp_file().map_err(|e| {
                        format!("cannot make a temporary copy of a large object: {e}")
                    })?;
                    std::io::Write::write_all(&mut file, &data)
                        .map_err(|e| format!("cannot write the temporary copy: {e}"))?;
                    spool = Some((file, data.len() as u64));
                    data = Vec::new();
                }
                match &mut spool {
                    None => data.extend_from_slice(&chunk),
                    Some((file, n)) => {
                        std::io::Write::write_all(file, &chunk)
                            .map_err(|e| format!("cannot write the temporary copy: {e}"))?;
                        *n += chunk.len() as u64;
                    }
                }
            }
            Ok(Some(Err(e))) => {
                return Err(match aws::transport_reason(&e).as_str() {
                    "checksum mismatch" => {
                        "checksum mismatch: the body differs from the checksum S3 sent".to_string()
                    }
                    reason => format!("connection lost while reading ({reason})"),
                });
            }
        }
    }
}

/// A temporary file with no name: created in the system's temporary folder and unlinked at
/// once, so it disappears with the run whatever happens.
fn temp_file() -> std::io::Result<std::fs::File> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir();
    loop {
        let path = dir.join(format!(
            "ctq-{}-{}.body",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => {
                std::fs::remove_file(&path)?;
                return Ok(file);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
}

fn classify_get_error(e: &SdkError<GetObjectError, HttpResponse>) -> GetError {
    let code = e.code().unwrap_or_default();
    let message = e.message().unwrap_or_default();
    let kms = code.starts_with("KMS") || message.contains("KMS") || message.contains("kms:");
    if kms {
        return GetError::Fatal(format!(
            "cannot decrypt: the trail is encrypted with a KMS key this caller may not use (it needs kms:Decrypt on the trail's key): {code}: {message}"
        ));
    }
    match code {
        "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "ExpiredToken" | "InvalidToken" => {
            GetError::Fatal(format!(
                "the credentials were rejected ({code}): check AWS_PROFILE or --profile, the access keys, or run `aws sso login`"
            ))
        }
        "AccessDenied" => GetError::Object(format!(
            "download failed: access denied (the caller needs s3:GetObject): {message}"
        )),
        _ => GetError::Object(format!("download failed: {}", aws::describe(e))),
    }
}

/// How many times a listing page that comes back damaged is asked for.
const PAGE_ATTEMPTS: u32 = 3;

/// One page of a listing, checked and decoded.
#[derive(Debug, Default, PartialEq)]
struct Page {
    prefixes: Vec<String>,
    objects: Vec<(String, u64)>,
    /// The continuation token of the next page, when there is one.
    next: Option<String>,
}

/// Every page of one listing: (common prefixes, objects with sizes, requests made).
///
/// The pages are asked for here rather than by the SDK's paginator so that each one is checked:
/// the SDK's XML reader is lenient, and takes a page cut short or garbled on the way for a
/// shorter page, which would end the listing early and leave objects out of the report without
/// a word. A damaged page is asked for again; one that stays damaged stops the run.
async fn list_one(
    client: &Client,
    bucket: &str,
    prefix: &str,
    delimiter: bool,
) -> anyhow::Result<(Vec<String>, Vec<(String, u64)>, u64)> {
    let what = format!("s3://{bucket}/{prefix}");
    let (mut prefixes, mut objects, mut requests) = (Vec::new(), Vec::new(), 0u64);
    let mut token: Option<String> = None;
    for page_no in 1u64.. {
        let mut why = String::new();
        let mut page = None;
        for attempt in 1..=PAGE_ATTEMPTS {
            if attempt > 1 {
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt - 1))).await;
            }
            requests += 1;
            let mut req = client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                // Keys may hold characters XML 1.0 cannot carry (ESC, other controls).
                .encoding_type(EncodingType::Url);
            if delimiter {
                req = req.delimiter("/");
            }
            if let Some(t) = &token {
                req = req.continuation_token(t);
            }
            match req.customize().interceptor(WholeListing).send().await {
                Ok(out) => match check_page(&out, prefix) {
                    Ok(p) => {
                        page = Some(p);
                        break;
                    }
                    Err(w) => why = w,
                },
                Err(e) if is_damaged(&e) => why = aws::root_cause(&e),
                Err(e) => return Err(request_error(&e, &what)),
            }
        }
        let Some(page) = page else {
            bail!(
                "{what}: listing page {page_no} came back damaged {PAGE_ATTEMPTS} times ({why}); stopping rather than reporting on part of the objects"
            );
        };
        prefixes.extend(page.prefixes);
        objects.extend(page.objects);
        match page.next {
            None => break,
            Some(next) if token.as_ref() == Some(&next) => bail!(
                "{what}: the listing does not advance (page {page_no} gives the continuation token it was asked with)"
            ),
            Some(next) => token = Some(next),
        }
    }
    Ok((prefixes, objects, requests))
}

/// A 200 answer that could not be read as a listing, or was cut short (see [`WholeListing`]).
fn is_damaged(e: &SdkError<ListObjectsV2Error, HttpResponse>) -> bool {
    match e {
        SdkError::ResponseError(_) => true,
        SdkError::ServiceError(s) => s.raw().status().is_success(),
        _ => false,
    }
}

/// Check a page against itself and decode its keys. Real S3 always sends `KeyCount` and
/// `IsTruncated`; a page that lacks them, or whose counts disagree with what it holds, lost part
/// of itself on the way.
fn check_page(out: &ListObjectsV2Output, prefix: &str) -> Result<Page, String> {
    let parsed = out.contents().len() + out.common_prefixes().len();
    match out.key_count() {
        None => return Err("no KeyCount".to_string()),
        Some(n) if usize::try_from(n).ok() != Some(parsed) => {
            return Err(format!("KeyCount {n}, but {parsed} keys and prefixes"));
        }
        Some(_) => {}
    }
    let next = match out.is_truncated() {
        None => return Err("no IsTruncated".to_string()),
        Some(false) => None,
        Some(true) => match out.next_continuation_token() {
            Some(t) if !t.is_empty() => Some(t.to_string()),
            _ => return Err("IsTruncated without a NextContinuationToken".to_string()),
        },
    };
    let url = matches!(out.encoding_type(), Some(EncodingType::Url));
    let decode = |s: &str| -> Result<String, String> {
        let s = if url { url_decode(s)? } else { s.to_string() };
        if s.starts_with(prefix) {
            Ok(s)
        } else {
            Err("a key that does not start with the prefix asked for".to_string())
        }
    };
    let mut page = Page {
        next,
        ..Page::default()
    };
    for o in out.contents() {
        let key = o.key().ok_or("an object without a key")?;
        page.objects
            .push((decode(key)?, o.size().unwrap_or(0).max(0) as u64));
    }
    for p in out.common_prefixes() {
        let p = p.prefix().ok_or("a common prefix without a prefix")?;
        page.prefixes.push(decode(p)?);
    }
    Ok(page)
}

/// Decode a key sent with `encoding-type=url`: `%XX` is a byte, `+` a space (S3 sends a `+` of a
/// key as `%2B`).
fn url_decode(s: &str) -> Result<String, String> {
    let bad = || "a key that is not valid URL encoding".to_string();
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b.get(i + 1..i + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| "a key that is not UTF-8 once decoded".to_string())
}

/// Fails a listing whose body does not end with its closing tag. A page cut short on the way
/// (status 200, a Content-Length that matches the cut) otherwise parses as a shorter page: the
/// SDK's XML reader stops quietly at the end of its input.
#[derive(Debug)]
struct WholeListing;

impl Intercept for WholeListing {
    fn name(&self) -> &'static str {
        "WholeListing"
    }

    fn read_after_deserialization(
        &self,
        ctx: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = ctx.response();
        if !response.status().is_success() {
            return Ok(());
        }
        match response.body().bytes() {
            Some(body) if !body.trim_ascii_end().ends_with(b"</ListBucketResult>") => {
                Err("cut short: the page ends before </ListBucketResult>".into())
            }
            _ => Ok(()),
        }
    }
}

fn node_prefix(n: &Node) -> &str {
    match n {
        Node::AwsLogs(p) | Node::Org(p) => p,
        Node::Account { prefix, .. }
        | Node::EventFolder { prefix, .. }
        | Node::Region { prefix, .. } => prefix,
    }
}

fn wanted(list: &[String], value: &str) -> bool {
    list.is_empty() || list.iter().any(|x| x == value)
}

/// The node below `parent` for a child folder `name` (full prefix `child`), or None when the
/// layout or the filters rule it out.
fn child_node(parent: &Node, name: &str, child: &str, filter: &Filter) -> Option<Node> {
    let prefix = child.to_string();
    match parent {
        Node::AwsLogs(_) if name.starts_with("o-") => Some(Node::Org(prefix)),
        Node::AwsLogs(_) | Node::Org(_)
            if layout::is_account_id(name) && wanted(&filter.accounts, name) =>
        {
            Some(Node::Account {
                prefix,
                account: name.to_string(),
            })
        }
        Node::Account { account, .. } if layout::is_event_folder(name) => Some(Node::EventFolder {
            prefix,
            account: account.clone(),
        }),
        Node::EventFolder { account, .. } if wanted(&filter.regions, name) => Some(Node::Region {
            prefix,
            origin: Origin {
                account: account.clone(),
                region: name.to_string(),
            },
        }),
        _ => None,
    }
}

/// Where to start walking: the user's prefix may stop before `AWSLogs/` or point inside it
/// (`AWSLogs/o-…/`, an account, an event folder or a region).
fn start_nodes(prefix: &str, filter: &Filter) -> Vec<Node> {
    let segs: Vec<&str> = prefix.split('/').filter(|s| !s.is_empty()).collect();
    let Some(at) = segs.iter().position(|s| *s == "AWSLogs") else {
        let base = if segs.is_empty() {
            String::new()
        } else {
            format!("{}/", segs.join("/"))
        };
        return vec![Node::AwsLogs(format!("{base}AWSLogs/"))];
    };
    let mut node = Node::AwsLogs(format!("{}/", segs[..=at].join("/")));
    for name in &segs[at + 1..] {
        let child = format!("{}{name}/", node_prefix(&node));
        match child_node(&node, name, &child, filter) {
            Some(next) => node = next,
            // Ruled out by --account/--region: nothing to read; deeper than a region: start there.
            None if matches!(node, Node::Region { .. }) => break,
            None => return Vec::new(),
        }
    }
    vec![node]
}

/// The first and last delivery day to list. Without an end, up to tomorrow (clocks differ).
fn delivery_day_range(filter: &Filter, now: Micros) -> (i64, i64) {
    let w = &filter.window;
    let lo = w.since.map(time::day_of).unwrap_or(time::day_of(now) - 1);
    let hi = w
        .until
        .map_or(time::day_of(now) + 1, |u| time::day_of(u - 1) + 1);
    (lo, hi.max(lo))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{DAY, Window};

    fn filter(accounts: &[&str], regions: &[&str]) -> Filter {
        Filter {
            window: Window::default(),
            accounts: accounts.iter().map(|s| s.to_string()).collect(),
            regions: regions.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn start_from_the_users_prefix() {
        let f = filter(&[], &[]);
        let p = |prefix: &str| {
            start_nodes(prefix, &f)
                .iter()
                .map(|n| node_prefix(n).to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(p(""), ["AWSLogs/"]);
        assert_eq!(p("trails/prod/"), ["trails/prod/AWSLogs/"]);
        assert_eq!(p("trails/AWSLogs"), ["trails/AWSLogs/"]);
        assert_eq!(
            p("AWSLogs/o-abc/111111111111/"),
            ["AWSLogs/o-abc/111111111111/"]
        );
        assert_eq!(
            p("AWSLogs/111111111111/CloudTrail/eu-west-1/2024/"),
            ["AWSLogs/111111111111/CloudTrail/eu-west-1/"]
        );
        assert!(matches!(
            start_nodes("AWSLogs/111111111111/CloudTrail/eu-west-1", &f)[0],
            Node::Region { .. }
        ));
        // A prefix the filters rule out reads nothing.
        assert!(start_nodes("AWSLogs/111111111111/", &filter(&["222222222222"], &[])).is_empty());
        assert!(start_nodes("AWSLogs/111111111111/CloudTrail-Digest/", &f).is_empty());
    }

    #[test]
    fn children_narrowed_by_filters() {
        let f = filter(&["111111111111"], &["eu-west-1"]);
        let root = Node::AwsLogs("AWSLogs/".into());
        assert!(matches!(
            child_node(&root, "o-abc", "AWSLogs/o-abc/", &f),
            Some(Node::Org(_))
        ));
        assert!(child_node(&root, "222222222222", "x/", &f).is_none());
        assert!(child_node(&root, "111111111111", "x/", &f).is_some());
        let acct = Node::Account {
            prefix: "p/".into(),
            account: "111111111111".into(),
        };
        assert!(child_node(&acct, "CloudTrail-Digest", "x/", &f).is_none());
        assert!(child_node(&acct, "CloudTrail-NetworkActivity", "x/", &f).is_some());
        let folder = Node::EventFolder {
            prefix: "p/".into(),
            account: "111111111111".into(),
        };
        assert!(child_node(&folder, "us-east-1", "x/", &f).is_none());
        assert!(child_node(&folder, "eu-west-1", "x/", &f).is_some());
    }

    #[test]
    fn url_encoded_keys_are_decoded() {
        assert_eq!(
            url_decode("AWSLogs%2F1%2Fa+b%2Bc%1B%C3%A9.json").unwrap(),
            "AWSLogs/1/a b+c\u{1b}é.json"
        );
        assert!(url_decode("a%2").is_err());
        assert!(url_decode("a%zz").is_err());
        assert!(url_decode("%FF").is_err(), "not UTF-8");
    }

    #[test]
    fn a_page_that_contradicts_itself_is_damaged() {
        use aws_sdk_s3::types::{CommonPrefix, Object};
        let object = |k: &str| Object::builder().key(k).size(7).build();
        let page = |count: Option<i32>, truncated: Option<bool>, next: Option<&str>| {
            ListObjectsV2Output::builder()
                .set_key_count(count)
                .set_is_truncated(truncated)
                .set_next_continuation_token(next.map(str::to_string))
                .encoding_type(EncodingType::Url)
                .contents(object("p%2Fa+b"))
                .contents(object("p/c"))
                .common_prefixes(CommonPrefix::builder().prefix("p%2Fd%2F").build())
                .build()
        };
        assert_eq!(
            check_page(&page(Some(3), Some(true), Some("t")), "p/"),
            Ok(Page {
                prefixes: vec!["p/d/".into()],
                objects: vec![("p/a b".into(), 7), ("p/c".into(), 7)],
                next: Some("t".into()),
            })
        );
        let why = |p: ListObjectsV2Output| check_page(&p, "p/").unwrap_err();
        assert_eq!(why(page(None, Some(false), None)), "no KeyCount");
        assert_eq!(
            why(page(Some(5), Some(false), None)),
            "KeyCount 5, but 3 keys and prefixes"
        );
        assert_eq!(why(page(Some(3), None, None)), "no IsTruncated");
        assert_eq!(
            why(page(Some(3), Some(true), None)),
            "IsTruncated without a NextContinuationToken"
        );
        assert_eq!(
            check_page(&page(Some(3), Some(false), None), "q/").unwrap_err(),
            "a key that does not start with the prefix asked for"
        );
    }

    #[test]
    fn day_range_of_a_date_and_of_the_default_window() {
        let d = 19_971;
        let mut f = filter(&[], &[]);
        f.window = Window {
            since: Some(d * DAY),
            until: Some((d + 1) * DAY),
        };
        assert_eq!(delivery_day_range(&f, 0), (d, d + 1));
        f.window = Window {
            since: Some(d * DAY + 5),
            until: None,
        };
        assert_eq!(delivery_day_range(&f, (d + 3) * DAY), (d, d + 4));
    }
}
