//! Where a trail's logs are, for a table definition (`ctq athena ddl`): the `AWSLogs/` prefix,
//! the organization folder if any, and the accounts and regions of one event folder.
//!
//! It reads the bucket only through `Bucket::regions`, the same walk of the layout as a listing.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::bail;

use crate::filter::Filter;
use crate::source::layout::InLayout;
use crate::source::s3::Bucket;

/// Where a trail's logs are: `<awslogs>[<organization>/]<account>/<event folder>/<region>/`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrailLayout {
    /// The key prefix up to and including `AWSLogs/`.
    pub awslogs: String,
    pub organization: Option<String>,
    pub accounts: BTreeSet<String>,
    pub regions: BTreeSet<String>,
}

/// The trail's layout under `prefix` in `bucket`: where `AWSLogs/` is, the organization
/// segment if any, and the accounts and regions of `event_folder`, for a table definition.
pub fn layout(
    bucket: &Bucket<'_>,
    prefix: &str,
    filter: &Filter,
    event_folder: &str,
) -> anyhow::Result<TrailLayout> {
    let regions = bucket.regions(prefix, filter)?;
    // One table has one location: an organization folder, or the account folders beside it.
    let mut layouts: BTreeMap<Option<String>, TrailLayout> = BTreeMap::new();
    for (prefix, origin) in regions {
        let segs: Vec<&str> = prefix.split('/').collect();
        let Some(place) = InLayout::find(&segs) else {
            continue;
        };
        if place.below.get(1).is_none_or(|f| *f != event_folder) {
            continue;
        }
        let org = place.organization.map(str::to_string);
        let layout = layouts.entry(org.clone()).or_default();
        layout.awslogs = format!("{}/", segs[..=place.at].join("/"));
        layout.organization = org;
        layout.accounts.insert(origin.account);
        layout.regions.insert(origin.region);
    }
    if layouts.len() > 1 {
        let choices: Vec<String> = layouts
            .values()
            .map(|l| match &l.organization {
                Some(o) => format!(
                    "s3://{}/{}{o}/ (organization trail)",
                    bucket.name(),
                    l.awslogs
                ),
                None => format!(
                    "s3://{}/{} with --account {} (account trail)",
                    bucket.name(),
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
            bucket.name(),
            choices.join(", or ")
        );
    }
    Ok(layouts.into_values().next().unwrap_or_default())
}
