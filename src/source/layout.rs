//! What CloudTrail's S3 layout says about a path, without reading the file.
//!
//! `AWSLogs/[o-orgid/]<account>/<event folder>/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<random>.json.gz`
//! The day folders and the timestamp in the name are the DELIVERY time, which is what lets
//! whole folders and files be skipped for a time window (see `Window::may_hold_delivery_day`).
//! The folders above them name the account and region of every file below (`Origin`). This is
//! the one place that parses the layout: a prefix as the user gives it (`AwsLogsPrefix`), a key or
//! path (`InLayout`), an account id (`is_account_id`).

use crate::time::{self, Micros, Window};

/// The account and region an input belongs to, from its place in the trail layout.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    pub account: String,
    pub region: String,
}

/// Folders CloudTrail writes events into (management/data events, network activity, Insights,
/// aggregated data events).
pub const EVENT_FOLDERS: [&str; 4] = [
    "CloudTrail",
    "CloudTrail-NetworkActivity",
    "CloudTrail-Insight",
    "CloudTrail-Aggregated",
];

/// The folder of digest files: hashes and signatures, never events.
pub const DIGEST_FOLDER: &str = "CloudTrail-Digest";

pub fn is_event_folder(name: &str) -> bool {
    EVENT_FOLDERS.contains(&name)
}

/// The folders below an account that a walk enters: the event folders, or (`verify`) the log
/// files' `CloudTrail/` and the digests' `CloudTrail-Digest/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folders {
    Events,
    Verify,
}

impl Folders {
    pub fn enters(self, name: &str) -> bool {
        match self {
            Folders::Events => is_event_folder(name),
            Folders::Verify => name == "CloudTrail" || name == DIGEST_FOLDER,
        }
    }
}

/// Where a path component sits below an event folder: `<event folder>/<region>/YYYY/MM/DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Not (yet) known to be inside an event folder: nothing can be pruned.
    Outside,
    /// Inside an event folder: the children are regions.
    EventFolder,
    /// Inside a region folder: the children are years.
    Region,
    Year(i64),
    Month(i64, u32),
    /// Inside a day folder (or deeper): files.
    Day,
}

impl Level {
    /// A child folder called `name` as a dated folder of the layout (a year below a region, a
    /// month below a year, a day below a month): its level and the first and last delivery day
    /// (days since the epoch) it holds. None for any other folder.
    pub fn dated(self, name: &str) -> Option<(Level, i64, i64)> {
        let num = |len: usize| {
            (name.len() == len && name.bytes().all(|b| b.is_ascii_digit()))
                .then(|| name.parse::<i64>().ok())
                .flatten()
        };
        match self {
            Level::Region => num(4).map(|y| {
                (
                    Level::Year(y),
                    time::days_from_civil(y, 1, 1),
                    time::days_from_civil(y, 12, 31),
                )
            }),
            Level::Year(y) => match num(2) {
                Some(m @ 1..=12) => {
                    let m = m as u32;
                    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                    Some((
                        Level::Month(y, m),
                        time::days_from_civil(y, m, 1),
                        time::days_from_civil(ny, nm, 1) - 1,
                    ))
                }
                _ => None,
            },
            Level::Month(y, m) => num(2)
                .and_then(|d| time::date(y, m, d as u32))
                .map(|day| (Level::Day, day, day)),
            Level::Outside | Level::Day | Level::EventFolder => None,
        }
    }

    /// The level of a child folder called `name`, or None when the window rules out every file
    /// below it.
    pub fn child(self, name: &str, window: &Window) -> Option<Level> {
        let next = match self {
            Level::Outside | Level::Day if is_event_folder(name) => Level::EventFolder,
            Level::Outside | Level::Day => self,
            Level::EventFolder => Level::Region,
            Level::Region | Level::Year(_) | Level::Month(..) => match self.dated(name) {
                Some((next, day, _)) if matches!(self, Level::Month(..)) => {
                    return window.may_hold_delivery_day(day).then_some(next);
                }
                Some((next, first, last)) => {
                    return any_day_in(first, last, window).then_some(next);
                }
                None => Level::Outside,
            },
        };
        Some(next)
    }
}

fn any_day_in(first: i64, last: i64, window: &Window) -> bool {
    // may_hold_delivery_day is an interval test, so checking the ends of [first, last] against
    // the interval of kept days is enough.
    let lo = window.since.map(time::day_of);
    let hi = window.until.map(|u| time::day_of(u - 1) + 1);
    lo.is_none_or(|lo| last >= lo) && hi.is_none_or(|hi| first <= hi)
}

