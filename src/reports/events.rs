//! `events`: search. Every event that passes the filters, newest first (or oldest), as rows of
//! default columns, of chosen field paths (`--fields`), or as the raw JSON (`--raw`).

use std::collections::HashMap;

use serde_json::value::RawValue;

use super::bucket::{touches_bucket, touches_bucket_sql};
use super::cells::{
    ACCOUNT, ERROR_CODE, EVENT_NAME, EVENT_SOURCE, EVENT_TIME, PRINCIPAL, REGION, SOURCE_IP,
};
use super::def::{Context, Report, ReportDef};
use super::group::Details;
use crate::athena::results::ResultTable;
use crate::athena::sql::{self, Cell, F, Query, any_of, lit};
use crate::document::{Column, Document, Rows, Value, cut_note};
use crate::event::Event;
use crate::net::IpNet;
use crate::time::Micros;

/// What did this user, access key or IP do? Search events
///
/// Every event that passes the filters, newest first. Repeats of one filter are OR, different
/// filters are AND. For example: --user alice --since 1d; --access-key AKIA…; --source-ip
/// 203.0.113.0/24 --errors; --bucket prod-data --write.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Event filters")]
pub struct Args {
    /// Events of this IAM user, role or role session: userIdentity.userName,
    /// sessionContext.sessionIssuer.userName, or the last part of userIdentity.arn
    #[arg(long = "user", value_name = "NAME")]
    users: Vec<String>,
    /// Events whose principal contains TEXT
    #[arg(
        long = "principal",
        value_name = "TEXT")]
    principals: Vec<String>,
    /// Events signed with this access key (userIdentity.accessKeyId)
    #[arg(long = "access-key", value_name = "ID")]
    access_keys: Vec<String>,
    /// Events with this eventName, as CloudTrail spells it (case-sensitive: GetObject)
    #[arg(
        long = "event-name",
        value_name = "NAME")]
    event_names: Vec<String>,
    /// Events with this eventSource, case-sensitive (for example s3.amazonaws.com)
    #[arg(
        long = "event-source",
        value_name = "SOURCE")]
    event_sources: Vec<String>,
    /// Events from this IP address or CIDR block (IPv4 or IPv6)
    #[arg(
        long = "source-ip",
        value_name = "IP|CIDR")]
    source_ips: Vec<IpNet>,
    /// Events on this S3 bucket (same rule as who-touched-bucket)
    #[arg(long = "bucket", value_name = "NAME")]
    buckets: Vec<String>,
    /// Events through this VPC endpoint (vpcEndpointId)
    #[arg(long = "vpce", value_name = "ID")]
    vpces: Vec<String>,
    /// Events with this errorCode
    #[arg(
        long = "error-code",
        value_name = "CODE")]
    error_codes: Vec<String>,
    /// Events with any errorCode
    #[arg(long)]
    errors: bool,
    /// Only read-only calls (readOnly true)
    #[arg(long, conflicts_with = "write")]
    read_only: bool,
    /// Only calls that change something (readOnly false)
    #[arg(long)]
    write: bool,
    /// Events of this eventCategory (repeat for several)
    #[arg(
        long = "category",
        value_enum,
        ignore_case = true)]
    categories: Vec<Category>,

    /// Columns by CloudTrail field path, comma-separated (userIdentity.arn,requestParameters.bucketName)
    ///
    /// A nested object or array shows as compact JSON in tables and CSV, and as itself in JSON.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "PATHS",
        conflicts_with = "raw",
        help_heading = "Event output"
    )]
    fields: Vec<String>,
    /// Write each matching event exactly as it appeared in the log, one per line (for jq)
    #[arg(long, help_heading = "Event output")]
    raw: bool,
    /// Only the N newest matches (the N oldest with --oldest-first); 0 for all, the default
    #[arg(long, value_name = "N", help_heading = "Event output")]
    limit: Option<u64>,
    /// Oldest first instead of newest first
    #[arg(long, help_heading = "Event output")]
    oldest_first: bool,
}

/// CloudTrail's event categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Category {
    #[value(name = "Management")]
    Management,
    #[value(name = "Data")]
    Data,
    #[value(name = "NetworkActivity")]
    NetworkActivity,
    #[value(name = "Insight")]
    Insight,
    /// Five-minute summaries of data events (`CloudTrail-Aggregated/`).
    #[value(name = "Aggregated")]
    Aggregated,
}

impl Category {
    pub fn name(self) -> &'static str {
        match self {
            Category::Management => "Management",
            Category::Data => "Data",
            Category::NetworkActivity => "NetworkActivity",
            Category::Insight => "Insight",
            Category::Aggregated => "Aggregated",
        }
    }
}

