//! `trace`: who is really behind this key? A temporary key or role session followed back, call
//! by call, to the long-term identity that issued it (README, "Who is behind a key").
//!
//! The accumulator keeps every call that issued credentials (`read::Issue`) and, per access key,
//! who used it and what it did in the window (`Used`); the walk (`walk`) runs on them at the end,
//! as issuing events may be delivered after the calls they enabled. Both are bounded
//! (`MAX_ISSUES`, `MAX_KEYS`, `MAX_NAMES`): past a bound the result says it is partial (exit 3).

mod read;
mod show;
mod tree;
mod walk;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::def::{Context, Report, ReportDef};
use super::group::Map;
use crate::athena::results::ResultTable;
use crate::athena::sql::Query;
use crate::document::Document;
use crate::event::Event;
use crate::time::{Micros, Window, arg::parse_span};

pub use read::{Call, ISSUING, Identity, Issue, Target, Used};

/// Who is really behind this key or role session?
///
/// Follows temporary credentials back to who issued them: the call that issued the key
/// (AssumeRole, GetSessionToken, GetFederationToken, AssumeRoleWithSAML,
/// AssumeRoleWithWebIdentity, Identity Center's GetRoleCredentials), then the credentials of
/// that call, through role chains, to an IAM user and its key, the root user, a SAML or web
/// identity subject, an Identity Center user or an AWS service. Then what each link's
/// credentials did in the window.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// An access key id (AKIA…, ASIA…), an assumed-role ARN or a principalId (AROA…:SESSION)
    ///
    /// The ARN is arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION (or a federated user's); with
    /// --tree, WHO may also be an IAM user, SAML, web identity or Identity Center user name.
    #[arg(value_name = "KEY|ARN|ID")]
    who: String,
    /// How long before the window to look for the calls that issued credentials
    ///
    /// An issuing call may be older than the calls it enabled, logged in another region (global
    /// STS in us-east-1) and delivered late: the day folders of this much before the window are
    /// read too, for issuing calls only.
    #[arg(long, value_name = "SPAN", default_value = "12h", value_parser = parse_span)]
    lookback: Micros,
    /// Every session and key derived from WHO in the window, as a tree
    #[arg(long)]
    tree: bool,
    /// Keys, issuing calls or event names past the bounds of memory (exit 3).
    #[arg(skip)]
    cut: Arc<AtomicU64>,
}

/// At most this many issuing calls, keys, and event names per key are kept.
const MAX_ISSUES: usize = 1 << 20;
const MAX_KEYS: usize = 1 << 20;
const MAX_NAMES: usize = 4096;

impl ReportDef for Args {
    const NAME: &'static str = "trace";
    const EXAMPLES: &'static str = "\
  ctq trace -s s3://my-trail-bucket --since 1d ASIAY24FZZZZIJJL6PUI
  ctq trace -s ./AWSLogs --date 2024-09-05 arn:aws:sts::111111111111:assumed-role/Deploy/ci -o json | jq .origin
  ctq trace -s s3://my-trail-bucket --since 1d --tree alice";
    type Acc = Trace;

    fn check(&self) -> Result<(), String> {
        Target::parse(&self.who, self.tree).map(|_| ())
    }

    fn lookback(&self) -> Micros {
        self.lookback
    }

    fn partial(&self) -> u64 {
        self.cut.load(Ordering::Relaxed)
    }

    fn accumulator(&self, cx: &Context<'_>) -> Trace {
        Trace {
            target: Target::parse(&self.who, self.tree).unwrap_or(Target::Name(String::new())),
            who: self.who.clone(),
            tree: self.tree,
            lookback: self.lookback,
            window: cx.filter.window,
            issues: Vec::new(),
            keys: Map::default(),
            interned: read::Interned::default(),
            cut: 0,
            shared_cut: Arc::clone(&self.cut),
        }
    }

    fn athena_query(&self, _: &Context<'_>) -> Result<Query, String> {
        Err("trace follows calls from event to event, which one query does not do; run it on \
             the local engine, for example with --source s3://…"
            .into())
    }

    fn athena_document(&self, _: &ResultTable<'_>) -> anyhow::Result<Document> {
        anyhow::bail!("trace does not run on Athena")
    }
}

#[derive(Debug, Clone)]
pub struct Trace {
    target: Target,
    who: String,
    tree: bool,
    lookback: Micros,
    /// The window asked for (events before it, in the lookback, are read for their issuing
    /// calls only).
    window: Window,
    issues: Vec<Issue>,
    keys: Map<String, Used>,
    interned: read::Interned,
    /// What did not fit the bounds.
    cut: u64,
    shared_cut: Arc<AtomicU64>,
}

