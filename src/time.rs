//! Time: event timestamps, the `--date/--since/--until` window, and calendar days.
//!
//! Timestamps are microseconds since the Unix epoch, UTC (`Micros`). Event times are parsed on the
//! hot path, so the canonical `2024-09-05T12:34:56Z` form takes a hand-written fast path; the other
//! forms seen in real exports (fractions, offsets, a space instead of `T`, no zone) take the slow one.

use std::fmt;
use std::str::FromStr;

use crate::escape::escape_control;

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

/// A point in time as the user wrote it for `--since`/`--until`; durations and the named days
/// are resolved against one "now" taken when the configuration is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeArg {
    At(Micros),
    Ago(Micros),
    /// Midnight UTC of the day this many days before today's (`today` 0, `yesterday` 1).
    DaysBack(i64),
}

impl TimeArg {
    pub fn resolve(self, now: Micros) -> Micros {
        match self {
            TimeArg::At(t) => t,
            TimeArg::Ago(d) => now - d,
            TimeArg::DaysBack(n) => (day_of(now) - n) * DAY,
        }
    }
}

/// Every form `--since`/`--until` take, for messages; `--help` gives the same with examples.
const TIME_FORMS: &str = "use a date (2024-09-05), a UTC time (2024-09-05T10:00, \
    2024-09-05T10:00:00Z), a time with an offset (2024-09-05T12:00+02:00), today, yesterday, \
    now, a duration back from now (90m, 12h, 7d, 2w, 1y, 1d12h; also -7d or '7d ago'), or epoch \
    seconds (@1725494400)";

/// How far back a duration may reach: far enough for any trail (CloudTrail began in 2013), near
/// enough that no arithmetic on it overflows.
const MAX_BACK_YEARS: i64 = 1000;
const YEAR: Micros = 365 * DAY;

/// The latest epoch second accepted: 9999-12-31T23:59:59Z, the last time a date can be written.
const MAX_EPOCH_SECONDS: i64 = 253_402_300_799;

impl FromStr for TimeArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        match s.to_ascii_lowercase().as_str() {
            "now" => return Ok(TimeArg::Ago(0)),
            "today" => return Ok(TimeArg::DaysBack(0)),
            "yesterday" => return Ok(TimeArg::DaysBack(1)),
            _ => {}
        }
        if let Some(day) = parse_date(s) {
            return Ok(TimeArg::At(day * DAY));
        }
        if let Some(t) = parse_event_time(s).or_else(|| parse_minute_time(s)) {
            return Ok(TimeArg::At(t));
        }
        if let Some(epoch) = s.strip_prefix('@') {
            return parse_epoch(epoch).map(TimeArg::At);
        }
        let back = s
            .strip_prefix('-')
            .or_else(|| s.strip_suffix("ago").map(str::trim_end));
        match parse_duration(back.unwrap_or(s)) {
            Ok(d) => Ok(TimeArg::Ago(d)),
            Err(DurationError::TooLong) => Err(format!(
                "'{}' reaches too far back: a duration is at most {MAX_BACK_YEARS}y",
                escape_control(s)
            )),
            Err(DurationError::NotADuration) => Err(format!(
                "'{}' is not a time: {TIME_FORMS}",
                escape_control(s)
            )),
        }
    }
}

/// `YYYY-MM-DDTHH:MM` (or with a space for `T`), with `Z`, an offset or nothing (UTC): a time
/// as people type it, without seconds.
fn parse_minute_time(s: &str) -> Option<Micros> {
    let b = s.as_bytes();
    if b.len() < 16 || b[13] != b':' || b.get(16) == Some(&b':') || !s.is_char_boundary(16) {
        return None;
    }
    parse_event_time(&format!("{}:00{}", &s[..16], &s[16..]))
}