/// A prefix as the user gives it (`s3://BUCKET/PREFIX`), against the layout: the key prefix
/// through `AWSLogs/` (added when the prefix stops before it) and the folders named below it.
/// Empty segments (`a//b`) are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsLogsPrefix<'a> {
    /// The key prefix up to and including `AWSLogs/`.
    pub awslogs: String,
    /// The folders the prefix names below `AWSLogs/`.
    pub below: Vec<&'a str>,
}

impl<'a> AwsLogsPrefix<'a> {
    pub fn parse(prefix: &'a str) -> AwsLogsPrefix<'a> {
        let segs: Vec<&str> = prefix.split('/').filter(|s| !s.is_empty()).collect();
        match segs.iter().position(|s| *s == "AWSLogs") {
            Some(at) => AwsLogsPrefix {
                awslogs: format!("{}/", segs[..=at].join("/")),
                below: segs[at + 1..].to_vec(),
            },
            None if segs.is_empty() => AwsLogsPrefix {
                awslogs: "AWSLogs/".into(),
                below: vec![],
            },
            None => AwsLogsPrefix {
                awslogs: format!("{}/AWSLogs/", segs.join("/")),
                below: vec![],
            },
        }
    }

    /// The organization folder (`o-…`) the prefix names right below `AWSLogs/`, if any.
    pub fn organization(&self) -> Option<&'a str> {
        self.below.first().copied().filter(|s| is_organization(s))
    }
}

/// The parts of a key or path in the layout: where `AWSLogs` is among its segments, the
/// organization folder after it if any, and the segments below those
/// (`<account>/<event folder>/<region>/…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InLayout<'s, 'a> {
    pub at: usize,
    pub organization: Option<&'a str>,
    pub below: &'s [&'a str],
}

impl<'s, 'a> InLayout<'s, 'a> {
    pub fn find(segs: &'s [&'a str]) -> Option<InLayout<'s, 'a>> {
        let at = segs.iter().position(|s| *s == "AWSLogs")?;
        let below = &segs[at + 1..];
        Some(match below.first() {
            Some(org) if is_organization(org) => InLayout {
                at,
                organization: Some(org),
                below: &below[1..],
            },
            _ => InLayout {
                at,
                organization: None,
                below,
            },
        })
    }
}

/// An organization trail's folder below `AWSLogs/`.
pub fn is_organization(name: &str) -> bool {
    name.starts_with("o-")
}

/// The account and region of a trail file, from `…/AWSLogs/[o-…/]<account>/<event folder>/<region>/…`
/// in its path or key.
pub fn origin(path: &str) -> Option<Origin> {
    let segs: Vec<&str> = path.split(['/', '\\']).collect();
    match InLayout::find(&segs)?.below {
        [account, folder, region, _, ..] if is_account_id(account) && is_event_folder(folder) => {
            Some(Origin {
                account: account.to_string(),
                region: region.to_string(),
            })
        }
        _ => None,
    }
}

pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The delivery timestamp in a trail file's name (`…_20240905T1205Z_…`), if the name is one.
pub fn delivery_time(file_name: &str) -> Option<Micros> {
    let mut parts = file_name.split('_');
    if !is_account_id(parts.next()?) {
        return None;
    }
    if !parts.next()?.starts_with("CloudTrail") {
        return None;
    }
    let _region = parts.next()?;
    let stamp = parts.next()?.as_bytes();
    if stamp.len() != 14 || stamp[8] != b'T' || stamp[13] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = std::str::from_utf8(&stamp[r]).ok()?;
        s.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let day = time::date(num(0..4)? as i64, num(4..6)?, num(6..8)?)?;
    let (h, m) = (num(9..11)?, num(11..13)?);
    (h < 24 && m < 60).then(|| day * time::DAY + h as i64 * time::HOUR + m as i64 * time::MINUTE)
}

