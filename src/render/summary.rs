//! `summary`: one document with totals, counts by category, account and region, the top
//! sources, names, principals and IPs, and a timeline of events per hour, day or month.
//!
//! JSON shape (`-o json`; `-o ndjson` is the same object on one line):
//! `{"events": n, "errors": n, "first_event": time|null, "last_event": time|null,
//!   "implausible_times": n,
//!   "by_category": [{"category": …, "count": n}], "by_account": […], "by_region": […],
//!   "top_event_sources": […], "top_event_names": […], "top_principals": […],
//!   "top_source_ips": […], "timeline_bucket": "hour"|"day"|"month",
//!   "timeline": [{"start": "2024-09-05T10:00:00Z", "count": n}]}`.
//! `-o csv`: `section,key,count` lines. The table view draws the timeline as a bar chart.

use std::io::{self, Write};

use comfy_table::{CellAlignment, ContentArrangement, Table, presets};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::csv;
use super::layout::{self, table_width};
use super::style::{CELL_WIDTH, Format, PIPED_CELL_WIDTH, Style};
use crate::document::Fit;
use crate::document::{Bucket, Section, Summary};
use crate::escape::escape_truncated;
use crate::time::{Micros, format_time};

struct Entries<'a>(&'a Section);

impl Serialize for Entries<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.rows.len()))?;
        for (k, n) in &self.0.rows {
            seq.serialize_element(&Entry(self.0.key, k.as_deref(), *n))?;
        }
        seq.end()
    }
}

struct Entry<'a>(&'a str, Option<&'a str>, u64);

impl Serialize for Entry<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry(self.0, &self.1)?;
        m.serialize_entry("count", &self.2)?;
        m.end()
    }
}

struct Timeline<'a>(&'a [(Micros, u64)]);

impl Serialize for Timeline<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (start, n) in self.0 {
            seq.serialize_element(&Entry("start", Some(&format_time(*start)), *n))?;
        }
        seq.end()
    }
}

impl Serialize for Summary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("events", &self.events)?;
        m.serialize_entry("errors", &self.errors)?;
        m.serialize_entry("first_event", &self.first.map(format_time))?;
        m.serialize_entry("last_event", &self.last.map(format_time))?;
        m.serialize_entry("implausible_times", &self.implausible.count)?;
        for section in &self.sections {
            m.serialize_entry(section.name, &Entries(section))?;
        }
        m.serialize_entry("timeline_bucket", self.bucket.name())?;
        m.serialize_entry("timeline", &Timeline(&self.timeline))?;
        m.end()
    }
}

pub fn write(s: &Summary, style: Style, w: &mut impl Write) -> io::Result<()> {
    match style.format {
        Format::Json => {
            serde_json::to_writer_pretty(super::json::TerminalSafe(&mut *w), s)?;
            w.write_all(b"\n")
        }
        Format::Ndjson => {
            serde_json::to_writer(super::json::TerminalSafe(&mut *w), s)?;
            w.write_all(b"\n")
        }
        Format::Csv => write_csv(s, style.csv_raw, w),
        Format::Table => write_table(s, style.width, w),
    }
}

