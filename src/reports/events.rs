//! `events`: search. Every event that passes the filters, newest first (or oldest), as rows of
//! default columns, of chosen field paths (`--fields`), or as the raw JSON (`--raw`).

use std::collections::HashMap;

use serde_json::value::RawValue;

use super::bucket::touches_bucket;
use super::{Details, Report};
use crate::event::Event;
use crate::net::IpNet;
use crate::render::{Document, Output, Value};
use crate::time::Micros;

/// The filters of `events`. Repeats of one filter are OR; different filters are AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilters {
    pub users: Vec<String>,
    pub principals: Vec<String>,
    pub access_keys: Vec<String>,
    pub event_names: Vec<String>,
    pub event_sources: Vec<String>,
    pub source_ips: Vec<IpNet>,
    pub buckets: Vec<String>,
    pub vpces: Vec<String>,
    pub error_codes: Vec<String>,
    pub errors_only: bool,
    pub read_only: Option<bool>,
    pub categories: Vec<String>,
}

fn any<T>(list: &[T], f: impl Fn(&T) -> bool) -> bool {
    list.is_empty() || list.iter().any(f)
}

fn is(field: &Option<impl AsRef<str>>, want: &str) -> bool {
    field.as_ref().is_some_and(|f| f.as_ref() == want)
}

impl EventFilters {
    pub fn matches(&self, ev: &Event<'_>) -> bool {
        let u = &ev.user_identity;
        any(&self.users, |name| {
            is(&u.user_name, name)
                || is(&u.issuer_user_name, name)
                || ev.arn_last_segment() == Some(name)
        }) && any(&self.principals, |p| ev.principal().contains(p.as_str()))
            && any(&self.access_keys, |k| is(&u.access_key_id, k))
            && any(&self.event_names, |n| is(&ev.event_name, n))
            && any(&self.event_sources, |s| is(&ev.event_source, s))
            && any(&self.source_ips, |net| {
                ev.source_ip.as_deref().is_some_and(|ip| net.matches(ip))
            })
            && any(&self.buckets, |b| touches_bucket(ev, b))
            && any(&self.vpces, |v| is(&ev.vpc_endpoint_id, v))
            && any(&self.error_codes, |c| is(&ev.error_code, c))
            && (!self.errors_only || ev.error_code.is_some())
            && self.read_only.is_none_or(|r| ev.read_only == Some(r))
            && any(&self.categories, |c| ev.category() == c)
    }
}

/// What each row shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Columns {
    Default,
    /// CloudTrail field paths such as `userIdentity.arn`.
    Fields(Vec<String>),
    /// The event's JSON as it appeared in the log, one per line.
    Raw,
}

pub const DEFAULT_COLUMNS: [&str; 8] = [
    "event_time",
    "account",
    "region",
    "event_source",
    "event_name",
    "principal",
    "source_ip",
    "error_code",
];

#[derive(Debug, Clone)]
pub struct Events {
    filters: EventFilters,
    columns: Columns,
    rows: Details,
}

impl Events {
    pub fn new(
        filters: EventFilters,
        columns: Columns,
        oldest_first: bool,
        limit: Option<usize>,
    ) -> Self {
        Events {
            filters,
            columns,
            rows: Details::new(oldest_first, limit),
        }
    }
}

impl Report for Events {
    type Out = Document;

    fn wants_raw(&self) -> bool {
        self.columns != Columns::Default
    }

    fn observe(&mut self, ev: &Event<'_>, time: Option<Micros>) {
        if !self.filters.matches(ev) {
            return;
        }
        let cells = match &self.columns {
            Columns::Default => vec![
                Value::time(time),
                Value::str(ev.recipient_account_id.as_deref()),
                Value::str(ev.aws_region.as_deref()),
                Value::str(ev.event_source.as_deref()),
                Value::str(ev.event_name.as_deref()),
                Value::str(Some(ev.principal())),
                Value::str(ev.source_ip.as_deref()),
                Value::str(ev.error_code.as_deref()),
            ],
            Columns::Fields(paths) => {
                let raw = ev.raw.as_deref().unwrap_or("{}");
                paths.iter().map(|p| field_value(raw, p)).collect()
            }
            Columns::Raw => {
                // Exactly as logged; only an event spread over several lines is put on one.
                let raw = ev.raw.as_deref().unwrap_or("{}");
                let line = if raw.contains(['\n', '\r']) {
                    minify(raw)
                } else {
                    raw.to_string()
                };
                vec![Value::Str(line)]
            }
        };
        self.rows.push(time, ev.event_id.as_deref(), cells);
    }

    fn merge(&mut self, other: Self) {
        self.rows.merge(other.rows);
    }

    fn finish(self) -> Document {
        let rows = self.rows.into_sorted();
        match self.columns {
            Columns::Raw => Document::Lines(
                rows.into_iter()
                    .filter_map(|mut r| match r.pop() {
                        Some(Value::Str(s)) => Some(s),
                        _ => None,
                    })
                    .collect(),
            ),
            Columns::Default => Output {
                columns: DEFAULT_COLUMNS.to_vec(),
                rows,
                footer: vec![],
            }
            .into(),
            Columns::Fields(paths) => Output {
                // Column names live as long as the run; leaking a handful of short strings once
                // keeps `Output` free of lifetimes.
                columns: paths
                    .into_iter()
                    .map(|p| &*Box::leak(p.into_boxed_str()))
                    .collect(),
                rows,
                footer: vec![],
            }
            .into(),
        }
    }
}

/// The value at a dotted field path (`userIdentity.sessionContext.sessionIssuer.userName`) of an
/// event's JSON: its own text (minified), so numbers, objects and key order are as in the log.
/// Absent, null and "" are null.
pub fn field_value(raw: &str, path: &str) -> Value {
    let mut cur = raw;
    for segment in path.split('.') {
        let Ok(object) = serde_json::from_str::<HashMap<String, &RawValue>>(cur) else {
            return Value::Null;
        };
        match object.get(segment) {
            Some(v) => cur = v.get(),
            None => return Value::Null,
        }
    }
    match minify(cur).as_str() {
        "null" | "\"\"" => Value::Null,
        text => Value::Json(text.to_string()),
    }
}

/// JSON text without the whitespace between tokens (strings are left exactly as they are).
pub fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths() {
        let raw = r#"{"a": {"b": {"c": "x", "n": 5, "o": {"z": 1, "y": [1, "two"]}}, "e": "", "nul": null}, "t": true}"#;
        assert_eq!(field_value(raw, "a.b.c"), Value::Json("\"x\"".into()));
        assert_eq!(field_value(raw, "a.b.n"), Value::Json("5".into()));
        assert_eq!(
            field_value(raw, "a.b.o"),
            Value::Json(r#"{"z":1,"y":[1,"two"]}"#.into())
        );
        assert_eq!(field_value(raw, "t"), Value::Json("true".into()));
        assert_eq!(field_value(raw, "a.e"), Value::Null);
        assert_eq!(field_value(raw, "a.nul"), Value::Null);
        assert_eq!(field_value(raw, "a.missing"), Value::Null);
        assert_eq!(field_value(raw, "t.deeper"), Value::Null);
    }

    #[test]
    fn minify_keeps_strings() {
        assert_eq!(
            minify("{ \"a b\" : [ 1 ,\n 2 ], \"q\": \"x \\\" y\" }"),
            "{\"a b\":[1,2],\"q\":\"x \\\" y\"}"
        );
    }
}
