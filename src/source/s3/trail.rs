//! What `verify` reads of a bucket: the objects of the `CloudTrail/` and `CloudTrail-Digest/`
//! day folders of some days, and digests with their `x-amz-meta-signature`.

use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::Bucket;
use super::list::{Listing, ObjectRef};
use crate::filter::Filter;
use crate::source::layout::{DIGEST_FOLDER, Folders};
use crate::time::{DAY, Micros, Window};

/// A digest's body is at most this large: CloudTrail's are kilobytes.
const MAX_DIGEST_BODY: i64 = 64 << 20;

/// Digests fetched at once.
const DIGEST_GETS: usize = 32;

/// A digest's body and its `x-amz-meta-signature`, or why it could not be had.
pub type DigestGet = Result<(Vec<u8>, Option<String>), String>;

/// An object of a trail folder, for `verify`.
pub struct TrailObject {
    pub object: ObjectRef,
    /// In `CloudTrail-Digest/`, else in `CloudTrail/`.
    pub digest: bool,
}

impl Bucket<'_> {
    /// Every object of the day folders `days` (first and last day, days since the epoch) of the
    /// `CloudTrail/` and `CloudTrail-Digest/` region folders below `prefix` that the filters
    /// allow, and the requests made.
    pub fn trail_objects(
        &self,
        prefix: &str,
        filter: &Filter,
        days: (i64, i64),
        now: Micros,
    ) -> anyhow::Result<(Vec<TrailObject>, u64)> {
        let mut lister = self.lister(filter, now);
        lister.folders = Folders::Verify;
        // A long span lists the day folders that exist, those of the days asked for.
        let (lo, hi) = days;
        let wide = Filter {
            window: Window {
                since: Some(lo * DAY),
                until: Some((hi + 1) * DAY),
            },
            ..filter.clone()
        };
        self.session.rt.block_on(async move {
            let mut listing = Listing::default();
            let regions = lister.region_folders(prefix, filter, &mut listing).await?;
            let counted = Mutex::new(listing);
            let day_prefixes = lister.day_prefixes(regions, days, &wide, &counted).await?;
            let mut listing = counted.into_inner().unwrap_or_else(|p| p.into_inner());
            // `…/CloudTrail-Digest/<region>/YYYY/MM/DD/`
            let is_digest =
                |p: &str| p.trim_end_matches('/').rsplit('/').nth(4) == Some(DIGEST_FOLDER);
            let prefixes: Vec<String> = day_prefixes.iter().map(|(p, _)| p.clone()).collect();
            let listed = lister.list_many(prefixes, false, &mut listing).await?;
            let mut out = Vec::new();
            for ((prefix, origin), (_, objects)) in day_prefixes.into_iter().zip(listed) {
                let digest = is_digest(&prefix);
                for (key, size, etag) in objects {
                    out.push(TrailObject {
                        object: ObjectRef {
                            key,
                            size,
                            etag,
                            origin: Some(origin.clone()),
                        },
                        digest,
                    });
                }
            }
            Ok((out, listing.list_requests))
        })
    }

    /// GetObject each digest through the SDK: its body and its `x-amz-meta-signature`, or why
    /// it could not be had; in the order given.
    pub fn get_digests(&self, keys: &[String]) -> Vec<DigestGet> {
        let client = self.client.clone();
        let bucket = self.name.clone();
        let keys = keys.to_vec();
        self.session.rt.block_on(async move {
            let limit = Arc::new(Semaphore::new(DIGEST_GETS));
            let mut set = JoinSet::new();
            for (i, key) in keys.into_iter().enumerate() {
                let (client, bucket, limit) = (client.clone(), bucket.clone(), Arc::clone(&limit));
                set.spawn(async move {
                    let _permit = limit.acquire_owned().await.expect("never closed");
                    (i, get_digest(&client, &bucket, &key).await)
                });
            }
            let mut out: Vec<DigestGet> = (0..set.len()).map(|_| Err(String::new())).collect();
            while let Some(joined) = set.join_next().await {
                match joined.context("a download task failed") {
                    Ok((i, r)) => out[i] = r,
                    Err(e) => {
                        if let Some(slot) =
                            out.iter_mut().find(|r| matches!(r, Err(s) if s.is_empty()))
                        {
                            *slot = Err(format!("{e:#}"));
                        }
                    }
                }
            }
            out
        })
    }
}

async fn get_digest(client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> DigestGet {
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| crate::aws::describe(&e))?;
    if out.content_length().unwrap_or(0) > MAX_DIGEST_BODY {
        return Err(format!(
            "{} bytes: too large for a digest file",
            out.content_length().unwrap_or(0)
        ));
    }
    let signature = out
        .metadata()
        .and_then(|m| m.get("signature"))
        .map(|s| s.to_string());
    let body = out
        .body
        .collect()
        .await
        .map_err(|e| format!("download failed: {e}"))?
        .into_bytes()
        .to_vec();
    Ok((body, signature))
}
