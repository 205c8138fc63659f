//! What the test S3 server does beyond `s3s-fs`: what real S3 does that s3s-fs does not
//! (`encoding-type=url`, opaque continuation tokens, pages smaller than 1,000 keys), and faults
//! injected on the HTTP responses as a network or an overloaded S3 would damage them, by rules
//! that each test sets on its own server. The SDK in ctq is never stubbed: it talks HTTP to this.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode, Uri};
use hyper::body::Incoming;
use s3s::dto::{EncodingType, ListObjectsV2Input, ListObjectsV2Output};
use s3s::service::S3Service;
use s3s::{Body, HttpError, S3, S3Request, S3Response, S3Result};

/// What to do to a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Status 200 and the first half of the body, with a Content-Length that matches the cut.
    CutInHalf,
    /// Status 200 and the body with junk written over its middle (`<`, `&`, `;`).
    Garble,
    /// Status 200 and the body with bytes of its middle inverted (a gzip stream that fails).
    FlipBytes,
    /// The body as it is, with a CRC32 checksum header that does not match it.
    WrongChecksum,
    /// 503 SlowDown with a request id, as S3 answers under request-rate pressure.
    SlowDown,
    /// The headers and the first half of the body, then nothing, ever.
    Stall,
    /// The headers, then the body one byte every 1.5 s.
    Trickle,
    /// 403 RequestTimeTooSkewed, as S3 answers a request signed by a clock more than 15
    /// minutes off.
    TooSkewed,
}

/// Which requests a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum On {
    /// ListObjectsV2 of exactly this prefix: its first page (no continuation token), or any
    /// later one.
    Listing { prefix: String, page: Page },
    /// GetObject of every key containing this text.
    Object(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    First,
    Later,
}

impl On {
    pub fn first_page(prefix: &str) -> On {
        On::Listing {
            prefix: prefix.to_string(),
            page: Page::First,
        }
    }

    pub fn later_pages(prefix: &str) -> On {
        On::Listing {
            prefix: prefix.to_string(),
            page: Page::Later,
        }
    }

    pub fn object(key_part: &str) -> On {
        On::Object(key_part.to_string())
    }
}

struct Rule {
    on: On,
    fault: Fault,
    /// How many matching requests get the fault (the first ones); None: every one.
    times: Option<u32>,
    hits: u32,
}

/// The rules of one server, and how it pages listings.
#[derive(Default)]
pub struct Faults {
    rules: Mutex<Vec<Rule>>,
    /// Time added before every answer, as a real S3 region far from the client adds it.
    latency: Mutex<Option<Latency>>,
    /// Requests so far: listings, object GETs.
    listings: AtomicU64,
    gets: AtomicU64,
    /// At most this many keys per listing page (0: as asked, up to 1,000).
    page_size: AtomicI32,
    /// The region of every signed request's credential scope, in arrival order.
    signed_regions: Mutex<Vec<String>>,
    /// The share of requests (0 to 1) answered 503 SlowDown, chosen reproducibly.
    slow_down: Mutex<f64>,
    /// Bytes per second each response body is sent at (None: as fast as it can).
    bandwidth: Mutex<Option<u64>>,
    /// Object GETs being answered now (until their body is sent), and the most at once.
    gets_now: std::sync::Arc<AtomicU64>,
    gets_peak: std::sync::Arc<AtomicU64>,
    /// Answers 503 SlowDown sent by `set_slow_down`.
    slowed: AtomicU64,
    /// Object GETs sent by the SDK's orchestrator (they carry its `amz-sdk-invocation-id`),
    /// rather than by ctq's direct path.
    sdk_gets: AtomicU64,
    /// The listings that had arrived when the first object GET did (None before it).
    listings_at_first_get: Mutex<Option<u64>>,
    /// Every object's body and ETag, by `bucket/key`, read once by [`Faults::serve_from_memory`]:
    /// GETs are then answered from memory (the benchmark's server, so that its own CPU, which
    /// a real S3 does not take from the client's machine, stays small).
    memory: std::sync::OnceLock<std::collections::HashMap<String, (Bytes, String)>>,
}

