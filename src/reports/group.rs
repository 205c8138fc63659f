//! The building blocks that reports share: groups of events counted by key (`Groups`, `Agg`), and
//! event rows in a stable order with an optional limit (`Details`).

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

/// The maps of groups, hashed with foldhash: seeded per process, so keys an attacker wrote into
/// a trail cannot be chosen to collide, and cheaper than SipHash on short keys.
pub type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

use crate::athena::results::ResultTable;
use crate::athena::sql;
use crate::document::{Column, Document, Rows, Value, cut_note};
use crate::event::Event;
use crate::time::Micros;

/// What is kept per group: how many, the earliest and latest event time, distinct source IPs.
#[derive(Debug, Clone, Default)]
pub struct Agg {
    pub count: u64,
    pub first: Option<Micros>,
    pub last: Option<Micros>,
    pub ips: BTreeSet<Box<str>>,
}

impl Agg {
    pub fn add(&mut self, time: Option<Micros>) {
        self.count += 1;
        if let Some(t) = time {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
    }

    pub fn add_ip(&mut self, ip: Option<&str>) {
        if let Some(ip) = ip
            && !self.ips.contains(ip)
        {
            self.ips.insert(ip.into());
        }
    }

    pub fn merge(&mut self, other: Agg) {
        self.count += other.count;
        self.first = min_opt(self.first, other.first);
        self.last = self.last.max(other.last);
        if self.ips.is_empty() {
            self.ips = other.ips;
        } else {
            self.ips.extend(other.ips);
        }
    }

    pub fn ips(&self) -> Value {
        Value::List(self.ips.iter().map(|s| s.to_string()).collect())
    }

    /// The cells of `sql::COUNT_FIRST_LAST`: how many, the first and the last time.
    pub fn count_first_last(&self) -> [Value; 3] {
        [
            Value::Count(self.count),
            Value::time(self.first),
            Value::time(self.last),
        ]
    }
}

/// A group's row: its keys (null where absent), then `cells`.
pub fn row(keys: Vec<Option<String>>, cells: impl IntoIterator<Item = Value>) -> Vec<Value> {
    keys.iter()
        .map(|k| Value::str(k.as_deref()))
        .chain(cells)
        .collect()
}

fn min_opt(a: Option<Micros>, b: Option<Micros>) -> Option<Micros> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Groups keyed by a tuple of optional strings. The key is encoded into one byte string so that a
/// lookup for an existing group allocates nothing.
#[derive(Debug, Clone, Default)]
pub struct Groups {
    map: Map<Box<[u8]>, Agg>,
    scratch: Vec<u8>,
}

fn encode(keys: &[Option<&str>], out: &mut Vec<u8>) {
    out.clear();
    for k in keys {
        match k {
            None => out.push(0),
            Some(s) => {
                out.push(1);
                out.extend_from_slice(&(s.len() as u32).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
        }
    }
}

fn decode(mut b: &[u8]) -> Vec<Option<String>> {
    let mut keys = Vec::new();
    while let Some((&tag, rest)) = b.split_first() {
        if tag == 0 {
            keys.push(None);
            b = rest;
        } else {
            let len = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
            keys.push(Some(
                String::from_utf8_lossy(&rest[4..4 + len]).into_owned(),
            ));
            b = &rest[4 + len..];
        }
    }
    keys
}

impl Groups {
    pub fn entry(&mut self, keys: &[Option<&str>]) -> &mut Agg {
        encode(keys, &mut self.scratch);
        if !self.map.contains_key(self.scratch.as_slice()) {
            self.map
                .insert(self.scratch.clone().into_boxed_slice(), Agg::default());
        }
        self.map
            .get_mut(self.scratch.as_slice())
            .expect("inserted above")
    }

    /// How many groups.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn merge(&mut self, other: Groups) {
        if self.map.is_empty() {
            self.map = other.map;
            return;
        }
        for (k, v) in other.map {
            match self.map.get_mut(&k) {
                Some(a) => a.merge(v),
                None => {
                    self.map.insert(k, v);
                }
            }
        }
    }

    /// The document of a list cut by `--top`: the first `top` groups (all with None) in order,
    /// each made a row of `columns` by `row`, and the cut when there was one (`what` names the
    /// rows).
    pub fn into_top(
        self,
        top: Option<usize>,
        columns: Vec<Column>,
        what: &'static str,
        row: impl FnMut((Vec<Option<String>>, Agg)) -> Vec<Value>,
    ) -> Document {
        let all = self.into_sorted();
        let total = all.len();
        let rows: Vec<_> = all
            .into_iter()
            .take(top.unwrap_or(usize::MAX))
            .map(row)
            .collect();
        Rows {
            columns,
            footer: vec![],
            notes: cut_note(rows.len(), total as u64, what, "--top")
                .into_iter()
                .collect(),
            rows,
        }
        .into()
    }

    /// Rows by count descending, then the keys ascending (byte order, null first).
    pub fn into_sorted(self) -> Vec<(Vec<Option<String>>, Agg)> {
        let mut rows: Vec<_> = self.map.into_iter().map(|(k, v)| (decode(&k), v)).collect();
        rows.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(&b.0)));
        rows
    }
}