/// `@SECONDS` as GNU date takes it: seconds since 1970-01-01T00:00:00Z, perhaps negative.
fn parse_epoch(digits: &str) -> Result<Micros, String> {
    let (negative, abs) = match digits.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, digits),
    };
    if abs.is_empty() || !abs.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "'@{}' is not epoch seconds: write @ and a whole number of seconds since \
             1970-01-01T00:00:00Z, like @1725494400",
            escape_control(digits)
        ));
    }
    match abs.parse::<i64>() {
        Ok(n) if n <= MAX_EPOCH_SECONDS => Ok(if negative { -n } else { n } * SECOND),
        _ => Err(format!(
            "'@{}' is out of range: epoch seconds go up to @{MAX_EPOCH_SECONDS} \
             (9999-12-31T23:59:59Z)",
            escape_control(digits)
        )),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum DurationError {
    NotADuration,
    TooLong,
}

/// `90m`, `12h`, `7d`, `2w`, `1y` (365 days), `30s`, or a sequence such as `1d12h`; at most
/// [`MAX_BACK_YEARS`].
fn parse_duration(s: &str) -> Result<Micros, DurationError> {
    const MAX: Micros = MAX_BACK_YEARS * YEAR;
    let mut total: Micros = 0;
    let mut rest = s;
    if rest.is_empty() {
        return Err(DurationError::NotADuration);
    }
    while !rest.is_empty() {
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return Err(DurationError::NotADuration);
        }
        let unit = match rest.as_bytes().get(n) {
            Some(b's') => SECOND,
            Some(b'm') => MINUTE,
            Some(b'h') => HOUR,
            Some(b'd') => DAY,
            Some(b'w') => 7 * DAY,
            Some(b'y') => YEAR,
            _ => return Err(DurationError::NotADuration),
        };
        // Too many digits for an i64 is too long too, not "not a duration".
        let value: i64 = rest[..n].parse().map_err(|_| DurationError::TooLong)?;
        total = value
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .filter(|t| *t <= MAX)
            .ok_or(DurationError::TooLong)?;
        rest = &rest[n + 1..];
    }
    Ok(total)
}

/// A UTC day given with `--date`: `YYYY-MM-DD`, `today` or `yesterday`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateArg {
    Day(i64),
    /// So many days before today (UTC): `today` 0, `yesterday` 1.
    DaysBack(i64),
}

impl DateArg {
    /// The day number, with "today" taken from `now`.
    pub fn resolve(self, now: Micros) -> i64 {
        match self {
            DateArg::Day(d) => d,
            DateArg::DaysBack(n) => day_of(now) - n,
        }
    }
}