/// The wait before each answer: `first_byte`, give or take `jitter` of it (0.5: ±50%),
/// spread evenly and reproducibly (the nth request always waits the same).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    pub first_byte: std::time::Duration,
    pub jitter: f64,
}

impl Latency {
    /// The wait of request number `n`.
    fn wait(&self, n: u64) -> std::time::Duration {
        let u = unit(n);
        let factor = 1.0 + self.jitter.clamp(0.0, 1.0) * (2.0 * u - 1.0);
        self.first_byte.mul_f64(factor.max(0.0))
    }
}

/// The step of splitmix64's counter.
pub const SPLITMIX_STEP: u64 = 0x9e37_79b9_7f4a_7c15;

/// splitmix64 of `n`: well spread and reproducible, without a random number crate.
pub fn splitmix(n: u64) -> u64 {
    let mut z = n.wrapping_add(SPLITMIX_STEP);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `splitmix(n)` as a number in [0, 1).
fn unit(n: u64) -> f64 {
    (splitmix(n) >> 11) as f64 / (1u64 << 53) as f64
}

impl Faults {
    /// Every answer from now on waits `latency` first.
    pub fn set_latency(&self, latency: Option<Latency>) {
        *self.latency.lock().unwrap() = latency;
    }

    /// Answer this share of requests (0 to 1) with 503 SlowDown, as S3 does when a prefix
    /// gets more requests than it can take.
    pub fn set_slow_down(&self, fraction: f64) {
        *self.slow_down.lock().unwrap() = fraction.clamp(0.0, 1.0);
    }

    /// Send every response body at most at `bytes_per_second` (None: no cap).
    pub fn set_bandwidth(&self, bytes_per_second: Option<u64>) {
        *self.bandwidth.lock().unwrap() = bytes_per_second.filter(|b| *b > 0);
    }

    /// The most object GETs answered at once so far (a GET counts until its body is sent).
    pub fn peak_gets(&self) -> u64 {
        self.gets_peak.load(Ordering::Relaxed)
    }

    /// How many listings had arrived when the first object GET did.
    pub fn listings_at_first_get(&self) -> Option<u64> {
        *self.listings_at_first_get.lock().unwrap()
    }

    /// How many answers were 503 SlowDown by `set_slow_down`.
    /// Object GETs that came through the SDK's orchestrator.
    pub fn sdk_gets(&self) -> u64 {
        self.sdk_gets.load(Ordering::Relaxed)
    }

    pub fn slowed(&self) -> u64 {
        self.slowed.load(Ordering::Relaxed)
    }

    /// (listings, object GETs) served so far.
    pub fn requests(&self) -> (u64, u64) {
        (
            self.listings.load(Ordering::Relaxed),
            self.gets.load(Ordering::Relaxed),
        )
    }

    /// Counts the request, and says how to answer it: how long to wait first, and whether to
    /// answer 503 SlowDown (the `slow_down` share of requests).
    fn arrival(&self, method: &Method, uri: &Uri) -> Arrival {
        let listing = uri.query().unwrap_or_default().contains("list-type=2");
        let n = if method != Method::GET {
            0
        } else if listing {
            self.listings.fetch_add(1, Ordering::Relaxed)
        } else {
            let n = self.gets.fetch_add(1, Ordering::Relaxed);
            if n == 0 {
                *self.listings_at_first_get.lock().unwrap() =
                    Some(self.listings.load(Ordering::Relaxed));
            }
            n
        };
        let n = n + if listing { 1 << 32 } else { 0 };
        let latency = *self.latency.lock().unwrap();
        let share = *self.slow_down.lock().unwrap();
        let slow_down = method == Method::GET && share > 0.0 && unit(n ^ (1 << 40)) < share;
        if slow_down {
            self.slowed.fetch_add(1, Ordering::Relaxed);
        }
        let in_flight = (method == Method::GET && !listing).then(|| {
            let now = self.gets_now.fetch_add(1, Ordering::Relaxed) + 1;
            self.gets_peak.fetch_max(now, Ordering::Relaxed);
            InFlight(std::sync::Arc::clone(&self.gets_now))
        });
        Arrival {
            wait: latency.map(|l| l.wait(n)),
            slow_down,
            bandwidth: *self.bandwidth.lock().unwrap(),
            in_flight,
        }
    }

    /// `fault` on the first `times` requests `on` matches (None: on every one).
    pub fn add(&self, on: On, fault: Fault, times: Option<u32>) {
        self.rules.lock().unwrap().push(Rule {
            on,
            fault,
            times,
            hits: 0,
        });
    }

    pub fn clear(&self) {
        self.rules.lock().unwrap().clear();
    }

    /// How many requests got a fault so far.
    pub fn hits(&self) -> u32 {
        self.rules.lock().unwrap().iter().map(|r| r.hits).sum()
    }

    /// The regions requests were signed for (`Credential=AKID/DATE/REGION/s3/aws4_request`):
    /// the region the client was configured with, as S3 sees it.
    pub fn signed_regions(&self) -> Vec<String> {
        self.signed_regions.lock().unwrap().clone()
    }

    fn note_signature(&self, authorization: Option<&http::HeaderValue>) {
        let region = authorization
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split("Credential=").nth(1))
            .and_then(|scope| scope.split('/').nth(2));
        if let Some(r) = region {
            self.signed_regions.lock().unwrap().push(r.to_string());
        }
    }

    /// Reads every file under `root` (a folder per bucket) into memory; from then on GETs of
    /// those keys are answered from it, with the ETag listings give. Returns the objects read.
    pub fn serve_from_memory(&self, root: &std::path::Path) -> std::io::Result<usize> {
        let mut objects = std::collections::HashMap::new();
        let mut folders = vec![(root.to_path_buf(), String::new())];
        while let Some((dir, prefix)) = folders.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                let meta = entry.metadata()?;
                if meta.is_dir() {
                    folders.push((entry.path(), format!("{prefix}{name}/")));
                } else if !prefix.is_empty() {
                    let body = Bytes::from(std::fs::read(entry.path())?);
                    objects.insert(format!("{prefix}{name}"), (body, etag_of(&meta)?));
                }
            }
        }
        let n = objects.len();
        let _ = self.memory.set(objects);
        Ok(n)
    }

    pub fn set_page_size(&self, n: i32) {
        self.page_size.store(n, Ordering::Relaxed);
    }

    /// The fault for this request, if a rule wants one (and count it).
    fn take(&self, method: &Method, uri: &Uri) -> Option<Fault> {
        if method != Method::GET {
            return None;
        }
        let query = query_pairs(uri.query().unwrap_or_default());
        let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        let path = percent_decode(uri.path());
        // Path style: `/bucket` for a listing, `/bucket/key` for an object.
        let key = path
            .trim_start_matches('/')
            .split_once('/')
            .map(|(_, k)| k)
            .unwrap_or_default();
        let listing = param("list-type").is_some_and(|v| v == "2");
        let mut rules = self.rules.lock().unwrap();
        let rule = rules.iter_mut().find(|r| {
            r.times.is_none_or(|t| r.hits < t)
                && match &r.on {
                    On::Listing { prefix, page } => {
                        listing
                            && param("prefix").map_or("", |p| p.as_str()) == prefix
                            && (param("continuation-token").is_some() == (*page == Page::Later))
                    }
                    On::Object(part) => !listing && key.contains(part.as_str()),
                }
        })?;
        rule.hits += 1;
        Some(rule.fault)
    }
}

