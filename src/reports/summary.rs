//! `summary`: what is in this window at all.
//!
//! Event times before CloudTrail began (2013-11-01) or more than a day after the run's "now" are
//! implausible: a clock or a forger wrote them. Such events count in `events`, `errors` and the
//! lists like any other, but they are left out of `first_event`, `last_event` and the timeline,
//! which would otherwise span centuries; the document counts them in `implausible_times`. The
//! timeline's bucket is the finest of hour, day and month that spans the plausible times in at
//! most `Bucket::MAX_POINTS` points, so its length is bounded whatever the input.

use std::collections::HashMap;

use anyhow::bail;

use super::def::{Context, Report, ReportDef};
use super::group::{Agg, Groups, Map, top};
use crate::athena::results::ResultTable;
use crate::athena::sql::{self, F, Query};
use crate::document::{Bucket, Document, Implausible, Section, Summary as Doc};
use crate::event::Event;
use crate::filter::Filter;
use crate::time::{DAY, HOUR, Micros, days_from_civil};

/// What is in this window at all?
///
/// Totals, first and last event, counts by category, account and region, the top event
/// sources, event names, principals and source IPs, and a timeline of events per hour, day
/// or month (a bar chart in the table view). Event times before 2013-11-01 or more than a
/// day ahead are implausible: counted, but left out of the first and last event and the
/// timeline.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// How many rows in each top list (0 for all)
    #[arg(long, value_name = "N", default_value_t = 10)]
    top: usize,
}

impl ReportDef for Args {
    const NAME: &'static str = "summary";
    const EXAMPLES: &'static str = "\
  ctq summary -s s3://my-trail-bucket --date 2024-09-05
  ctq summary -s ./AWSLogs --top 20 -o json | jq .top_principals";
    type Acc = Summary;

    fn accumulator(&self, cx: &Context<'_>) -> Summary {
        Summary::new(top(self.top), cx.now)
    }

    fn athena_query(&self, cx: &Context<'_>) -> Result<Query, String> {
        Ok(athena_query(
            top(self.top),
            cx.filter,
            cx.now,
        ))
    }

    fn athena_document(&self, t: &ResultTable<'_>) -> anyhow::Result<Document> {
        Ok(athena_summary(t)?.into())
    }
}

#[derive(Debug, Clone)]
pub struct Summary {
    top: Option<usize>,
    /// Plausible times are in `[plausible.0, plausible.1)`.
    plausible: (Micros, Micros),
    /// Every event: how many, the earliest and latest plausible time.
    all: Agg,
    /// Events with an implausible time: how many, the earliest and latest.
    implausible: Agg,
    errors: u64,
    /// by_category, by_account, by_region, sources, names, principals, source IPs.
    counts: [Groups; 7],
    /// Events per hour (hours since the epoch), plausible times only.
    hours: Map<i64, u64>,
}

/// (JSON name, key name, cut by --top, the key's column in SQL), in output order.
const SECTIONS: [(&str, &str, bool, F); 7] = [
    ("by_category", "category", false, F::Category),
    ("by_account", "account", false, F::AccountId),
    ("by_region", "region", false, F::AwsRegion),
    ("top_event_sources", "event_source", true, F::EventSource),
    ("top_event_names", "event_name", true, F::EventName),
    ("top_principals", "principal", true, F::Principal),
    ("top_source_ips", "source_ip", true, F::SourceIp),
];

/// The plausible event times for a run at `now`: from 2013-11-01T00:00:00Z, when CloudTrail
/// began, up to (not including) one day after `now`.
pub fn plausible_times(now: Micros) -> (Micros, Micros) {
    (days_from_civil(2013, 11, 1) * DAY, now + DAY)
}

impl Summary {
    pub fn new(top: Option<usize>, now: Micros) -> Self {
        Summary {
            top,
            plausible: plausible_times(now),
            all: Agg::default(),
            implausible: Agg::default(),
            errors: 0,
            counts: Default::default(),
            hours: Map::default(),
        }
    }
}

