//! `profile`: everything about one identity, access key or IP in one document (README,
//! "Profile of an identity").
//!
//! JSON shape (`-o json`; one line with `-o ndjson`):
//! `{"who": …, "matched_on": "arn"|"access_key"|"name"|"ip", "events": n, "errors": n,
//!   "first_seen": time|null, "last_seen": time|null,
//!   "accounts", "regions", "principals", "source_ips", "user_agents", "access_keys",
//!   "event_sources", "event_names", "error_codes", "writes": [{KEY: …, "count": n,
//!   "first_seen": time, "last_seen": time}] (cut to --top, most first),
//!   "denied": [{"event_name", "error_code", "count", "first_seen", "last_seen"}],
//!   "console_logins": [{"event_time", "source_ip", "user_agent", "result", "mfa"}],
//!   "baseline": null | {"since": time, "until": time, "events": n},
//!   "new_in_window": null | [{"event_name", "count", "first_seen", "last_seen"}],
//!   "timeline_bucket": "hour"|"day"|"month", "timeline": [{"start": time, "count": n}]}`.

use std::collections::BTreeSet;

use serde_json::{Value as Json, json};

use super::def::{Context, Report, ReportDef};
use super::group::{Agg, Groups, Map, top};
use super::summary::{plausible_times, timeline};
use crate::athena::results::ResultTable;
use crate::athena::sql::Query;
use crate::document::{Column, Composite, Document, Part, Rows, Value};
use crate::event::{Event, is_access_key_id};
use crate::net::IpNet;
use crate::time::{HOUR, Micros, Window, arg::parse_span, format_time};

/// Everything about one identity, access key or IP
///
/// First and last seen, where from, with what, what it did, what failed, console sign-ins, and
/// with --baseline the calls it never made before the window.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// A principal ARN, an access key id, or a name as events --user matches it
    ///
    /// A name is matched as events --user does: userIdentity.userName, the role of a session
    /// (sessionContext.sessionIssuer.userName) or the last part of userIdentity.arn.
    #[arg(value_name = "WHO", required_unless_present = "ip", conflicts_with = "ip")]
    who: Option<String>,
    /// Profile an IP address or CIDR block instead (sourceIPAddress)
    #[arg(long, value_name = "IP|CIDR")]
    ip: Option<IpNet>,
    /// How many rows each list keeps (0 for all)
    #[arg(long, value_name = "N", default_value_t = 5)]
    top: usize,
    /// List the event names never called in this span before the window (0, the default: off)
    ///
    /// The events of WHO in that span are read too, and only to know which event names it
    /// called: new_in_window lists those of the window that are not among them.
    #[arg(long, value_name = "SPAN", default_value = "0", value_parser = parse_span)]
    baseline: Micros,
}

/// How WHO is matched.
#[derive(Debug, Clone)]
enum Who {
    Arn(String),
    Key(String),
    Name(String),
    Ip(IpNet),
}

impl Who {
    fn of(args: &Args) -> Who {
        match (&args.ip, &args.who) {
            (Some(net), _) => Who::Ip(*net),
            (None, Some(w)) if w.starts_with("arn:") => Who::Arn(w.clone()),
            (None, Some(w)) if is_access_key_id(w) => Who::Key(w.clone()),
            (None, w) => Who::Name(w.clone().unwrap_or_default()),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Who::Arn(_) => "arn",
            Who::Key(_) => "access_key",
            Who::Name(_) => "name",
            Who::Ip(_) => "ip",
        }
    }

    fn matches(&self, ev: &Event<'_>) -> bool {
        let u = &ev.user_identity;
        match self {
            Who::Arn(a) => u.arn.as_deref() == Some(a),
            Who::Key(k) => u.access_key_id.as_deref() == Some(k),
            Who::Name(n) => {
                u.user_name.as_deref() == Some(n)
                    || u.issuer_user_name.as_deref() == Some(n)
                    || ev.arn_last_segment() == Some(n)
            }
            Who::Ip(net) => ev.source_ip.as_deref().is_some_and(|ip| net.matches(ip)),
        }
    }
}

