//! `detect --engine athena`: every rule that compiles (`sigma::sql`) as one query, a `CASE` per
//! rule in the `ctq_rules` column, one row per (rule, event) unnested from it; the rows read back
//! as the local engine's `Hits` and `Detail`.

use super::rows::{Detail, Hits};
use crate::athena::results::ResultTable;
use crate::athena::sql::{F, Query};
use crate::exit::{Repeated, warn_repeated};
use crate::sigma::{self, RuleSet};

/// The query, and how many rules run on the local engine only (each named on stderr).
pub fn query(set: &RuleSet, details: bool) -> Result<(Query, u64), String> {
    let mut cases = Vec::new();
    let mut local_only = 0;
    for (i, r) in set.rules.iter().enumerate().filter(|(_, r)| r.reported) {
        match sigma::sql::predicate(&r.parsed) {
            Ok(p) => cases.push(format!("CASE WHEN {p} THEN {i} END")),
            Err(why) => {
                local_only += 1;
                warn_repeated(
                    Repeated::SkippedRule,
                    &format!(
                        "{}: rule {:?}: runs on the local engine only: {why}",
                        r.origin.as_str(),
                        r.title
                    ),
                );
            }
        }
    }
    for c in &set.correlations {
        local_only += 1;
        warn_repeated(
            Repeated::SkippedRule,
            &format!(
                "{}: correlation {:?}: runs on the local engine only (correlations are not \
                 compiled to SQL)",
                c.origin.as_str(),
                c.title
            ),
        );
    }
    if cases.is_empty() {
        return Err("none of the rules can run on Athena (named above); run detect on the \
                    local engine"
            .into());
    }
    let rules = format!(
        "filter(ARRAY[\n      {}], ctq_r -> ctq_r IS NOT NULL)",
        cases.join(",\n      ")
    );
    let select = if details {
        "SELECT rule, to_iso8601(ts) AS event_time, event_id, event_name, event_source, \
         principal, source_ip\nFROM m"
    } else {
        "SELECT rule, count(*) AS \"count\", to_iso8601(min(ts)) AS first_seen, \
         to_iso8601(max(ts)) AS last_seen, count(DISTINCT principal) AS principals\n\
         FROM m\nGROUP BY rule"
    };
    let query = Query {
        fields: vec![
            F::Principal,
            F::EventId,
            F::EventName,
            F::EventSource,
            F::SourceIp,
        ],
        extra: vec![("ctq_rules".into(), rules)],
        conditions: vec!["cardinality(ctq_rules) > 0".into()],
        ctes: vec![
            "m AS (\n  SELECT w.*, r.rule\n  FROM w CROSS JOIN UNNEST(w.ctq_rules) AS r(rule)\n)"
                .into(),
        ],
        select: select.into(),
    };
    Ok((query, local_only))
}

/// What each rule matched (per `RuleSet::head` entry), and the `--details` rows.
pub fn rows(
    set: &RuleSet,
    details: bool,
    t: &ResultTable<'_>,
) -> anyhow::Result<(Vec<Hits>, Vec<Detail>)> {
    let mut hits = vec![Hits::default(); set.entries()];
    let mut rows = Vec::new();
    for row in t.all() {
        let rule = t.count(row, "rule")?;
        let Some(h) = hits.get_mut(rule as usize) else {
            anyhow::bail!("Athena query {}: no rule {rule}", t.query_id());
        };
        if details {
            let time = t.time(row, "event_time")?;
            let principal = t.cell(row, "principal")?.unwrap_or("unknown");
            h.add(time, principal);
            let text = |name: &str| -> anyhow::Result<Option<String>> {
                Ok(t.cell(row, name)?.map(str::to_string))
            };
            rows.push(Detail {
                time,
                rule: rule as u32,
                event_id: text("event_id")?,
                event_name: text("event_name")?,
                event_source: text("event_source")?,
                principal: principal.to_string(),
                source_ip: text("source_ip")?,
            });
        } else {
            *h = Hits::counted(
                t.count(row, "count")?,
                t.time(row, "first_seen")?,
                t.time(row, "last_seen")?,
                t.count(row, "principals")?,
            );
        }
    }
    Ok((hits, rows))
}
