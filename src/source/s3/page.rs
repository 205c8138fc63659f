//! One listing, page by page, each page checked before it is believed.
//!
//! The SDK's XML reader is lenient: a page cut short or garbled on the way reads as a shorter
//! page, which would end the listing early and leave objects out of the report without a word.
//! So every page is checked against itself (`check_page`) and against its closing tag
//! (`WholeListing`); a damaged page is asked for again, and one that stays damaged stops the run.

use std::time::Duration;

use anyhow::bail;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::interceptors::AfterDeserializationInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::{BoxError, SdkError};
use aws_sdk_s3::operation::list_objects_v2::{ListObjectsV2Error, ListObjectsV2Output};
use aws_sdk_s3::types::EncodingType;

use super::request_error;
use crate::aws;
use crate::cache::Listed;

/// How many times a listing page that comes back damaged is asked for.
const PAGE_ATTEMPTS: u32 = 3;

/// One page of a listing, checked and decoded.
#[derive(Debug, Default, PartialEq)]
struct Page {
    prefixes: Vec<String>,
    objects: Vec<Listed>,
    /// The continuation token of the next page, when there is one.
    next: Option<String>,
}

/// Every page of one listing: (common prefixes, objects with sizes and ETags, requests made).
///
/// The pages are asked for here rather than by the SDK's paginator so that each one is checked:
/// the SDK's XML reader is lenient, and takes a page cut short or garbled on the way for a
/// shorter page, which would end the listing early and leave objects out of the report without
/// a word. A damaged page is asked for again; one that stays damaged stops the run.
pub async fn list_one(
    client: &Client,
    bucket: &str,
    prefix: &str,
    delimiter: bool,
) -> anyhow::Result<(Vec<String>, Vec<Listed>, u64)> {
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
        page.objects.push((
            decode(key)?,
            o.size().unwrap_or(0).max(0) as u64,
            o.e_tag().unwrap_or_default().to_string(),
        ));
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
            c => {
                out.push(if c == b'+' { b' ' } else { c });
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

#[cfg(test)]
mod tests {
    use super::*;

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
                objects: vec![
                    ("p/a b".into(), 7, String::new()),
                    ("p/c".into(), 7, String::new())
                ],
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
}
