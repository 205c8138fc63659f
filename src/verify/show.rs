//! `verify`'s document: one row per problem, then the summary.
//!
//! JSON (the contract): `{"verdict", "problems": [{kind, account, region, object, period_start,
//! period_end, detail}], "summary": {…}}`; NDJSON the same object on one line; CSV a block of
//! problems and a block of the summary; a table the problems, then the summary's lines.

use serde_json::{Value as Json, json};

use super::model::{Counts, Kind, Problem};
use crate::document::{Column, Composite, Part, Rows, Value};
use crate::time::{Micros, Window, format_time};

const COLUMNS: [Column; 7] = [
    Column::text("kind").rank(0),
    Column::text("account").rank(3),
    Column::text("region").rank(3),
    Column::text("object").elide().rank(0),
    Column::time("period_start").rank(1),
    Column::time("period_end").rank(3),
    Column::text("detail").wrap().rank(1),
];

fn time(t: Option<Micros>) -> Json {
    t.map_or(Json::Null, |t| Json::String(format_time(t)))
}

/// The verdict in a few words: what the stderr line of `--verify` says too.
pub fn verdict(problems: &[Problem], c: &Counts) -> String {
    let signatures = if c.signatures_invalid > 0 {
        format!("{} signature(s) invalid", c.signatures_invalid)
    } else if c.signatures_not_checked > 0 {
        format!(
            "signatures not checked ({})",
            c.not_checked_reason.as_deref().unwrap_or("no signature")
        )
    } else if c.signatures_valid > 0 {
        "signatures valid".into()
    } else {
        "no signature to check".into()
    };
    let head = format!(
        "{} log file(s), {} digest(s), {signatures}",
        c.log_files_checked, c.digests_checked
    );
    if problems.is_empty() {
        format!("verified: {head}")
    } else {
        let mut counts: Vec<String> = Vec::new();
        for k in Kind::ALL {
            let n = problems.iter().filter(|p| p.kind == k).count();
            if n > 0 {
                counts.push(format!("{n} {}", k.name()));
            }
        }
        format!("integrity problems: {} ({head})", counts.join(", "))
    }
}

pub fn document(problems: &[Problem], c: &Counts, window: &Window) -> Composite {
    let rows: Vec<Vec<Value>> = problems
        .iter()
        .map(|p| {
            vec![
                Value::Str(p.kind.name().into()),
                Value::Str(p.origin.account.clone()),
                Value::Str(p.origin.region.clone()),
                Value::Str(p.object.clone()),
                Value::Time(p.period.0),
                Value::Time(p.period.1),
                Value::Str(p.detail.clone()),
            ]
        })
        .collect();
    let problems_json: Vec<Json> = problems
        .iter()
        .map(|p| {
            json!({
                "kind": p.kind.name(),
                "account": p.origin.account,
                "region": p.origin.region,
                "object": p.object,
                "period_start": format_time(p.period.0),
                "period_end": format_time(p.period.1),
                "detail": p.detail,
            })
        })
        .collect();
    let mut per_kind = serde_json::Map::new();
    for k in Kind::ALL {
        let n = problems.iter().filter(|p| p.kind == k).count();
        per_kind.insert(k.name().into(), json!(n));
    }
    let summary = json!({
        "window_start": time(window.since),
        "window_end": time(window.until),
        "digests_checked": c.digests_checked,
        "digests_valid": c.digests_valid,
        "log_files_found": c.log_files_found,
        "log_files_checked": c.log_files_checked,
        "log_files_valid": c.log_files_valid,
        "log_files_unreadable": c.log_files_unreadable,
        "log_files_pending": c.pending,
        "signatures_valid": c.signatures_valid,
        "signatures_invalid": c.signatures_invalid,
        "signatures_not_checked": c.signatures_not_checked,
        "signatures_not_checked_reason": c.not_checked_reason,
        "covered_start": time(c.covered.map(|c| c.0)),
        "covered_end": time(c.covered.map(|c| c.1)),
        "problems": Json::Object(per_kind.clone()),
    });
    let verdict_word = if problems.is_empty() {
        "valid"
    } else {
        "problems"
    };
    let json = json!({
        "verdict": verdict_word,
        "problems": problems_json,
        "summary": summary,
    });
    let span = |a: Option<Micros>, b: Option<Micros>| {
        let t = |t: Option<Micros>| t.map_or("…".to_string(), format_time);
        format!("{} to {}", t(a), t(b))
    };
    let per_kind: Vec<String> = Kind::ALL
        .iter()
        .filter_map(|&k| {
            let n = problems.iter().filter(|p| p.kind == k).count();
            (n > 0).then(|| format!("{n} {}", k.name()))
        })
        .collect();
    let signatures = match (&c.not_checked_reason, c.signatures_not_checked) {
        (Some(why), n) if n > 0 => format!(
            "{} valid, {} invalid, {n} not checked ({why})",
            c.signatures_valid, c.signatures_invalid
        ),
        _ => format!(
            "{} valid, {} invalid",
            c.signatures_valid, c.signatures_invalid
        ),
    };
    let lines: [(&str, String); 5] = [
        ("window", span(window.since, window.until)),
        (
            "digests",
            format!(
                "{} checked, {} valid; they cover {}",
                c.digests_checked,
                c.digests_valid,
                span(c.covered.map(|c| c.0), c.covered.map(|c| c.1))
            ),
        ),
        (
            "log files",
            format!(
                "{} found in the window; {} listed in its digests and checked, {} valid; {} unreadable; {} too recent for a digest",
                c.log_files_found,
                c.log_files_checked,
                c.log_files_valid,
                c.log_files_unreadable,
                c.pending
            ),
        ),
        ("signatures", signatures),
        (
            "problems",
            if per_kind.is_empty() {
                "none".to_string()
            } else {
                per_kind.join(", ")
            },
        ),
    ];
    let summary_rows: Vec<Vec<Value>> = lines
        .into_iter()
        .map(|(k, v)| vec![Value::Str(k.into()), Value::Str(v)])
        .collect();
    let parts = vec![
        Part::Rows(
            "problems",
            Rows {
                columns: COLUMNS.to_vec(),
                rows,
                footer: vec![],
                notes: vec![],
            },
        ),
        Part::Rows(
            "summary",
            Rows {
                columns: vec![
                    Column::text("item").rank(0),
                    Column::text("value").wrap().rank(0),
                ],
                rows: summary_rows,
                footer: vec![],
                notes: vec![],
            },
        ),
        Part::Line(verdict(problems, c)),
    ];
    Composite {
        json,
        parts,
        empty: problems.is_empty(),
        notes: vec![],
    }
}
