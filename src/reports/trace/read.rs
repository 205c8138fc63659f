//! What `trace` reads of an event beyond the lean fields: the identity that made a call
//! (`Identity`), and what a call that issues credentials issued (`Issue`), from the event's text.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Value, json};

use crate::event::{Event, is_access_key_id};
use crate::filter::field::text_at;
use crate::time::{HOUR, Micros, SECOND, format_time};

/// The calls whose answer is credentials (or, for `CreateAccessKey`, a long-term key).
pub const ISSUING: [&str; 8] = [
    "AssumeRole",
    "AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity",
    "GetSessionToken",
    "GetFederationToken",
    "GetRoleCredentials",
    "Federate",
    "CreateAccessKey",
];

/// Who made a call: `userIdentity`, as far as `trace` follows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub kind: Option<String>,
    pub arn: Option<String>,
    pub principal_id: Option<String>,
    pub account: Option<String>,
    pub access_key_id: Option<String>,
    pub user_name: Option<String>,
    pub invoked_by: Option<String>,
    /// `sessionContext.sessionIssuer.arn`: the role of a role session.
    pub role: Option<String>,
    /// `sessionContext.sourceIdentity`, carried along a chain of roles.
    pub source_identity: Option<String>,
    /// `sessionContext.attributes.mfaAuthenticated`.
    pub mfa: Option<String>,
    /// `onBehalfOf.userId` and `.identityStoreArn`: the Identity Center user of the session.
    pub on_behalf_of: Option<String>,
    pub identity_store: Option<String>,
    /// `identityProvider` of a web-identity or SAML caller.
    pub identity_provider: Option<String>,
}

fn own(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_string)
}

impl Identity {
    pub fn of(ev: &Event<'_>) -> Identity {
        let u = &ev.user_identity;
        // The fields read from the text are read only for the kinds that have them: an IAM
        // user's or a service's calls, most of a trail, need none.
        let kind = u.kind.as_deref().unwrap_or_default();
        let plain = matches!(kind, "IAMUser" | "Root" | "AWSService" | "AWSAccount");
        let temporary = u.access_key_id.as_deref().is_some_and(|k| k.starts_with("ASIA"));
        let at = |when: bool, p: &[&str]| if when { text_at(ev, p) } else { None };
        let federated = matches!(kind, "SAMLUser" | "WebIdentityUser");
        Identity {
            kind: own(u.kind.as_deref()),
            arn: own(u.arn.as_deref()),
            principal_id: own(u.principal_id.as_deref()),
            account: own(u.account_id.as_deref()),
            access_key_id: own(u.access_key_id.as_deref()),
            user_name: own(u.user_name.as_deref()),
            invoked_by: own(u.invoked_by.as_deref()),
            role: at(!plain, &["userIdentity", "sessionContext", "sessionIssuer", "arn"]),
            source_identity: at(!plain, &["userIdentity", "sessionContext", "sourceIdentity"]),
            mfa: at(temporary, &["userIdentity", "sessionContext", "attributes", "mfaAuthenticated"]),
            on_behalf_of: at(!plain, &["userIdentity", "onBehalfOf", "userId"]),
            identity_store: at(!plain, &["userIdentity", "onBehalfOf", "identityStoreArn"]),
            identity_provider: at(federated, &["userIdentity", "identityProvider"]),
        }
    }

    /// How much this says of who it is: a record of a cross-account call in the other account
    /// says less (`AWSAccount`, no ARN, no key) than the caller's own account's record.
    pub fn richness(&self) -> usize {
        [&self.arn, &self.access_key_id, &self.principal_id, &self.user_name]
            .iter()
            .filter(|f| f.is_some())
            .count()
    }

    pub fn json(&self) -> Value {
        json!({
            "type": self.kind, "principal": self.arn, "principal_id": self.principal_id,
            "account": self.account, "access_key_id": self.access_key_id,
            "user_name": self.user_name, "invoked_by": self.invoked_by,
        })
    }
}

/// Where and when a call was made: what `issued_by_event` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Call {
    pub time: Option<Micros>,
    pub event_name: Option<String>,
    pub event_id: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub region: Option<String>,
    pub account: Option<String>,
    /// `requestID`, else `sharedEventID`: the two records of one cross-account call share it.
    pub request: Option<String>,
}

impl Call {
    pub fn of(ev: &Event<'_>, time: Option<Micros>) -> Call {
        Call {
            time,
            event_name: own(ev.event_name.as_deref()),
            event_id: own(ev.event_id.as_deref()),
            source_ip: own(ev.source_ip.as_deref()),
            user_agent: own(ev.user_agent.as_deref()),
            region: own(ev.aws_region.as_deref()),
            account: own(ev.recipient_account_id.as_deref()),
            request: text_at(ev, &["requestID"]).or_else(|| text_at(ev, &["sharedEventID"])),
        }
    }

