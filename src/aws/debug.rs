//! `--debug`: what the AWS clients do, on stderr: where the credentials and the region came
//! from, one line per request (`Observe`), and the SDK's own log (`tracing-subscriber`).
//!
//! Never a secret. Three guards, because a log is pasted into tickets and chats:
//! - the SDK's log is capped at its debug level whatever CTQ_LOG says: at trace level it logs
//!   whole responses, and the responses of STS, SSO and instance metadata hold the keys they
//!   hand out (its request headers are redacted by the SDK itself, at every level);
//! - every line, ours and the SDK's, has the secret key and session token in use replaced by
//!   `** redacted **` (`hide`), and the access key id by its last four characters;
//! - every line is escaped like any other message (`exit::warn`): keys and URIs come from the
//!   bucket.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use aws_sdk_s3::config::interceptors::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use tracing_subscriber::filter::{LevelFilter, Targets};

use super::errors::{note_endpoint, transport_reason};

static ON: AtomicBool = AtomicBool::new(false);

/// Answers that asked the client to slow down (503 SlowDown, 429) or said the service was in
/// trouble (500), retried or not, and downloads that broke off, since the start.
static OVERLOADED: AtomicU64 = AtomicU64::new(0);

/// How many answers so far asked to slow down or were a server error: what the adaptive
/// concurrency of the downloads backs off on.
pub fn overloaded() -> u64 {
    OVERLOADED.load(Ordering::Relaxed)
}

/// Count a download that broke off or stalled with the answers that asked to slow down.
pub fn note_overloaded() {
    OVERLOADED.fetch_add(1, Ordering::Relaxed);
}

/// Count an answer of this status if it asked to slow down (429, 503) or was a server error
/// (500): every AWS answer, from the SDK (`Observe`) or to a GET ctq sent itself.
pub fn note_status(status: u16) {
    if matches!(status, 429 | 500 | 503) {
        note_overloaded();
    }
}

/// Text that no debug line may show, with what shows instead.
static HIDDEN: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// The SDK's log when neither CTQ_LOG nor RUST_LOG says otherwise: the credential chain, the
/// retries and the connections, not every step of every request.
pub const DEFAULT_FILTER: &str =
    "warn,aws_config=debug,aws_smithy_runtime::client::retries=debug,aws_smithy_http_client=debug";

/// Whether `--debug` was given.
pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Turn `--debug` on for the run (once; later calls do nothing): the secrets of the environment
/// are hidden before anything is logged, then the SDK's log is routed to stderr.
pub fn enable() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        ON.store(true, Ordering::Relaxed);
        for var in [
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_SECURITY_TOKEN",
        ] {
            if let Ok(v) = std::env::var(var) {
                hide(&v);
            }
        }
        if let Ok(id) = std::env::var("AWS_ACCESS_KEY_ID") {
            hide_key_id(&id);
        }
        let (filter, complaint) = filter_from_env();
        if let Some(c) = complaint {
            line(&c);
        }
        use tracing_subscriber::layer::SubscriberExt;
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_timer(tracing_subscriber::fmt::time::uptime())
            .with_writer(|| SdkLine(Vec::new()));
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::Layer::with_filter(layer, filter));
        // Another subscriber (a test harness) may already be set; its choice stands.
        let _ = tracing_subscriber::util::SubscriberInitExt::try_init(subscriber);
    });
}

/// A secret (a secret access key, a session token) that no debug line shows.
pub fn hide(secret: &str) {
    // Shorter text would be replaced where it is not the secret; no real secret is this short.
    if secret.len() >= 8 {
        remember(secret, "** redacted **".to_string());
    }
}

/// An access key id is not a secret, but alone it is half of one: shown as aws-cli's
/// `configure list` shows it, by its last four characters.
pub fn hide_key_id(id: &str) {
    if id.len() >= 8 {
        remember(id, masked(id));
    }
}

fn masked(id: &str) -> String {
    let tail: String = id
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("…{tail}")
}

fn remember(text: &str, shown: String) {
    if let Ok(mut h) = HIDDEN.lock()
        && !h.iter().any(|(t, _)| t == text)
    {
        h.push((text.to_string(), shown));
        // Longest first, so that a secret that contains another is replaced whole.
        h.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
    }
}

/// `text` with every hidden value replaced.
fn redact(text: &str) -> String {
    let mut out = text.to_string();
    if let Ok(h) = HIDDEN.lock() {
        for (secret, shown) in h.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), shown);
            }
        }
    }
    out
}

/// Print one debug line on stderr (`ctq: debug: …`), redacted and escaped; nothing without
/// `--debug`.
pub fn line(message: &str) {
    if enabled() {
        crate::exit::warn(&format!("debug: {}", redact(message)));
    }
}