const COLUMNS: [Cell; 8] = [
    EVENT_TIME,
    ACCOUNT,
    REGION,
    EVENT_SOURCE,
    EVENT_NAME,
    PRINCIPAL,
    SOURCE_IP,
    ERROR_CODE,
];

/// The hidden total of a list cut by `--limit` on Athena: the number of matches.
const MATCHED: (&str, &str) = ("ctq_matched", "count(*)");

impl Args {
    fn filters(&self) -> EventFilters {
        EventFilters {
            users: self.users.clone(),
            principals: self.principals.clone(),
            access_keys: self.access_keys.clone(),
            event_names: self.event_names.clone(),
            event_sources: self.event_sources.clone(),
            source_ips: self.source_ips.clone(),
            buckets: self.buckets.clone(),
            vpces: self.vpces.clone(),
            error_codes: self.error_codes.clone(),
            errors_only: self.errors,
            read_only: if self.read_only {
                Some(true)
            } else if self.write {
                Some(false)
            } else {
                None
            },
            categories: self
                .categories
                .iter()
                .map(|c| c.name().to_string())
                .collect(),
        }
    }

    fn columns(&self) -> Columns {
        if self.raw {
            Columns::Raw
        } else if self.fields.is_empty() {
            Columns::Default
        } else {
            Columns::Fields(self.fields.clone())
        }
    }

    fn limit(&self) -> Option<usize> {
        self.limit
            .filter(|&n| n > 0)
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
    }
}

impl ReportDef for Args {
    const NAME: &'static str = "events";
    const EXAMPLES: &'static str = "\
  ctq events -s s3://my-trail-bucket --since 2h --user alice
  ctq events -s ./AWSLogs --source-ip 203.0.113.0/24 --errors --limit 50
  ctq events -s ./AWSLogs --access-key AKIAIOSFODNN7EXAMPLE --raw | jq .eventName";
    type Acc = Events;

    fn check(&self) -> Result<(), String> {
        for f in &self.fields {
            if f.is_empty() || f.split('.').any(str::is_empty) {
                return Err(format!(
                    "--fields: '{f}' is not a field path (use dotted CloudTrail names, for example userIdentity.arn)"
                ));
            }
        }
        Ok(())
    }

    fn accumulator(&self, _: &Context<'_>) -> Events {
        Events {
            filters: self.filters(),
            columns: self.columns(),
            rows: Details::new(self.oldest_first, self.limit()),
            near_misses: NearMisses::default(),
        }
    }

    fn athena_query(&self, _: &Context<'_>) -> Result<Query, String> {
        if self.columns() != Columns::Default {
            return Err(
                "--fields and --raw need each event's own JSON, which the Athena \
                        table does not keep (CloudTrail's SerDe splits it into columns); \
                        run them on the local engine, for example with --source s3://…"
                    .into(),
            );
        }
        let f = &self.filters();
        let mut fields = vec![
            F::AccountId,
            F::AwsRegion,
            F::EventSource,
            F::EventName,
            F::Principal,
            F::SourceIp,
            F::ErrorCode,
            F::EventId,
        ];
        let mut c: Vec<String> = Vec::new();
        if let Some(x) = any_of(&f.users, |u| {
            format!(
                "(user_name = {0} OR issuer_user_name = {0} OR arn_last = {0})",
                lit(u)
            )
        }) {
            fields.extend([F::UserName, F::IssuerUserName, F::ArnLast]);
            c.push(x);
        }
        c.extend(any_of(&f.principals, |p| {
            format!("strpos(principal, {}) > 0", lit(p))
        }));
        if let Some(x) = any_of(&f.access_keys, |k| format!("access_key = {}", lit(k))) {
            fields.push(F::AccessKey);
            c.push(x);
        }
        c.extend(any_of(&f.event_names, |n| {
            format!("event_name = {}", lit(n))
        }));
        c.extend(any_of(&f.event_sources, |s| {
            format!("event_source = {}", lit(s))
        }));
        c.extend(any_of(&f.source_ips, |net| {
            format!(
                "COALESCE(try(contains({}, CAST(source_ip AS IPADDRESS))), false)",
                lit(&net.to_string())
            )
        }));
        if let Some(x) = any_of(&f.buckets, |b| touches_bucket_sql(b)) {
            fields.extend([F::BucketName, F::Resources]);
            c.push(x);
        }
        if let Some(x) = any_of(&f.vpces, |v| format!("vpce = {}", lit(v))) {
            fields.push(F::Vpce);
            c.push(x);
        }
        c.extend(any_of(&f.error_codes, |e| {
            format!("error_code = {}", lit(e))
        }));
        if f.errors_only {
            c.push("error_code IS NOT NULL".into());
        }
        if let Some(r) = f.read_only {
            fields.push(F::ReadOnly);
            c.push(format!("read_only = {r}"));
        }
        if let Some(x) = any_of(&f.categories, |k| format!("category = {}", lit(k))) {
            fields.push(F::Category);
            c.push(x);
        }
        // A cut list says what it was cut from: the number of matches, on every row.
        let totals: &[(&str, &str)] = if self.limit().is_some() {
            &[MATCHED]
        } else {
            &[]
        };
        let (ctes, select) =
            sql::details(&COLUMNS, "w", totals, "w", self.oldest_first, self.limit());
        Ok(Query {
            extra: Vec::new(),
            fields,
            conditions: c,
            ctes,
            select,
        })
    }

