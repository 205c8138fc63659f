//! The chain of `trace`: from the credentials asked about, link by link, to the identity that
//! issued the first of them.
//!
//! A link's issuing call is found by the first rule that finds any:
//! 1. `responseElements.credentials.accessKeyId` is a key the link's principal used;
//! 2. `responseElements.assumedRoleUser.assumedRoleId` is its principalId, or
//!    `assumedRoleUser.arn` its ARN (`federatedUser.*` for federation tokens);
//! 3. Identity Center: a `GetRoleCredentials` call for the session's account and permission set
//!    (its role is `AWSReservedSSO_<set>_…`) by the user the session is named after;
//! 4. `requestParameters.roleArn` and `roleSessionName` name the session's role and session.
//!
//! One call found: the next link is its caller's credentials, until a long-term identity. Several
//! found: all are shown, each with its rule, and the chain stops there. None: the link's own
//! identity says what it can (an IAM user, the root user, an Identity Center user, a service),
//! else the origin is not in the window.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use super::read::{Identity, Issue, Target, Used};
use crate::reports::group::Map;

/// A chain is at most this long: role chaining is capped by AWS far below it, and a loop in
/// hostile logs ends here.
const MAX_LINKS: usize = 32;

/// The issuing calls and the keys, indexed.
pub struct Facts<'a> {
    pub issues: &'a [Issue],
    pub keys: &'a Map<String, Used>,
    by_key: HashMap<&'a str, Vec<usize>>,
    by_id: HashMap<&'a str, Vec<usize>>,
    by_arn: HashMap<&'a str, Vec<usize>>,
}

