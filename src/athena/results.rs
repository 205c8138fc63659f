//! Athena's rows (text or NULL per cell) back into the local engine's documents, so that both
//! engines print through the same renderers with the same field names and types.

use std::collections::HashMap;

use anyhow::{Context, anyhow, bail};

use super::client::QueryResult;
use crate::config::ReportSpec;
use crate::render::{Bucket, Document, Implausible, Output, Section, Summary, Value};
use crate::reports::{bucket, console, errors, events, network, root, sts, summary};
use crate::time::{self, HOUR};

/// A result with its columns found by name.
struct Table<'a> {
    res: &'a QueryResult,
    index: HashMap<&'a str, usize>,
}

impl<'a> Table<'a> {
    fn new(res: &'a QueryResult) -> Self {
        let index = res
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i))
            .collect();
        Table { res, index }
    }

    fn col(&self, name: &str) -> anyhow::Result<usize> {
        self.index.get(name).copied().ok_or_else(|| {
            anyhow!(
                "Athena query {}: the result has no column '{name}' (it has: {})",
                self.res.id,
                self.res.columns.join(", ")
            )
        })
    }

    fn cell<'r>(&self, row: &'r [Option<String>], name: &str) -> anyhow::Result<Option<&'r str>> {
        let i = self.col(name)?;
        Ok(row.get(i).and_then(|c| c.as_deref()))
    }

    fn count(&self, row: &[Option<String>], name: &str) -> anyhow::Result<u64> {
        match self.cell(row, name)? {
            None => Ok(0),
            Some(t) => t.parse().map_err(|_| self.bad(name, t, "a count")),
        }
    }

    fn bad(&self, column: &str, text: &str, want: &str) -> anyhow::Error {
        anyhow!(
            "Athena query {}: column '{column}' holds '{text}', not {want}",
            self.res.id
        )
    }

    /// One cell as the local engine types it, by column name.
    fn value(&self, row: &[Option<String>], name: &str) -> anyhow::Result<Value> {
        let Some(text) = self.cell(row, name)? else {
            return Ok(match name {
                "source_ips" => Value::List(vec![]),
                _ => Value::Null,
            });
        };
        Ok(match name {
            "count" => Value::Count(text.parse().map_err(|_| self.bad(name, text, "a count"))?),
            "event_time" | "first_seen" | "last_seen" => Value::Time(
                time::parse_event_time(text).ok_or_else(|| self.bad(name, text, "a time"))?,
            ),
            "mfa_used" => Value::Bool(match text {
                "true" => true,
                "false" => false,
                _ => return Err(self.bad(name, text, "a boolean")),
            }),
            "source_ips" => Value::List(
                serde_json::from_str(text)
                    .with_context(|| format!("Athena query {}: source_ips", self.res.id))?,
            ),
            _ => Value::Str(text.to_string()),
        })
    }

    /// The rows that are events or groups (not the lone totals row of an empty result).
    fn rows(&self) -> impl Iterator<Item = &'a Vec<Option<String>>> {
        let marker = self.index.get("ctq_row").copied();
        self.res
            .rows
            .iter()
            .filter(move |r| marker.is_none_or(|i| r.get(i).is_some_and(|c| c.is_some())))
    }

    /// One printed row: the cells of `columns`.
    fn row(&self, r: &[Option<String>], columns: &[&str]) -> anyhow::Result<Vec<Value>> {
        columns.iter().map(|c| self.value(r, c)).collect()
    }

    fn output(&self, columns: &[&'static str], footer: Vec<String>) -> anyhow::Result<Output> {
        let rows = self
            .rows()
            .map(|r| self.row(r, columns))
            .collect::<anyhow::Result<_>>()?;
        Ok(Output {
            columns: columns.to_vec(),
            rows,
            footer,
        })
    }

    /// A footer total, carried on every row (0 when there are no rows at all).
    fn total(&self, name: &str) -> anyhow::Result<u64> {
        match self.res.rows.first() {
            Some(r) => self.count(r, name),
            None => Ok(0),
        }
    }
}