/// How the server answers one request.
struct Arrival {
    wait: Option<std::time::Duration>,
    slow_down: bool,
    bandwidth: Option<u64>,
    in_flight: Option<InFlight>,
}

/// An object GET being answered: counted in `gets_now` until dropped with its body.
struct InFlight(std::sync::Arc<AtomicU64>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// `%XX` and `+` (space) decoded, as S3 encodes keys with `encoding-type=url`.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 3 <= b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
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
    String::from_utf8_lossy(&out).into_owned()
}

/// Every byte but `A-Z a-z 0-9 - _ . ~` as `%XX`, a space as `+`: more than S3 encodes, so
/// that a client that forgets to decode shows it.
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(c as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{c:02X}")),
        }
    }
    out
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<String> {
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// s3s-fs with what real S3 does on listings: keys url-encoded when asked, opaque continuation
/// tokens (s3s-fs sends the last key, which may hold characters XML cannot carry), the page
/// size of [`Faults::set_page_size`], an ETag for every object listed, and the cost of a
/// listing bounded by what is under its prefix (s3s-fs walks the whole bucket for each one,
/// which makes a thousand listings of a large bucket take minutes): see [`list_folder`].
pub struct RealS3 {
    pub fs: s3s_fs::FileSystem,
    pub root: std::path::PathBuf,
    pub faults: std::sync::Arc<Faults>,
}

/// A file's ETag in listings: its size and modification time.
fn etag_of(meta: &std::fs::Metadata) -> std::io::Result<String> {
    let mtime = meta
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    Ok(format!("{:x}-{mtime:x}", meta.len()))
}

/// One page of a ListObjectsV2 of `prefix` in the bucket folder `bucket`, as S3 answers it: the
/// walk starts at the folder the prefix names up to its last `/`, keys and common prefixes in
/// order after `after`, at most `max_keys`. The ETag is the file's size and modification time
/// (it changes when the file is written again, as an object's does).
fn list_folder(
    bucket: &std::path::Path,
    prefix: &str,
    delimiter: Option<&str>,
    max_keys: usize,
    after: Option<&str>,
) -> std::io::Result<ListObjectsV2Output> {
    use s3s::dto::{CommonPrefix, Object};
    let start = &prefix[..prefix.rfind('/').map_or(0, |i| i + 1)];
    // (key, Some((size, etag)) for an object, None for a common prefix)
    let mut found: Vec<(String, Option<(u64, String)>)> = Vec::new();
    let mut folders = vec![(bucket.join(start), start.to_string())];
    while let Some((dir, key_prefix)) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let key = format!("{key_prefix}{name}");
            let meta = entry.metadata()?;
            if meta.is_dir() {
                let folder = format!("{key}/");
                if !(folder.starts_with(prefix) || prefix.starts_with(&folder)) {
                    continue;
                }
                match delimiter {
                    Some("/") if folder.starts_with(prefix) => found.push((folder, None)),
                    _ => folders.push((entry.path(), folder)),
                }
            } else if key.starts_with(prefix) {
                found.push((key, Some((meta.len(), etag_of(&meta)?))));
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found.retain(|(k, _)| after.is_none_or(|a| k.as_str() > a));
    let truncated = found.len() > max_keys;
    found.truncate(max_keys);
    let next = truncated
        .then(|| found.last().map(|(k, _)| k.clone()))
        .flatten();
    let (mut contents, mut prefixes) = (Vec::new(), Vec::new());
    for (key, object) in found {
        match object {
            Some((size, etag)) => contents.push(Object {
                key: Some(key),
                size: Some(size as i64),
                e_tag: Some(s3s::dto::ETag::Strong(etag)),
                ..Default::default()
            }),
            None => prefixes.push(CommonPrefix { prefix: Some(key) }),
        }
    }
    Ok(ListObjectsV2Output {
        key_count: Some((contents.len() + prefixes.len()) as i32),
        max_keys: Some(max_keys as i32),
        is_truncated: Some(truncated),
        next_continuation_token: next,
        contents: Some(contents),
        common_prefixes: Some(prefixes),
        prefix: Some(prefix.to_string()),
        delimiter: delimiter.map(str::to_string),
        ..Default::default()
    })
}

#[async_trait::async_trait]
impl S3 for RealS3 {
    async fn head_bucket(
        &self,
        req: S3Request<s3s::dto::HeadBucketInput>,
    ) -> S3Result<S3Response<s3s::dto::HeadBucketOutput>> {
        self.fs.head_bucket(req).await
    }

    async fn get_object(
        &self,
        req: S3Request<s3s::dto::GetObjectInput>,
    ) -> S3Result<S3Response<s3s::dto::GetObjectOutput>> {
        let input = &req.input;
        if let Some(objects) = self.faults.memory.get()
            && input.range.is_none()
        {
            let Some((body, etag)) = objects.get(&format!("{}/{}", input.bucket, input.key)) else {
                return Err(s3s::s3_error!(NoSuchKey));
            };
            return Ok(S3Response::new(s3s::dto::GetObjectOutput {
                content_length: Some(body.len() as i64),
                body: Some(s3s::dto::StreamingBlob::from(Body::from(body.clone()))),
                e_tag: Some(s3s::dto::ETag::Strong(etag.clone())),
                ..Default::default()
            }));
        }
        self.fs.get_object(req).await
    }

    async fn list_objects_v2(
        &self,
        mut req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let page = self.faults.page_size.load(Ordering::Relaxed);
        if page > 0 {
            req.input.max_keys = Some(req.input.max_keys.map_or(page, |m| m.min(page)));
        }
        let token = req.input.continuation_token.take();
        if let Some(t) = &token {
            req.input.continuation_token =
                Some(unhex(t).ok_or_else(|| s3s::s3_error!(InvalidArgument, "bad token"))?);
        }
        let url = req
            .input
            .encoding_type
            .as_ref()
            .is_some_and(|e| e.as_str() == EncodingType::URL);
        let bucket = self.root.join(&req.input.bucket);
        if !bucket.is_dir() {
            return Err(s3s::s3_error!(NoSuchBucket));
        }
        let input = &req.input;
        let (prefix, delimiter) = (
            input.prefix.clone().unwrap_or_default(),
            input.delimiter.clone(),
        );
        let max_keys = input.max_keys.unwrap_or(1000).clamp(0, 1000) as usize;
        let after = input
            .continuation_token
            .clone()
            .or_else(|| input.start_after.clone());
        let encoding = input.encoding_type.clone();
        let listed = tokio::task::spawn_blocking(move || {
            list_folder(
                &bucket,
                &prefix,
                delimiter.as_deref(),
                max_keys,
                after.as_deref(),
            )
        })
        .await
        .map_err(|e| s3s::s3_error!(InternalError, "{e}"))?
        .map_err(|e| s3s::s3_error!(InternalError, "{e}"))?;
        let mut resp = S3Response::new(ListObjectsV2Output {
            name: Some(req.input.bucket.clone()),
            encoding_type: encoding,
            ..listed
        });
        let out = &mut resp.output;
        out.continuation_token = token;
        out.next_continuation_token = out.next_continuation_token.as_deref().map(hex);
        if url {
            let enc = |v: &mut Option<String>| {
                if let Some(s) = v {
                    *s = url_encode(s);
                }
            };
            enc(&mut out.prefix);
            enc(&mut out.delimiter);
            enc(&mut out.start_after);
            for o in out.contents.iter_mut().flatten() {
                enc(&mut o.key);
            }
            for p in out.common_prefixes.iter_mut().flatten() {
                enc(&mut p.prefix);
            }
        }
        Ok(resp)
    }
}

/// The S3 service behind the rules of [`Faults`], in the same hyper server.
#[derive(Clone)]
pub struct FaultService {
    pub inner: S3Service,
    pub faults: std::sync::Arc<Faults>,
}

pub const FAULT_REQUEST_ID: &str = "CTQFAULT7Q2X9";

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl hyper::service::Service<Request<Incoming>> for FaultService {
    type Response = Response<Body>;
    type Error = HttpError;
    type Future = BoxFuture<Result<Response<Body>, HttpError>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        self.faults
            .note_signature(req.headers().get(http::header::AUTHORIZATION));
        let fault = self.faults.take(req.method(), req.uri());
        if req.method() == Method::GET
            && !req
                .uri()
                .query()
                .unwrap_or_default()
                .contains("list-type=2")
            && req.headers().contains_key("amz-sdk-invocation-id")
        {
            self.faults.sdk_gets.fetch_add(1, Ordering::Relaxed);
        }
        let arrival = self.faults.arrival(req.method(), req.uri());
        let inner = self.inner.clone();
        Box::pin(async move {
            if let Some(wait) = arrival.wait {
                tokio::time::sleep(wait).await;
            }
            if fault == Some(Fault::SlowDown) || arrival.slow_down {
                return Ok(slow_down());
            }
            if fault == Some(Fault::TooSkewed) {
                return Ok(error_answer(
                    StatusCode::FORBIDDEN,
                    "RequestTimeTooSkewed",
                    "The difference between the request time and the current time is too large.",
                ));
            }
            let resp = hyper::service::Service::call(&inner, req).await?;
            let resp = match fault {
                Some(fault) if resp.status() == StatusCode::OK => damage(fault, resp).await,
                _ => resp,
            };
            if arrival.bandwidth.is_none() && arrival.in_flight.is_none() {
                return Ok(resp);
            }
            let (parts, body) = resp.into_parts();
            let paced = Paced {
                inner: body,
                rate: arrival.bandwidth,
                sleep: None,
                held: None,
                _in_flight: arrival.in_flight,
            };
            Ok(Response::from_parts(parts, Body::http_body_unsync(paced)))
        })
    }
}

fn slow_down() -> Response<Body> {
    error_answer(
        StatusCode::SERVICE_UNAVAILABLE,
        "SlowDown",
        "Please reduce your request rate.",
    )
}

fn error_answer(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{FAULT_REQUEST_ID}</RequestId></Error>"
    );
    Response::builder()
        .status(status)
        .header("x-amz-request-id", FAULT_REQUEST_ID)
        .header(CONTENT_TYPE, "application/xml")
        .header(CONTENT_LENGTH, xml.len())
        .body(Body::from(xml))
        .unwrap()
}