/// The AccessDenied family of error codes: AccessDenied, AccessDeniedException,
/// UnauthorizedOperation, Client.UnauthorizedOperation, NotAuthorized…, Forbidden.
pub fn is_denied(code: &str) -> bool {
    let c = code.to_ascii_lowercase();
    c.contains("accessdenied") || c.contains("unauthorized") || c.contains("notauthorized") || c.contains("forbidden")
}

/// The lists of the document, in order: (JSON name, table title, key column). `--top` cuts each.
const LISTS: [(&str, &str, &str); 12] = [
    ("accounts", "accounts", "account"),
    ("regions", "regions", "region"),
    ("principals", "principals", "principal"),
    ("source_ips", "source IPs", "source_ip"),
    ("user_agents", "user agents", "user_agent"),
    ("access_keys", "access keys", "access_key_id"),
    ("event_sources", "event sources", "event_source"),
    ("event_names", "event names", "event_name"),
    ("error_codes", "error codes", "error_code"),
    ("writes", "write calls (readOnly false)", "event_name"),
    ("denied", "denied (AccessDenied and the like)", "event_name"),
    ("new_in_window", "new in the window (never in the baseline)", "event_name"),
];

/// A console sign-in: time, source IP, user agent, result, MFA.
type Login = (
    Option<Micros>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<bool>,
);

/// At most this many console sign-ins are listed (the newest).
const MAX_LOGINS: usize = 10_000;

impl ReportDef for Args {
    const NAME: &'static str = "profile";
    const EXAMPLES: &'static str = "\
  ctq profile -s s3://my-trail-bucket --since 7d alice
  ctq profile -s ./AWSLogs --since 1d AKIAIOSFODNN7EXAMPLE --baseline 30d -o json
  ctq profile -s s3://my-trail-bucket --since 2d --ip 203.0.113.0/24";
    type Acc = Profile;

    fn check(&self) -> Result<(), String> {
        if self.who.as_deref().is_some_and(str::is_empty) {
            return Err("WHO is empty: a principal ARN, an access key id or a name".into());
        }
        Ok(())
    }

    fn lookback(&self) -> Micros {
        self.baseline
    }

    fn accumulator(&self, cx: &Context<'_>) -> Profile {
        Profile {
            who: Who::of(self),
            top: top(self.top),
            window: cx.filter.window,
            plausible: plausible_times(cx.now),
            span: Agg::default(),
            baseline: self.baseline,
            lists: Default::default(),
            all: Agg::default(),
            errors: 0,
            hours: Map::default(),
            logins: Vec::new(),
            before: BTreeSet::new(),
            before_events: 0,
            dropped: false,
        }
    }

    fn athena_query(&self, _: &Context<'_>) -> Result<Query, String> {
        Err("profile runs on the local engine; for example with --source s3://…".into())
    }

    fn athena_document(&self, _: &ResultTable<'_>) -> anyhow::Result<Document> {
        anyhow::bail!("profile does not run on Athena")
    }
}

#[derive(Debug, Clone)]
pub struct Profile {
    who: Who,
    top: Option<usize>,
    window: Window,
    /// The event times that are plausible (`summary::plausible_times`): only they make the
    /// first and last seen and the timeline, whose length is so bounded.
    plausible: (Micros, Micros),
    span: Agg,
    baseline: Micros,
    /// One group per list of `LISTS` (denied is by event name and error code).
    lists: [Groups; 12],
    all: Agg,
    errors: u64,
    hours: Map<i64, u64>,
    /// Console sign-ins: (time, source IP, user agent, result, MFA).
    logins: Vec<Login>,
    /// The event names called in the baseline period, and how many events it held.
    before: BTreeSet<String>,
    before_events: u64,
    /// Console sign-ins were dropped past `MAX_LOGINS`.
    dropped: bool,
}