impl FromStr for DateArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        match s.to_ascii_lowercase().as_str() {
            "today" => return Ok(DateArg::DaysBack(0)),
            "yesterday" => return Ok(DateArg::DaysBack(1)),
            _ => {}
        }
        parse_date(s).map(DateArg::Day).ok_or_else(|| {
            format!(
                "'{}' is not a date: use YYYY-MM-DD (2024-09-05), today or yesterday",
                escape_control(s)
            )
        })
    }
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
    fn time_args() {
        assert_eq!("2024-09-05".parse(), Ok(TimeArg::At(19_971 * DAY)));
        assert_eq!(
            "2024-09-05T10:00:00+01:00".parse(),
            Ok(TimeArg::At(19_971 * DAY + 9 * HOUR))
        );
        assert_eq!("90m".parse(), Ok(TimeArg::Ago(90 * MINUTE)));
        assert_eq!("12h".parse(), Ok(TimeArg::Ago(12 * HOUR)));
        assert_eq!("7d".parse(), Ok(TimeArg::Ago(7 * DAY)));
        assert_eq!("1d12h".parse(), Ok(TimeArg::Ago(36 * HOUR)));
        assert_eq!(TimeArg::Ago(HOUR).resolve(10 * HOUR), 9 * HOUR);
        for bad in [
            "", "7", "d", "7x", "2024-9-5", "7d12", "--7d", "-7d ago", "ago", "7 d",
        ] {
            let err = bad.parse::<TimeArg>().unwrap_err();
            assert!(err.contains("is not a time: use a date"), "{bad:?}: {err}");
            assert!(err.contains("duration back from now"), "{err}");
        }
        assert!("2024-02-30".parse::<DateArg>().is_err());
    }

    #[test]
    fn times_without_seconds() {
        let at = |s: &str| match s.parse::<TimeArg>() {
            Ok(TimeArg::At(t)) => t,
            other => panic!("{s}: {other:?}"),
        };
        let ten = 19_971 * DAY + 10 * HOUR;
        assert_eq!(at("2024-09-05T10:00"), ten);
        assert_eq!(at("2024-09-05T10:00Z"), ten);
        assert_eq!(at("2024-09-05 10:00"), ten);
        assert_eq!(at("2024-09-05t10:00z"), ten);
        assert_eq!(at("2024-09-05T12:00+02:00"), ten);
        assert_eq!(at("2024-09-05T02:30-07:30"), ten);
        assert_eq!(at("2024-09-05T10:00:00Z"), ten);
        for bad in [
            "2024-09-05T10",
            "2024-09-05T10:0",
            "2024-09-05T24:00",
            "2024-09-05T10:60",
            "2024-09-05T10:00+2",
            "2024-09-05T10:00:",
        ] {
            assert!(bad.parse::<TimeArg>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn named_days_are_midnight_utc() {
        let now = 19_971 * DAY + 15 * HOUR + 7 * MINUTE;
        let r = |s: &str| s.parse::<TimeArg>().unwrap().resolve(now);
        assert_eq!(r("today"), 19_971 * DAY);
        assert_eq!(r("Yesterday"), 19_970 * DAY);
        assert_eq!(r(" TODAY "), 19_971 * DAY);
        assert_eq!(r("now"), now);
        let d = |s: &str| s.parse::<DateArg>().unwrap().resolve(now);
        assert_eq!(d("today"), 19_971);
        assert_eq!(d("yesterday"), 19_970);
        assert_eq!(d("2024-09-01"), 19_967);
        let err = "tomorrow".parse::<DateArg>().unwrap_err();
        assert_eq!(
            err,
            "'tomorrow' is not a date: use YYYY-MM-DD (2024-09-05), today or yesterday"
        );
        // Just after midnight, today is the new day.
        assert_eq!(
            "today".parse::<TimeArg>().unwrap().resolve(19_972 * DAY),
            19_972 * DAY
        );
    }

    #[test]
    fn durations_back_in_every_spelling() {
        let ago = |s: &str| s.parse::<TimeArg>();
        assert_eq!(ago("-7d"), Ok(TimeArg::Ago(7 * DAY)));
        assert_eq!(ago("7d ago"), Ok(TimeArg::Ago(7 * DAY)));
        assert_eq!(ago("7d  ago"), Ok(TimeArg::Ago(7 * DAY)));
        assert_eq!(ago("1d12h ago"), Ok(TimeArg::Ago(36 * HOUR)));
        assert_eq!(ago("2w"), Ok(TimeArg::Ago(14 * DAY)));
        assert_eq!(ago("1y"), Ok(TimeArg::Ago(365 * DAY)));
        assert_eq!(ago("1y2w"), Ok(TimeArg::Ago(379 * DAY)));
        assert_eq!(ago("1000y"), Ok(TimeArg::Ago(1000 * 365 * DAY)));
        for huge in [
            "1001y",
            "99999999999999999999d",
            "9223372036854775807s",
            "365001d",
            "999y999y",
        ] {
            let err = ago(huge).unwrap_err();
            assert!(
                err.ends_with("reaches too far back: a duration is at most 1000y"),
                "{huge}: {err}"
            );
        }
    }

    #[test]
    fn epoch_seconds_as_gnu_date_takes_them() {
        assert_eq!(
            "@1725494400".parse(),
            Ok(TimeArg::At(19_970 * DAY + 24 * HOUR))
        );
        assert_eq!("@0".parse(), Ok(TimeArg::At(0)));
        assert_eq!("@-86400".parse(), Ok(TimeArg::At(-DAY)));
        assert_eq!(
            "@253402300799".parse(),
            Ok(TimeArg::At(253_402_300_799 * SECOND))
        );
        for (bad, says) in [
            ("@", "is not epoch seconds"),
            ("@12ab", "is not epoch seconds"),
            ("@1.5", "is not epoch seconds"),
            ("@+5", "is not epoch seconds"),
            ("@253402300800", "is out of range"),
            ("@99999999999999999999999", "is out of range"),
            ("@-99999999999999999999", "is out of range"),
        ] {
            let err = bad.parse::<TimeArg>().unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
        // Control characters from the argument are shown escaped.
        let err = "@1\u{1b}[2J".parse::<TimeArg>().unwrap_err();
        assert!(!err.contains('\u{1b}'), "{err}");
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