async fn damage(fault: Fault, resp: Response<Body>) -> Response<Body> {
    let (mut parts, mut body) = resp.into_parts();
    let bytes = body.store_all_limited(64 << 20).await.unwrap();
    let mid = bytes.len() / 2;
    let body: Bytes = match fault {
        Fault::CutInHalf => bytes.slice(..mid),
        Fault::Garble => {
            let mut v = bytes.to_vec();
            let junk = b"<</&#;garbled!>";
            let at = mid.min(v.len().saturating_sub(junk.len()));
            let end = (at + junk.len()).min(v.len());
            v[at..end].copy_from_slice(&junk[..end - at]);
            v.into()
        }
        Fault::FlipBytes => {
            let mut v = bytes.to_vec();
            let end = (mid + 8).min(v.len());
            for b in &mut v[mid..end] {
                *b = !*b;
            }
            v.into()
        }
        Fault::WrongChecksum => {
            // CRC32 0, base64: no body of these tests has it.
            parts
                .headers
                .insert("x-amz-checksum-crc32", "AAAAAA==".parse().unwrap());
            bytes
        }
        Fault::Stall => {
            // The Content-Length of the whole body stays: the client waits for the rest.
            return Response::from_parts(parts, Body::http_body(Stall(Some(bytes.slice(..mid)))));
        }
        Fault::Trickle => {
            let trickle = Trickle {
                rest: bytes,
                sleep: None,
            };
            return Response::from_parts(parts, Body::http_body(trickle));
        }
        Fault::SlowDown | Fault::TooSkewed => {
            unreachable!("answered before the request reaches S3")
        }
    };
    parts.headers.insert(CONTENT_LENGTH, body.len().into());
    Response::from_parts(parts, Body::from(body))
}