impl Report for Summary {
    /// Aggregated events are counted (and listed) like the others.
    fn reads_aggregated(&self) -> bool {
        true
    }

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
        let (from, until) = self.plausible;
        match time {
            Some(t) if (from..until).contains(&t) => {
                self.all.add(Some(t));
                *self.hours.entry(t.div_euclid(HOUR)).or_default() += 1;
            }
            Some(t) => {
                self.all.add(None);
                self.implausible.add(Some(t));
            }
            None => self.all.add(None),
        }
    }

    fn merge(&mut self, other: Self) {
        self.all.merge(other.all);
        self.implausible.merge(other.implausible);
        self.errors += other.errors;
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            a.merge(b);
        }
        for (h, n) in other.hours {
            *self.hours.entry(h).or_default() += n;
        }
    }

    fn finish(self) -> Document {
        let top = self.top.unwrap_or(usize::MAX);
        let sections = self
            .counts
            .into_iter()
            .zip(SECTIONS)
            .map(|(groups, (name, key, limited, _))| Section {
                name,
                key,
                total: groups.len() as u64,
                rows: groups
                    .into_sorted()
                    .into_iter()
                    .take(if limited { top } else { usize::MAX })
                    .map(|(mut k, a)| (k.pop().flatten(), a.count))
                    .collect(),
            })
            .collect();
        let (bucket, timeline) = timeline(self.all.first, self.all.last, &self.hours);
        Doc {
            events: self.all.count,
            errors: self.errors,
            first: self.all.first,
            last: self.all.last,
            implausible: Implausible {
                count: self.implausible.count,
                first: self.implausible.first,
                last: self.implausible.last,
            },
            sections,
            bucket,
            timeline,
        }
        .into()
    }
}

/// The timeline from the first (plausible) event to the last: its bucket (`Bucket::for_span`)
/// and every bucket's start and count, zeros included. `hours` holds counts by hours since the
/// epoch; an entry may stand for a whole day or month (Athena sends coarser rows), as only the
/// bucket that holds it matters.
pub fn timeline(
    first: Option<Micros>,
    last: Option<Micros>,
    hours: &Map<i64, u64>,
) -> (Bucket, Vec<(Micros, u64)>) {
    let bucket = Bucket::for_span(first, last);
    let (Some(f), Some(l)) = (first, last) else {
        return (bucket, Vec::new());
    };
    let mut counts: HashMap<i64, u64> = HashMap::new();
    for (h, n) in hours {
        *counts.entry(bucket.index(h * HOUR)).or_default() += n;
    }
    let points = (bucket.index(f)..=bucket.index(l))
        .map(|i| (bucket.start(i), counts.get(&i).copied().unwrap_or(0)))
        .collect();
    (bucket, points)
}

