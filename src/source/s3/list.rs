//! Finding a bucket's trail objects for a time window.
//!
//! The walk follows the trail layout with delimiter listings, level by level and in parallel
//! (`AWSLogs/` → `o-…/` → accounts → event folders → regions), narrowed by `--account` and
//! `--region` (`Bucket::walk`: an error there stops the run before any download). Then the day
//! prefixes `…/<region>/YYYY/MM/DD/` that can hold events of the window (the delivery-time rule
//! of `Window::may_hold_delivery_day`) are listed in the background, at most `list_limit` at
//! once, and each prefix's objects go to the downloads as soon as it is listed
//! (`list_days`): the first downloads start while the rest is still being listed. Object names
//! give the delivery time, so objects delivered before the window are never downloaded. Each
//! listing is read page by page, every page checked (`page`).

use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use aws_sdk_s3::Client;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use super::Bucket;
use super::page::list_one;
use crate::cache::{self, Cache, Listed};
use crate::filter::Filter;
use crate::progress::Progress;
use crate::source::layout::{
    self, AwsLogsPrefix, Folders, Level, Origin, day_of_prefix, is_organization,
};
use crate::source::local::is_event_file_name;
use crate::time::{self, Micros};

/// An object to read.
#[derive(Debug, Clone)]
pub struct ObjectRef {
    pub key: String,
    pub size: u64,
    /// As listed: a cached copy is used only with the same ETag.
    pub etag: String,
    pub origin: Option<Origin>,
}

/// What listing found: complete once the downloads it fed have ended.
#[derive(Debug, Default, Clone)]
pub struct Listing {
    /// Trail objects seen in the day prefixes listed (read or skipped).
    pub objects_listed: u64,
    /// Objects whose name says they were delivered before the window.
    pub skipped_by_time: u64,
    /// `…/YYYY/MM/DD/` prefixes listed.
    pub day_prefixes: u64,
    /// ListObjectsV2 requests made.
    pub list_requests: u64,
}

/// The region folders a walk found (`…/<account>/<event folder>/<region>/`), each with its
/// account and region, and the requests it made.
pub struct Walk {
    regions: Vec<(String, Origin)>,
    list_requests: u64,
}

/// Where a background listing sends what it finds. What was listed is counted in `listing`;
/// a listing that fails puts its reason in `fatal` and ends the listing; a closed `objects`
/// (the downloads stopped) ends it quietly.
pub(super) struct Feed {
    pub progress: Arc<Progress>,
    pub listing: Arc<Mutex<Listing>>,
    pub fatal: Arc<Mutex<Option<String>>>,
    pub objects: mpsc::Sender<ObjectRef>,
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

/// What a listing task needs of a bucket, owned, so that it can run in the background.
#[derive(Clone)]
pub(super) struct Lister {
    client: Client,
    bucket: String,
    /// At most this many listings in flight.
    limit: usize,
    cache: Option<Arc<Cache>>,
    /// When the listing is made (the run's now), and when the walk's folders were complete
    /// for the window (`cache::SETTLED` after the end of its last delivery day).
    now: Micros,
    walk_complete_at: Micros,
    /// The folders below an account that the walk enters.
    pub(super) folders: Folders,
}

impl Bucket<'_> {
    pub(super) fn lister(&self, filter: &Filter, now: Micros) -> Lister {
        let (_, last_day) = delivery_day_range(filter, now);
        Lister {
            client: self.client.clone(),
            bucket: self.name.clone(),
            limit: self.session.list_limit,
            cache: self.session.cache.clone(),
            now,
            walk_complete_at: cache::day_complete_at(last_day),
            folders: Folders::Events,
        }
    }

    /// Walk the layout under `prefix` down to the region folders the filters allow.
    pub fn walk(&self, prefix: &str, filter: &Filter, now: Micros) -> anyhow::Result<Walk> {
        let mut listing = Listing::default();
        let regions = self
            .session
            .rt
            .block_on(
                self.lister(filter, now)
                    .region_folders(prefix, filter, &mut listing),
            )?;
        Ok(Walk {
            regions,
            list_requests: listing.list_requests,
        })
    }