/// A body sent at most at `rate` bytes per second, in pieces of at most 16 KiB each followed by
/// the pause its size takes at that rate; it holds its `InFlight` until it is sent or dropped.
struct Paced {
    inner: Body,
    rate: Option<u64>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    /// What is left of the last chunk of `inner`.
    held: Option<Bytes>,
    _in_flight: Option<InFlight>,
}

impl http_body::Body for Paced {
    type Data = Bytes;
    type Error = s3s::StdError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Some(sleep) = &mut this.sleep {
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.sleep = None;
        }
        let Some(rate) = this.rate else {
            return Pin::new(&mut this.inner).poll_frame(cx);
        };
        let mut chunk = match this.held.take() {
            Some(chunk) => chunk,
            None => match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => data,
                    Err(frame) => return Poll::Ready(Some(Ok(frame))),
                },
                other => return other,
            },
        };
        let piece = chunk.split_to(chunk.len().min(16 << 10));
        if !chunk.is_empty() {
            this.held = Some(chunk);
        }
        let pause = std::time::Duration::from_secs_f64(piece.len() as f64 / rate as f64);
        this.sleep = Some(Box::pin(tokio::time::sleep(pause)));
        Poll::Ready(Some(Ok(http_body::Frame::data(piece))))
    }
}