/// The state of a report that groups events, or with `--details` lists every matching one.
#[derive(Debug, Clone, Default)]
pub struct GroupsOrDetails {
    pub groups: Groups,
    pub details: Option<Details>,
}

impl GroupsOrDetails {
    pub fn new(details: bool) -> Self {
        GroupsOrDetails {
            groups: Groups::default(),
            details: details.then(Details::default),
        }
    }

    pub fn merge(&mut self, other: GroupsOrDetails) {
        self.groups.merge(other.groups);
        if let (Some(a), Some(b)) = (&mut self.details, other.details) {
            a.merge(b);
        }
    }

    /// The document: every event (in `detail_columns`) with `--details`, else the groups, each
    /// made a row of `columns` by `row`.
    pub fn finish(
        self,
        detail_columns: Vec<Column>,
        columns: Vec<Column>,
        footer: Vec<String>,
        row: impl FnMut((Vec<Option<String>>, Agg)) -> Vec<Value>,
    ) -> Document {
        let (columns, rows) = match self.details {
            Some(details) => (detail_columns, details.into_sorted()),
            None => (
                columns,
                self.groups.into_sorted().into_iter().map(row).collect(),
            ),
        };
        Rows {
            columns,
            rows,
            footer,
            notes: vec![],
        }
        .into()
    }
}

/// Event rows (`--details`, `events`, `console-logins`): newest first by the time as printed
/// (whole seconds), then event id descending; or oldest first, then event id ascending. Either
/// way events without a readable time and ids that are null come last, and rows that still tie
/// are ordered by their cells, so the output never depends on thread timing. With a limit only
/// that many rows are ever held (beyond a small slack), however many events match.
#[derive(Debug, Clone, Default)]
pub struct Details {
    rows: Vec<(Option<Micros>, Option<String>, Vec<Value>)>,
    oldest_first: bool,
    limit: Option<usize>,
    /// Every row pushed, kept or not: what a cut list says it was cut from.
    matched: u64,
}

impl Details {
    pub fn new(oldest_first: bool, limit: Option<usize>) -> Self {
        Details {
            rows: Vec::new(),
            oldest_first,
            limit,
            matched: 0,
        }
    }

    pub fn push(&mut self, time: Option<Micros>, event_id: Option<&str>, cells: Vec<Value>) {
        self.rows.push((time, event_id.map(str::to_string), cells));
        self.matched += 1;
        self.keep_within_limit();
    }

    /// An event's row: its time, account and region, then `cells`.
    pub fn push_located(
        &mut self,
        ev: &Event<'_>,
        time: Option<Micros>,
        cells: impl IntoIterator<Item = Value>,
    ) {
        let located = [
            Value::time(time),
            Value::str(ev.recipient_account_id.as_deref()),
            Value::str(ev.aws_region.as_deref()),
        ];
        let row = located.into_iter().chain(cells).collect();
        self.push(time, ev.event_id.as_deref(), row);
    }

    pub fn merge(&mut self, other: Details) {
        self.rows.extend(other.rows);
        self.matched += other.matched;
        self.keep_within_limit();
    }

    fn keep_within_limit(&mut self) {
        if let Some(limit) = self.limit
            && self.rows.len() >= 2 * limit.max(512)
        {
            self.sort();
            self.rows.truncate(limit);
        }
    }

    fn sort(&mut self) {
        let oldest_first = self.oldest_first;
        let second = |t: &Option<Micros>| t.map(|t| t.div_euclid(crate::time::SECOND));
        self.rows.sort_by(|a, b| {
            let (ta, tb) = (second(&a.0), second(&b.0));
            let by_time = match (ta, tb) {
                (Some(x), Some(y)) if oldest_first => x.cmp(&y),
                _ => desc_none_last(&ta, &tb),
            };
            let by_id = match (&a.1, &b.1) {
                (Some(x), Some(y)) if oldest_first => x.cmp(y),
                _ => desc_none_last(&a.1, &b.1),
            };
            by_time.then(by_id).then_with(|| a.2.cmp(&b.2))
        });
    }

    /// How many rows were pushed in all, those past the limit included.
    pub fn matched(&self) -> u64 {
        self.matched
    }

    pub fn into_sorted(mut self) -> Vec<Vec<Value>> {
        self.sort();
        if let Some(limit) = self.limit {
            self.rows.truncate(limit);
        }
        self.rows.into_iter().map(|r| r.2).collect()
    }
}