/// The key column of a CSV line: text from the logs (guarded unless `--csv-raw`) or our own.
enum Key<'a> {
    None,
    Ours(&'a str),
    Logged(&'a str),
}

fn write_csv(s: &Summary, raw: bool, w: &mut impl Write) -> io::Result<()> {
    let line = |w: &mut dyn Write, section: &str, key: Key, count: Option<u64>| -> io::Result<()> {
        let mut buf = Vec::new();
        csv::field(&mut buf, section)?;
        buf.push(b',');
        match key {
            Key::None => {}
            Key::Ours(k) => csv::field(&mut buf, k)?,
            Key::Logged(k) => csv::field(&mut buf, &csv::guarded(k, raw))?,
        }
        buf.push(b',');
        if let Some(n) = count {
            write!(buf, "{n}")?;
        }
        buf.push(b'\n');
        w.write_all(&buf)
    };
    writeln!(w, "section,key,count")?;
    line(w, "events", Key::None, Some(s.events))?;
    line(w, "errors", Key::None, Some(s.errors))?;
    if let Some(t) = s.first {
        line(w, "first_event", Key::Ours(&format_time(t)), None)?;
    }
    if let Some(t) = s.last {
        line(w, "last_event", Key::Ours(&format_time(t)), None)?;
    }
    line(w, "implausible_times", Key::None, Some(s.implausible.count))?;
    for section in &s.sections {
        for (k, n) in &section.rows {
            let key = k.as_deref().map_or(Key::None, Key::Logged);
            line(w, section.name, key, Some(*n))?;
        }
    }
    line(w, "timeline_bucket", Key::Ours(s.bucket.name()), None)?;
    for (start, n) in &s.timeline {
        line(w, "timeline", Key::Ours(&format_time(*start)), Some(*n))?;
    }
    Ok(())
}

/// The table view: the totals line, a two-column table per section, then the timeline as a bar
/// chart. Fitted to `width` when given: the totals break between their parts, long keys
/// (principals, user agents) are shortened in the middle, and the bars get shorter.
fn write_table(s: &Summary, width: Option<usize>, w: &mut impl Write) -> io::Result<()> {
    let time = |t: Option<Micros>| t.map_or_else(|| "-".to_string(), format_time);
    let mut totals = vec![
        format!("events: {}", s.events),
        format!("errors: {}", s.errors),
        format!("first: {}", time(s.first)),
        format!("last: {}", time(s.last)),
    ];
    if s.implausible.count > 0 {
        totals.push(format!("implausible times: {}", s.implausible.count));
    }
    let totals = totals.join(" · ");
    for line in layout::join_parts(&totals, width.unwrap_or(usize::MAX)) {
        writeln!(w, "{line}")?;
    }
    let max = if width.is_some() {
        CELL_WIDTH
    } else {
        PIPED_CELL_WIDTH
    };
    for section in &s.sections {
        let keys: Vec<String> = section
            .rows
            .iter()
            .map(|(k, _)| {
                k.as_deref()
                    .map(|k| escape_truncated(k, max))
                    .unwrap_or_default()
            })
            .collect();
        let counts: Vec<String> = section.rows.iter().map(|(_, n)| n.to_string()).collect();
        let count_width = counts.iter().map(String::len).fold(5, usize::max);
        // The key column gets what the count column and the rules leave.
        let key_width = width.map(|w| w.saturating_sub(table_width(&[count_width, 0])).max(12));
        let mut table = Table::new();
        table.load_style(presets::UTF8_FULL_CONDENSED);
        table.set_content_arrangement(ContentArrangement::Disabled);
        table.set_header(vec![section.name, "count"]);
        for (key, count) in keys.iter().zip(counts) {
            let key = match key_width {
                Some(kw) => layout::shape(key, Fit::Elide, kw),
                None => key.clone(),
            };
            table.add_row(vec![key, count]);
        }
        if let Some(c) = table.column_mut(1) {
            c.set_cell_alignment(CellAlignment::Right);
        }
        writeln!(w)?;
        writeln!(w, "{table}")?;
    }
    writeln!(w)?;
    writeln!(w, "events per {} (UTC)", s.bucket.name())?;
    write_timeline(s.bucket, &s.timeline, width, w)?;
    if s.timeline.is_empty() && s.implausible.count > 0 {
        writeln!(w, "(no events with a plausible time)")?;
    } else if s.timeline.is_empty() {
        writeln!(w, "(no events with a readable time)")?;
    }
    Ok(())
}

/// One line per bucket: its label, its count and a bar scaled to the largest.
pub(super) fn write_timeline(
    bucket: Bucket,
    timeline: &[(Micros, u64)],
    width: Option<usize>,
    w: &mut impl Write,
) -> io::Result<()> {
    let max = timeline.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let count_width = max.to_string().len();
    let label_width = timeline.first().map_or(0, |(t, _)| label(bucket, *t).len());
    let bar_width = width.map_or(50, |w| {
        w.saturating_sub(label_width + count_width + 2)
            .clamp(10, 50)
    }) as u64;
    for (start, n) in timeline {
        let label = label(bucket, *start);
        let line = format!("{label} {n:>count_width$} {}", bar(*n, max, bar_width));
        writeln!(w, "{}", line.trim_end())?;
    }
    Ok(())
}

/// A bar of up to `width` cells, in eighths of a cell, so that small differences show.
fn bar(n: u64, max: u64, width: u64) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    if max == 0 || n == 0 {
        return String::new();
    }
    let eighths = ((n as u128 * width as u128 * 8).div_ceil(max as u128)) as u64;
    let mut s = "█".repeat((eighths / 8) as usize);
    if !eighths.is_multiple_of(8) {
        s.push(PARTS[(eighths % 8) as usize]);
    }
    s
}