/// A body that sends its first chunk, then never another byte and never ends.
struct Stall(Option<Bytes>);

impl http_body::Body for Stall {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        match self.0.take() {
            Some(first) => Poll::Ready(Some(Ok(http_body::Frame::data(first)))),
            None => Poll::Pending,
        }
    }
}

/// A body sent one byte every 1.5 s.
struct Trickle {
    rest: Bytes,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl http_body::Body for Trickle {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        if self.rest.is_empty() {
            return Poll::Ready(None);
        }
        let sleep = self.sleep.get_or_insert_with(|| {
            Box::pin(tokio::time::sleep(std::time::Duration::from_millis(1500)))
        });
        match sleep.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                self.sleep = None;
                let byte = self.rest.split_to(1);
                Poll::Ready(Some(Ok(http_body::Frame::data(byte))))
            }
        }
    }
}

#[test]
fn s3_listing_url_encoding_round_trips() {
    let key = "AWSLogs/1/a b+c\u{1b}é%.json.gz";
    assert_eq!(percent_decode(&url_encode(key)), key);
    assert_eq!(unhex(&hex(key)).as_deref(), Some(key));
}

#[test]
fn latency_spreads_evenly_around_its_mean() {
    let l = Latency {
        first_byte: std::time::Duration::from_millis(100),
        jitter: 0.5,
    };
    let waits: Vec<f64> = (0..10_000).map(|n| l.wait(n).as_secs_f64()).collect();
    assert!(waits.iter().all(|w| (0.05..=0.15).contains(w)));
    let mean = waits.iter().sum::<f64>() / waits.len() as f64;
    assert!((mean - 0.1).abs() < 0.002, "{mean}");
    // Both halves of the range are used.
    assert!(waits.iter().any(|w| *w < 0.06) && waits.iter().any(|w| *w > 0.14));
}

