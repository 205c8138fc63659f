//! What `verify` reads of a bucket: the objects of the `CloudTrail/` and `CloudTrail-Digest/`
//! day folders of some days, and digests with their `x-amz-meta-signature`.

use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::Bucket;
use super::list::{Listing, ObjectRef};
use crate::filter::Filter;
use crate::source::layout::{DIGEST_FOLDER, Folders, Origin};
use crate::time::{self, DAY, Micros, Window};

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
        self.session.rt.block_on(async move {
            let mut listing = Listing::default();
            let regions = lister.region_folders(prefix, filter, &mut listing).await?;
            let (lo, hi) = days;
            let mut day_prefixes: Vec<(String, Origin, bool)> = Vec::new();
            let is_digest = |p: &str| {
                let mut parts = p.trim_end_matches('/').rsplit('/');
                parts.nth(1) == Some(DIGEST_FOLDER)
            };
            if hi - lo <= 62 {
                for (prefix, origin) in &regions {
                    for day in lo..=hi {
                        let (y, m, d) = time::civil_from_days(day);
                        day_prefixes.push((
                            format!("{prefix}{y:04}/{m:02}/{d:02}/"),
                            origin.clone(),
                            is_digest(prefix),
                        ));
                    }
                }
            } else {
                let wide = Filter {
                    window: Window {
                        since: Some(lo * DAY),
                        until: Some((hi + 1) * DAY),
                    },
                    ..filter.clone()
                };
                let prefixes: Vec<String> = regions.iter().map(|(p, _)| p.clone()).collect();
                for (i, p) in lister
                    .existing_day_folders(prefixes, &wide, &mut listing)
                    .await?
                {
                    let (prefix, origin) = &regions[i];
                    day_prefixes.push((p, origin.clone(), is_digest(prefix)));
                }
            }
            let prefixes: Vec<String> = day_prefixes.iter().map(|(p, _, _)| p.clone()).collect();
            let listed = lister.list_many(prefixes, false, &mut listing).await?;
            let mut out = Vec::new();
            for ((_, origin, digest), (_, objects)) in day_prefixes.into_iter().zip(listed) {
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