    fn athena_document(&self, t: &ResultTable<'_>) -> anyhow::Result<Document> {
        let rows = t.rows(sql::columns(&[&COLUMNS]), vec![])?;
        let notes = match self.limit() {
            Some(_) => cut_note(rows.rows.len(), t.total(MATCHED.0)?, "matching events", "--limit"),
            None => None,
        };
        Ok(Rows {
            notes: notes.into_iter().collect(),
            ..rows
        }
        .into())
    }
}

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

#[derive(Debug, Clone)]
pub struct Events {
    filters: EventFilters,
    columns: Columns,
    rows: Details,
    near_misses: NearMisses,
}

/// Values of `--event-name` and `--event-source` that match an event's only when case is
/// ignored: CloudTrail's names are case-sensitive (`GetObject`), and an empty result with a
/// lower-case filter says what the user probably meant. At most `NearMisses::MAX` are kept.
#[derive(Debug, Clone, Default)]
pub struct NearMisses(std::collections::BTreeSet<(&'static str, String, String)>);

impl NearMisses {
    const MAX: usize = 8;

    fn check(&mut self, option: &'static str, wanted: &[String], seen: Option<&str>) {
        let Some(seen) = seen else { return };
        for w in wanted {
            if w != seen && w.eq_ignore_ascii_case(seen) && self.0.len() < Self::MAX {
                self.0.insert((option, w.clone(), seen.to_string()));
            }
        }
    }

    fn merge(&mut self, other: NearMisses) {
        for m in other.0 {
            if self.0.len() < Self::MAX {
                self.0.insert(m);
            }
        }
    }

    fn notes(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(option, wanted, seen)| {
                format!("{option} is case-sensitive: no event has {wanted}; did you mean {seen}?")
            })
            .collect()
    }
}

impl Report for Events {
    /// Aggregated events are counted (and listed) like the others.
    fn reads_aggregated(&self) -> bool {
        true
    }

    fn wants_raw(&self) -> bool {
        self.columns != Columns::Default
    }

    fn observe(&mut self, ev: &Event<'_>, time: Option<Micros>) {
        if !self.filters.matches(ev) {
            let f = &self.filters;
            if !f.event_names.is_empty() {
                let seen = ev.event_name.as_deref();
                self.near_misses.check("--event-name", &f.event_names, seen);
            }
            if !f.event_sources.is_empty() {
                let seen = ev.event_source.as_deref();
                self.near_misses.check("--event-source", &f.event_sources, seen);
            }
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
                vec![Value::Str(raw_line(raw))]
            }
        };
        self.rows.push(time, ev.event_id.as_deref(), cells);
    }

    fn merge(&mut self, other: Self) {
        self.rows.merge(other.rows);
        self.near_misses.merge(other.near_misses);
    }

    fn finish(self) -> Document {
        let matched = self.rows.matched();
        let rows = self.rows.into_sorted();
        let mut notes: Vec<String> =
            cut_note(rows.len(), matched, "matching events", "--limit").into_iter().collect();
        if rows.is_empty() {
            notes.extend(self.near_misses.notes());
        }
        match self.columns {
            Columns::Raw => Document::Lines(
                rows.into_iter()
                    .filter_map(|mut r| match r.pop() {
                        Some(Value::Str(s)) => Some(s),
                        _ => None,
                    })
                    .collect(),
                notes,
            ),
            Columns::Default => Rows {
                columns: sql::columns(&[&COLUMNS]),
                rows,
                footer: vec![],
                notes,
            }
            .into(),
            Columns::Fields(paths) => Rows {
                // Column names live as long as the run; leaking a handful of short strings once
                // keeps `Rows` free of lifetimes.
                columns: paths
                    .into_iter()
                    .map(|p| Column::json(Box::leak(p.into_boxed_str())))
                    .collect(),
                rows,
                footer: vec![],
                notes,
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

/// An event's text as `--raw` prints it: exactly as logged, except that an event spread over
/// several lines is put on one.
pub fn raw_line(raw: &str) -> String {
    if raw.contains(['\n', '\r']) {
        minify(raw)
    } else {
        raw.to_string()
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