/// One row per section entry, `timeline` rows (events per bucket), and `totals`: the count,
/// errors, the first and last plausible time, and how many times were implausible with the
/// earliest and latest (`reports::summary`). The query picks the timeline's bucket by the local
/// engine's rule (`Bucket::for_span`), so that few rows come back; ctq fills the empty buckets.
fn athena_query(top: Option<usize>, filter: &Filter, now: Micros) -> Query {
    let mut branches: Vec<String> = SECTIONS
        .iter()
        .enumerate()
        .map(|(i, (name, _, _, field))| {
            let key = field.name();
            format!(
                "  SELECT {i} AS \"ord\", {} AS \"section\", {key} AS \"key\", count(*) AS \"count\" FROM w GROUP BY {key}",
                sql::lit(name)
            )
        })
        .collect();
    branches.push(format!(
        "  SELECT {} AS \"ord\", 'timeline' AS \"section\", to_iso8601(\"start\") AS \"key\", count(*) AS \"count\" FROM tl GROUP BY \"start\"",
        SECTIONS.len()
    ));
    // The plausible times, cut to the window so that the bounds (and the golden SQL) do not
    // move with "now" when the window ends before it.
    let (from, until) = plausible_times(now);
    let since = filter.window.since.unwrap_or(now - DAY).max(from);
    let until = filter.window.until.map_or(until, |u| u.min(until));
    let points = Bucket::MAX_POINTS;
    let plausible = format!(
        "v AS (\n  SELECT *, (ts >= {} AND ts < {}) AS plausible FROM w\n),\n\
         extent AS (\n  SELECT min(ts) AS span_first, max(ts) AS span_last FROM v WHERE plausible\n),\n\
         tl AS (\n  SELECT CASE\n\
         \x20     WHEN date_diff('hour', date_trunc('hour', span_first), date_trunc('hour', span_last)) < {points} THEN date_trunc('hour', ts)\n\
         \x20     WHEN date_diff('day', date_trunc('day', span_first), date_trunc('day', span_last)) < {points} THEN date_trunc('day', ts)\n\
         \x20     ELSE date_trunc('month', ts)\n\
         \x20   END AS \"start\"\n  FROM v CROSS JOIN extent\n  WHERE plausible\n)",
        sql::time_lit(since),
        sql::time_lit(until)
    );
    let ranked = format!(
        "s AS (\n{}\n),\nr AS (\n  SELECT *, row_number() OVER (PARTITION BY \"ord\" ORDER BY \"count\" DESC, \"key\" ASC NULLS FIRST) AS \"rank\",\n    count(*) OVER (PARTITION BY \"ord\") AS ctq_kinds FROM s\n)",
        branches.join("\n  UNION ALL\n")
    );
    let limited: Vec<String> = SECTIONS
        .iter()
        .enumerate()
        .filter(|(_, s)| s.2)
        .map(|(i, _)| i.to_string())
        .collect();
    let cut = match top {
        Some(n) => format!(
            "\nWHERE \"ord\" NOT IN ({}) OR \"rank\" <= {n}",
            limited.join(", ")
        ),
        None => String::new(),
    };
    let select = format!(
        "SELECT -1 AS \"ord\", 'totals' AS \"section\", CAST(NULL AS VARCHAR) AS \"key\", count(*) AS \"count\",\n  \
         count_if(error_code IS NOT NULL) AS ctq_errors,\n  \
         to_iso8601(min(CASE WHEN plausible THEN ts END)) AS first_seen, to_iso8601(max(CASE WHEN plausible THEN ts END)) AS last_seen,\n  \
         count_if(NOT plausible) AS ctq_implausible, to_iso8601(min(CASE WHEN NOT plausible THEN ts END)) AS ctq_implausible_first, \
         to_iso8601(max(CASE WHEN NOT plausible THEN ts END)) AS ctq_implausible_last,\n  \
         0 AS \"rank\", CAST(NULL AS BIGINT) AS ctq_kinds\nFROM v\n\
         UNION ALL\n\
         SELECT \"ord\", \"section\", \"key\", \"count\", CAST(NULL AS BIGINT), CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR),\n  \
         CAST(NULL AS BIGINT), CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), \"rank\", ctq_kinds\nFROM r{cut}\n\
         ORDER BY \"ord\", \"rank\""
    );
    // The sections' keys, and the error code for the total of errors.
    let mut fields: Vec<F> = SECTIONS.iter().map(|s| s.3).collect();
    fields.push(F::ErrorCode);
    Query {
        extra: Vec::new(),
        fields,
        conditions: vec![],
        ctes: vec![plausible, ranked],
        select,
    }
}

