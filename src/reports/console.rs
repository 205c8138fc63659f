//! `console-logins`: who signed in to the console, from where, with or without MFA, and which
//! attempts failed.

use super::{Details, Report};
use crate::event::Event;
use crate::render::{Output, Value};
use crate::time::Micros;

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

impl ConsoleLogins {
    pub fn new(failures_only: bool, no_mfa_only: bool) -> Self {
        ConsoleLogins {
            failures_only,
            no_mfa_only,
            ..Default::default()
        }
    }
}

impl Report for ConsoleLogins {
    type Out = Output;

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
        self.rows.push(
            time,
            ev.event_id.as_deref(),
            vec![
                Value::time(time),
                Value::str(ev.recipient_account_id.as_deref()),
                Value::str(ev.aws_region.as_deref()),
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

    fn finish(self) -> Output {
        Output {
            columns: COLUMNS.to_vec(),
            rows: self.rows.into_sorted(),
            footer: footer(self.successes, self.failures, self.without_mfa, self.root),
        }
    }
}

pub const COLUMNS: [&str; 11] = [
    "event_time",
    "account",
    "region",
    "principal",
    "user_name",
    "identity_type",
    "source_ip",
    "result",
    "mfa_used",
    "error_message",
    "user_agent",
];

/// The totals under the table.
pub fn footer(successes: u64, failures: u64, without_mfa: u64, root: u64) -> Vec<String> {
    vec![format!(
        "successes: {successes} · failures: {failures} · without MFA: {without_mfa} · root logins: {root}"
    )]
}
