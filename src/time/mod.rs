//! Time: event timestamps, the `--date/--since/--until` window, and calendar days. What the
//! user types for those options is read in `arg`.
//!
//! Timestamps are microseconds since the Unix epoch, UTC (`Micros`). Event times are parsed on the
//! hot path, so the canonical `2024-09-05T12:34:56Z` form takes a hand-written fast path; the other
//! forms seen in real exports (fractions, offsets, a space instead of `T`, no zone) take the slow one.

pub mod arg;

use std::fmt;

/// Microseconds since 1970-01-01T00:00:00Z.
pub type Micros = i64;

pub const SECOND: Micros = 1_000_000;
pub const MINUTE: Micros = 60 * SECOND;
pub const HOUR: Micros = 60 * MINUTE;
pub const DAY: Micros = 24 * HOUR;

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The calendar date of a day number (inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Validated calendar date, or None.
pub fn date(y: i64, m: u32, d: u32) -> Option<i64> {
    ((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)).then(|| days_from_civil(y, m, d))
}

/// The UTC day a timestamp falls on.
pub fn day_of(t: Micros) -> i64 {
    t.div_euclid(DAY)
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut n = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (c - b'0') as u32;
    }
    Some(n)
}

/// Parse `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    date(
        digits(&b[0..4])? as i64,
        digits(&b[5..7])?,
        digits(&b[8..10])?,
    )
}

/// Parse an event time: RFC 3339 (`Z` or an offset, optional fraction), or the
/// `YYYY-MM-DD HH:MM:SS[.fff]` form some exporters write (no zone means UTC).
pub fn parse_event_time(s: &str) -> Option<Micros> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let day = date(
        digits(&b[0..4])? as i64,
        digits(&b[5..7])?,
        digits(&b[8..10])?,
    )?;
    let (h, mi, sec) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    // 60 is a leap second: CloudTrail never writes one, but RFC 3339 allows it; fold it into :59.
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut t = day * DAY + h as i64 * HOUR + mi as i64 * MINUTE + sec.min(59) as i64 * SECOND;
    let mut rest = &b[19..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let mut micros = 0i64;
        for (i, &c) in frac[..n].iter().enumerate().take(6) {
            micros += (c - b'0') as i64 * 10i64.pow(5 - i as u32);
        }
        t += micros;
        rest = &frac[n..];
    }
    match rest {
        b"" | b"Z" | b"z" => Some(t),
        [sign @ (b'+' | b'-'), hh1, hh2, b':', mm1, mm2] => {
            let (oh, om) = (digits(&[*hh1, *hh2])?, digits(&[*mm1, *mm2])?);
            if oh > 23 || om > 59 {
                return None;
            }
            let off = oh as i64 * HOUR + om as i64 * MINUTE;
            Some(if *sign == b'+' { t - off } else { t + off })
        }
        _ => None,
    }
}

/// Format as CloudTrail writes times: UTC, whole seconds, `2024-09-05T12:34:56Z`.
pub fn format_time(t: Micros) -> String {
    let secs = t.div_euclid(SECOND);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

pub fn format_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The half-open window `[since, until)` on event time; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub since: Option<Micros>,
    pub until: Option<Micros>,
}

impl Window {
    pub fn is_unbounded(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }

    pub fn contains(&self, t: Micros) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }

    /// Can a file delivered on `day` (its S3 day folder) hold events of this window?
    ///
    /// A file holds only events older than its delivery, so days before the window's first day
    /// cannot. CloudTrail delivers within minutes, but late deliveries happen: a file delivered
    /// at 00:04 holds the previous evening's events, so the day after the window's last day is
    /// read too.
    pub fn may_hold_delivery_day(&self, day: i64) -> bool {
        self.since.is_none_or(|s| day >= day_of(s))
            && self.until.is_none_or(|u| day <= day_of(u - 1) + 1)
    }

    /// Can a file created at `delivered` (the minute-resolution timestamp in its name) hold
    /// events of this window? Only the start of the window can rule a file out: the name's
    /// minute is rounded down, and a margin covers clock skew between the service that wrote the
    /// event and CloudTrail's delivery.
    pub fn may_hold_delivery_time(&self, delivered: Micros) -> bool {
        self.since
            .is_none_or(|s| delivered + MINUTE + DELIVERY_SKEW_MARGIN > s)
    }
}

