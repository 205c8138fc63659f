//! The shared SQL builder: each report's Athena (Trino) query over the table of `ctq athena ddl`
//! is a `Query` (written in the report's module) that `assemble` wraps in the common parts.
//!
//! The query has the local engine's semantics, field by field:
//! - An empty string is NULL (`NULLIF(x, '')`), as the local parser treats "" as absent.
//! - The principal is the first non-empty of `arn`, `invokedby`, `principalid`, `accountid`,
//!   `type`, else `unknown`.
//! - JSON string columns are read with `json_extract_scalar`; `MFAUsed` and `readOnly` accept a
//!   JSON boolean or the strings Yes/No, true/false in any letter case.
//! - Groups are ordered by count descending, then the keys ascending with NULL first; event rows
//!   newest first by the printed second, then event id descending, then the cells.
//! - Partitions: the days of the window and the day after it (late delivery), the accounts and
//!   regions asked for; then an exact filter on the parsed `eventtime` and on
//!   `recipientaccountid`/`awsregion`, as the local engine filters.
//!
//! Columns named `ctq_*` carry totals for the table footers; they are not printed.

use std::fmt::Write as _;

use crate::document::Column;
use crate::filter::Filter;
use crate::time::{self, DAY, Micros};

/// The table a query reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub database: String,
    pub table: String,
}

/// A normalized column of the `e` CTE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum F {
    Ts,
    AccountId,
    AwsRegion,
    EventSource,
    EventName,
    EventId,
    SourceIp,
    UserAgent,
    ErrorCode,
    ErrorMessage,
    Category,
    EventType,
    Vpce,
    ReadOnly,
    IdentityType,
    Arn,
    InvokedBy,
    UserName,
    AccessKey,
    IssuerUserName,
    ArnLast,
    Principal,
    Host,
    BucketName,
    ObjectKey,
    Resources,
    ConsoleLogin,
    MfaUsed,
}

impl F {
    pub fn name(self) -> &'static str {
        match self {
            F::Ts => "ts",
            F::AccountId => "account_id",
            F::AwsRegion => "aws_region",
            F::EventSource => "event_source",
            F::EventName => "event_name",
            F::EventId => "event_id",
            F::SourceIp => "source_ip",
            F::UserAgent => "user_agent",
            F::ErrorCode => "error_code",
            F::ErrorMessage => "error_message",
            F::Category => "category",
            F::EventType => "event_type",
            F::Vpce => "vpce",
            F::ReadOnly => "read_only",
            F::IdentityType => "identity_type",
            F::Arn => "arn",
            F::InvokedBy => "invoked_by",
            F::UserName => "user_name",
            F::AccessKey => "access_key",
            F::IssuerUserName => "issuer_user_name",
            F::ArnLast => "arn_last",
            F::Principal => "principal",
            F::Host => "host",
            F::BucketName => "bucket_name",
            F::ObjectKey => "object_key",
            F::Resources => "resources",
            F::ConsoleLogin => "console_login",
            F::MfaUsed => "mfa_used",
        }
    }

    pub fn expr(self) -> &'static str {
        match self {
            F::Ts => "try(from_iso8601_timestamp(replace(eventtime, ' ', 'T'))) AT TIME ZONE 'UTC'",
            F::AccountId => "NULLIF(recipientaccountid, '')",
            F::AwsRegion => "NULLIF(awsregion, '')",
            F::EventSource => "NULLIF(eventsource, '')",
            F::EventName => "NULLIF(eventname, '')",
            F::EventId => "NULLIF(eventid, '')",
            F::SourceIp => "NULLIF(sourceipaddress, '')",
            F::UserAgent => "NULLIF(useragent, '')",
            F::ErrorCode => "NULLIF(errorcode, '')",
            F::ErrorMessage => "NULLIF(errormessage, '')",
            // As `Event::category`: events older than the field get the category they would have.
            F::Category => {
                "COALESCE(NULLIF(eventcategory, ''), CASE \
                 WHEN eventtype IN ('AwsVpceEvent', 'AwsVpceEvents') THEN 'NetworkActivity' \
                 WHEN eventtype = 'AwsCloudTrailInsight' THEN 'Insight' \
                 WHEN lower(managementevent) = 'false' THEN 'Data' ELSE 'Management' END)"
            }
            F::EventType => "NULLIF(eventtype, '')",
            F::Vpce => "NULLIF(vpcendpointid, '')",
            F::ReadOnly => "CASE lower(readonly) WHEN 'true' THEN true WHEN 'false' THEN false END",
            F::IdentityType => "NULLIF(useridentity.type, '')",
            F::Arn => "NULLIF(useridentity.arn, '')",
            F::InvokedBy => "NULLIF(useridentity.invokedby, '')",
            F::UserName => "NULLIF(useridentity.username, '')",
            F::AccessKey => "NULLIF(useridentity.accesskeyid, '')",
            F::IssuerUserName => "NULLIF(useridentity.sessioncontext.sessionissuer.username, '')",
            F::ArnLast => {
                "CASE WHEN strpos(useridentity.arn, '/') > 0 \
                 THEN NULLIF(regexp_extract(useridentity.arn, '[^/]*$'), '') \
                 WHEN regexp_like(useridentity.arn, '^arn:[^:]*:[^:]*:[^:]*:[^:]*:root$') \
                 THEN 'root' END"
            }
            F::Principal => {
                "COALESCE(NULLIF(useridentity.arn, ''), NULLIF(useridentity.invokedby, ''), \
                 NULLIF(useridentity.principalid, ''), NULLIF(useridentity.accountid, ''), \
                 NULLIF(useridentity.type, ''), 'unknown')"
            }
            F::Host => "NULLIF(tlsdetails.clientprovidedhostheader, '')",
            F::BucketName => "NULLIF(json_extract_scalar(requestparameters, '$.bucketName'), '')",
            F::ObjectKey => "NULLIF(json_extract_scalar(requestparameters, '$.key'), '')",
            F::Resources => "resources",
            F::ConsoleLogin => {
                "NULLIF(json_extract_scalar(responseelements, '$.ConsoleLogin'), '')"
            }
            F::MfaUsed => {
                "CASE lower(json_format(json_extract(additionaleventdata, '$.MFAUsed'))) \
                 WHEN 'true' THEN true WHEN '\"yes\"' THEN true \
                 WHEN 'false' THEN false WHEN '\"no\"' THEN false END"
            }
        }
    }
}