/// The table's label of a bucket: `2024-09-05T10:00Z`, `2024-09-05` or `2024-09`.
fn label(bucket: Bucket, start: Micros) -> String {
    let t = format_time(start);
    match bucket {
        Bucket::Hour => format!("{}:00Z", &t[..13]),
        Bucket::Day => t[..10].to_string(),
        Bucket::Month => t[..7].to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Implausible;
    use crate::time::parse_event_time;

    fn t(s: &str) -> Micros {
        parse_event_time(s).unwrap()
    }

    #[test]
    fn bars_scale_to_the_largest_bucket() {
        assert_eq!(bar(0, 10, 50), "");
        assert_eq!(bar(10, 10, 50).chars().count(), 50);
        assert_eq!(bar(5, 10, 50), "█".repeat(25));
        assert_eq!(
            bar(1, 1000, 50),
            "▏",
            "a non-zero bucket is never invisible"
        );
    }

    #[test]
    fn bucket_labels() {
        let at = |b: Bucket, time| label(b, b.start(b.index(t(time))));
        assert_eq!(
            at(Bucket::Hour, "2024-09-05T10:59:59Z"),
            "2024-09-05T10:00Z"
        );
        assert_eq!(at(Bucket::Day, "2024-02-29T23:00:00Z"), "2024-02-29");
        assert_eq!(at(Bucket::Month, "1969-12-31T23:59:59Z"), "1969-12");
    }

    #[test]
    fn csv_guards_logged_keys_only() {
        let s = Summary {
            events: 2,
            errors: 0,
            first: Some(t("2024-09-05T10:00:00Z")),
            last: Some(t("2024-09-05T10:00:00Z")),
            implausible: Implausible::default(),
            sections: vec![Section {
                name: "top_principals",
                key: "principal",
                rows: vec![(Some("=cmd|' /C calc'!A0".into()), 1), (None, 1)],
                total: 2,
            }],
            bucket: Bucket::Hour,
            timeline: vec![(t("2024-09-05T10:00:00Z"), 2)],
        };
        let mut out = Vec::new();
        write_csv(&s, false, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "section,key,count\nevents,,2\nerrors,,0\nfirst_event,2024-09-05T10:00:00Z,\n\
             last_event,2024-09-05T10:00:00Z,\nimplausible_times,,0\n\
             top_principals,'=cmd|' /C calc'!A0,1\ntop_principals,,1\n\
             timeline_bucket,hour,\ntimeline,2024-09-05T10:00:00Z,2\n"
        );
        let mut out = Vec::new();
        write_csv(&s, true, &mut out).unwrap();
        assert!(
            String::from_utf8(out)
                .unwrap()
                .contains("\ntop_principals,=cmd|' /C calc'!A0,1\n")
        );
    }
}
