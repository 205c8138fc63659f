//! Finding a bucket's trail objects for a time window.
//!
//! The walk follows the trail layout with delimiter listings, level by level and in parallel
//! (`AWSLogs/` → `o-…/` → accounts → event folders → regions), narrowed by `--account` and
//! `--region`, then lists only the day prefixes `…/<region>/YYYY/MM/DD/` that can hold events of
//! the window (the delivery-time rule of `Window::may_hold_delivery_day`). Object names give the
//! delivery time, so objects delivered before the window are never downloaded. Each listing is
//! read page by page, every page checked (`page`).

use std::sync::Arc;

use anyhow::{Context, bail};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::Bucket;
use super::page::list_one;
use crate::filter::Filter;
use crate::progress::Progress;
use crate::source::layout::{self, AwsLogsPrefix, Level, Origin, is_organization};
use crate::source::local::is_event_file_name;
use crate::time::{self, Micros};

/// An object to read.
#[derive(Debug, Clone)]
pub struct ObjectRef {
    pub key: String,
    pub size: u64,
    pub origin: Option<Origin>,
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
    /// List the objects of the window under `prefix`, walking only the parts of the layout the
    /// filters allow.
    pub fn list(
        &self,
        prefix: &str,
        filter: &Filter,
        now: Micros,
        progress: &Progress,
    ) -> anyhow::Result<Listing> {
        self.session.rt.block_on(async {
            let mut listing = Listing::default();
            let regions = self.region_folders(prefix, filter, &mut listing).await?;

            // The day prefixes of the window in every region folder.
            let (lo, hi) = delivery_day_range(filter, now);
            let mut day_prefixes: Vec<(String, Origin)> = Vec::new();
            for (prefix, origin) in &regions {
                if hi - lo <= 62 {
                    for day in lo..=hi {
                        let (y, m, d) = time::civil_from_days(day);
                        day_prefixes
                            .push((format!("{prefix}{y:04}/{m:02}/{d:02}/"), origin.clone()));
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
        })
    }

    /// The region folders under `prefix` that the filters allow
    /// (`…/<account>/<event folder>/<region>/`), each with its account and region.
    pub fn regions(&self, prefix: &str, filter: &Filter) -> anyhow::Result<Vec<(String, Origin)>> {
        let mut listing = Listing::default();
        self.session
            .rt
            .block_on(self.region_folders(prefix, filter, &mut listing))
    }

    /// Walk the layout down to the region folders (`…/<account>/<event folder>/<region>/`), one
    /// level at a time, each level's listings in parallel, narrowed by `--account`/`--region`.
    async fn region_folders(
        &self,
        prefix: &str,
        filter: &Filter,
        listing: &mut Listing,
    ) -> anyhow::Result<Vec<(String, Origin)>> {
        let mut nodes = start_nodes(prefix, filter);
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
                    if let Some(next) = child_node(node, folder_name(&child), &child, filter) {
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
                    if let Some(l @ (Level::Year(_) | Level::Month(..) | Level::Day)) =
                        lvl.child(folder_name(&child), &filter.window)
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
fn child_node(parent: &Node, name: &str, child: &str, filter: &Filter) -> Option<Node> {
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
    let prefix = AwsLogsPrefix::parse(prefix);
    let mut node = Node::AwsLogs(prefix.awslogs);
    for name in &prefix.below {
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