impl Report for Profile {
    fn observe(&mut self, ev: &Event<'_>, time: Option<Micros>) {
        if !self.who.matches(ev) {
            return;
        }
        let name = ev.event_name.as_deref();
        // Events before the window are the baseline's (`ReportDef::lookback`).
        if let (Some(t), Some(since)) = (time, self.window.since)
            && t < since
        {
            self.before_events += 1;
            if let Some(n) = name
                && !self.before.contains(n)
            {
                self.before.insert(n.to_string());
            }
            return;
        }
        self.all.add(time);
        self.errors += u64::from(ev.error_code.is_some());
        if let Some(t) = time.filter(|t| (self.plausible.0..self.plausible.1).contains(t)) {
            self.span.add(Some(t));
            *self.hours.entry(t.div_euclid(HOUR)).or_default() += 1;
        }
        let u = &ev.user_identity;
        let keys = [
            ev.recipient_account_id.as_deref(),
            ev.aws_region.as_deref(),
            Some(ev.principal()),
            ev.source_ip.as_deref(),
            ev.user_agent.as_deref(),
            u.access_key_id.as_deref(),
            ev.event_source.as_deref(),
            name,
            ev.error_code.as_deref(),
        ];
        for (groups, key) in self.lists.iter_mut().zip(keys) {
            if key.is_some() {
                groups.entry(&[key]).add(time);
            }
        }
        if ev.read_only == Some(false) {
            self.lists[9].entry(&[name]).add(time);
        }
        if let Some(code) = ev.error_code.as_deref().filter(|c| is_denied(c)) {
            self.lists[10].entry(&[name, Some(code)]).add(time);
        }
        if self.baseline > 0 {
            self.lists[11].entry(&[name]).add(time);
        }
        if name == Some("ConsoleLogin") {
            self.logins.push((
                time,
                ev.source_ip.as_deref().map(str::to_string),
                ev.user_agent.as_deref().map(str::to_string),
                ev.console_login.as_deref().map(str::to_string),
                ev.mfa_used,
            ));
            self.cut_logins();
        }
    }

    fn merge(&mut self, other: Self) {
        for (a, b) in self.lists.iter_mut().zip(other.lists) {
            a.merge(b);
        }
        self.all.merge(other.all);
        self.span.merge(other.span);
        self.errors += other.errors;
        for (h, n) in other.hours {
            *self.hours.entry(h).or_default() += n;
        }
        self.logins.extend(other.logins);
        self.dropped |= other.dropped;
        self.cut_logins();
        self.before.extend(other.before);
        self.before_events += other.before_events;
    }