    pub fn json(&self) -> Value {
        json!({
            "event_time": self.time.map(format_time), "event_name": self.event_name,
            "event_id": self.event_id, "source_ip": self.source_ip,
            "user_agent": self.user_agent, "region": self.region, "account": self.account,
        })
    }
}

/// A call that issued credentials, and what it issued.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Issue {
    pub call: Call,
    pub caller: Identity,
    /// `responseElements.credentials.accessKeyId` (`accessKey.accessKeyId` for CreateAccessKey).
    pub key: Option<String>,
    /// `responseElements.assumedRoleUser.assumedRoleId` (`federatedUser.federatedUserId`).
    pub assumed_id: Option<String>,
    /// `responseElements.assumedRoleUser.arn` (`federatedUser.arn`).
    pub assumed_arn: Option<String>,
    pub role_arn: Option<String>,
    pub session_name: Option<String>,
    pub source_identity: Option<String>,
    /// SAML and web identity: the subject, its issuer and audience, and the provider.
    pub subject: Option<String>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub provider: Option<String>,
    /// GetRoleCredentials: the account and permission set asked for.
    pub sso_account: Option<String>,
    pub sso_role: Option<String>,
    /// CreateAccessKey: the user the key is for.
    pub key_user: Option<String>,
}

impl Issue {
    /// The credentials `ev` issued, when it is a call that issues some and it did not fail.
    pub fn of(ev: &Event<'_>, time: Option<Micros>) -> Option<Issue> {
        let name = ev.event_name.as_deref()?;
        if !ISSUING.contains(&name) || ev.error_code.is_some() {
            return None;
        }
        let re = |p: &[&str]| {
            let mut path = vec!["responseElements"];
            path.extend(p);
            text_at(ev, &path)
        };
        let rq = |p: &[&str]| {
            let mut path = vec!["requestParameters"];
            path.extend(p);
            text_at(ev, &path)
        };
        let caller = Identity::of(ev);
        Some(Issue {
            call: Call::of(ev, time),
            key: re(&["credentials", "accessKeyId"]).or_else(|| re(&["accessKey", "accessKeyId"])),
            assumed_id: re(&["assumedRoleUser", "assumedRoleId"])
                .or_else(|| re(&["federatedUser", "federatedUserId"])),
            assumed_arn: re(&["assumedRoleUser", "arn"]).or_else(|| re(&["federatedUser", "arn"])),
            role_arn: rq(&["roleArn"]),
            session_name: rq(&["roleSessionName"]).or_else(|| rq(&["name"])),
            source_identity: re(&["sourceIdentity"]).or_else(|| rq(&["sourceIdentity"])),
            subject: re(&["subjectFromWebIdentityToken"])
                .or_else(|| re(&["subject"]))
                .or_else(|| caller.user_name.clone()),
            issuer: re(&["issuer"]).or_else(|| re(&["provider"])),
            audience: re(&["audience"]),
            provider: rq(&["principalArn"])
                .or_else(|| rq(&["providerId"]))
                .or_else(|| caller.identity_provider.clone()),
            sso_account: rq(&["accountId"]),
            sso_role: rq(&["roleName"]),
            key_user: re(&["accessKey", "userName"]).or_else(|| rq(&["userName"])),
            caller,
        })
    }

    pub fn name(&self) -> &str {
        self.call.event_name.as_deref().unwrap_or_default()
    }
}

/// What was asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Key(String),
    /// An assumed-role or federated-user ARN.
    Arn(String),
    PrincipalId(String),
    /// `--tree` only: a user or subject name.
    Name(String),
}

impl Target {
    pub fn parse(who: &str, tree: bool) -> Result<Target, String> {
        let upper = |s: &str| s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if is_access_key_id(who) {
            return Ok(Target::Key(who.to_string()));
        }
        if who.starts_with("arn:")
            && (who.contains(":assumed-role/") || who.contains(":federated-user/"))
        {
            return Ok(Target::Arn(who.to_string()));
        }
        if let Some((id, session)) = who.split_once(':')
            && !id.is_empty()
            && !session.is_empty()
            && upper(id)
        {
            return Ok(Target::PrincipalId(who.to_string()));
        }
        if tree && !who.is_empty() && !who.contains(char::is_control) {
            return Ok(Target::Name(who.to_string()));
        }
        Err(format!(
            "'{}' is not an access key id (AKIA…, ASIA…), an assumed-role ARN \
             (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION) or a principalId (AROA…:SESSION){}",
            crate::escape::escape_control(who),
            if tree { "" } else { "; a user name needs --tree" }
        ))
    }
}