impl Query {
    /// A query whose select reads `w` alone (grouped rows: see `grouped`).
    pub fn over_w(fields: Vec<F>, conditions: Vec<String>, select: String) -> Query {
        Query {
            extra: Vec::new(),
            fields,
            conditions,
            ctes: vec![],
            select,
        }
    }

    /// Every event row of `w` in `cells`, newest first, without footer totals (see `details`).
    pub fn event_rows(fields: Vec<F>, conditions: Vec<String>, cells: &[Cell]) -> Query {
        let (ctes, select) = details(cells, "w", &[], "", false, None);
        Query {
            extra: Vec::new(),
            fields,
            conditions,
            ctes,
            select,
        }
    }
}

/// A SQL string literal.
pub fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A SQL identifier (Trino's double quotes).
pub fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

pub fn list(items: &[String]) -> String {
    items.iter().map(|s| lit(s)).collect::<Vec<_>>().join(", ")
}

/// A time bound as Athena reads it, rounded up to the millisecond (Athena's timestamps are
/// milliseconds, so `ts >= t` and `ts < t` keep the same events as with the exact bound).
pub fn time_lit(t: Micros) -> String {
    let ms = t.div_euclid(1000) + i64::from(t.rem_euclid(1000) != 0);
    let whole = time::format_time(ms * 1000);
    let frac = ms.rem_euclid(1000);
    let text = if frac == 0 {
        whole
    } else {
        format!("{}.{frac:03}Z", whole.trim_end_matches('Z'))
    };
    format!("from_iso8601_timestamp({}) AT TIME ZONE 'UTC'", lit(&text))
}

fn day_partition(day: i64) -> String {
    time::format_day(day).replace('-', "/")
}

/// What one report's query needs: the columns of `e`, the conditions of `w`, and the final
/// statement over `w`.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub fields: Vec<F>,
    /// More columns of `e`, as (name, expression over the table's columns).
    pub extra: Vec<(String, String)>,
    pub conditions: Vec<String>,
    /// CTEs after `w`, each `name AS (…)`.
    pub ctes: Vec<String>,
    pub select: String,
}