    fn finish(mut self) -> Document {
        self.logins.sort_by(|a, b| b.cmp(a));
        let logins_cut = self.dropped || self.logins.len() > MAX_LOGINS;
        self.logins.truncate(MAX_LOGINS);
        let (bucket, points) = timeline(self.span.first, self.span.last, &self.hours);
        let who = match &self.who {
            Who::Arn(s) | Who::Key(s) | Who::Name(s) => s.clone(),
            Who::Ip(net) => net.to_string(),
        };
        let mut json = serde_json::Map::new();
        json.insert("who".into(), json!(who));
        json.insert("matched_on".into(), json!(self.who.name()));
        json.insert("events".into(), json!(self.all.count));
        json.insert("errors".into(), json!(self.errors));
        json.insert("first_seen".into(), json!(self.span.first.map(format_time)));
        json.insert("last_seen".into(), json!(self.span.last.map(format_time)));
        let mut parts = vec![Part::Line(format!(
            "{who} ({}): {} events, {} errors, first seen {}, last seen {}",
            self.who.name(),
            self.all.count,
            self.errors,
            self.span.first.map_or("-".into(), format_time),
            self.span.last.map_or("-".into(), format_time),
        ))];
        let mut notes = Vec::new();
        let before = std::mem::take(&mut self.before);
        for (i, (groups, (name, title, key))) in
            std::mem::take(&mut self.lists).into_iter().zip(LISTS).enumerate()
        {
            if name == "new_in_window" && self.baseline == 0 {
                json.insert(name.into(), Json::Null);
                continue;
            }
            let mut all = groups.into_sorted();
            if name == "new_in_window" {
                all.retain(|(k, _)| k[0].as_ref().is_none_or(|n| !before.contains(n)));
            }
            let total = all.len();
            let shown: Vec<_> = all.into_iter().take(self.top.unwrap_or(usize::MAX)).collect();
            if shown.len() < total {
                notes.push(format!("{name}: {} of {total} shown (--top N for more, 0 for all)", shown.len()));
            }
            let denied = i == 10;
            json.insert(
                name.into(),
                shown
                    .iter()
                    .map(|(k, a)| {
                        let mut m = serde_json::Map::new();
                        m.insert(key.into(), json!(k[0]));
                        if denied {
                            m.insert("error_code".into(), json!(k.get(1).cloned().flatten()));
                        }
                        m.insert("count".into(), json!(a.count));
                        m.insert("first_seen".into(), json!(a.first.map(format_time)));
                        m.insert("last_seen".into(), json!(a.last.map(format_time)));
                        Json::Object(m)
                    })
                    .collect(),
            );
            if shown.is_empty() {
                continue;
            }
            let mut columns = vec![Column::text(key).elide()];
            if denied {
                columns.push(Column::text("error_code"));
            }
            columns.extend([Column::count("count"), Column::time("first_seen").rank(1), Column::time("last_seen").rank(1)]);
            let rows = shown
                .into_iter()
                .map(|(k, a)| {
                    let mut row: Vec<Value> = k.into_iter().map(|k| k.map_or(Value::Null, Value::Str)).collect();
                    row.extend(a.count_first_last());
                    row
                })
                .collect();
            parts.push(Part::Rows(title, Rows { columns, rows, footer: vec![], notes: vec![] }));
        }
        if logins_cut {
            notes.push(format!("console_logins: the newest {MAX_LOGINS} are listed"));
        }
        json.insert(
            "console_logins".into(),
            self.logins
                .iter()
                .map(|(t, ip, ua, result, mfa)| {
                    json!({"event_time": t.map(format_time), "source_ip": ip, "user_agent": ua, "result": result, "mfa": mfa})
                })
                .collect(),
        );
        if !self.logins.is_empty() {
            parts.push(Part::Rows(
                "console sign-ins",
                Rows {
                    columns: vec![
                        Column::time("event_time"),
                        Column::text("source_ip"),
                        Column::text("result"),
                        Column::bool("mfa"),
                        Column::text("user_agent").wrap().rank(1),
                    ],
                    rows: self
                        .logins
                        .iter()
                        .map(|(t, ip, ua, result, mfa)| {
                            vec![
                                Value::time(*t),
                                Value::str(ip.as_deref()),
                                Value::str(result.as_deref()),
                                mfa.map_or(Value::Null, Value::Bool),
                                Value::str(ua.as_deref()),
                            ]
                        })
                        .collect(),
                    footer: vec![],
                    notes: vec![],
                },
            ));
        }
        let baseline = match (self.baseline, self.window.since) {
            (b, Some(since)) if b > 0 => json!({
                "since": format_time(since.saturating_sub(b)), "until": format_time(since),
                "events": self.before_events,
            }),
            (b, None) if b > 0 => {
                notes.push("--baseline needs a window start (--since or --date): no baseline was read".into());
                Json::Null
            }
            _ => Json::Null,
        };
        json.insert("baseline".into(), baseline);
        json.insert("timeline_bucket".into(), json!(bucket.name()));
        json.insert(
            "timeline".into(),
            points.iter().map(|(s, n)| json!({"start": format_time(*s), "count": n})).collect(),
        );
        parts.push(Part::Timeline("events", bucket, points));
        let empty = self.all.count == 0;
        if empty {
            notes.push(format!("no event of {} in the window", crate::escape::escape_control(&who)));
        }
        Composite { json: Json::Object(json), parts, empty, notes }.into()
    }
}

impl Profile {
    /// Keeps the newest `MAX_LOGINS` console sign-ins.
    fn cut_logins(&mut self) {
        if self.logins.len() > 2 * MAX_LOGINS {
            self.logins.sort_by(|a, b| b.cmp(a));
            self.logins.truncate(MAX_LOGINS);
            self.dropped = true;
        }
    }
}
