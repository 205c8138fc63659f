//! The lean, borrowed CloudTrail event: the fields the reports read, and what they derive from
//! them (the principal, the category an old event would have, the last part of an ARN).
//!
//! Only the fields the reports need are kept; everything else is skipped without being built.
//! Reading is lenient by design (`de`): CloudTrail fields change type between services and over
//! time, so a field of an unexpected type is absent instead of rejecting the event, and so is an
//! empty string, which is what every report wants ("first non-empty", "absent or empty is null").
//!
//! `shape` reads the shapes an input comes in (trail files, arrays, event lines, lookup-events
//! output) with its two parsers, `stream` the same shapes from inputs too large to hold, and
//! `json` keeps any JSON from nesting past what the parsers can take.

mod de;
pub mod json;
mod jstring;
pub mod path;
pub mod shape;
pub mod skim;
pub mod stream;

use std::borrow::Cow;

/// A string field that may be borrowed from the input buffer (no escapes) or owned (escapes).
pub type Str<'a> = Cow<'a, str>;

/// The fields of one CloudTrail event that ctq's reports read.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Event<'a> {
    pub event_time: Option<Str<'a>>,
    pub event_source: Option<Str<'a>>,
    pub event_name: Option<Str<'a>>,
    pub aws_region: Option<Str<'a>>,
    pub source_ip: Option<Str<'a>>,
    pub user_agent: Option<Str<'a>>,
    pub error_code: Option<Str<'a>>,
    pub error_message: Option<Str<'a>>,
    pub event_id: Option<Str<'a>>,
    pub recipient_account_id: Option<Str<'a>>,
    pub event_version: Option<Str<'a>>,
    pub user_identity: UserIdentity<'a>,
    /// `tlsDetails.clientProvidedHostHeader`
    pub tls_host: Option<Str<'a>>,
    /// `requestParameters.bucketName`
    pub bucket_name: Option<Str<'a>>,
    /// `requestParameters.key`
    pub object_key: Option<Str<'a>>,
    /// `resources[].ARN`
    pub resource_arns: Vec<Str<'a>>,
    pub vpc_endpoint_id: Option<Str<'a>>,
    pub event_category: Option<Str<'a>>,
    pub event_type: Option<Str<'a>>,
    /// `readOnly`: a JSON bool, or the string "true"/"false" in any letter case.
    pub read_only: Option<bool>,
    /// `responseElements.ConsoleLogin` (Success / Failure)
    pub console_login: Option<Str<'a>>,
    /// `additionalEventData.MFAUsed`: a JSON bool, or "Yes"/"No" in any letter case.
    pub mfa_used: Option<bool>,
    /// `managementEvent`: a JSON bool, or the string "true"/"false" in any letter case.
    pub management_event: Option<bool>,
    /// The event's own JSON text, kept only when the caller asks for it (`events --raw/--fields`).
    pub raw: Option<Str<'a>>,
    /// What the skim noted of that text.
    pub layout: Layout,
    /// An aggregated event's own names for its time, account and id, until `settle`.
    pub aggregated: Aggregated<'a>,
}

/// What an aggregated event (`CloudTrail-Aggregated/`) calls its time, account and id:
/// `timeWindow.windowStart`, `accountId`, `eventId`. Read by the parsers, then moved by
/// `Event::settle` to `event_time`, `recipient_account_id` and `event_id` where the event has
/// none of its own, whatever the order of the keys.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Aggregated<'a> {
    pub window_start: Option<Str<'a>>,
    pub account_id: Option<Str<'a>>,
    pub event_id: Option<Str<'a>>,
}

/// What the skim noted of an event's text while reading it, for `detect`'s readers of the text.
/// It describes the text, not the event: two events are equal whatever their layouts say, and
/// an event's `Debug` (which tests compare) does not show it.
#[derive(Default, Clone)]
pub struct Layout {
    /// Every top-level key is written without an escape and holds no dot, so none of them
    /// spells a dotted path (rules look such a key up before following the path). False when
    /// not known: noted, with `members`, only when the text is kept.
    pub plain_keys: bool,
    /// The top-level members of the text (`Event::raw`), noted when it is kept.
    pub members: Option<Vec<Member>>,
}

/// A member of an object in an event's text: the byte ranges of its key (inside the quotes) and
/// of its value, from the start of the text.
pub type Member = ((u32, u32), (u32, u32));

impl std::fmt::Debug for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Layout")
    }
}

impl PartialEq for Layout {
    fn eq(&self, _: &Layout) -> bool {
        true
    }
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct UserIdentity<'a> {
    pub kind: Option<Str<'a>>,
    pub arn: Option<Str<'a>>,
    pub invoked_by: Option<Str<'a>>,
    pub principal_id: Option<Str<'a>>,
    pub account_id: Option<Str<'a>>,
    pub user_name: Option<Str<'a>>,
    pub access_key_id: Option<Str<'a>>,
    /// `sessionContext.sessionIssuer.userName`: the role name of an assumed-role session.
    pub issuer_user_name: Option<Str<'a>>,
    /// `sessionContext.sessionIssuer.type`: `Role`, `IAMUser`, `Root`… (for `detect`).
    pub issuer_type: Option<Str<'a>>,
}

