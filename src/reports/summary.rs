//! `summary`: what is in this window at all.

use std::collections::HashMap;

use super::{Agg, Groups, Report};
use crate::event::Event;
use crate::render::{Section, Summary as Doc};
use crate::time::{HOUR, Micros};

#[derive(Debug, Clone, Default)]
pub struct Summary {
    top: Option<usize>,
    /// Every event: how many, the earliest and latest time.
    all: Agg,
    errors: u64,
    /// by_category, by_account, by_region, sources, names, principals, source IPs.
    counts: [Groups; 7],
    hours: HashMap<i64, u64>,
}

/// (JSON name, key name, cut by --top), in output order.
pub const SECTIONS: [(&str, &str, bool); 7] = [
    ("by_category", "category", false),
    ("by_account", "account", false),
    ("by_region", "region", false),
    ("top_event_sources", "event_source", true),
    ("top_event_names", "event_name", true),
    ("top_principals", "principal", true),
    ("top_source_ips", "source_ip", true),
];

impl Summary {
    pub fn new(top: Option<usize>) -> Self {
        Summary {
            top,
            ..Default::default()
        }
    }
}

impl Report for Summary {
    type Out = Doc;

    fn observe(&mut self, ev: &Event<'_>, time: Option<Micros>) {
        self.errors += u64::from(ev.error_code.is_some());
        let keys = [
            Some(ev.category()),
            ev.recipient_account_id.as_deref(),
            ev.aws_region.as_deref(),
            ev.event_source.as_deref(),
            ev.event_name.as_deref(),
            Some(ev.principal()),
            ev.source_ip.as_deref(),
        ];
        for (groups, key) in self.counts.iter_mut().zip(keys) {
            groups.entry(&[key]).add(None);
        }
        self.all.add(time);
        if let Some(t) = time {
            *self.hours.entry(t.div_euclid(HOUR)).or_default() += 1;
        }
    }

    fn merge(&mut self, other: Self) {
        self.all.merge(other.all);
        self.errors += other.errors;
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            a.merge(b);
        }
        for (h, n) in other.hours {
            *self.hours.entry(h).or_default() += n;
        }
    }

    fn finish(self) -> Doc {
        let top = self.top.unwrap_or(usize::MAX);
        let sections = self
            .counts
            .into_iter()
            .zip(SECTIONS)
            .map(|(groups, (name, key, limited))| Section {
                name,
                key,
                rows: groups
                    .into_sorted()
                    .into_iter()
                    .take(if limited { top } else { usize::MAX })
                    .map(|(mut k, a)| (k.pop().flatten(), a.count))
                    .collect(),
            })
            .collect();
        let hours = every_hour(self.all.first, self.all.last, &self.hours);
        Doc {
            events: self.all.count,
            errors: self.errors,
            first: self.all.first,
            last: self.all.last,
            sections,
            hours,
        }
    }
}

/// Every hour from the first event's to the last's, with its count (zero when absent); `counts`
/// is keyed by hours since the epoch.
pub fn every_hour(
    first: Option<Micros>,
    last: Option<Micros>,
    counts: &HashMap<i64, u64>,
) -> Vec<(Micros, u64)> {
    match (first, last) {
        (Some(f), Some(l)) => (f.div_euclid(HOUR)..=l.div_euclid(HOUR))
            .map(|h| (h * HOUR, counts.get(&h).copied().unwrap_or(0)))
            .collect(),
        _ => Vec::new(),
    }
}