/// The filter of the SDK's log: CTQ_LOG, else RUST_LOG, else [`DEFAULT_FILTER`], every level
/// capped at debug (see the module's doc); and what to tell the user if the variable is not a
/// filter.
fn filter_from_env() -> (Targets, Option<String>) {
    let given = ["CTQ_LOG", "RUST_LOG"].into_iter().find_map(|var| {
        Some((
            var,
            std::env::var(var).ok().filter(|v| !v.trim().is_empty())?,
        ))
    });
    let default = || DEFAULT_FILTER.parse::<Targets>().unwrap_or_default();
    let (targets, complaint) = match given {
        None => (default(), None),
        Some((var, text)) => match text.parse::<Targets>() {
            Ok(t) => (t, None),
            Err(e) => (
                default(),
                Some(format!(
                    "{var} is not a log filter like `aws_config=debug,warn` ({e}); using `{DEFAULT_FILTER}`"
                )),
            ),
        },
    };
    (cap_at_debug(&targets), complaint)
}

fn cap_at_debug(targets: &Targets) -> Targets {
    let cap = |l: LevelFilter| l.min(LevelFilter::DEBUG);
    let capped = Targets::new().with_targets(targets.iter().map(|(t, l)| (t.to_string(), cap(l))));
    match targets.default_level() {
        Some(l) => capped.with_default(cap(l)),
        None => capped,
    }
}

/// One event of the SDK's log, written by the fmt layer in one go and printed on drop.
struct SdkLine(Vec<u8>);

impl Write for SdkLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // An event is a few hundred bytes; a huge one (a body at debug level) is cut.
        const MAX: usize = 16 * 1024;
        let room = MAX.saturating_sub(self.0.len());
        self.0.extend_from_slice(&buf[..buf.len().min(room)]);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for SdkLine {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        let text = text.trim_end();
        if !text.is_empty() {
            line(&format!("sdk: {}", text.trim_start()));
        }
    }
}

/// The interceptor every S3 and Athena client has: it notes the endpoint of each request (for
/// the message of a connection that fails) and, with `--debug`, prints one line per request:
/// service, operation, method and URI, status, attempts, time taken.
#[derive(Debug)]
pub struct Observe;

#[derive(Debug, Clone)]
struct Started(Instant);

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

/// The last attempt's method and URI (the request itself is gone once it is sent).
#[derive(Debug, Clone)]
struct Sent(String);

impl Storable for Sent {
    type Storer = StoreReplace<Self>;
}

impl Intercept for Observe {
    fn name(&self) -> &'static str {
        "ctq::aws::debug::Observe"
    }

    fn read_before_execution(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if enabled() {
            cfg.interceptor_state().store_put(Started(Instant::now()));
        }
        Ok(())
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        note_endpoint(request.uri());
        if enabled() {
            cfg.interceptor_state().store_put(Sent(format!(
                "{} {}",
                request.method(),
                request.uri()
            )));
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(r) = context.response() {
            note_status(r.status().as_u16());
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !enabled() {
            return Ok(());
        }
        let operation = cfg.load::<Metadata>().map_or_else(
            || "request".to_string(),
            |m| format!("{} {}", m.service(), m.name()),
        );
        let sent = cfg.load::<Sent>().map_or("(not sent)", |s| s.0.as_str());
        let attempts = cfg.load::<RequestAttempts>().map_or(0, |a| a.attempts());
        let took = cfg
            .load::<Started>()
            .map_or(0, |s| s.0.elapsed().as_millis());
        let outcome = match (context.response(), context.output_or_error()) {
            (Some(r), _) => format!("HTTP {}", r.status().as_u16()),
            (None, Some(Err(e))) => format!("no response ({})", transport_reason(e)),
            (None, _) => "no response".to_string(),
        };
        request_line(&operation, sent, &outcome, attempts, took);
        Ok(())
    }
}

/// The `--debug` line of one request: `S3 GetObject: GET URI: HTTP 200, 2 attempts, 31 ms`.
pub fn request_line(operation: &str, sent: &str, outcome: &str, attempts: u32, took_ms: u128) {
    let tries = match attempts {
        1 => "1 attempt".to_string(),
        n => format!("{n} attempts"),
    };
    line(&format!(
        "{operation}: {sent}: {outcome}, {tries}, {took_ms} ms"
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_values_are_replaced_longest_first() {
        hide("short");
        hide("ctq-unit-secret-0123456789");
        hide("ctq-unit-secret-0123456789-and-more");
        hide_key_id("AKIAUNITTEST00004321");
        let out = redact(
            "key AKIAUNITTEST00004321 secret ctq-unit-secret-0123456789-and-more, \
             ctq-unit-secret-0123456789 short",
        );
        assert_eq!(out, "key …4321 secret ** redacted **, ** redacted ** short");
    }

    #[test]
    fn the_sdk_log_never_goes_past_debug() {
        let t = cap_at_debug(&"trace,aws_sigv4=trace,aws_config=info".parse().unwrap());
        assert_eq!(t.default_level(), Some(LevelFilter::DEBUG));
        let levels: Vec<_> = t.iter().map(|(t, l)| (t.to_string(), l)).collect();
        assert!(levels.contains(&("aws_sigv4".to_string(), LevelFilter::DEBUG)));
        assert!(levels.contains(&("aws_config".to_string(), LevelFilter::INFO)));
        assert!(DEFAULT_FILTER.parse::<Targets>().is_ok());
    }
}