/// Whether `s` is written as an access key id: `AKIA` (long-term) or `ASIA` (temporary), then
/// capital letters and digits, 16 to 128 characters in all (IAM's bounds).
pub fn is_access_key_id(s: &str) -> bool {
    (s.starts_with("AKIA") || s.starts_with("ASIA"))
        && (16..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

impl<'a> Event<'a> {
    /// Once every key is read: an aggregated event's time, account and id where the event has
    /// no `eventTime`, `recipientAccountId` or `eventID` of its own.
    pub fn settle(&mut self) {
        let a = std::mem::take(&mut self.aggregated);
        if self.event_time.is_none() {
            self.event_time = a.window_start;
        }
        if self.recipient_account_id.is_none() {
            self.recipient_account_id = a.account_id;
        }
        if self.event_id.is_none() {
            self.event_id = a.event_id;
        }
    }

    /// The principal as the reports define it: the first non-empty of `userIdentity.arn`,
    /// `invokedBy`, `principalId`, `accountId`, `type`, else `unknown`.
    pub fn principal(&self) -> &str {
        let u = &self.user_identity;
        [
            &u.arn,
            &u.invoked_by,
            &u.principal_id,
            &u.account_id,
            &u.kind,
        ]
        .into_iter()
        .find_map(|f| f.as_deref())
        .unwrap_or("unknown")
    }

    /// True when the object had at least one field that only CloudTrail events have; used to tell
    /// an event from some other JSON object (a config file, a CloudWatch Logs envelope).
    fn looks_like_event(&self) -> bool {
        self.event_time.is_some()
            || self.event_name.is_some()
            || self.event_source.is_some()
            || self.event_id.is_some()
            || self.event_version.is_some()
    }

    /// Detach from the input buffer (used for lookup-events, whose events are JSON in a string).
    pub fn into_owned(self) -> Event<'static> {
        fn o(s: Option<Str<'_>>) -> Option<Str<'static>> {
            s.map(|s| Cow::Owned(s.into_owned()))
        }
        let u = self.user_identity;
        Event {
            event_time: o(self.event_time),
            event_source: o(self.event_source),
            event_name: o(self.event_name),
            aws_region: o(self.aws_region),
            source_ip: o(self.source_ip),
            user_agent: o(self.user_agent),
            error_code: o(self.error_code),
            error_message: o(self.error_message),
            event_id: o(self.event_id),
            recipient_account_id: o(self.recipient_account_id),
            event_version: o(self.event_version),
            user_identity: UserIdentity {
                kind: o(u.kind),
                arn: o(u.arn),
                invoked_by: o(u.invoked_by),
                principal_id: o(u.principal_id),
                account_id: o(u.account_id),
                user_name: o(u.user_name),
                access_key_id: o(u.access_key_id),
                issuer_user_name: o(u.issuer_user_name),
                issuer_type: o(u.issuer_type),
            },
            tls_host: o(self.tls_host),
            bucket_name: o(self.bucket_name),
            object_key: o(self.object_key),
            resource_arns: self
                .resource_arns
                .into_iter()
                .map(|s| Cow::Owned(s.into_owned()))
                .collect(),
            vpc_endpoint_id: o(self.vpc_endpoint_id),
            event_category: o(self.event_category),
            event_type: o(self.event_type),
            read_only: self.read_only,
            console_login: o(self.console_login),
            mfa_used: self.mfa_used,
            management_event: self.management_event,
            raw: o(self.raw),
            layout: self.layout,
            aggregated: Aggregated {
                window_start: o(self.aggregated.window_start),
                account_id: o(self.aggregated.account_id),
                event_id: o(self.aggregated.event_id),
            },
        }
    }

    /// The last part of `userIdentity.arn`'s resource: the user, role session or role name
    /// after the last `/`, or `root` for the root user (`arn:aws:iam::123456789012:root`).
    pub fn arn_last_segment(&self) -> Option<&str> {
        let arn = self.user_identity.arn.as_deref()?;
        let resource = arn
            .splitn(6, ':')
            .nth(5)
            .filter(|_| arn.starts_with("arn:"));
        match arn.rfind('/') {
            Some(i) => Some(&arn[i + 1..]),
            None if resource == Some("root") => resource,
            None => None,
        }
        .filter(|s| !s.is_empty())
    }

    /// `eventCategory`, or for events written before CloudTrail had that field, the category
    /// it would have: `NetworkActivity` for VPC endpoint events, `Insight` for Insights events,
    /// `Data` for `managementEvent: false`, otherwise `Management`.
    pub fn category(&self) -> &str {
        if let Some(c) = self.event_category.as_deref() {
            return c;
        }
        match self.event_type.as_deref() {
            Some("AwsVpceEvent" | "AwsVpceEvents") => "NetworkActivity",
            Some("AwsCloudTrailInsight") => "Insight",
            _ if self.management_event == Some(false) => "Data",
            _ => "Management",
        }
    }
}
