//! The times people type for `--since`, `--until` and `--date`: dates, times with or without
//! seconds, `today`, `yesterday`, `now`, durations back from now, `@epoch` seconds. Every number
//! is bounded, so a huge one is a clear error, never an overflow.

use std::str::FromStr;

use super::{DAY, HOUR, MINUTE, Micros, SECOND, day_of, parse_date, parse_event_time};
use crate::escape::escape_control;

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

/// `today` or `yesterday`, in any case: how many days back from the current UTC day.
fn named_day(s: &str) -> Option<i64> {
    if s.eq_ignore_ascii_case("today") {
        Some(0)
    } else if s.eq_ignore_ascii_case("yesterday") {
        Some(1)
    } else {
        None
    }
}

impl FromStr for TimeArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("now") {
            return Ok(TimeArg::Ago(0));
        }
        if let Some(n) = named_day(s) {
            return Ok(TimeArg::DaysBack(n));
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

/// A span of time as `trace --lookback` and `profile --baseline` take it: `0`, or a duration
/// (`12h`, `30d`, `1d12h`).
pub fn parse_span(s: &str) -> Result<Micros, String> {
    if s == "0" {
        return Ok(0);
    }
    parse_duration(s).map_err(|e| match e {
        DurationError::NotADuration => format!(
            "'{}' is not a span of time: 0, or a number and a unit s, m, h, d, w or y (12h, 30d, 1d12h)",
            escape_control(s)
        ),
        DurationError::TooLong => {
            format!("'{}' is too long: at most {MAX_BACK_YEARS}y", escape_control(s))
        }
    })
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
        if let Some(n) = named_day(s) {
            return Ok(DateArg::DaysBack(n));
        }
        parse_date(s).map(DateArg::Day).ok_or_else(|| {
            format!(
                "'{}' is not a date: use YYYY-MM-DD (2024-09-05), today or yesterday",
                escape_control(s)
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