impl Report for Trace {
    fn wants_raw(&self) -> bool {
        true
    }

    fn observe(&mut self, ev: &Event<'_>, time: Option<Micros>) {
        let name = ev.event_name.as_deref().unwrap_or_default();
        if ISSUING.contains(&name)
            && let Some(issue) = Issue::of(ev, time)
        {
            if self.issues.len() < MAX_ISSUES {
                self.issues.push(issue);
            } else {
                self.cut += 1;
            }
        }
        let Some(key) = ev.user_identity.access_key_id.as_deref() else {
            return;
        };
        // Without a window, events without a readable time reach the report too.
        let in_window = time.map_or(self.window.is_unbounded(), |t| self.window.contains(t));
        if !self.keys.contains_key(key) {
            if self.keys.len() >= MAX_KEYS {
                self.cut += 1;
                return;
            }
            let mut used = Used {
                identity: self.interned.identity(ev),
                first_use: time,
                ..Used::default()
            };
            used.session_of(key, ev);
            self.keys.insert(key.to_string(), used);
        }
        let Some(used) = self.keys.get_mut(key) else {
            return;
        };
        // The identity of the first use (a key may be seen with several in hostile or sample
        // logs): the earliest, then the least by ARN, principalId, type and user name.
        let u = &ev.user_identity;
        let lean = [&u.arn, &u.principal_id, &u.kind, &u.user_name].map(|f| f.as_deref());
        if read::rank(time, lean) < used.rank() {
            used.identity = self.interned.identity(ev);
            used.first_use = time;
            used.session_of(key, ev);
        }
        if in_window {
            let error = u64::from(ev.error_code.is_some());
            used.events += 1;
            used.errors += error;
            let full = used.names.len() >= MAX_NAMES;
            match used.names.iter_mut().find(|(n, _, _)| &**n == name) {
                Some(n) => {
                    n.1 += 1;
                    n.2 += error;
                }
                None if full => self.cut += 1,
                None => used.names.push((self.interned.name(name), 1, error)),
            }
        }
    }

    fn merge(&mut self, other: Self) {
        for issue in other.issues {
            if self.issues.len() < MAX_ISSUES {
                self.issues.push(issue);
            } else {
                self.cut += 1;
            }
        }
        for (key, theirs) in other.keys {
            if let Some(ours) = self.keys.get_mut(&key) {
                // The identity of the earlier first use, whichever worker saw it.
                if theirs.rank() < ours.rank() {
                    ours.identity = theirs.identity;
                    ours.first_use = theirs.first_use;
                    ours.mfa = theirs.mfa;
                    ours.principal_id = theirs.principal_id;
                    ours.source_identity = theirs.source_identity;
                }
                ours.events += theirs.events;
                ours.errors += theirs.errors;
                for (name, n, e) in theirs.names {
                    let full = ours.names.len() >= MAX_NAMES;
                    match ours.names.iter_mut().find(|(x, _, _)| *x == name) {
                        Some(c) => {
                            c.1 += n;
                            c.2 += e;
                        }
                        None if full => self.cut += 1,
                        None => ours.names.push((name, n, e)),
                    }
                }
            } else if self.keys.len() < MAX_KEYS {
                self.keys.insert(key, theirs);
            } else {
                self.cut += 1;
            }
        }
        self.cut += other.cut;
    }

    fn finish(mut self) -> Document {
        self.shared_cut.fetch_add(self.cut, Ordering::Relaxed);
        // One record per call, in time order: a call across accounts is logged in both, and the
        // caller's own account's record says more of who called.
        self.issues.sort_by(|a, b| {
            (a.call.time, &a.call.event_id, &a.call.account)
                .cmp(&(b.call.time, &b.call.event_id, &b.call.account))
        });
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut issues: Vec<Issue> = Vec::with_capacity(self.issues.len());
        for issue in std::mem::take(&mut self.issues) {
            let id = issue.call.request.clone().or_else(|| issue.call.event_id.clone());
            match id.as_ref().and_then(|id| seen.get(id)) {
                Some(&at) => {
                    if issue.caller.richness() > issues[at].caller.richness() {
                        issues[at] = issue;
                    }
                }
                None => {
                    if let Some(id) = id {
                        seen.insert(id, issues.len());
                    }
                    issues.push(issue);
                }
            }
        }
        let facts = walk::Facts::new(&issues, &self.keys);
        let mut notes = Vec::new();
        if self.cut > 0 {
            notes.push(format!(
                "partial: {} keys, issuing calls or event names were past what trace keeps in memory",
                self.cut
            ));
        }
        if self.tree {
            tree::document(&facts, &self.target, &self.who, notes)
        } else {
            show::document(&facts, &self.target, &self.who, self.lookback, notes)
        }
    }
}