/// The day of a day prefix (`…/YYYY/MM/DD/`), in days since the epoch.
pub fn day_of_prefix(prefix: &str) -> Option<i64> {
    let mut parts = prefix.trim_end_matches('/').rsplit('/');
    let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
    let ok = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !(ok(y, 4) && ok(m, 2) && ok(d, 2)) {
        return None;
    }
    Some(time::days_from_civil(
        y.parse().ok()?,
        m.parse().ok()?,
        d.parse().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{DAY, parse_event_time};

    fn date_window(day: &str) -> Window {
        let d = time::parse_date(day).unwrap();
        Window {
            since: Some(d * DAY),
            until: Some((d + 1) * DAY),
        }
    }

    /// Walk the levels of a path; None when pruned.
    fn walk(path: &str, window: &Window) -> Option<Level> {
        path.split('/')
            .try_fold(Level::Outside, |level, name| level.child(name, window))
    }

    #[test]
    fn day_folders_of_a_date_window() {
        let w = date_window("2024-09-05");
        let base = "AWSLogs/o-abc/111111111111/CloudTrail/us-east-1";
        assert_eq!(walk(&format!("{base}/2024/09/05"), &w), Some(Level::Day));
        assert_eq!(
            walk(&format!("{base}/2024/09/06"), &w),
            Some(Level::Day),
            "late deliveries"
        );
        assert_eq!(walk(&format!("{base}/2024/09/04"), &w), None);
        assert_eq!(walk(&format!("{base}/2024/09/07"), &w), None);
        assert_eq!(walk(&format!("{base}/2024/08"), &w), None);
        assert_eq!(walk(&format!("{base}/2023"), &w), None);
        // The window's last day is the 30th of a month: the 1st of the next is kept.
        let w = date_window("2024-09-30");
        assert_eq!(walk(&format!("{base}/2024/10/01"), &w), Some(Level::Day));
        let w = date_window("2024-12-31");
        assert_eq!(walk(&format!("{base}/2025/01/01"), &w), Some(Level::Day));
        assert_eq!(walk(&format!("{base}/2025/01/02"), &w), None);
    }

    #[test]
    fn nothing_pruned_outside_the_layout() {
        let w = date_window("2024-09-05");
        assert_eq!(walk("logs/2023/01/01", &w), Some(Level::Outside));
        assert_eq!(
            walk("CloudTrail/us-east-1/notayear/01", &w),
            Some(Level::Outside)
        );
        assert_eq!(
            walk("CloudTrail/us-east-1/2024/13/01", &w),
            Some(Level::Outside)
        );
        assert_eq!(
            walk(
                "AWSLogs/1/CloudTrail-NetworkActivity/eu-west-1/2024/09/04",
                &w
            ),
            None
        );
        assert_eq!(
            walk("x/CloudTrail-Insight/eu-west-1/2024/09/05", &w),
            Some(Level::Day)
        );
        assert_eq!(
            walk("x/CloudTrail/eu-west-1/2024", &Window::default()),
            Some(Level::Year(2024))
        );
    }

    #[test]
    fn origin_from_path_or_key() {
        let o = |a: &str, r: &str| {
            Some(Origin {
                account: a.into(),
                region: r.into(),
            })
        };
        assert_eq!(
            origin("AWSLogs/111111111111/CloudTrail/us-east-1/2024/09/05/f.json.gz"),
            o("111111111111", "us-east-1")
        );
        assert_eq!(
            origin("/x/AWSLogs/o-abc/222222222222/CloudTrail-NetworkActivity/eu-west-1/2024/f"),
            o("222222222222", "eu-west-1")
        );
        assert_eq!(
            origin("AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2024/f"),
            None
        );
        assert_eq!(origin("logs/f.json"), None);
        assert_eq!(origin("AWSLogs/1111/CloudTrail/us-east-1/f"), None);
    }

    #[test]
    fn delivery_time_from_name() {
        assert_eq!(
            delivery_time(
                "111111111111_CloudTrail_us-east-1_20240906T0004Z_AbCdEf0123456789.json.gz"
            ),
            parse_event_time("2024-09-06T00:04:00Z")
        );
        assert_eq!(
            delivery_time(
                "111111111111_CloudTrail-NetworkActivity_eu-west-1_20240905T2355Z_x.json.gz"
            ),
            Some(parse_event_time("2024-09-05T23:55:00Z").unwrap())
        );
        for other in [
            "events.json",
            "11111111111_CloudTrail_us-east-1_20240906T0004Z_x.json.gz",
            "111111111111_Other_us-east-1_20240906T0004Z_x.json.gz",
            "111111111111_CloudTrail_us-east-1_20240906T2504Z_x.json.gz",
            "111111111111_CloudTrail_us-east-1_2024090T0004Z_x.json.gz",
        ] {
            assert_eq!(delivery_time(other), None, "{other}");
        }
    }
}