/// The whole statement: the report's `Query` over the table's partitions of the window, with
/// the common filters. `name` is the report's command, named in the first line.
/// `table_conditions` are conditions on the table's own columns (`athena::filters`), written in
/// the `e` CTE.
pub fn assemble(
    mut parts: Query,
    name: &str,
    filter: &Filter,
    table_conditions: &[String],
    now: Micros,
    target: &Target,
) -> String {
    // The window: Athena always gets one (see `Config`); an open end is "now".
    let since = filter.window.since.unwrap_or(now - DAY);
    let until = filter.window.until;
    let last_day = time::day_of(until.unwrap_or(now).max(since + 1) - 1);
    let mut conditions = vec![format!("ts >= {}", time_lit(since))];
    if let Some(u) = until {
        conditions.push(format!("ts < {}", time_lit(u)));
    }
    parts.fields.push(F::Ts);
    if !filter.accounts.is_empty() {
        parts.fields.push(F::AccountId);
        conditions.push(format!("account_id IN ({})", list(&filter.accounts)));
    }
    if !filter.regions.is_empty() {
        parts.fields.push(F::AwsRegion);
        conditions.push(format!("aws_region IN ({})", list(&filter.regions)));
    }
    conditions.append(&mut parts.conditions);
    parts.fields.sort();
    parts.fields.dedup();

    let mut q = String::new();
    let _ = writeln!(
        q,
        "-- ctq {name} on Athena: events in [{}, {}).",
        time::format_time(since),
        until.map_or_else(|| "now".to_string(), time::format_time),
    );
    let _ = writeln!(
        q,
        "-- Day partitions are delivery days: the window's days and the day after (late delivery)."
    );
    q.push_str("WITH e AS (\n  SELECT\n");
    let columns: Vec<(String, String)> = parts
        .fields
        .iter()
        .map(|f| (f.expr().to_string(), f.name().to_string()))
        .chain(parts.extra.iter().map(|(n, e)| (e.clone(), ident(n))))
        .collect();
    for (i, (expr, name)) in columns.iter().enumerate() {
        let sep = if i + 1 < columns.len() { "," } else { "" };
        let _ = writeln!(q, "    {expr} AS {name}{sep}");
    }
    let _ = writeln!(
        q,
        "  FROM {}.{}",
        ident(&target.database),
        ident(&target.table)
    );
    let _ = writeln!(
        q,
        "  WHERE day BETWEEN {} AND {}",
        lit(&day_partition(time::day_of(since))),
        lit(&day_partition(last_day + 1))
    );
    if !filter.accounts.is_empty() {
        let _ = writeln!(q, "    AND account IN ({})", list(&filter.accounts));
    }
    if !filter.regions.is_empty() {
        let _ = writeln!(q, "    AND region IN ({})", list(&filter.regions));
    }
    for c in table_conditions {
        let _ = writeln!(q, "    AND {c}");
    }
    q.push_str("),\nw AS (\n  SELECT * FROM e\n");
    for (i, c) in conditions.iter().enumerate() {
        let _ = writeln!(q, "  {} {c}", if i == 0 { "WHERE" } else { "  AND" });
    }
    q.push(')');
    for cte in &parts.ctes {
        let _ = write!(q, ",\n{cte}");
    }
    q.push('\n');
    q.push_str(&parts.select);
    if !q.ends_with('\n') {
        q.push('\n');
    }
    q
}

/// `ORDER BY` for grouped rows: count descending, then the keys ascending, NULL first.
pub fn group_order(keys: &[&str]) -> String {
    let mut o = vec!["\"count\" DESC".to_string()];
    o.extend(keys.iter().map(|k| format!("{} ASC NULLS FIRST", ident(k))));
    format!("ORDER BY {}", o.join(", "))
}

/// `ORDER BY` for event rows (`prefix` names the relation holding `ts` and the cells).
pub fn detail_order(prefix: &str, cells: &[&str], oldest_first: bool) -> String {
    let dir = if oldest_first { "ASC" } else { "DESC" };
    let mut o = vec![
        format!("floor(to_unixtime({prefix}\"ts\")) {dir} NULLS LAST"),
        format!("{prefix}\"ctq_event_id\" {dir} NULLS LAST"),
    ];
    for c in cells {
        // The event_time cell sorts by the full time, as the local engine's cells do.
        let c = if *c == "event_time" { "ts" } else { c };
        o.push(format!("{prefix}{} ASC NULLS FIRST", ident(c)));
    }
    format!("ORDER BY {}", o.join(", "))
}

/// A select list of `expr AS "name"` pairs.
pub fn select_list(cols: &[(&str, &str)]) -> String {
    cols.iter()
        .map(|(name, expr)| {
            if expr == name {
                ident(name)
            } else {
                format!("{expr} AS {}", ident(name))
            }
        })
        .collect::<Vec<_>>()
        .join(",\n  ")
}

