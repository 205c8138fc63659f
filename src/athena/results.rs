//! Athena's rows (text or NULL per cell) back into documents, so that both engines print
//! through the same renderers with the same field names and types. Each cell is decoded by its
//! column's kind (`document::Kind`); columns named `ctq_*` carry footer totals.

use std::collections::HashMap;

use anyhow::{Context as _, anyhow};

use crate::document::{Column, Kind, Rows, Value};
use crate::time::{self, Micros};

/// What a finished query returned.
#[derive(Debug, Clone, Default)]
pub struct QueryResult {
    pub id: String,
    pub columns: Vec<String>,
    /// Each cell as Athena returns it: text, or None for SQL NULL.
    pub rows: Vec<Vec<Option<String>>>,
    pub scanned_bytes: Option<i64>,
    pub engine_millis: Option<i64>,
    pub output_location: Option<String>,
}

/// A query's result with its columns found by name.
pub struct ResultTable<'a> {
    res: &'a QueryResult,
    index: HashMap<&'a str, usize>,
}

impl<'a> ResultTable<'a> {
    pub fn new(res: &'a QueryResult) -> Self {
        let index = res
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i))
            .collect();
        ResultTable { res, index }
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

    /// Every row as returned, totals-only rows included.
    pub fn all(&self) -> &'a [Vec<Option<String>>] {
        &self.res.rows
    }

    pub fn cell<'r>(
        &self,
        row: &'r [Option<String>],
        name: &str,
    ) -> anyhow::Result<Option<&'r str>> {
        let i = self.col(name)?;
        Ok(row.get(i).and_then(|c| c.as_deref()))
    }

    /// A count cell; NULL is 0.
    pub fn count(&self, row: &[Option<String>], name: &str) -> anyhow::Result<u64> {
        match self.cell(row, name)? {
            None => Ok(0),
            Some(t) => t.parse().map_err(|_| self.bad(name, t, "a count")),
        }
    }

    /// A time cell.
    pub fn time(&self, row: &[Option<String>], name: &str) -> anyhow::Result<Option<Micros>> {
        self.cell(row, name)?
            .map(|s| time::parse_event_time(s).ok_or_else(|| self.bad(name, s, "a time")))
            .transpose()
    }

    /// The error for a cell that does not hold what its column should.
    pub fn bad(&self, column: &str, text: &str, want: &str) -> anyhow::Error {
        anyhow!(
            "Athena query {}: column '{column}' holds '{text}', not {want}",
            self.res.id
        )
    }

    /// One cell, typed by its column's kind.
    fn value(&self, row: &[Option<String>], column: Column) -> anyhow::Result<Value> {
        let name = column.name;
        let Some(text) = self.cell(row, name)? else {
            return Ok(match column.kind {
                Kind::List => Value::List(vec![]),
                _ => Value::Null,
            });
        };
        Ok(match column.kind {
            Kind::Count => Value::Count(text.parse().map_err(|_| self.bad(name, text, "a count"))?),
            Kind::Time => Value::Time(
                time::parse_event_time(text).ok_or_else(|| self.bad(name, text, "a time"))?,
            ),
            Kind::Bool => Value::Bool(match text {
                "true" => true,
                "false" => false,
                _ => return Err(self.bad(name, text, "a boolean")),
            }),
            Kind::List => Value::List(
                serde_json::from_str(text)
                    .with_context(|| format!("Athena query {}: {name}", self.res.id))?,
            ),
            Kind::Json => Value::Json(serde_json::Value::from(text).to_string()),
            Kind::Text => Value::Str(text.to_string()),
        })
    }

    /// One printed row: the cells of `columns`.
    pub fn row(&self, r: &[Option<String>], columns: &[Column]) -> anyhow::Result<Vec<Value>> {
        columns.iter().map(|c| self.value(r, *c)).collect()
    }

    /// The rows that are events or groups (not the lone totals row of an empty result), as the
    /// document of `columns` with `footer`.
    pub fn rows(&self, columns: Vec<Column>, footer: Vec<String>) -> anyhow::Result<Rows> {
        let marker = self.index.get("ctq_row").copied();
        let rows = self
            .res
            .rows
            .iter()
            .filter(move |r| marker.is_none_or(|i| r.get(i).is_some_and(|c| c.is_some())))
            .map(|r| self.row(r, &columns))
            .collect::<anyhow::Result<_>>()?;
        Ok(Rows {
            columns,
            rows,
            footer,
            notes: vec![],
        })
    }

    /// A footer total, carried on every row (0 when there are no rows at all).
    pub fn total(&self, name: &str) -> anyhow::Result<u64> {
        match self.res.rows.first() {
            Some(r) => self.count(r, name),
            None => Ok(0),
        }
    }

    pub fn query_id(&self) -> &str {
        &self.res.id
    }
}
