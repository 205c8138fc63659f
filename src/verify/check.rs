//! The checks of `verify`, on what was found and read: no I/O here.
//!
//! In: the digests found (each read, hashed and its signature checked, or the reason it could
//! not be), the log files found in the day folders, and the SHA-256 of each log file an
//! in-window digest lists. Out: one `Problem` per integrity problem, each reported once, and the
//! counts of the summary.
//!
//! The chain is followed by its links (`previousDigestS3Object`), never guessed from times: a
//! link to a digest that is gone is a `missing_digest`, however many are gone in a row (the
//! period runs from the digest before, by time, to the one that names it); a chain that starts
//! again (a null link) after earlier digests is a `no_digest_period`. Log files delivered in such
//! a period are counted in its row, not reported one by one; a log file no digest lists, in a
//! period some digest covers, is an `unlisted_log`.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::digest::{DigestName, layout_key};
use super::model::{Counts, DigestFile, Hashed, Kind, LogFile, Problem, Sig};
use crate::source::layout::Origin;
use crate::time::{HOUR, MINUTE, Micros, Window, format_time};

/// A log file not yet in a digest is pending, not a problem, this long after its delivery.
pub const PENDING: Micros = 2 * HOUR;

/// Two digests of a chain this close are contiguous.
const CONTIGUOUS: Micros = 5 * MINUTE;

struct Period<'a> {
    start: Micros,
    end: Micros,
    row: usize,
    origin: &'a Origin,
}

/// The log files an in-window digest lists, by key: what must be read and hashed.
pub fn wanted(digests: &[DigestFile], window: &Window) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for d in digests {
        if let Ok((p, _)) = &d.read
            && overlaps(window, p.start, p.end)
        {
            for l in &p.content.log_files {
                if let Some(k) = layout_key(&l.s3_object) {
                    out.entry(k.to_string())
                        .or_insert_with(|| format!("{}{k}", d.root));
                }
            }
        }
    }
    out
}

fn overlaps(w: &Window, start: Micros, end: Micros) -> bool {
    w.since.is_none_or(|s| end > s) && w.until.is_none_or(|u| start < u)
}

