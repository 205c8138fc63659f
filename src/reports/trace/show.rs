//! What `trace` shows of a chain: one object in JSON; the chain, its origin, the candidates
//! when there are several, and the activity in a table.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::read::{Target, span_text};
use super::walk::{Facts, Link, chain};
use crate::document::{Column, Composite, Document, Part, Rows, Value as Cell};

fn link_json(f: &Facts<'_>, l: &Link) -> Value {
    let issued = |(i, rule): &(usize, &str)| {
        let issue = &f.issues[*i];
        json!({"issued_by_event": issue.call.json(), "matched_on": rule, "issuer": issue.caller.json()})
    };
    let (by, rule) = match l.issued.as_slice() {
        [(i, rule)] => (f.issues[*i].call.json(), json!(rule)),
        _ => (Value::Null, Value::Null),
    };
    let mut v = json!({
        "access_key_id": l.access_key_id, "principal": l.principal, "principal_id": l.principal_id,
        "account": l.account, "type": l.kind, "role": l.role,
        "source_identity": l.source_identity, "mfa_authenticated": l.mfa,
        "issued_by_event": by, "matched_on": rule,
    });
    if l.issued.len() > 1
        && let Some(m) = v.as_object_mut()
    {
        m.insert("candidates".into(), l.issued.iter().map(issued).collect());
    }
    v
}

/// What each link's keys did in the window: (key, principal, event name, count, errors).
fn activity(f: &Facts<'_>, links: &[Link]) -> Vec<(String, Option<String>, String, u64, u64)> {
    let mut rows = Vec::new();
    let mut done = HashSet::new();
    for l in links {
        for k in &l.keys {
            let Some(used) = f.keys.get(k).filter(|_| done.insert(k.clone())) else {
                continue;
            };
            let mut names: Vec<&(std::sync::Arc<str>, u64, u64)> = used.names.iter().collect();
            names.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            for (name, n, e) in names {
                rows.push((k.clone(), used.identity.arn.clone(), name.to_string(), *n, *e));
            }
        }
    }
    rows
}

pub fn document(
    f: &Facts<'_>,
    target: &Target,
    who: &str,
    lookback: crate::time::Micros,
    notes: Vec<String>,
) -> Document {
    let (links, origin) = chain(f, target);
    let acts = activity(f, &links);
    let json = json!({
        "asked": who,
        "lookback": span_text(lookback),
        "chain": links.iter().map(|l| link_json(f, l)).collect::<Vec<_>>(),
        "origin": origin.json(),
        "activity": acts.iter().map(|(k, p, n, c, e)| json!({
            "access_key_id": k, "principal": p, "event_name": (!n.is_empty()).then_some(n),
            "count": c, "errors": e,
        })).collect::<Vec<_>>(),
    });
    let chain_rows = Rows {
        columns: vec![
            Column::count("step"),
            Column::text("access_key_id"),
            Column::text("principal").elide(),
            Column::text("account"),
            Column::text("issued_by").rank(1),
            Column::time("event_time").rank(1),
            Column::text("source_ip").rank(2),
            Column::text("matched_on").wrap().rank(3),
        ],
        rows: links
            .iter()
            .enumerate()
            .map(|(step, l)| {
                let one = match l.issued.as_slice() {
                    [(i, rule)] => Some((&f.issues[*i], *rule)),
                    _ => None,
                };
                vec![
                    Cell::Count(step as u64 + 1),
                    Cell::str(l.access_key_id.as_deref()),
                    Cell::str(l.principal.as_deref().or(l.principal_id.as_deref())),
                    Cell::str(l.account.as_deref()),
                    Cell::str(one.and_then(|(i, _)| i.call.event_name.as_deref())),
                    one.and_then(|(i, _)| i.call.time).map_or(Cell::Null, Cell::Time),
                    Cell::str(one.and_then(|(i, _)| i.call.source_ip.as_deref())),
                    Cell::str(one.map(|(_, r)| r)),
                ]
            })
            .collect(),
        footer: vec![],
        notes: vec![],
    };
    let mut parts = vec![Part::Rows("chain", chain_rows), Part::Line(origin.line())];
    if let Some(l) = links.last().filter(|l| l.issued.len() > 1) {
        parts.push(Part::Rows(
            "candidates",
            Rows {
                columns: vec![
                    Column::text("event_name"),
                    Column::time("event_time"),
                    Column::text("caller").elide(),
                    Column::text("issued_key"),
                    Column::text("matched_on").wrap(),
                ],
                rows: l
                    .issued
                    .iter()
                    .map(|(i, rule)| {
                        let issue = &f.issues[*i];
                        vec![
                            Cell::str(issue.call.event_name.as_deref()),
                            issue.call.time.map_or(Cell::Null, Cell::Time),
                            Cell::str(issue.caller.arn.as_deref().or(issue.caller.principal_id.as_deref())),
                            Cell::str(issue.key.as_deref()),
                            Cell::str(Some(rule)),
                        ]
                    })
                    .collect(),
                footer: vec![],
                notes: vec![],
            },
        ));
    }
    parts.push(Part::Rows(
        "activity",
        Rows {
            columns: vec![
                Column::text("access_key_id"),
                Column::text("event_name"),
                Column::count("count"),
                Column::count("errors"),
            ],
            rows: acts
                .iter()
                .map(|(k, _, n, c, e)| {
                    vec![Cell::Str(k.clone()), Cell::Str(n.clone()), Cell::Count(*c), Cell::Count(*e)]
                })
                .collect(),
            footer: vec![],
            notes: vec![],
        },
    ));
    let mut notes = notes;
    let empty = links.len() == 1
        && links[0].issued.is_empty()
        && !links[0].keys.iter().any(|k| f.keys.contains_key(k));
    if empty {
        notes.push(format!(
            "nothing in the window (nor in the {} before it) names {}",
            span_text(lookback),
            crate::escape::escape_control(who)
        ));
    }
    Composite {
        json,
        parts,
        empty,
        notes,
    }
    .into()
}