/// What one access key did, and who used it. A key is often used once or twice, and many keys
/// share a principal: the identity and the event names are shared (`Interned`), so a key costs
/// a few dozen bytes.
#[derive(Debug, Clone, Default)]
pub struct Used {
    /// The identity of the first call seen with the key, without the key itself.
    pub identity: Arc<Identity>,
    pub first_use: Option<Micros>,
    /// In the window: calls and errors, in all and by event name.
    pub events: u64,
    pub errors: u64,
    pub names: Vec<(Arc<str>, u64, u64)>,
    /// What belongs to a session rather than to its principal, read for temporary keys:
    /// `sessionContext.attributes.mfaAuthenticated` and `sessionContext.sourceIdentity`.
    pub mfa: Option<Arc<str>>,
    pub source_identity: Option<Arc<str>>,
    /// `userIdentity.principalId`, kept apart: it is often one per session, the rest of the
    /// identity one per principal.
    pub principal_id: Option<Box<str>>,
}

impl Used {
    /// Keys in the order of their first use (untimed first), then by key.
    pub fn by_first_use<K: Ord>(keys: &mut [(K, &Used)]) {
        keys.sort_by(|a, b| (a.1.first_use, &a.0).cmp(&(b.1.first_use, &b.0)));
    }

    /// The whole identity of the key's first use.
    pub fn identity_of(&self, key: &str) -> Identity {
        let mut i = (*self.identity).clone();
        i.access_key_id = Some(key.to_string());
        i.principal_id = self.principal_id.as_deref().map(str::to_string);
        i.mfa = self.mfa.as_deref().map(str::to_string);
        i.source_identity = self.source_identity.as_deref().map(str::to_string).or(i.source_identity);
        i
    }

    /// Reads what belongs to the session of `key` from `ev`.
    pub fn session_of(&mut self, key: &str, ev: &Event<'_>) {
        let pid = ev.user_identity.principal_id.as_deref().filter(|s| !s.is_empty());
        self.principal_id = pid.map(Box::from);
        if key.starts_with("ASIA") {
            let at = |p: &[&str]| text_at(ev, p).map(Arc::from);
            self.mfa = at(&["userIdentity", "sessionContext", "attributes", "mfaAuthenticated"]);
            self.source_identity = at(&["userIdentity", "sessionContext", "sourceIdentity"]);
        }
    }
}

/// The identities and event names one worker has seen, each kept once.
#[derive(Debug, Clone, Default)]
pub struct Interned {
    /// By a hash of the lean fields; the raw ones (role, source identity…) are read once per
    /// principal.
    identities: HashMap<u64, Vec<Arc<Identity>>>,
    names: HashSet<Arc<str>>,
    hasher: foldhash::fast::FixedState,
}

impl Interned {
    /// The identity of `ev`'s caller, without its key.
    pub fn identity(&mut self, ev: &Event<'_>) -> Arc<Identity> {
        let u = &ev.user_identity;
        let lean = [&u.kind, &u.arn, &u.account_id, &u.user_name, &u.invoked_by];
        let lean = lean.map(|f| f.as_deref().filter(|s| !s.is_empty()));
        let hash = std::hash::BuildHasher::hash_one(&self.hasher, lean);
        let same = |i: &Identity| {
            [&i.kind, &i.arn, &i.account, &i.user_name, &i.invoked_by]
                .map(|f| f.as_deref())
                == lean
        };
        let list = self.identities.entry(hash).or_default();
        if let Some(i) = list.iter().find(|i| same(i)) {
            return Arc::clone(i);
        }
        let mut i = Identity::of(ev);
        i.access_key_id = None;
        i.mfa = None;
        i.principal_id = None;
        let i = Arc::new(i);
        list.push(Arc::clone(&i));
        i
    }

    pub fn name(&mut self, name: &str) -> Arc<str> {
        if let Some(n) = self.names.get(name) {
            return Arc::clone(n);
        }
        let n: Arc<str> = name.into();
        self.names.insert(Arc::clone(&n));
        n
    }
}

/// The order in which the uses of one key are told apart: the earliest (an untimed one last),
/// then the least by ARN, principalId, type and user name.
pub fn rank(time: Option<Micros>, lean: [Option<&str>; 4]) -> (bool, Micros, [&str; 4]) {
    (time.is_none(), time.unwrap_or(0), lean.map(|f| f.unwrap_or("")))
}

impl Used {
    pub fn rank(&self) -> (bool, Micros, [&str; 4]) {
        let i = &self.identity;
        rank(
            self.first_use,
            [i.arn.as_deref(), self.principal_id.as_deref(), i.kind.as_deref(), i.user_name.as_deref()],
        )
    }
}

/// `--lookback` as typed back (`12h`).
pub fn span_text(t: Micros) -> String {
    if t % HOUR == 0 {
        format!("{}h", t / HOUR)
    } else {
        format!("{}s", t / SECOND)
    }
}
