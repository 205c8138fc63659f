//! Fitting a table to a terminal: which columns stay, how wide each is, and how a cell is
//! narrowed to its width. Pure functions of the column declarations (`document::Column`: its
//! `fit` and `rank`) and the cells' widths, so the layout at any width is tested without a
//! terminal.
//!
//! The rules, in order:
//! - identifiers (`Fit::Whole`: times, account ids, IPs, event ids, names) are never narrowed;
//! - free text (`Fit::Wrap`: user agents, error messages) is narrowed first, down to
//!   `WRAP_MIN` columns, and wrapped onto at most `MAX_LINES` lines, the last cut with `…`;
//! - long identifiers (`Fit::Elide`: ARNs, principals, keys) stay on one line, shortened in the
//!   middle with `…` down to `ELIDE_MIN` columns, keeping their start and their telling end;
//! - when the narrowest layout is still too wide, the column of highest rank (the rightmost
//!   among equals) is left out and the rest laid out again; rank 0 is never left out (the keys
//!   of a grouped report are rank 0: a row without one would look like a copy of another);
//! - a column left out may come back in the room that a wider one left, the most important
//!   first, when the more important columns keep their full width;
//! - the room left over goes to the narrowed columns in the order of their rank: the most
//!   important is shown whole first;
//! - when even the columns of rank 0 do not fit, the table becomes records, one block of
//!   `name │ value` lines per row, every column shown (psql's expanded display).

use crate::document::{Column, Fit};
use crate::escape::char_width;

/// The narrowest a wrapped column gets (or its header, when that is wider).
const WRAP_MIN: usize = 12;
/// The narrowest a shortened identifier gets (or its header, when that is wider).
const ELIDE_MIN: usize = 24;
/// A list is wrapped between its items, so its column is at least as wide as its widest item
/// (and the comma after it), up to this; a wider item is broken.
const MAX_ITEM: usize = 40;
/// The narrowest a value of a record gets (`table::write_records`).
pub const MIN_VALUE: usize = 16;
/// The most lines a wrapped cell takes.
pub const MAX_LINES: usize = 3;

/// The display width of escaped text (no control characters left).
pub fn text_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// The width of a table whose columns are `widths` wide, in comfy-table's
/// `UTF8_FULL_CONDENSED` style: `│ a ┆ b │`, three columns of rule and padding per column and
/// one more.
pub fn table_width(widths: &[usize]) -> usize {
    widths.iter().map(|w| w + 3).sum::<usize>() + 1
}

/// The columns a table shows, and how wide each is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The indices of the columns shown, in order.
    pub keep: Vec<usize>,
    /// The width of each column shown (as `keep`).
    pub widths: Vec<usize>,
    /// The indices of the columns left out, in order.
    pub left_out: Vec<usize>,
    /// Whether the table fits the width; if not, rows are shown as records.
    pub fits: bool,
}

/// The narrowest column `c` gets, given its widest cell or header (`natural`).
fn min_width(c: &Column, natural: usize) -> usize {
    let header = text_width(c.name);
    match c.fit {
        Fit::Whole => natural,
        Fit::Elide => natural.min(header.max(ELIDE_MIN)),
        Fit::Wrap => natural.min(header.max(WRAP_MIN)),
    }
}

/// The layout of `columns`, whose widest cells (or headers) are `natural` and whose widest list
/// items are `items` (0 for a column that is not a list), in `width` terminal columns. When
/// even the columns of rank 0 do not fit at their narrowest, `fits` is false.
pub fn plan(columns: &[Column], natural: &[usize], items: &[usize], width: usize) -> Plan {
    let mins: Vec<usize> = columns
        .iter()
        .zip(natural)
        .zip(items)
        .map(|((c, &n), &item)| min_width(c, n).max(item.min(MAX_ITEM)).min(n))
        .collect();
    let mut keep: Vec<usize> = (0..columns.len()).collect();
    let mut left_out = Vec::new();
    loop {
        let narrowest: Vec<usize> = keep.iter().map(|&i| mins[i]).collect();
        if table_width(&narrowest) <= width {
            break;
        }
        // The last column of the highest rank above 0.
        let Some(pos) = keep
            .iter()
            .enumerate()
            .filter(|(_, i)| columns[**i].rank > 0)
            .max_by_key(|(p, i)| (columns[**i].rank, *p))
            .map(|(p, _)| p)
        else {
            break;
        };
        left_out.push(keep.remove(pos));
    }
    // A column left out for a wider one may fit in what that one left, the most important
    // first, each in its place; but not at the cost of a more important column's width: those
    // count at their full width.
    left_out.sort_by_key(|&i| (columns[i].rank, i));
    let mut k = 0;
    while k < left_out.len() {
        let i = left_out[k];
        let at = keep.partition_point(|&j| j < i);
        let mut with: Vec<usize> = keep
            .iter()
            .map(|&j| {
                if columns[j].rank < columns[i].rank {
                    natural[j]
                } else {
                    mins[j]
                }
            })
            .collect();
        with.insert(at, mins[i]);
        if table_width(&with) <= width {
            keep.insert(at, i);
            left_out.remove(k);
        } else {
            k += 1;
        }
    }
    left_out.sort_unstable();
    let mut widths: Vec<usize> = keep.iter().map(|&i| mins[i]).collect();
    let mut room = width.saturating_sub(table_width(&widths));
    // The room left goes to the narrowed columns in the order of their rank (then position):
    // the most important is shown whole first.
    let mut order: Vec<usize> = (0..keep.len()).collect();
    order.sort_by_key(|&k| (columns[keep[k]].rank, k));
    for k in order {
        let more = (natural[keep[k]] - widths[k]).min(room);
        widths[k] += more;
        room -= more;
    }
    let fits = table_width(&widths) <= width;
    Plan {
        keep,
        widths,
        left_out,
        fits,
    }
}

