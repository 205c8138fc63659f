//! `console-logins`: who signed in to the console, from where, with or without MFA, and which
//! attempts failed.

use super::cells::{ACCOUNT, ERROR_MESSAGE, EVENT_TIME, PRINCIPAL, REGION, SOURCE_IP, USER_AGENT};
use super::def::{Context, Report, ReportDef};
use super::group::Details;
use crate::athena::results::ResultTable;
use crate::athena::sql::{self, Cell, F, Query};
use crate::document::{Column, Document, Rows, Value};
use crate::event::Event;
use crate::time::Micros;

/// Who signed in to the console, from where, with or without MFA, and which attempts failed?
///
/// Every ConsoleLogin event. The table ends with totals: successes, failures, logins
/// without MFA, root logins.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Only failed sign-ins (responseElements.ConsoleLogin is Failure)
    #[arg(long)]
    failures: bool,
    /// Only sign-ins without MFA (additionalEventData.MFAUsed is No)
    #[arg(long)]
    no_mfa: bool,
}

const COLUMNS: [Cell; 11] = [
    EVENT_TIME,
    ACCOUNT,
    REGION,
    PRINCIPAL,
    (
        Column::text("user_name").elide().rank(4),
        "COALESCE(user_name, arn_last)",
    ),
    (Column::text("identity_type").rank(5), "identity_type"),
    SOURCE_IP,
    (Column::text("result").rank(0), "console_login"),
    (Column::bool("mfa_used").rank(1), "mfa_used"),
    ERROR_MESSAGE,
    USER_AGENT,
];

impl ReportDef for Args {
    const NAME: &'static str = "console-logins";
    const EXAMPLES: &'static str = "\
  ctq console-logins -s s3://my-trail-bucket --since 7d --no-mfa
  ctq console-logins -s ./AWSLogs --failures -o csv > failed-logins.csv";
    type Acc = ConsoleLogins;

    fn accumulator(&self, _: &Context<'_>) -> ConsoleLogins {
        ConsoleLogins {
            failures_only: self.failures,
            no_mfa_only: self.no_mfa,
            ..Default::default()
        }
    }

    fn athena_query(&self, _: &Context<'_>) -> Result<Query, String> {
        let mut conditions = vec!["event_name = 'ConsoleLogin'".to_string()];
        if self.failures {
            conditions.push("console_login = 'Failure'".into());
        }
        if self.no_mfa {
            conditions.push("mfa_used = false".into());
        }
        let (ctes, select) = sql::details(
            &COLUMNS,
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
        Ok(Query {
            extra: Vec::new(),
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
        })
    }

    fn athena_document(&self, t: &ResultTable<'_>) -> anyhow::Result<Document> {
        let footer = footer(
            t.total("ctq_successes")?,
            t.total("ctq_failures")?,
            t.total("ctq_without_mfa")?,
            t.total("ctq_root")?,
        );
        Ok(t.rows(sql::columns(&[&COLUMNS]), footer)?.into())
    }
}

#[derive(Debug, Clone, Default)]
pub struct ConsoleLogins {
    failures_only: bool,
    no_mfa_only: bool,
    rows: Details,
    successes: u64,
    failures: u64,
    without_mfa: u64,
    root: u64,
}

impl Report for ConsoleLogins {
    fn observe(&mut self, ev: &Event<'_>, time: Option<Micros>) {
        if ev.event_name.as_deref() != Some("ConsoleLogin") {
            return;
        }
        let result = ev.console_login.as_deref();
        if (self.failures_only && result != Some("Failure"))
            || (self.no_mfa_only && ev.mfa_used != Some(false))
        {
            return;
        }
        let u = &ev.user_identity;
        self.successes += u64::from(result == Some("Success"));
        self.failures += u64::from(result == Some("Failure"));
        self.without_mfa += u64::from(ev.mfa_used == Some(false));
        self.root += u64::from(u.kind.as_deref() == Some("Root"));
        self.rows.push_located(
            ev,
            time,
            [
                Value::str(Some(ev.principal())),
                Value::str(u.user_name.as_deref().or(ev.arn_last_segment())),
                Value::str(u.kind.as_deref()),
                Value::str(ev.source_ip.as_deref()),
                Value::str(result),
                ev.mfa_used.map_or(Value::Null, Value::Bool),
                Value::str(ev.error_message.as_deref()),
                Value::str(ev.user_agent.as_deref()),
            ],
        );
    }

    fn merge(&mut self, other: Self) {
        self.rows.merge(other.rows);
        self.successes += other.successes;
        self.failures += other.failures;
        self.without_mfa += other.without_mfa;
        self.root += other.root;
    }

    fn finish(self) -> Document {
        Rows {
            columns: sql::columns(&[&COLUMNS]),
            rows: self.rows.into_sorted(),
            footer: footer(self.successes, self.failures, self.without_mfa, self.root),
            notes: vec![],
        }
        .into()
    }
}

/// The totals under the table.
fn footer(successes: u64, failures: u64, without_mfa: u64, root: u64) -> Vec<String> {
    vec![format!(
        "successes: {successes} · failures: {failures} · without MFA: {without_mfa} · root logins: {root}"
    )]
}