/// The report's document from the rows of its query (`sql::query`).
pub fn document(report: &ReportSpec, res: &QueryResult) -> anyhow::Result<Document> {
    let t = Table::new(res);
    let doc: Document = match report {
        ReportSpec::StsEndpoints { details: true } => {
            let footer = sts::footer(
                t.total("ctq_global")?,
                t.total("ctq_regional")?,
                t.total("ctq_no_host")?,
            );
            t.output(&sts::DETAIL_COLUMNS, footer)?.into()
        }
        ReportSpec::StsEndpoints { details: false } => {
            // The group without a host header is the footer's third total, not a row.
            let (mut global, mut regional, mut no_host) = (0, 0, 0);
            let mut rows = Vec::new();
            for r in &res.rows {
                let n = t.count(r, "count")?;
                match t.cell(r, "endpoint")? {
                    None => no_host += n,
                    Some(e) => {
                        if e == "global" {
                            global += n;
                        } else {
                            regional += n;
                        }
                        rows.push(t.row(r, &sts::COLUMNS)?);
                    }
                }
            }
            Output {
                columns: sts::COLUMNS.to_vec(),
                rows,
                footer: sts::footer(global, regional, no_host),
            }
            .into()
        }
        ReportSpec::RootActivity { details } => {
            let columns: &[&str] = if *details {
                &root::DETAIL_COLUMNS
            } else {
                &root::COLUMNS
            };
            t.output(columns, vec![])?.into()
        }
        ReportSpec::Errors { .. } => {
            let total = t.total("ctq_kinds")? as usize;
            let out = t.output(&errors::COLUMNS, vec![])?;
            let footer = errors::footer(out.rows.len(), total);
            Output { footer, ..out }.into()
        }
        ReportSpec::WhoTouchedBucket { details, .. } => {
            let columns: &[&str] = if *details {
                &bucket::DETAIL_COLUMNS
            } else {
                &bucket::COLUMNS
            };
            t.output(columns, vec![])?.into()
        }
        ReportSpec::Events { .. } => t.output(&events::DEFAULT_COLUMNS, vec![])?.into(),
        ReportSpec::ConsoleLogins { .. } => {
            let footer = console::footer(
                t.total("ctq_successes")?,
                t.total("ctq_failures")?,
                t.total("ctq_without_mfa")?,
                t.total("ctq_root")?,
            );
            t.output(&console::COLUMNS, footer)?.into()
        }
        ReportSpec::NetworkActivity { .. } => t.output(&network::COLUMNS, vec![])?.into(),
        ReportSpec::Summary { .. } => summary_document(&t)?.into(),
        ReportSpec::AthenaDdl { .. } => bail!("athena ddl has no query"),
    };
    Ok(doc)
}

fn summary_document(t: &Table<'_>) -> anyhow::Result<Summary> {
    let mut doc = Summary {
        events: 0,
        errors: 0,
        first: None,
        last: None,
        implausible: Implausible::default(),
        sections: summary::SECTIONS
            .iter()
            .map(|(name, key, _)| Section {
                name,
                key,
                rows: vec![],
            })
            .collect(),
        bucket: Bucket::Hour,
        timeline: vec![],
    };
    let mut hours = HashMap::new();
    let time = |r: &[Option<String>], c: &str| -> anyhow::Result<Option<i64>> {
        t.cell(r, c)?
            .map(|s| time::parse_event_time(s).ok_or_else(|| t.bad(c, s, "a time")))
            .transpose()
    };
    for r in &t.res.rows {
        let n = t.count(r, "count")?;
        match t.cell(r, "section")? {
            Some("totals") => {
                doc.events = n;
                doc.errors = t.count(r, "ctq_errors")?;
                doc.first = time(r, "first_seen")?;
                doc.last = time(r, "last_seen")?;
                doc.implausible = Implausible {
                    count: t.count(r, "ctq_implausible")?,
                    first: time(r, "ctq_implausible_first")?,
                    last: time(r, "ctq_implausible_last")?,
                };
            }
            // One row per bucket of the query's choice; `summary::timeline` puts each into the
            // bucket the local engine chooses.
            Some("timeline") => {
                if let Some(start) = time(r, "key")? {
                    *hours.entry(start.div_euclid(HOUR)).or_insert(0) += n;
                }
            }
            Some(name) => {
                let section = doc
                    .sections
                    .iter_mut()
                    .find(|s| s.name == name)
                    .ok_or_else(|| t.bad("section", name, "a summary section"))?;
                section
                    .rows
                    .push((t.cell(r, "key")?.map(str::to_string), n));
            }
            None => bail!("Athena query {}: a summary row without a section", t.res.id),
        }
    }
    (doc.bucket, doc.timeline) = summary::timeline(doc.first, doc.last, &hours);
    Ok(doc)
}
