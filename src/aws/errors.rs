//! A failed AWS request in a few words and one line, for every AWS message of ctq; and the
//! failures not worth a retry (`FailFast`): an endpoint that refuses the connection or a host
//! name that does not resolve will not be different a second later.

use std::error::Error;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::interceptors::InterceptorContext;
use aws_sdk_s3::config::retry::{ClassifyRetry, RetryAction};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::RequestId;
use aws_smithy_runtime_api::client::retries::classifiers::RetryClassifierPriority;

/// Stops the SDK's retries of a connection that cannot be made at all.
///
/// The standard retry strategy takes every I/O error for a transient one, as it should for a
/// reset connection or throttling, and so a refused connection used to fail only after five
/// attempts and their backoff (4.5 to 10 s). This classifier runs after the SDK's own and
/// forbids the retry when the endpoint refused the connection or its name did not resolve;
/// throttling, 5xx answers, timeouts and broken connections are still retried.
#[derive(Debug)]
pub struct FailFast;

impl ClassifyRetry for FailFast {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match ctx.output_or_error() {
            Some(Err(e)) => match e.as_connector_error() {
                Some(c) if unreachable_reason(c).is_some() => RetryAction::RetryForbidden,
                _ => RetryAction::NoActionIndicated,
            },
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "ctq: no retry of an endpoint that cannot be reached"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

/// Why no connection could be made, when retrying cannot help: refused, or no such host.
pub fn unreachable_reason(e: &(dyn Error + 'static)) -> Option<&'static str> {
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return Some("connection refused");
        }
        if is_dns_failure(err) {
            return Some(NO_SUCH_HOST);
        }
        current = err.source();
    }
    None
}

const NO_SUCH_HOST: &str = "the host name does not resolve";

/// hyper's connector says "dns error" and wraps the resolver's own words (getaddrinfo's
/// "failed to lookup address information: …").
fn is_dns_failure(e: &(dyn Error + 'static)) -> bool {
    let text = e.to_string();
    text == "dns error" || text.starts_with("failed to lookup address information")
}

/// The endpoint (`scheme://host[:port]`) of the last request sent, set by the interceptor every
/// client has (`debug::Observe`): a connection failure names it, since the SDK's error does not
/// say where it tried to connect. Requests of one run go to one endpoint per service, so the
/// last one is the one that failed.
static LAST_ENDPOINT: Mutex<Option<String>> = Mutex::new(None);

pub fn note_endpoint(uri: &str) {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if let Ok(mut last) = LAST_ENDPOINT.lock() {
        *last = Some(format!("{scheme}://{authority}"));
    }
}

/// `cannot connect to http://127.0.0.1:9 (connection refused)` for a request that got no
/// answer; `service` names the far end when no request was sent (S3, Athena).
pub fn no_answer<E>(e: &SdkError<E, HttpResponse>, service: &str) -> String
where
    E: ProvideErrorMetadata + Error + 'static,
{
    let to = LAST_ENDPOINT
        .lock()
        .ok()
        .and_then(|l| l.clone())
        .unwrap_or_else(|| service.to_string());
    let verb = match e {
        SdkError::DispatchFailure(d) if !d.is_timeout() => "cannot connect to",
        _ => "cannot reach",
    };
    format!("{verb} {to} ({})", describe(e))
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
        SdkError::ServiceError(s) => service_error(
            e.code(),
            e.message(),
            s.raw().status().as_u16(),
            e.meta().request_id().or_else(|| e.request_id()),
        ),
        _ => root_cause(e),
    }
}

/// A service's error answer in a few words: its code and message (else its HTTP status), and
/// its request id. `describe` says it so of the SDK's errors, `source::s3::get_error` of S3's
/// answers to the GETs ctq sends itself.
pub fn service_error(
    code: Option<&str>,
    message: Option<&str>,
    status: u16,
    request_id: Option<&str>,
) -> String {
    let mut out = match (code, message) {
        (Some(code), Some(m)) if !m.is_empty() => format!("{code}: {}", one_line(m)),
        (Some(code), _) => code.to_string(),
        (None, _) => format!("HTTP {status}"),
    };
    if let Some(id) = request_id {
        out.push_str(&format!(" (request id {id})"));
    }
    out
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
        if is_dns_failure(err) {
            return NO_SUCH_HOST.to_string();
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
    fn only_an_endpoint_that_cannot_be_reached_is_not_retried() {
        /// hyper's connector error: its own words, the resolver's error as its source.
        #[derive(Debug)]
        struct Connect(&'static str, std::io::Error);
        impl std::fmt::Display for Connect {
            fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(self.0)
            }
        }
        impl Error for Connect {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                Some(&self.1)
            }
        }
        use std::io::ErrorKind as K;
        let refused = Connect("tcp connect error", K::ConnectionRefused.into());
        assert_eq!(unreachable_reason(&refused), Some("connection refused"));
        let dns = Connect(
            "dns error",
            std::io::Error::other(
                "failed to lookup address information: Name or service not known",
            ),
        );
        assert_eq!(unreachable_reason(&dns), Some(NO_SUCH_HOST));
        assert_eq!(transport_reason(&dns), NO_SUCH_HOST);
        for retried in [K::ConnectionReset, K::TimedOut, K::UnexpectedEof] {
            let e = Connect("tcp connect error", retried.into());
            assert_eq!(unreachable_reason(&e), None, "{retried:?}");
        }
        note_endpoint("http://127.0.0.1:9/bucket/key?x-id=GetObject");
        assert_eq!(
            LAST_ENDPOINT.lock().unwrap().as_deref(),
            Some("http://127.0.0.1:9")
        );
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