/// An escaped cell narrowed to `width` columns as its column's fit says. A cell that fits is
/// returned as it is; `Fit::Whole` cells are never changed.
pub fn shape(text: &str, fit: Fit, width: usize) -> String {
    if text_width(text) <= width {
        return text.to_string();
    }
    match fit {
        Fit::Whole => text.to_string(),
        Fit::Elide => elide(text, width),
        Fit::Wrap => wrap(text, width, MAX_LINES).join("\n"),
    }
}

/// `text` in `width` columns: its start and its end, joined by `…`. The end gets the larger
/// share: the role, session or object name is at the end of an ARN or key, and an ARN's start
/// (`arn:aws:iam::`) says little.
fn elide(text: &str, width: usize) -> String {
    let room = width.saturating_sub(1);
    let head_room = if text.starts_with("arn:") {
        room / 4
    } else {
        room * 2 / 5
    };
    let tail_room = room - head_room;
    let mut head = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = char_width(c);
        if used + w > head_room {
            break;
        }
        used += w;
        head.push(c);
    }
    let mut tail: Vec<char> = Vec::new();
    let mut used = 0;
    for c in text.chars().rev() {
        let w = char_width(c);
        if used + w > tail_room {
            break;
        }
        used += w;
        tail.push(c);
    }
    head.push('…');
    head.extend(tail.into_iter().rev());
    head
}

/// `text` on lines of at most `width` columns (at least 1), broken after spaces where a line
/// has one and anywhere otherwise; at most `max_lines` lines, the last ending with `…` when
/// text is left over.
pub fn wrap(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut line_width = 0;
    // The byte length of `line` up to and with its last space.
    let mut last_break: Option<usize> = None;
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        let w = char_width(c);
        if line_width + w > width && line_width > 0 {
            // The line is full: end it at its last space, or here.
            let rest = last_break.map_or_else(String::new, |at| line.split_off(at));
            lines.push(line.trim_end().to_string());
            if lines.len() == max_lines {
                let last = lines.pop().unwrap_or_default();
                lines.push(with_ellipsis(&last, width));
                return lines;
            }
            line = rest.trim_start().to_string();
            line_width = text_width(&line);
            last_break = None;
            continue;
        }
        chars.next();
        if c == ' ' && line_width == 0 {
            continue;
        }
        line.push(c);
        line_width += w;
        if c == ' ' {
            last_break = Some(line.len());
        }
    }
    if !line.trim_end().is_empty() || lines.is_empty() {
        lines.push(line.trim_end().to_string());
    }
    lines
}

/// A line of parts joined by ` · ` (totals, footers) on as few lines of `width` columns as it
/// takes, broken only between parts.
pub fn join_parts(line: &str, width: usize) -> Vec<String> {
    const SEP: &str = " · ";
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for part in line.split(SEP) {
        if current.is_empty() {
            current.push_str(part);
        } else if text_width(&current) + text_width(SEP) + text_width(part) > width {
            lines.push(std::mem::take(&mut current));
            current.push_str(part);
        } else {
            current.push_str(SEP);
            current.push_str(part);
        }
    }
    lines.push(current);
    lines
}