    /// List, in the background, the day prefixes of the window in every region folder of
    /// `walk`, and send the objects to read to `feed` as each prefix is listed.
    pub(super) fn list_days(&self, walk: Walk, filter: &Filter, now: Micros, feed: Feed) {
        let lister = self.lister(filter, now);
        let filter = filter.clone();
        let Feed {
            progress,
            listing,
            fatal,
            objects,
        } = feed;
        self.session.rt.spawn(async move {
            lock(&listing).list_requests += walk.list_requests;
            let range = delivery_day_range(&filter, now);
            let days = lister.day_prefixes(walk.regions, range, &filter, &listing);
            let result = match days.await {
                Ok(days) => {
                    lister
                        .list_days(days, &filter, &progress, &listing, objects)
                        .await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                lock(&fatal).get_or_insert(format!("{e:#}"));
            }
        });
    }

    /// The region folders under `prefix` that the filters allow
    /// (`…/<account>/<event folder>/<region>/`), each with its account and region.
    pub fn regions(&self, prefix: &str, filter: &Filter) -> anyhow::Result<Vec<(String, Origin)>> {
        Ok(self.walk(prefix, filter, time::now())?.regions)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Lister {
    /// The day prefixes of the delivery days `(lo, hi)` in every region folder (for a long
    /// span, the day folders that exist and `filter`'s window keeps).
    pub(super) async fn day_prefixes(
        &self,
        regions: Vec<(String, Origin)>,
        (lo, hi): (i64, i64),
        filter: &Filter,
        listing: &Mutex<Listing>,
    ) -> anyhow::Result<Vec<(String, Origin)>> {
        let mut day_prefixes: Vec<(String, Origin)> = Vec::new();
        if hi - lo <= 62 {
            for (prefix, origin) in &regions {
                for day in lo..=hi {
                    let (y, m, d) = time::civil_from_days(day);
                    day_prefixes.push((format!("{prefix}{y:04}/{m:02}/{d:02}/"), origin.clone()));
                }
            }
        } else {
            // A long window: find the day folders that exist instead of guessing thousands.
            let mut counts = Listing::default();
            let prefixes: Vec<String> = regions.iter().map(|(p, _)| p.clone()).collect();
            let found = self
                .existing_day_folders(prefixes, filter, &mut counts)
                .await?;
            lock(listing).list_requests += counts.list_requests;
            for (i, p) in found {
                day_prefixes.push((p, regions[i].1.clone()));
            }
        }
        lock(listing).day_prefixes = day_prefixes.len() as u64;
        Ok(day_prefixes)
    }

    /// List `days`, at most `limit` at once, and send each one's objects of the window on
    /// `objects` as soon as it is listed.
    async fn list_days(
        &self,
        days: Vec<(String, Origin)>,
        filter: &Filter,
        progress: &Progress,
        listing: &Mutex<Listing>,
        objects: mpsc::Sender<ObjectRef>,
    ) -> anyhow::Result<()> {
        let limit = Arc::new(Semaphore::new(self.limit));
        let mut set = JoinSet::new();
        for (prefix, origin) in days {
            let (lister, limit) = (self.clone(), Arc::clone(&limit));
            // A day folder is complete once its day has settled; a prefix that does not end
            // in a day is never taken from the cache.
            let complete_at = day_of_prefix(&prefix).map_or(Micros::MAX, cache::day_complete_at);
            set.spawn(async move {
                let _permit = limit
                    .acquire_owned()
                    .await
                    .expect("semaphore is never closed");
                (origin, lister.list(&prefix, false, complete_at).await)
            });
        }
        while let Some(joined) = set.join_next().await {
            let (origin, result) = joined.context("a listing task failed")?;
            let (_, keys, requests) = result?;
            let (mut batch, mut seen) = (Vec::new(), 0);
            {
                let mut l = lock(listing);
                l.list_requests += requests;
                for (key, size, etag) in keys {
                    let name = key.rsplit('/').next().unwrap_or_default();
                    if !is_event_file_name(name) {
                        continue;
                    }
                    l.objects_listed += 1;
                    seen += 1;
                    if layout::delivery_time(name)
                        .is_some_and(|t| !filter.window.may_hold_delivery_time(t))
                    {
                        l.skipped_by_time += 1;
                        continue;
                    }
                    batch.push(ObjectRef {
                        key,
                        size,
                        etag,
                        origin: Some(origin.clone()),
                    });
                }
            }
            progress.listed(seen);
            progress.to_read(batch.len() as u64);
            for obj in batch {
                if objects.send(obj).await.is_err() {
                    // The downloads stopped: nothing more is wanted.
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Walk the layout down to the region folders (`…/<account>/<event folder>/<region>/`), one
    /// level at a time, each level's listings in parallel, narrowed by `--account`/`--region`.
    pub(super) async fn region_folders(
        &self,
        prefix: &str,
        filter: &Filter,
        listing: &mut Listing,
    ) -> anyhow::Result<Vec<(String, Origin)>> {
        let mut nodes = start_nodes(prefix, filter, self.folders);
        let mut regions = Vec::new();
        let root = nodes.first().map(|n| node_prefix(n).to_string());
        let mut saw_anything = false;
        while !nodes.is_empty() {
            let mut to_list = Vec::new();
            for node in nodes {
                match node {
                    Node::Region { prefix, origin } => regions.push((prefix, origin)),
                    node => to_list.push(node),
                }
            }
            let prefixes: Vec<String> =
                to_list.iter().map(|n| node_prefix(n).to_string()).collect();
            let results = self.list_many(prefixes, true, listing).await?;
            nodes = Vec::new();
            for (node, (children, _)) in to_list.iter().zip(results) {
                saw_anything |= !children.is_empty();
                for child in children {
                    if let Some(next) =
                        child_node(node, folder_name(&child), &child, filter, self.folders)
                    {
                        nodes.push(next);
                    }
                }
            }
        }
        if !saw_anything && regions.is_empty() {
            bail!(
                "s3://{}/{}: no CloudTrail logs there (expected AWSLogs/<account>/CloudTrail/<region>/…): check the bucket and prefix",
                self.bucket,
                root.unwrap_or_default()
            );
        }
        Ok(regions)
    }

    /// `YYYY/`, `MM/`, `DD/` folders under the region folders `region_prefixes` that the window
    /// keeps, each with the index of its region folder.
    pub(super) async fn existing_day_folders(
        &self,
        region_prefixes: Vec<String>,
        filter: &Filter,
        listing: &mut Listing,
    ) -> anyhow::Result<Vec<(usize, String)>> {
        let mut level: Vec<(usize, String, Level)> = region_prefixes
            .into_iter()
            .enumerate()
            .map(|(i, p)| (i, p, Level::Region))
            .collect();
        for _ in 0..3 {
            let prefixes: Vec<String> = level.iter().map(|(_, p, _)| p.clone()).collect();
            let results = self.list_many(prefixes, true, listing).await?;
            let mut next = Vec::new();
            for ((i, _, lvl), (children, _)) in level.iter().zip(results) {
                for child in children {
                    if let Some(l @ (Level::Year(_) | Level::Month(..) | Level::Day)) =
                        lvl.child(folder_name(&child), &filter.window)
                    {
                        next.push((*i, child.clone(), l));
                    }
                }
            }
            level = next;
        }
        Ok(level.into_iter().map(|(i, p, _)| (i, p)).collect())
    }

    /// Every page of the listing of `prefix`, from the cache when it holds one made no
    /// earlier than `complete_at`; a listing made here is kept in the cache. Returns (common
    /// prefixes, objects, requests made).
    async fn list(
        &self,
        prefix: &str,
        delimiter: bool,
        complete_at: Micros,
    ) -> anyhow::Result<(Vec<String>, Vec<Listed>, u64)> {
        if let Some(cache) = &self.cache
            && let Some((prefixes, objects)) =
                cache.listing(&self.bucket, prefix, delimiter, complete_at)
        {
            return Ok((prefixes, objects, 0));
        }
        let (prefixes, objects, requests) =
            list_one(&self.client, &self.bucket, prefix, delimiter).await?;
        if let Some(cache) = &self.cache {
            cache.put_listing(
                &self.bucket,
                prefix,
                delimiter,
                self.now,
                &prefixes,
                &objects,
            );
        }
        Ok((prefixes, objects, requests))
    }

    /// List several prefixes of the walk in parallel (at most `limit` at once), every page of
    /// each. Returns, in the order given, each prefix's common prefixes and objects.
    pub(super) async fn list_many(
        &self,
        prefixes: Vec<String>,
        delimiter: bool,
        listing: &mut Listing,
    ) -> anyhow::Result<Vec<(Vec<String>, Vec<Listed>)>> {
        let limit = Arc::new(Semaphore::new(self.limit));
        let mut set = JoinSet::new();
        for (i, prefix) in prefixes.into_iter().enumerate() {
            let (lister, limit) = (self.clone(), Arc::clone(&limit));
            set.spawn(async move {
                let _permit = limit
                    .acquire_owned()
                    .await
                    .expect("semaphore is never closed");
                let complete_at = lister.walk_complete_at;
                (i, lister.list(&prefix, delimiter, complete_at).await)
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
}

/// The last folder of a prefix: `AWSLogs/111111111111/` is `111111111111`.
fn folder_name(prefix: &str) -> &str {
    prefix
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
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
fn child_node(
    parent: &Node,
    name: &str,
    child: &str,
    filter: &Filter,
    folders: Folders,
) -> Option<Node> {
    let prefix = child.to_string();
    match parent {
        Node::AwsLogs(_) if is_organization(name) => Some(Node::Org(prefix)),
        Node::AwsLogs(_) | Node::Org(_)
            if layout::is_account_id(name) && wanted(&filter.accounts, name) =>
        {
            Some(Node::Account {
                prefix,
                account: name.to_string(),
            })
        }
        Node::Account { account, .. } if folders.enters(name) => Some(Node::EventFolder {
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
fn start_nodes(prefix: &str, filter: &Filter, folders: Folders) -> Vec<Node> {
    let prefix = AwsLogsPrefix::parse(prefix);
    let mut node = Node::AwsLogs(prefix.awslogs);
    for name in &prefix.below {
        let child = format!("{}{name}/", node_prefix(&node));
        match child_node(&node, name, &child, filter, folders) {
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
            ..Filter::default()
        }
    }

    #[test]
    fn start_from_the_users_prefix() {
        let f = filter(&[], &[]);
        let p = |prefix: &str| {
            start_nodes(prefix, &f, Folders::Events)
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
            start_nodes(
                "AWSLogs/111111111111/CloudTrail/eu-west-1",
                &f,
                Folders::Events
            )[0],
            Node::Region { .. }
        ));
        // A prefix the filters rule out reads nothing.
        assert!(
            start_nodes(
                "AWSLogs/111111111111/",
                &filter(&["222222222222"], &[]),
                Folders::Events
            )
            .is_empty()
        );
        assert!(
            start_nodes(
                "AWSLogs/111111111111/CloudTrail-Digest/",
                &f,
                Folders::Events
            )
            .is_empty()
        );
    }

    #[test]
    fn children_narrowed_by_filters() {
        let f = filter(&["111111111111"], &["eu-west-1"]);
        let root = Node::AwsLogs("AWSLogs/".into());
        assert!(matches!(
            child_node(&root, "o-abc", "AWSLogs/o-abc/", &f, Folders::Events),
            Some(Node::Org(_))
        ));
        assert!(child_node(&root, "222222222222", "x/", &f, Folders::Events).is_none());
        assert!(child_node(&root, "111111111111", "x/", &f, Folders::Events).is_some());
        let acct = Node::Account {
            prefix: "p/".into(),
            account: "111111111111".into(),
        };
        assert!(child_node(&acct, "CloudTrail-Digest", "x/", &f, Folders::Events).is_none());
        assert!(
            child_node(
                &acct,
                "CloudTrail-NetworkActivity",
                "x/",
                &f,
                Folders::Events
            )
            .is_some()
        );
        assert!(child_node(&acct, "CloudTrail-Digest", "x/", &f, Folders::Verify).is_some());
        assert!(child_node(&acct, "CloudTrail-Insight", "x/", &f, Folders::Verify).is_none());
        let folder = Node::EventFolder {
            prefix: "p/".into(),
            account: "111111111111".into(),
        };
        assert!(child_node(&folder, "us-east-1", "x/", &f, Folders::Events).is_none());
        assert!(child_node(&folder, "eu-west-1", "x/", &f, Folders::Events).is_some());
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
