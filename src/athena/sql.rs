//! Each report as one Athena (Trino) query over the table of `ctq athena ddl`.
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

use crate::config::ReportSpec;
use crate::filter::Filter;
use crate::render::Bucket;
use crate::reports::events::{Columns, EventFilters};
use crate::reports::summary::{SECTIONS, plausible_times};
use crate::time::{self, DAY, Micros};

/// The table a query reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub database: String,
    pub table: String,
}

/// A normalized column of the `e` CTE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum F {
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
    fn name(self) -> &'static str {
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

    fn expr(self) -> &'static str {
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

/// A SQL string literal.
pub fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A SQL identifier (Trino's double quotes).
pub fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn list(items: &[String]) -> String {
    items.iter().map(|s| lit(s)).collect::<Vec<_>>().join(", ")
}

/// A time bound as Athena reads it, rounded up to the millisecond (Athena's timestamps are
/// milliseconds, so `ts >= t` and `ts < t` keep the same events as with the exact bound).
fn time_lit(t: Micros) -> String {
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
struct Parts {
    fields: Vec<F>,
    conditions: Vec<String>,
    /// CTEs after `w`, each `name AS (…)`.
    ctes: Vec<String>,
    select: String,
}

/// The query for a report, or why the report cannot run on Athena.
pub fn query(
    report: &ReportSpec,
    filter: &Filter,
    now: Micros,
    target: &Target,
) -> Result<String, String> {
    let parts = match report {
        ReportSpec::StsEndpoints { details } => sts(*details),
        ReportSpec::RootActivity { details } => root(*details),
        ReportSpec::Errors { top } => errors(*top),
        ReportSpec::WhoTouchedBucket { bucket, details } => who_touched_bucket(bucket, *details),
        ReportSpec::Events {
            filters,
            columns,
            oldest_first,
            limit,
        } => {
            if *columns != Columns::Default {
                return Err(
                    "--fields and --raw need each event's own JSON, which the Athena \
                            table does not keep (CloudTrail's SerDe splits it into columns); \
                            run them on the local engine, for example with --source s3://…"
                        .into(),
                );
            }
            events(filters, *oldest_first, *limit)
        }
        ReportSpec::ConsoleLogins { failures, no_mfa } => console_logins(*failures, *no_mfa),
        ReportSpec::NetworkActivity { vpces, denied } => network_activity(vpces, *denied),
        ReportSpec::Summary { top } => summary(*top, filter, now),
        ReportSpec::AthenaDdl { .. } => return Err("athena ddl is not a report".into()),
    };
    Ok(assemble(parts, report_name(report), filter, now, target))
}

fn report_name(report: &ReportSpec) -> &'static str {
    match report {
        ReportSpec::StsEndpoints { .. } => "sts-endpoints",
        ReportSpec::RootActivity { .. } => "root-activity",
        ReportSpec::Errors { .. } => "errors",
        ReportSpec::WhoTouchedBucket { .. } => "who-touched-bucket",
        ReportSpec::Events { .. } => "events",
        ReportSpec::ConsoleLogins { .. } => "console-logins",
        ReportSpec::NetworkActivity { .. } => "network-activity",
        ReportSpec::Summary { .. } => "summary",
        ReportSpec::AthenaDdl { .. } => "athena ddl",
    }
}

fn assemble(mut parts: Parts, name: &str, filter: &Filter, now: Micros, target: &Target) -> String {
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
    for (i, f) in parts.fields.iter().enumerate() {
        let sep = if i + 1 < parts.fields.len() { "," } else { "" };
        let _ = writeln!(q, "    {} AS {}{sep}", f.expr(), f.name());
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
fn group_order(keys: &[&str]) -> String {
    let mut o = vec!["\"count\" DESC".to_string()];
    o.extend(keys.iter().map(|k| format!("{} ASC NULLS FIRST", ident(k))));
    format!("ORDER BY {}", o.join(", "))
}

/// `ORDER BY` for event rows (`prefix` names the relation holding `ts` and the cells).
fn detail_order(prefix: &str, cells: &[&str], oldest_first: bool) -> String {
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
fn select_list(cols: &[(&str, &str)]) -> String {
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

const FIRST_LAST: [(&str, &str); 2] = [
    ("first_seen", "to_iso8601(min(ts))"),
    ("last_seen", "to_iso8601(max(ts))"),
];

/// Grouped rows: keys, `count`, then `extra` aggregates.
fn grouped(keys: &[(&str, &str)], extra: &[(&str, &str)], from: &str) -> String {
    let mut cols: Vec<(&str, &str)> = keys.to_vec();
    cols.push(("count", "count(*)"));
    cols.extend_from_slice(extra);
    let names: Vec<&str> = keys.iter().map(|k| k.0).collect();
    let by: Vec<String> = (1..=keys.len()).map(|i| i.to_string()).collect();
    format!(
        "SELECT\n  {}\nFROM {from}\nGROUP BY {}\n{}",
        select_list(&cols),
        by.join(", "),
        group_order(&names)
    )
}

/// Event rows of `from`, with footer totals (`ctq_*` aggregates over `from_totals`) on every
/// row. The totals come through a LEFT JOIN so that they arrive even when no event matches; that
/// lone row has `ctq_row` NULL and is not printed.
fn details(
    cells: &[(&str, &str)],
    from: &str,
    totals: &[(&str, &str)],
    from_totals: &str,
    oldest_first: bool,
    limit: Option<usize>,
) -> (Vec<String>, String) {
    let mut d: Vec<(&str, &str)> = cells.to_vec();
    d.extend([("ts", "ts"), ("ctq_event_id", "event_id"), ("ctq_row", "1")]);
    let names: Vec<&str> = cells.iter().map(|c| c.0).collect();
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

const STS_ENDPOINT: &str = "CASE WHEN host IS NULL THEN NULL \
     WHEN lower(host) = 'sts.amazonaws.com' OR lower(host) LIKE 'sts-global.%' THEN 'global' \
     ELSE 'regional' END";

fn sts(details_: bool) -> Parts {
    let mut fields = vec![F::EventSource, F::Host, F::AwsRegion, F::UserAgent];
    let s = format!("s AS (\n  SELECT *, {STS_ENDPOINT} AS endpoint\n  FROM w\n)");
    if !details_ {
        // Calls without a host header form the group with a NULL host: the footer's count,
        // not a printed row.
        return Parts {
            fields,
            conditions: vec!["event_source = 'sts.amazonaws.com'".into()],
            ctes: vec![s],
            select: grouped(
                &[
                    ("host_header", "host"),
                    ("endpoint", "endpoint"),
                    ("region", "aws_region"),
                    ("user_agent", "user_agent"),
                ],
                &[],
                "s",
            ),
        };
    }
    fields.extend([F::AccountId, F::EventName, F::SourceIp, F::EventId, F::Arn]);
    let (mut ctes, select) = details(
        &[
            ("event_time", "to_iso8601(ts)"),
            ("account", "account_id"),
            ("event_name", "event_name"),
            ("host_header", "host"),
            ("source_ip", "source_ip"),
            ("event_id", "event_id"),
            ("principal_arn", "arn"),
        ],
        "s WHERE endpoint = 'global'",
        &[
            ("ctq_global", "count_if(endpoint = 'global')"),
            ("ctq_regional", "count_if(endpoint = 'regional')"),
            ("ctq_no_host", "count_if(endpoint IS NULL)"),
        ],
        "s",
        false,
        None,
    );
    ctes.insert(0, s);
    Parts {
        fields,
        conditions: vec!["event_source = 'sts.amazonaws.com'".into()],
        ctes,
        select,
    }
}

fn root(details_: bool) -> Parts {
    let conditions = vec!["identity_type = 'Root'".to_string()];
    if !details_ {
        return Parts {
            fields: vec![F::IdentityType, F::EventName, F::InvokedBy],
            conditions,
            ctes: vec![],
            select: grouped(
                &[("event_name", "event_name"), ("invoked_by", "invoked_by")],
                &FIRST_LAST,
                "w",
            ),
        };
    }
    let (ctes, select) = details(
        &[
            ("event_time", "to_iso8601(ts)"),
            ("account", "account_id"),
            ("region", "aws_region"),
            ("event_name", "event_name"),
            ("event_source", "event_source"),
            ("source_ip", "source_ip"),
            ("user_agent", "user_agent"),
            ("error_code", "error_code"),
            ("invoked_by", "invoked_by"),
            ("event_id", "event_id"),
        ],
        "w",
        &[],
        "",
        false,
        None,
    );
    Parts {
        fields: vec![
            F::IdentityType,
            F::AccountId,
            F::AwsRegion,
            F::EventName,
            F::EventSource,
            F::SourceIp,
            F::UserAgent,
            F::ErrorCode,
            F::InvokedBy,
            F::EventId,
        ],
        conditions,
        ctes,
        select,
    }
}

fn errors(top: Option<usize>) -> Parts {
    let mut select = grouped(
        &[
            ("event_name", "event_name"),
            ("error_code", "error_code"),
            ("error_message", "error_message"),
        ],
        // How many kinds there are in all, for the footer when --top cuts the list.
        &[("ctq_kinds", "count(*) OVER ()")],
        "w",
    );
    if let Some(n) = top {
        let _ = write!(select, "\nLIMIT {n}");
    }
    Parts {
        fields: vec![F::EventName, F::ErrorCode, F::ErrorMessage],
        conditions: vec!["error_code IS NOT NULL".into()],
        ctes: vec![],
        select,
    }
}

/// `bucket_name` is the bucket, or a resource ARN is the bucket or an object in it, in any AWS
/// partition (`arn:aws:s3:::`, `arn:aws-cn:s3:::` …).
fn touches_bucket(bucket: &str) -> String {
    const S3_ARN: &str = "'^arn:aws(-[^:]*)?:s3:::'";
    format!(
        "(bucket_name = {b} OR COALESCE(cardinality(filter(resources, r -> regexp_like(r.arn, {S3_ARN}) \
         AND (regexp_replace(r.arn, {S3_ARN}, '') = {b} OR starts_with(regexp_replace(r.arn, {S3_ARN}, ''), {bs})))) > 0, false))",
        b = lit(bucket),
        bs = lit(&format!("{bucket}/"))
    )
}

fn who_touched_bucket(bucket: &str, details_: bool) -> Parts {
    let conditions = vec![touches_bucket(bucket)];
    if !details_ {
        let mut extra = FIRST_LAST.to_vec();
        extra.push((
            "source_ips",
            "json_format(CAST(array_sort(array_distinct(array_agg(source_ip) FILTER (WHERE source_ip IS NOT NULL))) AS JSON))",
        ));
        return Parts {
            fields: vec![
                F::BucketName,
                F::Resources,
                F::Principal,
                F::EventName,
                F::SourceIp,
            ],
            conditions,
            ctes: vec![],
            select: grouped(
                &[("principal", "principal"), ("event_name", "event_name")],
                &extra,
                "w",
            ),
        };
    }
    let (ctes, select) = details(
        &[
            ("event_time", "to_iso8601(ts)"),
            ("event_name", "event_name"),
            ("event_source", "event_source"),
            ("principal", "principal"),
            ("source_ip", "source_ip"),
            ("user_agent", "user_agent"),
            ("error_code", "error_code"),
            ("key", "object_key"),
            ("event_id", "event_id"),
        ],
        "w",
        &[],
        "",
        false,
        None,
    );
    Parts {
        fields: vec![
            F::BucketName,
            F::Resources,
            F::EventName,
            F::EventSource,
            F::Principal,
            F::SourceIp,
            F::UserAgent,
            F::ErrorCode,
            F::ObjectKey,
            F::EventId,
        ],
        conditions,
        ctes,
        select,
    }
}

/// `(a OR b …)` over the values of one filter; None when the filter is not given.
fn any_of<T>(values: &[T], one: impl Fn(&T) -> String) -> Option<String> {
    match values {
        [] => None,
        [v] => Some(one(v)),
        vs => Some(format!(
            "({})",
            vs.iter().map(one).collect::<Vec<_>>().join(" OR ")
        )),
    }
}

fn events(f: &EventFilters, oldest_first: bool, limit: Option<usize>) -> Parts {
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
    if let Some(x) = any_of(&f.buckets, |b| touches_bucket(b)) {
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
    let (ctes, select) = details(
        &[
            ("event_time", "to_iso8601(ts)"),
            ("account", "account_id"),
            ("region", "aws_region"),
            ("event_source", "event_source"),
            ("event_name", "event_name"),
            ("principal", "principal"),
            ("source_ip", "source_ip"),
            ("error_code", "error_code"),
        ],
        "w",
        &[],
        "",
        oldest_first,
        limit,
    );
    Parts {
        fields,
        conditions: c,
        ctes,
        select,
    }
}

fn console_logins(failures: bool, no_mfa: bool) -> Parts {
    let mut conditions = vec!["event_name = 'ConsoleLogin'".to_string()];
    if failures {
        conditions.push("console_login = 'Failure'".into());
    }
    if no_mfa {
        conditions.push("mfa_used = false".into());
    }
    let (ctes, select) = details(
        &[
            ("event_time", "to_iso8601(ts)"),
            ("account", "account_id"),
            ("region", "aws_region"),
            ("principal", "principal"),
            ("user_name", "COALESCE(user_name, arn_last)"),
            ("identity_type", "identity_type"),
            ("source_ip", "source_ip"),
            ("result", "console_login"),
            ("mfa_used", "mfa_used"),
            ("error_message", "error_message"),
            ("user_agent", "user_agent"),
        ],
        "w",
        &[
            ("ctq_successes", "count_if(console_login = 'Success')"),
            ("ctq_failures", "count_if(console_login = 'Failure')"),
            ("ctq_without_mfa", "count_if(mfa_used = false)"),
            ("ctq_root", "count_if(identity_type = 'Root')"),
        ],
        "w",
        false,
        None,
    );
    Parts {
        fields: vec![
            F::EventName,
            F::AccountId,
            F::AwsRegion,
            F::Principal,
            F::UserName,
            F::ArnLast,
            F::IdentityType,
            F::SourceIp,
            F::ConsoleLogin,
            F::MfaUsed,
            F::ErrorMessage,
            F::UserAgent,
            F::EventId,
        ],
        conditions,
        ctes,
        select,
    }
}

fn network_activity(vpces: &[String], denied: bool) -> Parts {
    let mut conditions = vec![
        "(category = 'NetworkActivity' OR event_type IN ('AwsVpceEvent', 'AwsVpceEvents'))"
            .to_string(),
    ];
    conditions.extend(any_of(vpces, |v| format!("vpce = {}", lit(v))));
    if denied {
        conditions.push("error_code = 'VpceAccessDenied'".into());
    }
    Parts {
        fields: vec![
            F::Category,
            F::EventType,
            F::Vpce,
            F::EventSource,
            F::EventName,
            F::Principal,
            F::ErrorCode,
        ],
        conditions,
        ctes: vec![],
        select: grouped(
            &[
                ("vpc_endpoint_id", "vpce"),
                ("event_source", "event_source"),
                ("event_name", "event_name"),
                ("principal", "principal"),
                ("error_code", "error_code"),
            ],
            &FIRST_LAST,
            "w",
        ),
    }
}

/// The SQL column of each of the summary's sections (`reports::summary::SECTIONS`).
const SUMMARY_KEYS: [&str; 7] = [
    "category",
    "account_id",
    "aws_region",
    "event_source",
    "event_name",
    "principal",
    "source_ip",
];

/// One row per section entry, `timeline` rows (events per bucket), and `totals`: the count,
/// errors, the first and last plausible time, and how many times were implausible with the
/// earliest and latest (`reports::summary`). The query picks the timeline's bucket by the local
/// engine's rule (`Bucket::for_span`), so that few rows come back; ctq fills the empty buckets.
fn summary(top: Option<usize>, filter: &Filter, now: Micros) -> Parts {
    let mut branches: Vec<String> = SECTIONS
        .iter()
        .zip(SUMMARY_KEYS)
        .enumerate()
        .map(|(i, ((name, _, _), key))| {
            format!(
                "  SELECT {i} AS \"ord\", {} AS \"section\", {key} AS \"key\", count(*) AS \"count\" FROM w GROUP BY {key}",
                lit(name)
            )
        })
        .collect();
    branches.push(format!(
        "  SELECT {} AS \"ord\", 'timeline' AS \"section\", to_iso8601(\"start\") AS \"key\", count(*) AS \"count\" FROM tl GROUP BY \"start\"",
        SECTIONS.len()
    ));
    // The plausible times, cut to the window so that the bounds (and the golden SQL) do not
    // move with "now" when the window ends before it.
    let (from, until) = plausible_times(now);
    let since = filter.window.since.unwrap_or(now - DAY).max(from);
    let until = filter.window.until.map_or(until, |u| u.min(until));
    let points = Bucket::MAX_POINTS;
    let plausible = format!(
        "v AS (\n  SELECT *, (ts >= {} AND ts < {}) AS plausible FROM w\n),\n\
         extent AS (\n  SELECT min(ts) AS span_first, max(ts) AS span_last FROM v WHERE plausible\n),\n\
         tl AS (\n  SELECT CASE\n\
         \x20     WHEN date_diff('hour', date_trunc('hour', span_first), date_trunc('hour', span_last)) < {points} THEN date_trunc('hour', ts)\n\
         \x20     WHEN date_diff('day', date_trunc('day', span_first), date_trunc('day', span_last)) < {points} THEN date_trunc('day', ts)\n\
         \x20     ELSE date_trunc('month', ts)\n\
         \x20   END AS \"start\"\n  FROM v CROSS JOIN extent\n  WHERE plausible\n)",
        time_lit(since),
        time_lit(until)
    );
    let ranked = format!(
        "s AS (\n{}\n),\nr AS (\n  SELECT *, row_number() OVER (PARTITION BY \"ord\" ORDER BY \"count\" DESC, \"key\" ASC NULLS FIRST) AS \"rank\" FROM s\n)",
        branches.join("\n  UNION ALL\n")
    );
    let limited: Vec<String> = SECTIONS
        .iter()
        .enumerate()
        .filter(|(_, s)| s.2)
        .map(|(i, _)| i.to_string())
        .collect();
    let cut = match top {
        Some(n) => format!(
            "\nWHERE \"ord\" NOT IN ({}) OR \"rank\" <= {n}",
            limited.join(", ")
        ),
        None => String::new(),
    };
    let select = format!(
        "SELECT -1 AS \"ord\", 'totals' AS \"section\", CAST(NULL AS VARCHAR) AS \"key\", count(*) AS \"count\",\n  \
         count_if(error_code IS NOT NULL) AS ctq_errors,\n  \
         to_iso8601(min(CASE WHEN plausible THEN ts END)) AS first_seen, to_iso8601(max(CASE WHEN plausible THEN ts END)) AS last_seen,\n  \
         count_if(NOT plausible) AS ctq_implausible, to_iso8601(min(CASE WHEN NOT plausible THEN ts END)) AS ctq_implausible_first, \
         to_iso8601(max(CASE WHEN NOT plausible THEN ts END)) AS ctq_implausible_last,\n  \
         0 AS \"rank\"\nFROM v\n\
         UNION ALL\n\
         SELECT \"ord\", \"section\", \"key\", \"count\", CAST(NULL AS BIGINT), CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR),\n  \
         CAST(NULL AS BIGINT), CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), \"rank\"\nFROM r{cut}\n\
         ORDER BY \"ord\", \"rank\""
    );
    Parts {
        fields: vec![
            F::Category,
            F::AccountId,
            F::AwsRegion,
            F::EventSource,
            F::EventName,
            F::Principal,
            F::SourceIp,
            F::ErrorCode,
        ],
        conditions: vec![],
        ctes: vec![plausible, ranked],
        select,
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
