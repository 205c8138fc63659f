//! `trace --tree`: every session and key derived from one origin in the window. A node is a set
//! of credentials; its children are the credentials issued by calls made with it (by its keys,
//! or by its principal when the call carried no key), breadth first, bounded in depth and size.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use super::walk::{Facts, Link, identity_center_session, session_parts};
use super::read::{Issue, Target, Used};
use crate::document::{Column, Composite, Document, Part, Rows, Value as Cell};

const MAX_DEPTH: usize = 16;
const MAX_NODES: usize = 10_000;

struct Node {
    link: Link,
    /// The call that issued these credentials (None for the root).
    issued_by: Option<usize>,
    depth: usize,
    children: Vec<usize>,
}

/// The indexes the tree is grown with: the issuing calls by the credentials that made them (a
/// key, or `arn:` and the ARN of a caller without one), and the keys of role sessions by account
/// and session name (Identity Center logs no key: its sessions are found by name).
struct Index<'a> {
    by_caller: HashMap<String, Vec<usize>>,
    sessions: HashMap<(&'a str, &'a str), Vec<(&'a str, &'a str)>>,
}

impl<'a> Index<'a> {
    fn new(f: &Facts<'a>) -> Index<'a> {
        let mut by_caller: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, issue) in f.issues.iter().enumerate() {
            if issue.name() == "CreateAccessKey" {
                continue;
            }
            let c = &issue.caller;
            let who = match (&c.access_key_id, &c.arn) {
                (Some(k), _) => k.clone(),
                (None, Some(arn)) => format!("arn:{arn}"),
                (None, None) => continue,
            };
            by_caller.entry(who).or_default().push(i);
        }
        let mut sessions: HashMap<(&str, &str), Vec<(&str, &str)>> = HashMap::new();
        for (key, used) in f.keys {
            if let Some(arn) = used.identity.arn.as_deref()
                && let Some((account, _, session)) = session_parts(arn)
            {
                sessions.entry((account, session)).or_default().push((arn, key));
            }
        }
        Index { by_caller, sessions }
    }

