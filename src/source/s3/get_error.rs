//! A GetObject that failed: why, in one line, and whether the run can go on (`GetError`), from
//! the SDK's error or from S3's answer read by `direct` (`ErrorAnswer`).

use std::time::Duration;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::body::SdkBody;

use crate::aws;

/// The most of an error answer's body read for its code and message.
const ERROR_BODY: usize = 64 * 1024;

/// Why a GetObject failed.
pub enum GetError {
    /// This object is skipped; the run goes on.
    Object(String),
    /// Nothing more can be read.
    Fatal(String),
}

impl GetError {
    pub fn into_reason(self) -> String {
        match self {
            GetError::Object(why) | GetError::Fatal(why) => why,
        }
    }
}

pub fn classify_get_error(e: &SdkError<GetObjectError, HttpResponse>) -> GetError {
    classify(
        e.code().unwrap_or_default(),
        e.message().unwrap_or_default(),
        aws::describe(e),
    )
}

/// A failed GetObject, from S3's code and message and the whole error in one line.
fn classify(code: &str, message: &str, described: String) -> GetError {
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
        _ => GetError::Object(format!("download failed: {described}")),
    }
}

/// An answer other than 2xx: its status, and S3's code, message and request id.
pub struct ErrorAnswer {
    status: u16,
    code: String,
    message: String,
    request_id: Option<String>,
}

impl ErrorAnswer {
    pub async fn read(response: aws_smithy_runtime_api::http::Response<SdkBody>) -> ErrorAnswer {
        let status = response.status().as_u16();
        let mut request_id = response
            .headers()
            .get("x-amz-request-id")
            .map(str::to_string);
        let mut stream = ByteStream::new(response.into_body());
        let mut text = Vec::new();
        // A body that never ends does not hold the run: its start is enough.
        let read = async {
            while let Some(Ok(chunk)) = stream.next().await {
                let room = ERROR_BODY.saturating_sub(text.len());
                text.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if text.len() >= ERROR_BODY {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(10), read).await;
        let text = String::from_utf8_lossy(&text);
        let field = |tag: &str| -> Option<String> {
            let open = format!("<{tag}>");
            let start = text.find(&open)? + open.len();
            let end = start + text[start..].find(&format!("</{tag}>"))?;
            Some(xml_unescape(&text[start..end]))
        };
        if request_id.is_none() {
            request_id = field("RequestId");
        }
        ErrorAnswer {
            status,
            code: field("Code").unwrap_or_default(),
            message: field("Message").unwrap_or_default(),
            request_id,
        }
    }

    /// S3 did not take the request's signature or credentials.
    pub fn refuses_signature(&self) -> bool {
        matches!(
            self.code.as_str(),
            "RequestTimeTooSkewed"
                | "RequestExpired"
                | "SignatureDoesNotMatch"
                | "AuthorizationHeaderMalformed"
                | "InvalidAccessKeyId"
                | "ExpiredToken"
                | "InvalidToken"
                | "TokenRefreshRequired"
        )
    }

    /// As the SDK's standard strategy: server errors, throttling and timeouts are retried.
    pub fn retryable(&self) -> bool {
        matches!(self.status, 500 | 502 | 503 | 504)
            || matches!(
                self.code.as_str(),
                "SlowDown"
                    | "Throttling"
                    | "ThrottlingException"
                    | "ThrottledException"
                    | "RequestThrottledException"
                    | "TooManyRequestsException"
                    | "ProvisionedThroughputExceededException"
                    | "TransactionInProgressException"
                    | "RequestLimitExceeded"
                    | "BandwidthLimitExceeded"
                    | "LimitExceededException"
                    | "RequestThrottled"
                    | "PriorRequestNotComplete"
                    | "EC2ThrottledException"
                    | "RequestTimeout"
                    | "RequestTimeoutException"
                    | "InternalError"
            )
    }

    /// The message `aws::describe` writes for a service error, classified as
    /// `classify_get_error` does.
    pub fn into_error(self) -> GetError {
        let described = aws::service_error(
            (!self.code.is_empty()).then_some(self.code.as_str()),
            Some(self.message.as_str()),
            self.status,
            self.request_id.as_deref(),
        );
        classify(&self.code, &self.message, described)
    }
}

/// XML's five entities and numeric references, as S3 writes them in an error's message.
fn xml_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';').filter(|&e| e <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_entities_are_decoded() {
        assert_eq!(
            xml_unescape("a &lt;b&gt; &amp;&#65;&#x42; &bogus; &"),
            "a <b> &AB &bogus; &"
        );
    }
}