fn desc_none_last<T: Ord>(a: &Option<T>, b: &Option<T>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => b.cmp(a),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// `--top N` as the reports keep it: 0 is every row (None).
pub fn top(n: usize) -> Option<usize> {
    (n > 0).then_some(n)
}

/// The same document as `Groups::into_top` from Athena's rows: the query carries the number of
/// groups in all on every row (`sql::KINDS`).
pub fn top_from_athena(
    t: &ResultTable<'_>,
    columns: Vec<Column>,
    what: &'static str,
) -> anyhow::Result<Document> {
    let total = t.total(sql::KINDS.0)?;
    let rows = t.rows(columns, vec![])?;
    let notes = cut_note(rows.rows.len(), total, what, "--top")
        .into_iter()
        .collect();
    Ok(Rows { notes, ..rows }.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_with_nulls_and_odd_bytes() {
        let keys = [None, Some(""), Some("a\0b"), Some("é")];
        let mut buf = Vec::new();
        encode(&keys, &mut buf);
        let back = decode(&buf);
        assert_eq!(back, keys.map(|k| k.map(str::to_string)));
    }

    #[test]
    fn groups_sort_count_desc_then_keys_null_first() {
        let mut g = Groups::default();
        for k in [Some("b"), Some("a"), None, Some("b")] {
            g.entry(&[k]).add(None);
        }
        let order: Vec<_> = g
            .into_sorted()
            .into_iter()
            .map(|(k, a)| (k[0].clone(), a.count))
            .collect();
        assert_eq!(
            order,
            [(Some("b".into()), 2), (None, 1), (Some("a".into()), 1)]
        );
    }

    #[test]
    fn merge_keeps_extremes_and_ips() {
        let (mut a, mut b) = (Groups::default(), Groups::default());
        let x = a.entry(&[Some("k")]);
        x.add(Some(5));
        x.add_ip(Some("10.0.0.2"));
        let y = b.entry(&[Some("k")]);
        y.add(Some(1));
        y.add(None);
        y.add_ip(Some("10.0.0.1"));
        a.merge(b);
        let rows = a.into_sorted();
        let agg = &rows[0].1;
        assert_eq!((agg.count, agg.first, agg.last), (3, Some(1), Some(5)));
        assert_eq!(
            agg.ips(),
            Value::List(vec!["10.0.0.1".into(), "10.0.0.2".into()])
        );
    }

    #[test]
    fn details_oldest_first_and_limit() {
        let mut d = Details::new(true, Some(2));
        for (t, id) in [
            (Some(3_000_000), "c"),
            (None, "n"),
            (Some(1_000_000), "b"),
            (Some(1_000_000), "a"),
            (Some(2_000_000), "z"),
        ] {
            d.push(t, Some(id), vec![Value::Str(id.into())]);
        }
        let order: Vec<_> = d.into_sorted().into_iter().map(|r| r[0].clone()).collect();
        assert_eq!(order, [Value::Str("a".into()), Value::Str("b".into())]);
        // The limit holds memory down while many rows arrive, and keeps the right ones.
        let mut d = Details::new(false, Some(3));
        for i in 0..10_000i64 {
            d.push(
                Some(i * 1_000_000),
                Some(&i.to_string()),
                vec![Value::Count(i as u64)],
            );
            assert!(d.rows.len() < 2 * 512);
        }
        let order: Vec<_> = d.into_sorted().into_iter().map(|r| r[0].clone()).collect();
        assert_eq!(
            order,
            [Value::Count(9999), Value::Count(9998), Value::Count(9997)]
        );
    }

    #[test]
    fn details_newest_first_untimed_last() {
        let mut d = Details::default();
        d.push(None, Some("z"), vec![Value::Str("untimed".into())]);
        d.push(Some(0), Some("a"), vec![Value::Str("old".into())]);
        d.push(Some(1_000_000), Some("a"), vec![Value::Str("new-a".into())]);
        d.push(Some(1_000_001), Some("b"), vec![Value::Str("new-b".into())]);
        d.push(Some(1_000_000), None, vec![Value::Str("new-none".into())]);
        // Same printed second as "new-b": the event id decides, not the hidden fraction.
        d.push(
            Some(1_500_000),
            Some("c"),
            vec![Value::Str("same-second-c".into())],
        );
        d.push(
            Some(1_999_999),
            Some("0"),
            vec![Value::Str("same-second-0".into())],
        );
        let order: Vec<_> = d.into_sorted().into_iter().map(|r| r[0].clone()).collect();
        let names: Vec<_> = [
            "same-second-c",
            "new-b",
            "new-a",
            "same-second-0",
            "new-none",
            "old",
            "untimed",
        ]
        .iter()
        .map(|s| Value::Str(s.to_string()))
        .collect();
        assert_eq!(order, names);
    }
}