    /// The calls made with the credentials of `l`, in time order.
    fn made_with(&self, l: &Link) -> Vec<usize> {
        let mut out: Vec<usize> = l
            .keys
            .iter()
            .filter_map(|k| self.by_caller.get(k))
            .chain(l.principal.iter().filter_map(|a| self.by_caller.get(&format!("arn:{a}"))))
            .flatten()
            .copied()
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The credentials an issuing call gave: its key, and the keys its session used.
    fn issued_link(&self, f: &Facts<'_>, issue: &Issue) -> Link {
        let mut keys: Vec<String> = issue.key.iter().cloned().collect();
        if issue.key.is_none() {
            // No key logged (Identity Center): the sessions it named, by their ARN.
            let (account, user) = match issue.assumed_arn.as_deref().and_then(session_parts) {
                Some((account, _, session)) => (account, session),
                None => (
                    issue.sso_account.as_deref().unwrap_or_default(),
                    issue.caller.user_name.as_deref().unwrap_or_default(),
                ),
            };
            let mut found: Vec<(&str, &Used)> = self
                .sessions
                .get(&(account, user))
                .into_iter()
                .flatten()
                .filter(|(arn, _)| {
                    identity_center_session(issue, arn) || issue.assumed_arn.as_deref() == Some(*arn)
                })
                .filter_map(|(_, k)| f.keys.get(*k).map(|u| (*k, u)))
                .collect();
            Used::by_first_use(&mut found);
            keys.extend(found.into_iter().map(|(k, _)| k.to_string()));
        }
        let seen = keys.iter().find_map(|k| f.keys.get(k).map(|u| u.identity_of(k)));
        let seen = seen.as_ref();
        Link {
            access_key_id: keys.first().cloned(),
            principal: issue.assumed_arn.clone().or_else(|| seen.and_then(|i| i.arn.clone())),
            principal_id: issue.assumed_id.clone().or_else(|| seen.and_then(|i| i.principal_id.clone())),
            account: seen.and_then(|i| i.account.clone()).or_else(|| {
                issue.assumed_arn.as_deref().and_then(|a| a.split(':').nth(4)).map(str::to_string)
            }),
            kind: seen.and_then(|i| i.kind.clone()),
            keys,
            ..Link::default()
        }
    }
}

fn roots(f: &Facts<'_>, ix: &Index<'_>, target: &Target) -> (Vec<Node>, Vec<usize>) {
    let mut nodes = Vec::new();
    let mut issued = Vec::new();
    match target {
        Target::Name(name) => {
            // An IAM user of that name: every key it used.
            let mut keys: Vec<(&String, &Used)> = f
                .keys
                .iter()
                .filter(|(_, u)| {
                    let i = &u.identity;
                    i.kind.as_deref() == Some("IAMUser")
                        && (i.user_name.as_deref() == Some(name)
                            || i.arn.as_deref().and_then(|a| a.rsplit('/').next()) == Some(name))
                })
                .collect();
            Used::by_first_use(&mut keys);
            if let Some((_, u)) = keys.first() {
                let mut l = Link {
                    principal: u.identity.arn.clone(),
                    principal_id: u.principal_id.as_deref().map(str::to_string),
                    account: u.identity.account.clone(),
                    kind: u.identity.kind.clone(),
                    ..Link::default()
                };
                l.keys = keys.iter().map(|(k, _)| (*k).clone()).collect();
                l.access_key_id = l.keys.iter().find(|k| k.starts_with("AKIA")).cloned();
                nodes.push(Node { link: l, issued_by: None, depth: 0, children: vec![] });
            }
            // A federated subject or Identity Center user of that name: each session it got.
            for (i, issue) in f.issues.iter().enumerate() {
                let federated = matches!(
                    issue.name(),
                    "AssumeRoleWithSAML" | "AssumeRoleWithWebIdentity" | "GetRoleCredentials" | "Federate"
                );
                if federated
                    && (issue.subject.as_deref() == Some(name) || issue.caller.user_name.as_deref() == Some(name))
                {
                    nodes.push(Node { link: ix.issued_link(f, issue), issued_by: Some(i), depth: 0, children: vec![] });
                    issued.push(i);
                }
            }
        }
        _ => nodes.push(Node { link: Link::start(f, target), issued_by: None, depth: 0, children: vec![] }),
    }
    (nodes, issued)
}

pub fn document(f: &Facts<'_>, target: &Target, who: &str, mut notes: Vec<String>) -> Document {
    let ix = Index::new(f);
    let (mut nodes, issued) = roots(f, &ix, target);
    let root_count = nodes.len();
    let mut used: HashSet<usize> = issued.into_iter().collect();
    let mut at = 0;
    let mut cut = false;
    while at < nodes.len() {
        if nodes[at].depth < MAX_DEPTH {
            for i in ix.made_with(&nodes[at].link) {
                let issue = &f.issues[i];
                if used.contains(&i) {
                    continue;
                }
                if nodes.len() >= MAX_NODES {
                    cut = true;
                    break;
                }
                used.insert(i);
                let child = nodes.len();
                let depth = nodes[at].depth + 1;
                nodes.push(Node { link: ix.issued_link(f, issue), issued_by: Some(i), depth, children: vec![] });
                nodes[at].children.push(child);
            }
        } else {
            cut = true;
        }
        at += 1;
    }
    if cut {
        notes.push(format!(
            "the tree is cut at {MAX_DEPTH} levels or {MAX_NODES} sessions; trace a deeper key on its own"
        ));
    }
    let totals = |l: &Link| {
        l.keys.iter().filter_map(|k| f.keys.get(k)).fold((0, 0), |(n, e), u| (n + u.events, e + u.errors))
    };
    // JSON, nested; built from the leaves up (no recursion).
    let mut built: Vec<Option<Value>> = vec![None; nodes.len()];
    for i in (0..nodes.len()).rev() {
        let n = &nodes[i];
        let (events, errors) = totals(&n.link);
        let children: Vec<Value> = n.children.iter().filter_map(|c| built[*c].take()).collect();
        let by = n.issued_by.map(|j| &f.issues[j]);
        built[i] = Some(json!({
            "access_key_id": n.link.access_key_id,
            "access_key_ids": n.link.keys,
            "principal": n.link.principal,
            "principal_id": n.link.principal_id,
            "account": n.link.account,
            "issued_by_event": by.map_or(Value::Null, |i| i.call.json()),
            "events": events,
            "errors": errors,
            "children": children,
        }));
    }
    let tree: Vec<Value> = built.into_iter().take(root_count).flatten().collect();
    // The table: depth first, indented.
    let mut rows = Vec::new();
    let mut stack: Vec<usize> = (0..root_count).rev().collect();
    while let Some(i) = stack.pop() {
        let n = &nodes[i];
        let (events, errors) = totals(&n.link);
        let by = n.issued_by.map(|j| &f.issues[j]);
        let label = n.link.principal.as_deref().or(n.link.principal_id.as_deref()).unwrap_or("?");
        rows.push(vec![
            Cell::Str(format!("{}{}{label}", "  ".repeat(n.depth), if n.depth > 0 { "└ " } else { "" })),
            Cell::str(n.link.access_key_id.as_deref()),
            Cell::str(by.and_then(|i| i.call.event_name.as_deref())),
            by.and_then(|i| i.call.time).map_or(Cell::Null, Cell::Time),
            Cell::Count(events),
            Cell::Count(errors),
        ]);
        stack.extend(n.children.iter().rev());
    }
    let empty = rows.is_empty();
    if empty {
        notes.push(format!(
            "nothing in the window names {}",
            crate::escape::escape_control(who)
        ));
    }
    Composite {
        json: json!({"asked": who, "tree": tree}),
        parts: vec![Part::Rows(
            "tree",
            Rows {
                columns: vec![
                    Column::text("credentials").elide(),
                    Column::text("access_key_id"),
                    Column::text("issued_by").rank(1),
                    Column::time("event_time").rank(1),
                    Column::count("events"),
                    Column::count("errors"),
                ],
                rows,
                footer: vec![],
                notes: vec![],
            },
        )],
        empty,
        notes,
    }
    .into()
}