impl<'a> Facts<'a> {
    pub fn new(issues: &'a [Issue], keys: &'a Map<String, Used>) -> Facts<'a> {
        let mut f = Facts {
            issues,
            keys,
            by_key: HashMap::new(),
            by_id: HashMap::new(),
            by_arn: HashMap::new(),
        };
        for (i, issue) in issues.iter().enumerate() {
            if issue.name() == "CreateAccessKey" {
                continue;
            }
            if let Some(k) = &issue.key {
                f.by_key.entry(k).or_default().push(i);
            }
            if let Some(id) = &issue.assumed_id {
                f.by_id.entry(id).or_default().push(i);
            }
            if let Some(arn) = &issue.assumed_arn {
                f.by_arn.entry(arn).or_default().push(i);
            }
        }
        f
    }

    /// The keys used by a principal (by ARN or principalId), earliest first use first.
    pub fn keys_of(&self, arn: Option<&str>, id: Option<&str>) -> Vec<&'a str> {
        let mut keys: Vec<(&str, &Used)> = self
            .keys
            .iter()
            .filter(|(_, u)| {
                (arn.is_some() && u.identity.arn.as_deref() == arn)
                    || (id.is_some() && u.principal_id.as_deref() == id)
            })
            .map(|(k, u)| (k.as_str(), u))
            .collect();
        Used::by_first_use(&mut keys);
        keys.into_iter().map(|(k, _)| k).collect()
    }

    /// The `CreateAccessKey` call that made `key`.
    pub fn created(&self, key: &str) -> Option<&'a Issue> {
        self.issues
            .iter()
            .find(|i| i.name() == "CreateAccessKey" && i.key.as_deref() == Some(key))
    }

    /// The calls that issued the credentials of `link`, and the rule that found each.
    pub fn issuers(&self, link: &Link) -> Vec<(usize, &'static str)> {
        fn add(found: &mut Vec<(usize, &'static str)>, list: Option<&Vec<usize>>, rule: &'static str) {
            for &i in list.into_iter().flatten() {
                if !found.iter().any(|(j, _)| *j == i) {
                    found.push((i, rule));
                }
            }
        }
        let mut found: Vec<(usize, &'static str)> = Vec::new();
        for k in &link.keys {
            add(&mut found, self.by_key.get(k.as_str()), "responseElements.credentials.accessKeyId");
        }
        if found.is_empty() {
            if let Some(id) = &link.principal_id {
                add(&mut found, self.by_id.get(id.as_str()), "responseElements.assumedRoleUser.assumedRoleId");
            }
            if let Some(arn) = &link.principal {
                add(&mut found, self.by_arn.get(arn.as_str()), "responseElements.assumedRoleUser.arn");
            }
        }
        if found.is_empty()
            && let Some(arn) = &link.principal
        {
            for (i, issue) in self.issues.iter().enumerate() {
                if matches!(issue.name(), "GetRoleCredentials" | "Federate") && identity_center_session(issue, arn) {
                    found.push((i, "GetRoleCredentials: account, permission set and user name"));
                }
            }
        }
        if found.is_empty()
            && let Some((account, role, session)) = link.principal.as_deref().and_then(session_parts)
        {
            for (i, issue) in self.issues.iter().enumerate() {
                let role_ok = issue.role_arn.as_deref().is_some_and(|r| {
                    r.starts_with("arn:")
                        && r.split(':').nth(4) == Some(account)
                        && r.rsplit('/').next() == Some(role)
                        && r.contains(":role/")
                });
                if role_ok && issue.session_name.as_deref() == Some(session) {
                    found.push((i, "requestParameters.roleArn and roleSessionName"));
                }
            }
        }
        found
    }
}

/// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` as (account, role, session).
pub fn session_parts(arn: &str) -> Option<(&str, &str, &str)> {
    let account = arn.split(':').nth(4)?;
    let rest = arn.split_once(":assumed-role/")?.1;
    let (role, session) = rest.split_once('/')?;
    Some((account, role, session))
}

/// Whether the role session `arn` is what the Identity Center call `issue` gave: the account
/// asked for, a role `AWSReservedSSO_<permission set>_…`, named after the caller.
pub fn identity_center_session(issue: &Issue, arn: &str) -> bool {
    let Some((account, role, session)) = session_parts(arn) else {
        return false;
    };
    let set = issue.sso_role.as_deref().unwrap_or_default();
    issue.sso_account.as_deref() == Some(account)
        && !set.is_empty()
        && role
            .strip_prefix("AWSReservedSSO_")
            .and_then(|r| r.strip_prefix(set))
            .is_some_and(|r| r.starts_with('_'))
        && issue.caller.user_name.as_deref() == Some(session)
}

/// One set of credentials in the chain.
#[derive(Debug, Clone, Default)]
pub struct Link {
    pub access_key_id: Option<String>,
    /// Every key the principal used (the asked-for key first).
    pub keys: Vec<String>,
    pub principal: Option<String>,
    pub principal_id: Option<String>,
    pub account: Option<String>,
    pub kind: Option<String>,
    pub role: Option<String>,
    pub source_identity: Option<String>,
    pub mfa: Option<String>,
    pub issued: Vec<(usize, &'static str)>,
}

impl Link {
    fn from_identity(f: &Facts<'_>, i: &Identity) -> Link {
        // The key the call was made with; without one, the keys its principal used (several
        // sessions of one role and name share an ARN and a principalId: only a key tells them
        // apart).
        let keys: Vec<String> = match &i.access_key_id {
            Some(k) => vec![k.clone()],
            None if i.kind.as_deref() == Some("AssumedRole") => f
                .keys_of(i.arn.as_deref(), i.principal_id.as_deref())
                .into_iter()
                .map(str::to_string)
                .collect(),
            None => vec![],
        };
        Link {
            access_key_id: i.access_key_id.clone(),
            keys,
            principal: i.arn.clone(),
            principal_id: i.principal_id.clone(),
            account: i.account.clone(),
            kind: i.kind.clone(),
            role: i.role.clone(),
            source_identity: i.source_identity.clone(),
            mfa: i.mfa.clone(),
            issued: vec![],
        }
    }

    /// The first link: the credentials asked about.
    pub fn start(f: &Facts<'_>, target: &Target) -> Link {
        match target {
            Target::Key(k) => match f.keys.get(k) {
                Some(used) => {
                    let mut l = Link::from_identity(f, &used.identity_of(k));
                    l.access_key_id = Some(k.clone());
                    l.keys = vec![k.clone()];
                    l
                }
                None => {
                    // Never used in the window: what issued it says what it is.
                    let issued = f.by_key.get(k.as_str()).and_then(|v| v.first());
                    let issue = issued.map(|&i| &f.issues[i]);
                    Link {
                        access_key_id: Some(k.clone()),
                        keys: vec![k.clone()],
                        principal: issue.and_then(|i| i.assumed_arn.clone()),
                        principal_id: issue.and_then(|i| i.assumed_id.clone()),
                        account: issue.and_then(|i| i.assumed_arn.as_deref().and_then(|a| a.split(':').nth(4)).map(str::to_string)),
                        ..Link::default()
                    }
                }
            },
            Target::Arn(arn) | Target::PrincipalId(arn) | Target::Name(arn) => {
                let by_arn = matches!(target, Target::Arn(_));
                let keys = if by_arn {
                    f.keys_of(Some(arn), None)
                } else {
                    f.keys_of(None, Some(arn))
                };
                let seen = keys.first().and_then(|k| f.keys.get(*k).map(|u| u.identity_of(k)));
                let mut l = match seen {
                    Some(i) => Link::from_identity(f, &i),
                    None => Link::default(),
                };
                if by_arn {
                    l.principal = Some(arn.clone());
                    l.account = l.account.or_else(|| arn.split(':').nth(4).map(str::to_string));
                } else {
                    l.principal_id = Some(arn.clone());
                }
                l.keys = keys.iter().map(|k| k.to_string()).collect();
                l.access_key_id = l.keys.first().cloned();
                l
            }
        }
    }
}

/// Where a chain ends.
#[derive(Debug, Clone)]
pub struct Origin {
    pub kind: &'static str,
    pub name: Option<String>,
    pub account: Option<String>,
    pub details: Vec<(&'static str, Value)>,
}

impl Origin {
    pub fn json(&self) -> Value {
        // kind, name and account are always there, null or not; the details when they are known.
        let mut m = serde_json::Map::new();
        m.insert("kind".into(), json!(self.kind));
        m.insert("name".into(), json!(self.name));
        m.insert("account".into(), json!(self.account));
        for (k, v) in self.details.iter().filter(|(_, v)| !v.is_null()) {
            m.insert((*k).into(), v.clone());
        }
        Value::Object(m)
    }

    pub fn line(&self) -> String {
        let what = match self.kind {
            "iam_user" => "IAM user",
            "root" => "the root user",
            "saml_subject" => "SAML subject",
            "web_identity" => "web identity subject",
            "identity_center_user" => "Identity Center user",
            "aws_service" => "AWS service",
            "aws_account" => "a principal of account",
            "ambiguous" => "ambiguous: several calls issued these credentials (see the candidates)",
            _ => "not found in the window",
        };
        let mut s = format!("origin: {what}");
        if let Some(n) = &self.name {
            s.push_str(&format!(" {n}"));
        }
        if let Some(a) = &self.account {
            s.push_str(&format!(" (account {a})"));
        }
        s
    }
}

/// The origin an issuing call names by itself (federation), if it does.
fn origin_of_issue(issue: &Issue) -> Option<Origin> {
    let account = issue.call.account.clone();
    let o = |kind, name: Option<String>, details| Origin {
        kind,
        name,
        account: account.clone(),
        details,
    };
    match issue.name() {
        "AssumeRoleWithSAML" => {
            let idc = issue.role_arn.as_deref().is_some_and(|r| r.contains("/AWSReservedSSO_"));
            Some(o(
                if idc { "identity_center_user" } else { "saml_subject" },
                issue.subject.clone(),
                vec![
                    ("issuer", json!(issue.issuer)),
                    ("audience", json!(issue.audience)),
                    ("provider", json!(issue.provider)),
                ],
            ))
        }
        "AssumeRoleWithWebIdentity" => Some(o(
            "web_identity",
            issue.subject.clone(),
            vec![
                ("issuer", json!(issue.provider.clone().or_else(|| issue.issuer.clone()))),
                ("audience", json!(issue.audience)),
            ],
        )),
        "GetRoleCredentials" | "Federate" => Some(Origin {
            kind: "identity_center_user",
            name: issue.caller.user_name.clone(),
            account: issue.caller.account.clone(),
            details: vec![
                ("user_id", json!(issue.caller.on_behalf_of)),
                ("identity_store", json!(issue.caller.identity_store)),
            ],
        }),
        _ => None,
    }
}

/// The origin a link's own identity names, when no call issued it (or it is long-term).
fn origin_of_link(f: &Facts<'_>, l: &Link, ident: Option<&Identity>) -> Option<Origin> {
    let ident = ident?;
    let account = ident.account.clone().or_else(|| l.account.clone());
    if let Some(user) = &ident.on_behalf_of {
        return Some(Origin {
            kind: "identity_center_user",
            name: Some(user.clone()),
            account,
            details: vec![("identity_store", json!(ident.identity_store))],
        });
    }
    match ident.kind.as_deref() {
        Some("Root") => Some(Origin {
            kind: "root",
            name: Some("root".into()),
            account,
            details: vec![],
        }),
        Some("IAMUser") => {
            let name = ident
                .user_name
                .clone()
                .or_else(|| ident.arn.as_deref().and_then(|a| a.rsplit('/').next()).map(str::to_string));
            let created = l.keys.iter().find_map(|k| f.created(k));
            Some(Origin {
                kind: "iam_user",
                name,
                account,
                details: vec![
                    ("access_key_id", json!(l.keys.iter().find(|k| k.starts_with("AKIA")))),
                    ("created_by_event", created.map_or(Value::Null, |c| c.call.json())),
                ],
            })
        }
        kind if kind == Some("AWSService") || ident.invoked_by.is_some() => Some(Origin {
            kind: "aws_service",
            name: ident.invoked_by.clone(),
            account,
            details: vec![],
        }),
        Some("AWSAccount") => Some(Origin {
            kind: "aws_account",
            name: ident.principal_id.clone(),
            account,
            details: vec![],
        }),
        _ => None,
    }
}

/// Whether credentials of this identity are long-term: nothing issued them in a call to follow.
fn long_term(ident: &Identity) -> bool {
    let temporary = ident.access_key_id.as_deref().is_some_and(|k| k.starts_with("ASIA"));
    match ident.kind.as_deref() {
        Some("Root" | "AWSService" | "AWSAccount") => true,
        Some("IAMUser") => !temporary,
        _ => ident.invoked_by.is_some(),
    }
}

/// The chain from `target` to its origin.
pub fn chain(f: &Facts<'_>, target: &Target) -> (Vec<Link>, Origin) {
    let mut links = Vec::new();
    let mut link = Link::start(f, target);
    let mut visited = HashSet::new();
    let ident_of = |l: &Link| {
        l.keys.iter().find_map(|k| f.keys.get(k).map(|u| u.identity_of(k)))
    };
    let not_found = |l: &Link| Origin {
        kind: "not_found",
        name: None,
        account: l.account.clone(),
        details: vec![("source_identity", json!(l.source_identity))],
    };
    // The asked-for key may itself be long-term.
    if let Some(ident) = ident_of(&link)
        && long_term(&ident)
    {
        let origin = origin_of_link(f, &link, Some(&ident)).unwrap_or_else(|| not_found(&link));
        links.push(link);
        return (links, origin);
    }
    loop {
        link.issued = f.issuers(&link);
        let origin = match link.issued.as_slice() {
            [] => Some(origin_of_link(f, &link, ident_of(&link).as_ref()).unwrap_or_else(|| not_found(&link))),
            [_, _, ..] => Some(Origin {
                kind: "ambiguous",
                name: None,
                account: link.account.clone(),
                details: vec![],
            }),
            [(i, _)] => {
                let issue = &f.issues[*i];
                if let Some(o) = origin_of_issue(issue) {
                    Some(o)
                } else if !visited.insert(*i) || links.len() + 2 > MAX_LINKS {
                    Some(not_found(&link))
                } else {
                    None
                }
            }
        };
        if let Some(origin) = origin {
            links.push(link);
            return (links, origin);
        }
        let issue = &f.issues[link.issued[0].0];
        let caller = issue.caller.clone();
        // A service (an instance profile, a Lambda function's role) has no credentials to follow.
        if caller.kind.as_deref() == Some("AWSService")
            || (caller.invoked_by.is_some() && caller.access_key_id.is_none())
        {
            let origin = Origin {
                kind: "aws_service",
                name: caller.invoked_by.clone(),
                account: caller.account.clone().or_else(|| link.account.clone()),
                details: vec![],
            };
            links.push(link);
            return (links, origin);
        }
        let mut next = Link::from_identity(f, &caller);
        next.source_identity = next.source_identity.or_else(|| link.source_identity.clone());
        links.push(link);
        if long_term(&caller) || caller.access_key_id.is_none() && caller.kind.as_deref() != Some("AssumedRole") && caller.kind.as_deref() != Some("FederatedUser") {
            let origin = origin_of_link(f, &next, Some(&caller)).unwrap_or_else(|| not_found(&next));
            links.push(next);
            return (links, origin);
        }
        link = next;
    }
}