/// Every check, once everything is read.
pub fn check(
    digests: &[DigestFile],
    logs: &[LogFile],
    hashes: &HashMap<String, Hashed>,
    window: &Window,
    now: Micros,
) -> (Vec<Problem>, Counts) {
    let mut c = Counts::default();
    let mut rows: Vec<Problem> = Vec::new();
    let mut seen: HashSet<(Kind, String)> = HashSet::new();
    let mut push = |rows: &mut Vec<Problem>, p: Problem| -> Option<usize> {
        if !seen.insert((p.kind, p.object.clone())) || !overlaps(window, p.period.0, p.period.1) {
            return None;
        }
        rows.push(p);
        Some(rows.len() - 1)
    };
    let period = |d: &DigestFile| match &d.read {
        Ok((p, _)) => (p.start, p.end),
        Err(_) => (d.name.end - HOUR, d.name.end),
    };
    let by_key: HashMap<&str, usize> = digests
        .iter()
        .enumerate()
        .map(|(i, d)| (d.key.as_str(), i))
        .collect();
    // Each chain (account, region, trail, backfill or not), in time order.
    let mut chains: BTreeMap<(&Origin, &str, bool), Vec<usize>> = BTreeMap::new();
    for (i, d) in digests.iter().enumerate() {
        let chain = (&d.origin, d.name.trail.as_str(), d.name.backfill);
        chains.entry(chain).or_default().push(i);
    }
    // A digest whose bad signature is told as `modified_digest` instead.
    let mut modified: HashSet<usize> = HashSet::new();
    let mut gaps: Vec<Period> = Vec::new();

    for (i, d) in digests.iter().enumerate() {
        let (start, end) = period(d);
        let in_window = overlaps(window, start, end);
        if in_window {
            c.digests_checked += 1;
            match &d.signature {
                Sig::Valid => c.signatures_valid += 1,
                Sig::Invalid(_) => c.signatures_invalid += 1,
                Sig::NotChecked(why) => {
                    c.signatures_not_checked += 1;
                    c.not_checked_reason.get_or_insert_with(|| why.clone());
                }
            }
            c.covered = Some(match c.covered {
                Some((a, b)) => (a.min(start), b.max(end)),
                None => (start, end),
            });
        }
        let (p, _) = match &d.read {
            Ok(r) => r,
            Err(_) if d.unreadable.is_some() => continue,
            Err(why) => {
                modified.insert(i);
                push(
                    &mut rows,
                    problem(Kind::ModifiedDigest, d, start, end, why.clone()),
                );
                continue;
            }
        };
        let said = layout_key(&p.content.digest_s3_object);
        let bucket = format!("s3://{}/", p.content.digest_s3_bucket);
        if said != Some(d.key.as_str())
            || (d.root.starts_with("s3://") && !d.root.starts_with(&bucket))
        {
            modified.insert(i);
            let detail = format!(
                "it says it is {}/{}: moved or copied here",
                p.content.digest_s3_bucket, p.content.digest_s3_object
            );
            push(
                &mut rows,
                problem(Kind::ModifiedDigest, d, start, end, detail),
            );
        }
    }

    for ((origin, _, _), members) in &chains {
        let mut members = members.clone();
        members.sort_by_key(|&i| (period(&digests[i]).1, i));
        for (pos, &i) in members.iter().enumerate() {
            let d = &digests[i];
            let Ok((p, _)) = &d.read else { continue };
            // The digest before this one in time, whatever the links say.
            let before = members[..pos]
                .iter()
                .rev()
                .find(|&&j| period(&digests[j]).1 <= p.start + CONTIGUOUS)
                .copied();
            let link = p.content.previous_digest_s3_object.as_deref();
            let Some(link) = link else {
                // Backfill digests come only when a late delivery needs one: hours between
                // them are no gap.
                if let Some(j) = before.filter(|_| !d.name.backfill) {
                    let e = period(&digests[j]).1;
                    if p.start - e > CONTIGUOUS {
                        let detail = format!(
                            "no digest from {} to {}: the chain starts again at this digest \
                             (log file validation was off, or the digests of this period were deleted)",
                            format_time(e),
                            format_time(p.start)
                        );
                        let row = push(
                            &mut rows,
                            problem(Kind::NoDigestPeriod, d, e, p.start, detail),
                        );
                        gaps.extend(row.map(|row| Period {
                            start: e,
                            end: p.start,
                            row,
                            origin,
                        }));
                    }
                }
                continue;
            };
            let link_key = layout_key(link).unwrap_or(link);
            match by_key.get(link_key) {
                None => {
                    // A run of missing hourly digests spans from the digest before; a missing
                    // backfill digest is its own hour (backfills are not hourly).
                    let named_end = link_key
                        .rsplit('/')
                        .next()
                        .and_then(DigestName::parse)
                        .map(|n| n.end);
                    let (gap_start, gap_end, run) = match (d.name.backfill, before, named_end) {
                        (true, _, Some(e)) => (e - HOUR, e, false),
                        (false, Some(j), _) => (period(&digests[j]).1, p.start, true),
                        _ => (p.start - HOUR, p.start, false),
                    };
                    let hours = ((gap_end - gap_start + HOUR / 2) / HOUR).max(1);
                    let detail = format!(
                        "named as the previous digest by {}; {} from {} to {}",
                        d.object,
                        if run {
                            format!("{hours} hourly digest(s) missing")
                        } else {
                            "missing".to_string()
                        },
                        format_time(gap_start),
                        format_time(gap_end)
                    );
                    let missing = Problem {
                        kind: Kind::MissingDigest,
                        origin: d.origin.clone(),
                        object: format!("{}{link_key}", d.root),
                        period: (gap_start, gap_end),
                        detail,
                    };
                    if let Some(row) = push(&mut rows, missing) {
                        gaps.push(Period {
                            start: gap_start,
                            end: gap_end,
                            row,
                            origin,
                        });
                    }
                }
                Some(&j) => {
                    let prev = &digests[j];
                    let Ok((_, prev_sha)) = &prev.read else {
                        continue; // told above as a modified digest
                    };
                    let recorded = p.content.previous_digest_hash_value.as_deref();
                    if recorded.is_some_and(|h| h.eq_ignore_ascii_case(prev_sha)) {
                        continue;
                    }
                    let recorded = recorded.unwrap_or("null");
                    let (ps, pe) = period(prev);
                    let (kind, who, detail) = match (&prev.signature, &d.signature) {
                        (Sig::Invalid(_), _) => (
                            Kind::ModifiedDigest,
                            (j, ps, pe),
                            format!(
                                "its content was changed: its signature fails, and {} records SHA-256 {recorded}, not {prev_sha}",
                                d.object
                            ),
                        ),
                        (_, Sig::Invalid(_)) => (
                            Kind::ModifiedDigest,
                            (i, p.start, p.end),
                            format!(
                                "its content was changed: its signature fails, and its previousDigestHashValue {recorded} is not the SHA-256 of {} ({prev_sha})",
                                prev.object
                            ),
                        ),
                        (Sig::Valid, Sig::Valid) => (
                            Kind::ChainBreak,
                            (i, p.start, p.end),
                            format!(
                                "validly signed, but its previousDigestHashValue {recorded} is not the SHA-256 of {} ({prev_sha})",
                                prev.object
                            ),
                        ),
                        _ => (
                            Kind::ChainBreak,
                            (i, p.start, p.end),
                            format!(
                                "its previousDigestHashValue {recorded} is not the SHA-256 of {} ({prev_sha}): one of the two was changed (signatures not checked)",
                                prev.object
                            ),
                        ),
                    };
                    if kind == Kind::ModifiedDigest {
                        modified.insert(who.0);
                    }
                    push(
                        &mut rows,
                        problem(kind, &digests[who.0], who.1, who.2, detail),
                    );
                }
            }
        }
    }

    for (i, d) in digests.iter().enumerate() {
        let (start, end) = period(d);
        if let Sig::Invalid(why) = &d.signature
            && !modified.contains(&i)
        {
            push(
                &mut rows,
                problem(Kind::BadSignature, d, start, end, why.clone()),
            );
        }
    }

    // The log files the in-window digests list.
    let mut listed_anywhere: HashSet<&str> = HashSet::new();
    for d in digests {
        if let Ok((p, _)) = &d.read {
            listed_anywhere.extend(
                p.content
                    .log_files
                    .iter()
                    .filter_map(|l| layout_key(&l.s3_object)),
            );
        }
    }
    let mut checked: HashSet<&str> = HashSet::new();
    for d in digests {
        let Ok((p, _)) = &d.read else { continue };
        if !overlaps(window, p.start, p.end) {
            continue;
        }
        for l in &p.content.log_files {
            let Some(k) = layout_key(&l.s3_object) else {
                continue;
            };
            if !checked.insert(k) {
                continue;
            }
            let object = format!("{}{k}", d.root);
            let bad = |detail: String| Problem {
                kind: Kind::ModifiedLog,
                origin: d.origin.clone(),
                object: object.clone(),
                period: (p.start, p.end),
                detail,
            };
            match hashes.get(k) {
                Some(Hashed::Sha(h)) if h.eq_ignore_ascii_case(&l.hash_value) => {
                    c.log_files_checked += 1;
                    c.log_files_valid += 1;
                }
                Some(Hashed::Sha(h)) => {
                    c.log_files_checked += 1;
                    let detail = format!(
                        "the SHA-256 of its decompressed content is {h}; {} lists {}",
                        d.object, l.hash_value
                    );
                    push(&mut rows, bad(detail));
                }
                Some(Hashed::Corrupt(why)) => {
                    c.log_files_checked += 1;
                    push(&mut rows, bad(format!("{why}; {} lists it", d.object)));
                }
                Some(Hashed::Unreadable(_)) => c.log_files_unreadable += 1,
                Some(Hashed::Missing) | None => {
                    c.log_files_checked += 1;
                    let detail = format!("listed in {}, not found", d.object);
                    push(
                        &mut rows,
                        Problem {
                            kind: Kind::MissingLog,
                            ..bad(detail)
                        },
                    );
                }
            }
        }
    }

    // Coverage: every log file of the window in some digest.
    let mut present: HashMap<&Origin, Vec<(Micros, Micros)>> = HashMap::new();
    for d in digests {
        if let Ok((p, _)) = &d.read {
            present.entry(&d.origin).or_default().push((p.start, p.end));
        }
    }
    // The hours of digests that could not be read: nothing is known of their files.
    let unknown: Vec<(&Origin, Micros, Micros)> = digests
        .iter()
        .filter(|d| d.unreadable.is_some())
        .map(|d| {
            (
                &d.origin,
                d.name.end - HOUR - CONTIGUOUS,
                d.name.end + CONTIGUOUS,
            )
        })
        .collect();
    let mut uncovered: BTreeMap<(&Origin, usize), Vec<(Micros, &LogFile)>> = BTreeMap::new();
    let mut in_gap: HashMap<usize, u64> = HashMap::new();
    for l in logs {
        let Some(t) = l.delivered else { continue };
        if !overlaps(window, t, t + MINUTE) {
            continue;
        }
        c.log_files_found += 1;
        if listed_anywhere.contains(l.key.as_str()) {
            continue;
        }
        if let Some(g) = gaps
            .iter()
            .find(|g| *g.origin == l.origin && t + MINUTE > g.start && t < g.end)
        {
            *in_gap.entry(g.row).or_default() += 1;
            continue;
        }
        if unknown
            .iter()
            .any(|&(o, s, e)| *o == l.origin && t + MINUTE > s && t < e)
        {
            continue;
        }
        let periods = present.get(&l.origin).map(Vec::as_slice).unwrap_or(&[]);
        if periods.iter().any(|&(s, e)| t + MINUTE > s && t < e) {
            push(
                &mut rows,
                Problem {
                    kind: Kind::UnlistedLog,
                    origin: l.origin.clone(),
                    object: l.object.clone(),
                    period: (t, t + MINUTE),
                    detail: "in no digest, though digests cover its delivery time: added by someone other than CloudTrail".into(),
                },
            );
            continue;
        }
        let last_end = periods.iter().map(|p| p.1).max();
        if now - t < PENDING && last_end.is_none_or(|e| t >= e - CONTIGUOUS) {
            c.pending += 1;
            continue;
        }
        // Which stretch between digests it falls in.
        let stretch = periods.iter().filter(|p| p.1 <= t).count();
        uncovered
            .entry((&l.origin, stretch))
            .or_default()
            .push((t, l));
    }
    for (row, n) in in_gap {
        rows[row].detail.push_str(&format!(
            "; {n} log file(s) delivered in this period are in no digest and cannot be checked"
        ));
    }
    for ((origin, _), mut files) in uncovered {
        files.sort_by(|a, b| (a.0, &a.1.object).cmp(&(b.0, &b.1.object)));
        let (first, last) = (files[0].0, files[files.len() - 1].0 + MINUTE);
        let detail = format!(
            "{} log file(s) delivered from {} to {} are in no digest: no digest covers this period \
             (log file validation was off, or its digests were deleted)",
            files.len(),
            format_time(first),
            format_time(last)
        );
        push(
            &mut rows,
            Problem {
                kind: Kind::NoDigestPeriod,
                origin: origin.clone(),
                object: files[0].1.object.clone(),
                period: (first, last),
                detail,
            },
        );
    }

    let bad_digests: HashSet<&str> = rows
        .iter()
        .filter(|r| {
            matches!(
                r.kind,
                Kind::ModifiedDigest | Kind::BadSignature | Kind::ChainBreak
            )
        })
        .map(|r| r.object.as_str())
        .collect();
    c.digests_valid = digests
        .iter()
        .filter(|d| {
            let (s, e) = period(d);
            overlaps(window, s, e)
                && d.unreadable.is_none()
                && !bad_digests.contains(d.object.as_str())
        })
        .count() as u64;
    rows.sort_by(|a, b| {
        (a.period.0, &a.origin, a.kind, &a.object).cmp(&(b.period.0, &b.origin, b.kind, &b.object))
    });
    (rows, c)
}

fn problem(kind: Kind, d: &DigestFile, start: Micros, end: Micros, detail: String) -> Problem {
    Problem {
        kind,
        origin: d.origin.clone(),
        object: d.object.clone(),
        period: (start, end),
        detail,
    }
}
