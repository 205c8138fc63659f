//! The summary document: totals, the ranked lists and the timeline (`ctq summary`).

use crate::time::{DAY, HOUR, Micros, civil_from_days, days_from_civil, format_time};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub events: u64,
    pub errors: u64,
    /// The earliest and latest plausible event time.
    pub first: Option<Micros>,
    pub last: Option<Micros>,
    /// Events with a readable but implausible time: counted in `events` and the sections, not in
    /// `first`, `last` or the timeline.
    pub implausible: Implausible,
    pub sections: Vec<Section>,
    pub bucket: Bucket,
    /// Every bucket from the first event's to the last's, zeros included.
    pub timeline: Vec<(Micros, u64)>,
}

/// How many events had an implausible time, and the earliest and latest such time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Implausible {
    pub count: u64,
    pub first: Option<Micros>,
    pub last: Option<Micros>,
}

/// A list of (key, count), already ordered and cut to `--top`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// JSON name of the list, e.g. `top_principals`.
    pub name: &'static str,
    /// JSON name of the key in each entry, e.g. `principal`.
    pub key: &'static str,
    pub rows: Vec<(Option<String>, u64)>,
    /// How many keys there are in all: more than the rows when `--top` cut the list.
    pub total: u64,
}

/// The unit of the timeline: the finest that gives at most `MAX_POINTS` buckets from the first
/// event to the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Bucket {
    #[default]
    Hour,
    Day,
    Month,
}

impl Bucket {
    /// About as many points as a terminal or a chart shows usefully.
    pub const MAX_POINTS: i64 = 400;

    /// The finest bucket that spans `first..=last` in at most `MAX_POINTS` buckets (hour when
    /// there is no time at all).
    pub fn for_span(first: Option<Micros>, last: Option<Micros>) -> Bucket {
        let (Some(f), Some(l)) = (first, last) else {
            return Bucket::Hour;
        };
        [Bucket::Hour, Bucket::Day]
            .into_iter()
            .find(|b| b.index(l) - b.index(f) < Self::MAX_POINTS)
            .unwrap_or(Bucket::Month)
    }

    pub fn name(self) -> &'static str {
        match self {
            Bucket::Hour => "hour",
            Bucket::Day => "day",
            Bucket::Month => "month",
        }
    }

    /// The number of the bucket that holds `t`, counted from 1970 (hours, days or months).
    pub fn index(self, t: Micros) -> i64 {
        match self {
            Bucket::Hour => t.div_euclid(HOUR),
            Bucket::Day => t.div_euclid(DAY),
            Bucket::Month => {
                let (y, m, _) = civil_from_days(t.div_euclid(DAY));
                (y - 1970) * 12 + i64::from(m) - 1
            }
        }
    }

    /// When bucket number `i` starts.
    pub fn start(self, i: i64) -> Micros {
        match self {
            Bucket::Hour => i * HOUR,
            Bucket::Day => i * DAY,
            Bucket::Month => {
                let month = i.rem_euclid(12) as u32 + 1;
                days_from_civil(1970 + i.div_euclid(12), month, 1) * DAY
            }
        }
    }
}

impl Summary {
    /// What stderr says after the summary: the lists that `--top` cut, and the implausible times.
    pub fn notes(&self) -> Vec<String> {
        let cut: Vec<String> = self
            .sections
            .iter()
            .filter(|s| (s.rows.len() as u64) < s.total)
            .map(|s| format!("{} {} of {}", s.name, s.rows.len(), s.total))
            .collect();
        let mut notes = Vec::new();
        if !cut.is_empty() {
            notes.push(format!(
                "showing the top of each list: {} (--top N for more, --top 0 for all)",
                cut.join(", ")
            ));
        }
        notes.extend(self.implausible_note());
        notes
    }

    /// The note for stderr when events had implausible times.
    fn implausible_note(&self) -> Option<String> {
        let Implausible { count, first, last } = self.implausible;
        if count == 0 {
            return None;
        }
        let time = |t: Option<Micros>| t.map_or_else(|| "-".to_string(), format_time);
        let rule = "before 2013-11-01 or more than a day ahead";
        let left_out = "counted in events and the lists, left out of first_event, last_event and \
                        the timeline";
        Some(if count == 1 {
            format!(
                "summary: 1 event has an implausible time ({}, {rule}): {left_out}",
                time(first)
            )
        } else {
            format!(
                "summary: {count} events have implausible times (earliest {}, latest {}, {rule}): \
                 {left_out}",
                time(first),
                time(last)
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_event_time;

    fn t(s: &str) -> Micros {
        parse_event_time(s).unwrap()
    }

    #[test]
    fn the_finest_bucket_with_at_most_400_points() {
        let at = |s| Some(t(s));
        assert_eq!(Bucket::for_span(None, None), Bucket::Hour);
        let first = at("2024-09-01T00:59:59Z");
        // 400 hours, counting the first's and the last's: still hourly.
        assert_eq!(
            Bucket::for_span(first, at("2024-09-17T15:00:00Z")),
            Bucket::Hour
        );
        assert_eq!(
            Bucket::for_span(first, at("2024-09-17T16:00:00Z")),
            Bucket::Day
        );
        assert_eq!(
            Bucket::for_span(first, at("2025-10-05T23:59:59Z")),
            Bucket::Day
        );
        assert_eq!(
            Bucket::for_span(first, at("2025-10-06T00:00:00Z")),
            Bucket::Month
        );
    }

    #[test]
    fn buckets_start_on_calendar_boundaries() {
        for (bucket, time, start, _) in [
            (
                Bucket::Hour,
                "2024-09-05T10:59:59Z",
                "2024-09-05T10:00:00Z",
                "2024-09-05T10:00Z",
            ),
            (
                Bucket::Day,
                "2024-02-29T23:00:00Z",
                "2024-02-29T00:00:00Z",
                "2024-02-29",
            ),
            (
                Bucket::Month,
                "2024-12-31T23:59:59Z",
                "2024-12-01T00:00:00Z",
                "2024-12",
            ),
            (
                Bucket::Month,
                "1969-12-31T23:59:59Z",
                "1969-12-01T00:00:00Z",
                "1969-12",
            ),
        ] {
            let i = bucket.index(t(time));
            assert_eq!(format_time(bucket.start(i)), start);
            assert_eq!(bucket.index(bucket.start(i)), i);
        }
        let dec = Bucket::Month.index(t("2024-12-15T00:00:00Z"));
        assert_eq!(
            format_time(Bucket::Month.start(dec + 1)),
            "2025-01-01T00:00:00Z"
        );
    }
}