/// `line` cut to leave room for `…` within `width` columns, then `…`.
fn with_ellipsis(line: &str, width: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in line.chars() {
        let w = char_width(c);
        if used + w + 1 > width {
            break;
        }
        used += w;
        out.push(c);
    }
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<Column> {
        vec![
            Column::time("event_time").rank(0),
            Column::text("account").rank(5),
            Column::text("event_name").rank(0),
            Column::text("principal").elide().rank(1),
            Column::text("user_agent").wrap().rank(7),
        ]
    }

    #[test]
    fn everything_fits_when_there_is_room() {
        let natural = [20, 12, 14, 60, 80];
        let p = plan(&cols(), &natural, &[0; 5], 500);
        assert_eq!(p.keep, vec![0, 1, 2, 3, 4]);
        assert_eq!(p.widths, natural.to_vec());
        assert!(p.left_out.is_empty());
    }

    #[test]
    fn free_text_narrows_before_anything_is_left_out() {
        let natural = [20, 12, 14, 60, 80];
        // All at natural width: 186 + 16 = 202.
        let p = plan(&cols(), &natural, &[0; 5], 150);
        assert_eq!(p.keep, vec![0, 1, 2, 3, 4]);
        assert_eq!(table_width(&p.widths), 150);
        assert_eq!(
            &p.widths[..3],
            &[20, 12, 14],
            "identifiers keep their width"
        );
        // The room goes to the principal (rank 1) before the user agent (rank 7).
        assert_eq!(&p.widths[3..], &[60, 150 - 16 - 106]);
    }

    #[test]
    fn columns_of_higher_rank_are_left_out_first() {
        let natural = [20, 12, 14, 60, 80];
        let p = plan(&cols(), &natural, &[0; 5], 80);
        // user_agent (7) goes, then account (5); the principal shortened keeps its place.
        assert_eq!(p.left_out, vec![1, 4]);
        assert_eq!(p.keep, vec![0, 2, 3]);
        assert_eq!(table_width(&p.widths), 80);
        assert_eq!(p.widths, vec![20, 14, 80 - 10 - 34]);
        // A column left out first comes back in the room that a wider one left.
        let cols = [
            Column::text("a").rank(0),
            Column::text("b").rank(5),
            Column::text("c").rank(6),
        ];
        let p = plan(&cols, &[10, 30, 5], &[0; 3], 30);
        assert_eq!((p.keep, p.left_out), (vec![0, 2], vec![1]));
    }

    #[test]
    fn rank_zero_that_does_not_fit_makes_records() {
        let p = plan(&cols(), &[20, 12, 14, 60, 80], &[0; 5], 30);
        assert_eq!(p.keep, vec![0, 2]);
        assert_eq!(p.widths, vec![20, 14]);
        assert!(!p.fits);
        assert!(plan(&cols(), &[20, 12, 14, 60, 80], &[0; 5], 41).fits);
    }

    #[test]
    fn lists_are_at_least_as_wide_as_their_widest_item() {
        let cols = [Column::time("t").rank(0), Column::list("source_ips")];
        let p = plan(&cols, &[20, 40], &[0, 14], 41);
        assert_eq!(p.widths, vec![20, 14]);
        assert_eq!(
            wrap("198.51.100.23, 198.51.100.7", 14, 3),
            vec!["198.51.100.23,", "198.51.100.7"]
        );
    }

    #[test]
    fn identifiers_are_never_changed() {
        let arn = "arn:aws:sts::111111111111:assumed-role/incident-responder/erin";
        assert_eq!(shape(arn, Fit::Whole, 10), arn);
        assert_eq!(shape(arn, Fit::Elide, 100), arn);
    }

    #[test]
    fn long_identifiers_keep_their_start_and_end() {
        let arn = "arn:aws:sts::111111111111:assumed-role/incident-responder/erin";
        let short = shape(arn, Fit::Elide, 30);
        assert_eq!(text_width(&short), 30);
        assert_eq!(short, "arn:aws…ncident-responder/erin");
        assert_eq!(
            shape("prod/reports/2024/q3/summary.pdf", Fit::Elide, 20),
            "prod/re…/summary.pdf"
        );
        assert!(!short.contains('\n'));
    }

    #[test]
    fn free_text_wraps_at_spaces_and_is_cut_after_three_lines() {
        let ua =
            "aws-cli/2.17.0 Python/3.11.9 Linux/6.1 exe/x86_64.amzn.2 prompt/off command/s3.cp";
        let lines = wrap(ua, 20, 3);
        assert_eq!(
            lines,
            vec!["aws-cli/2.17.0", "Python/3.11.9", "Linux/6.1…"],
            "{lines:?}"
        );
        for l in &lines {
            assert!(text_width(l) <= 20);
        }
        // A word longer than the line is broken.
        assert_eq!(wrap("abcdefghij", 4, 5), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("abcdefghij", 4, 2), vec!["abcd", "efg…"]);
        assert_eq!(wrap("", 4, 2), vec![""]);
        assert_eq!(wrap("a b", 1, 5), vec!["a", "b"]);
        // Wide characters count double.
        assert_eq!(wrap("日本語テキスト", 6, 5), vec!["日本語", "テキス", "ト"]);
    }

    #[test]
    fn footers_break_between_their_parts() {
        let line =
            "global endpoint: 19 calls · regional endpoints: 39 calls · no host header: 11 calls";
        assert_eq!(join_parts(line, 200), vec![line]);
        assert_eq!(
            join_parts(line, 60),
            vec![
                "global endpoint: 19 calls · regional endpoints: 39 calls",
                "no host header: 11 calls"
            ]
        );
        assert_eq!(
            join_parts("one part, too wide", 5),
            vec!["one part, too wide"]
        );
    }

    #[test]
    fn shaping_is_bounded_by_the_width() {
        let huge = "x ".repeat(100_000);
        let s = shape(&huge, Fit::Wrap, 16);
        assert_eq!(s.lines().count(), MAX_LINES);
        assert!(s.lines().all(|l| text_width(l) <= 16));
    }
}