fn athena_summary(t: &ResultTable<'_>) -> anyhow::Result<Doc> {
    let mut doc = Doc {
        events: 0,
        errors: 0,
        first: None,
        last: None,
        implausible: Implausible::default(),
        sections: SECTIONS
            .iter()
            .map(|(name, key, _, _)| Section {
                name,
                key,
                rows: vec![],
                total: 0,
            })
            .collect(),
        bucket: Bucket::Hour,
        timeline: vec![],
    };
    let mut hours = Map::default();
    let time = |r: &[Option<String>], c: &str| t.time(r, c);
    for r in t.all() {
        let n = t.count(r, "count")?;
        match t.cell(r, "section")? {
            Some("totals") => {
                doc.events = n;
                doc.errors = t.count(r, "ctq_errors")?;
                doc.first = time(r, "first_seen")?;
                doc.last = time(r, "last_seen")?;
                doc.implausible = Implausible {
                    count: t.count(r, "ctq_implausible")?,
                    first: time(r, "ctq_implausible_first")?,
                    last: time(r, "ctq_implausible_last")?,
                };
            }
            // One row per bucket of the query's choice; `summary::timeline` puts each into the
            // bucket the local engine chooses.
            Some("timeline") => {
                if let Some(start) = time(r, "key")? {
                    *hours.entry(start.div_euclid(HOUR)).or_insert(0) += n;
                }
            }
            Some(name) => {
                let section = doc
                    .sections
                    .iter_mut()
                    .find(|s| s.name == name)
                    .ok_or_else(|| t.bad("section", name, "a summary section"))?;
                section
                    .rows
                    .push((t.cell(r, "key")?.map(str::to_string), n));
                section.total = t.count(r, "ctq_kinds")?;
            }
            None => bail!(
                "Athena query {}: a summary row without a section",
                t.query_id()
            ),
        }
    }
    (doc.bucket, doc.timeline) = timeline(doc.first, doc.last, &hours);
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{format_time, parse_event_time};

    fn t(s: &str) -> Micros {
        parse_event_time(s).unwrap()
    }

    fn hours(times: &[&str]) -> Map<i64, u64> {
        let mut m = Map::default();
        for s in times {
            *m.entry(t(s).div_euclid(HOUR)).or_default() += 1;
        }
        m
    }

    fn shown(points: &[(Micros, u64)]) -> Vec<(String, u64)> {
        points.iter().map(|(s, n)| (format_time(*s), *n)).collect()
    }

    #[test]
    fn hourly_timeline_includes_empty_hours() {
        let times = [
            "2024-09-05T10:10:00Z",
            "2024-09-05T12:59:59Z",
            "2024-09-05T10:00:00Z",
        ];
        let (bucket, points) = timeline(
            Some(t("2024-09-05T10:00:00Z")),
            Some(t("2024-09-05T12:59:59Z")),
            &hours(&times),
        );
        assert_eq!(bucket, Bucket::Hour);
        assert_eq!(
            shown(&points),
            [
                ("2024-09-05T10:00:00Z".to_string(), 2),
                ("2024-09-05T11:00:00Z".to_string(), 0),
                ("2024-09-05T12:00:00Z".to_string(), 1),
            ]
        );
    }

    #[test]
    fn twelve_years_are_monthly() {
        let times = [
            "2013-11-01T00:00:00Z",
            "2013-11-30T23:00:00Z",
            "2026-01-11T22:54:56Z",
        ];
        let (bucket, points) = timeline(Some(t(times[0])), Some(t(times[2])), &hours(&times));
        assert_eq!(bucket, Bucket::Month);
        assert_eq!(points.len(), 12 * 12 + 3);
        assert_eq!(
            shown(&points[..2]),
            [
                ("2013-11-01T00:00:00Z".to_string(), 2),
                ("2013-12-01T00:00:00Z".to_string(), 0),
            ]
        );
        assert_eq!(
            shown(&points[points.len() - 1..]),
            [("2026-01-01T00:00:00Z".to_string(), 1)]
        );
    }

    #[test]
    fn no_times_no_timeline() {
        assert_eq!(
            timeline(None, None, &Map::default()),
            (Bucket::Hour, vec![])
        );
    }

    #[test]
    fn implausible_times_count_but_stay_out_of_the_span() {
        let now = t("2026-11-29T12:00:00Z");
        let (from, until) = plausible_times(now);
        assert_eq!(format_time(from), "2013-11-01T00:00:00Z");
        assert_eq!(format_time(until), "2026-11-30T12:00:00Z");
        let mut s = Summary::new(None, now);
        for time in [
            t("2000-01-01T00:00:00Z"),
            t("2013-10-31T23:59:59Z"),
            t("2013-11-01T00:00:00Z"),
            t("2026-11-30T11:59:59Z"),
            t("2026-11-30T12:00:00Z"),
            t("9999-12-31T23:59:59Z"),
        ] {
            let mut other = Summary::new(None, now);
            other.observe(&Event::default(), Some(time));
            s.merge(other);
        }
        s.observe(&Event::default(), None);
        let Document::Summary(doc) = s.finish() else {
            panic!("summary makes a summary document")
        };
        assert_eq!(doc.events, 7);
        assert_eq!(
            doc.first.map(format_time).as_deref(),
            Some("2013-11-01T00:00:00Z")
        );
        assert_eq!(
            doc.last.map(format_time).as_deref(),
            Some("2026-11-30T11:59:59Z")
        );
        assert_eq!(doc.implausible.count, 4);
        assert_eq!(
            doc.implausible.first.map(format_time).as_deref(),
            Some("2000-01-01T00:00:00Z")
        );
        assert_eq!(
            doc.implausible.last.map(format_time).as_deref(),
            Some("9999-12-31T23:59:59Z")
        );
        assert_eq!(doc.bucket, Bucket::Month);
        assert_eq!(doc.timeline.iter().map(|p| p.1).sum::<u64>(), 2);
    }
}