/// How far an event's time may run ahead of its file's delivery timestamp before ctq would drop
/// it when skipping files by name. CloudTrail never writes such files; the margin costs a few
/// extra files per region and guards against clock skew between services.
pub const DELIVERY_SKEW_MARGIN: Micros = 15 * MINUTE;

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let end = |t: Option<Micros>| t.map_or_else(|| "…".to_string(), format_time);
        write!(f, "[{}, {})", end(self.since), end(self.until))
    }
}

pub fn now() -> Micros {
    chrono::Utc::now().timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Micros {
        parse_event_time(s).unwrap_or_else(|| panic!("{s}"))
    }

    #[test]
    fn civil_round_trip() {
        for day in [-800_000, -1, 0, 1, 19_971, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(days_from_civil(2024, 9, 5), 19_971);
        assert_eq!(civil_from_days(19_971), (2024, 9, 5));
    }

    #[test]
    fn event_time_forms() {
        let base = t("2024-09-05T12:34:56Z");
        assert_eq!(base, 19_971 * DAY + 12 * HOUR + 34 * MINUTE + 56 * SECOND);
        assert_eq!(t("2024-09-05T12:34:56.250Z"), base + 250_000);
        assert_eq!(t("2024-09-05 12:34:56.000"), base);
        assert_eq!(t("2024-09-05 12:34:56.000000000"), base);
        assert_eq!(t("2024-09-05 12:34:56"), base);
        assert_eq!(t("2024-09-05T14:34:56+02:00"), base);
        assert_eq!(t("2024-09-05T04:34:56.5-08:00"), base + 500_000);
        for bad in [
            "",
            "2024-09-05",
            "2024-09-05T12:34Z",
            "2024-13-05T12:34:56Z",
            "2024-02-30T12:34:56Z",
            "2024-09-05T24:00:00Z",
            "2024-09-05T12:34:56.Z",
            "2024-09-05T12:34:56+0200",
            "2024-09-05T12:34:56Zjunk",
            "yesterday",
            "1725539696",
        ] {
            assert_eq!(parse_event_time(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn formats_whole_seconds_utc() {
        assert_eq!(
            format_time(t("2024-09-05T12:34:56.999Z")),
            "2024-09-05T12:34:56Z"
        );
        assert_eq!(
            format_time(t("2024-09-06T01:00:00+02:00")),
            "2024-09-05T23:00:00Z"
        );
        assert_eq!(format_time(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn window_is_half_open() {
        let w = Window {
            since: Some(t("2024-09-05T00:00:00Z")),
            until: Some(t("2024-09-06T00:00:00Z")),
        };
        assert!(w.contains(t("2024-09-05T00:00:00Z")));
        assert!(w.contains(t("2024-09-05T23:59:59.999Z")));
        assert!(!w.contains(t("2024-09-06T00:00:00Z")));
        assert!(!w.contains(t("2024-09-04T23:59:59Z")));
    }

    #[test]
    fn delivery_days_for_a_date() {
        let d5 = 19_971;
        let w = Window {
            since: Some(d5 * DAY),
            until: Some((d5 + 1) * DAY),
        };
        let kept: Vec<i64> = (d5 - 2..d5 + 4)
            .filter(|&d| w.may_hold_delivery_day(d))
            .collect();
        assert_eq!(kept, [d5, d5 + 1]);
        // A window ending mid-day keeps that day and the next.
        let w = Window {
            since: Some(d5 * DAY + 10 * HOUR),
            until: Some((d5 + 1) * DAY + HOUR),
        };
        let kept: Vec<i64> = (d5 - 2..d5 + 4)
            .filter(|&d| w.may_hold_delivery_day(d))
            .collect();
        assert_eq!(kept, [d5, d5 + 1, d5 + 2]);
        // Open ends keep everything on that side.
        let w = Window {
            since: None,
            until: Some(d5 * DAY),
        };
        assert!(
            w.may_hold_delivery_day(0)
                && w.may_hold_delivery_day(d5)
                && !w.may_hold_delivery_day(d5 + 1)
        );
    }

    #[test]
    fn delivery_time_only_cuts_before_the_start() {
        let since = t("2024-09-05T10:00:00Z");
        let w = Window {
            since: Some(since),
            until: Some(since + HOUR),
        };
        // Named 09:44: holds events up to 09:44:59, plus the skew margin: kept.
        assert!(w.may_hold_delivery_time(t("2024-09-05T09:45:00Z")));
        assert!(!w.may_hold_delivery_time(t("2024-09-05T09:44:00Z")));
        // Files delivered after the window may hold its events (late delivery): never cut.
        assert!(w.may_hold_delivery_time(t("2024-09-06T09:00:00Z")));
    }
}