/// Serves `root` (a bucket per folder) on 127.0.0.1 at `port` (0: any free one) behind the rules
/// and latency of `faults`, with `auth` and `access`; returns the endpoint and the runtime that
/// runs it (the server stops when the runtime is dropped). The tests' server and the
/// benchmark's (`bench/s3_server.rs`) are both this one.
pub fn serve(
    root: &std::path::Path,
    port: u16,
    faults: std::sync::Arc<Faults>,
    auth: s3s::auth::SimpleAuth,
    access: impl s3s::access::S3Access,
) -> (String, tokio::runtime::Runtime) {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder as ConnBuilder;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(("127.0.0.1", port)))
        .unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let mut builder = s3s::service::S3ServiceBuilder::new(RealS3 {
        fs: s3s_fs::FileSystem::new(root).unwrap(),
        root: root.to_path_buf(),
        faults: std::sync::Arc::clone(&faults),
    });
    builder.set_auth(auth);
    builder.set_access(access);
    let service = FaultService {
        inner: builder.build(),
        faults,
    };
    rt.spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            // As S3's own front ends do: without it, a body sent after its headers waits for the
            // client's delayed ACK (Nagle), about 40 ms more per answer on Linux.
            let _ = socket.set_nodelay(true);
            let service = service.clone();
            tokio::spawn(async move {
                let _ = ConnBuilder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    (endpoint, rt)
}
