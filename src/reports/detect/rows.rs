//! The rows of `detect`: what each rule or correlation matched (`Hits`, `Detail`), and the
//! summary and `--details` documents made of them.

use std::collections::HashSet;

use crate::document::{Column, Document, Rows, Value};
use crate::progress::plural;
use crate::sigma::{Head, Level, RuleSet};
use crate::time::{Micros, SECOND};

const SUMMARY: [Column; 8] = [
    Column::text("rule_id").rank(5),
    Column::text("title").wrap().rank(0),
    Column::text("level").rank(0),
    Column::text("author").wrap().rank(6),
    Column::count("count"),
    Column::time("first_seen").rank(3),
    Column::time("last_seen").rank(2),
    Column::count("principals").rank(4),
];

const DETAILS: [Column; 9] = [
    Column::time("event_time").rank(0),
    Column::text("rule_id").rank(7),
    Column::text("title").wrap().rank(0),
    Column::text("level").rank(1),
    Column::text("event_id").rank(8),
    Column::text("event_name").rank(2),
    Column::text("event_source").rank(6),
    Column::text("principal").elide().rank(3),
    Column::text("source_ip").rank(4),
];

/// What one rule matched.
#[derive(Debug, Clone, Default)]
pub struct Hits {
    pub count: u64,
    first: Option<Micros>,
    last: Option<Micros>,
    principals: HashSet<String, foldhash::fast::RandomState>,
    /// Distinct principals counted by Athena (the set is then empty).
    distinct: u64,
}

impl Hits {
    /// What Athena counted for a rule.
    pub fn counted(count: u64, first: Option<Micros>, last: Option<Micros>, principals: u64) -> Hits {
        Hits {
            count,
            first,
            last,
            distinct: principals,
            ..Hits::default()
        }
    }

    pub fn add(&mut self, time: Option<Micros>, principal: &str) {
        self.count += 1;
        if let Some(t) = time {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
        if !self.principals.contains(principal) {
            self.principals.insert(principal.to_string());
        }
    }

    pub fn merge(&mut self, o: Hits) {
        self.count += o.count;
        self.first = [self.first, o.first].into_iter().flatten().min();
        self.last = [self.last, o.last].into_iter().flatten().max();
        self.principals.extend(o.principals);
    }
}

/// One (rule, event) row of `--details`: the rule's index and the event's cells.
#[derive(Debug, Clone)]
pub struct Detail {
    pub time: Option<Micros>,
    pub rule: u32,
    pub event_id: Option<String>,
    pub event_name: Option<String>,
    pub event_source: Option<String>,
    pub principal: String,
    pub source_ip: Option<String>,
}

/// Rule order among equals: id (none first), then title.
fn rule_key<'a>(r: &Head<'a>) -> (Option<&'a str>, &'a str) {
    (r.id, r.title)
}

pub fn summary_document(set: &RuleSet, hits: Vec<Hits>, notes: Vec<String>) -> Document {
    let mut found: Vec<(Head<'_>, Hits)> = hits
        .into_iter()
        .enumerate()
        .filter(|(_, h)| h.count > 0)
        .map(|(i, h)| (set.head(i), h))
        .collect();
    found.sort_by(|(ra, ha), (rb, hb)| {
        ra.level_rank()
            .cmp(&rb.level_rank())
            .then(hb.count.cmp(&ha.count))
            .then_with(|| rule_key(ra).cmp(&rule_key(rb)))
    });
    let footer = summary_footer(&found);
    let rows = found
        .into_iter()
        .map(|(r, h)| {
            vec![
                Value::str(r.id),
                Value::Str(r.title.to_string()),
                Value::str(r.level.map(Level::as_str)),
                Value::str(r.author),
                Value::Count(h.count),
                Value::time(h.first),
                Value::time(h.last),
                Value::Count(h.principals.len() as u64 + h.distinct),
            ]
        })
        .collect();
    Rows {
        columns: SUMMARY.to_vec(),
        rows,
        footer,
        notes,
    }
    .into()
}

/// Totals per level, and the authors of the rules shown: the Detection Rule License asks a
/// tool that reports a match to name the rule's author.
fn summary_footer(found: &[(Head<'_>, Hits)]) -> Vec<String> {
    if found.is_empty() {
        return vec![];
    }
    let mut per_level = Vec::new();
    for rank in 0..=Level::ALL.len() {
        let (rules, events) = found
            .iter()
            .filter(|(r, _)| r.level_rank() == rank)
            .fold((0u64, 0u64), |(n, e), (_, h)| (n + 1, e + h.count));
        if rules > 0 {
            let name = Level::ALL.get(rank).map_or("no level", |l| l.as_str());
            per_level.push(format!(
                "{name}: {}, {}",
                plural(rules, "rule"),
                plural(events, "event")
            ));
        }
    }
    let mut authors: Vec<&str> = found
        .iter()
        .filter_map(|(r, _)| r.author)
        .collect();
    authors.sort_unstable();
    authors.dedup();
    let mut footer = vec![per_level.join(" · ")];
    if !authors.is_empty() {
        footer.push(format!("Rules by: {}", authors.join("; ")));
    }
    footer
}

pub fn details_document(set: &RuleSet, details: Vec<Detail>, notes: Vec<String>) -> Document {
    let mut rows: Vec<(Option<Micros>, Vec<Value>)> = details
        .into_iter()
        .map(|d| {
            let r = set.head(d.rule as usize);
            let cells = vec![
                Value::time(d.time),
                Value::str(r.id),
                Value::Str(r.title.to_string()),
                Value::str(r.level.map(Level::as_str)),
                Value::str(d.event_id.as_deref()),
                Value::str(d.event_name.as_deref()),
                Value::str(d.event_source.as_deref()),
                Value::Str(d.principal),
                Value::str(d.source_ip.as_deref()),
            ];
            (d.time.map(|t| t.div_euclid(SECOND)), cells)
        })
        .collect();
    // Newest first (whole seconds, events without a time last), then rule_id (null first),
    // title and event_id ascending, then the whole row.
    rows.sort_by(|(ta, a), (tb, b)| {
        let by_time = match (ta, tb) {
            (Some(x), Some(y)) => y.cmp(x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        by_time
            .then_with(|| (&a[1], &a[2], &a[4]).cmp(&(&b[1], &b[2], &b[4])))
            .then_with(|| a.cmp(b))
    });
    let rows = rows.into_iter().map(|(_, cells)| cells).collect();
    Rows {
        columns: DETAILS.to_vec(),
        rows,
        footer: vec![],
        notes,
    }
    .into()
}