/// A report column and the SQL expression that fills it: the column's name and kind are written
/// once, for both engines.
pub type Cell = (Column, &'static str);

/// How many events in a group.
pub const COUNT: Cell = (Column::count("count"), "count(*)");

/// How many events in a group, and the first and last time.
pub const COUNT_FIRST_LAST: [Cell; 3] = [
    COUNT,
    (Column::time("first_seen").rank(5), "to_iso8601(min(ts))"),
    (Column::time("last_seen").rank(4), "to_iso8601(max(ts))"),
];

/// The hidden total of a list cut by `--top`: how many groups there are in all.
pub const KINDS: (&str, &str) = ("ctq_kinds", "count(*) OVER ()");

/// The columns of a report's cells, given in parts (keys, then aggregates).
pub fn columns(parts: &[&[Cell]]) -> Vec<Column> {
    parts.iter().flat_map(|p| p.iter().map(|c| c.0)).collect()
}

fn named(cells: &[Cell]) -> Vec<(&str, &str)> {
    cells.iter().map(|(c, expr)| (c.name, *expr)).collect()
}

/// Grouped rows of `from`: the `keys`, then the `aggregates` (`count(*)`, first and last time
/// …), then `hidden` aggregates (footer totals, `ctq_*`); the first `top` rows when given.
pub fn grouped(
    keys: &[Cell],
    aggregates: &[Cell],
    hidden: &[(&str, &str)],
    from: &str,
    top: Option<usize>,
) -> String {
    let mut cols = named(keys);
    cols.extend(named(aggregates));
    cols.extend_from_slice(hidden);
    let names: Vec<&str> = keys.iter().map(|c| c.0.name).collect();
    let by: Vec<String> = (1..=keys.len()).map(|i| i.to_string()).collect();
    let mut select = format!(
        "SELECT\n  {}\nFROM {from}\nGROUP BY {}\n{}",
        select_list(&cols),
        by.join(", "),
        group_order(&names)
    );
    if let Some(n) = top {
        let _ = write!(select, "\nLIMIT {n}");
    }
    select
}

/// Event rows of `from`, with footer totals (`ctq_*` aggregates over `from_totals`) on every
/// row. The totals come through a LEFT JOIN so that they arrive even when no event matches; that
/// lone row has `ctq_row` NULL and is not printed.
pub fn details(
    cells: &[Cell],
    from: &str,
    totals: &[(&str, &str)],
    from_totals: &str,
    oldest_first: bool,
    limit: Option<usize>,
) -> (Vec<String>, String) {
    let mut d = named(cells);
    d.extend([("ts", "ts"), ("ctq_event_id", "event_id"), ("ctq_row", "1")]);
    let names: Vec<&str> = cells.iter().map(|c| c.0.name).collect();
    let limit = limit.map(|n| format!("\nLIMIT {n}")).unwrap_or_default();
    let mut ctes = vec![format!(
        "d AS (\n  SELECT\n    {}\n  FROM {from}\n)",
        select_list(&d).replace('\n', "\n  ")
    )];
    let mut out: Vec<String> = names.iter().map(|n| format!("d.{}", ident(n))).collect();
    let from = if totals.is_empty() {
        "d"
    } else {
        ctes.push(format!(
            "t AS (\n  SELECT\n    {}\n  FROM {from_totals}\n)",
            select_list(totals).replace('\n', "\n  ")
        ));
        out.push("d.\"ctq_row\"".into());
        out.extend(totals.iter().map(|t| format!("t.{}", ident(t.0))));
        "t LEFT JOIN d ON true"
    };
    let sel = format!(
        "SELECT\n  {}\nFROM {from}\n{}{limit}",
        out.join(",\n  "),
        detail_order("d.", &names, oldest_first)
    );
    (ctes, sel)
}

/// `(a OR b …)` over the values of one filter; None when the filter is not given.
pub fn any_of<T>(values: &[T], one: impl Fn(&T) -> String) -> Option<String> {
    match values {
        [] => None,
        [v] => Some(one(v)),
        vs => Some(format!(
            "({})",
            vs.iter().map(one).collect::<Vec<_>>().join(" OR ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_bounds_round_up_to_the_millisecond() {
        assert_eq!(
            time_lit(0),
            "from_iso8601_timestamp('1970-01-01T00:00:00Z') AT TIME ZONE 'UTC'"
        );
        assert_eq!(
            time_lit(1_500),
            "from_iso8601_timestamp('1970-01-01T00:00:00.002Z') AT TIME ZONE 'UTC'"
        );
        assert_eq!(
            time_lit(999_999_000),
            "from_iso8601_timestamp('1970-01-01T00:16:39.999Z') AT TIME ZONE 'UTC'"
        );
    }

    #[test]
    fn literals_cannot_be_escaped() {
        assert_eq!(lit("a'b"), "'a''b'");
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
    }
}
