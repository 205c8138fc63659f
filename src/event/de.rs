//! The lenient serde visitors that read one event object: only the fields the reports need,
//! borrowed from the input where they have no escapes.
//!
//! A field of an unexpected type is absent, not an error (`requestParameters` may be an object, a
//! string or null; `resources` may be missing), and so is an empty string. A key that appears
//! twice counts once, the last one.

use std::borrow::Cow;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::json::{Any, Kind, Skip, visit_others};
use super::{Event, Str, UserIdentity};

/// A JSON value as the lenient readers see it: a string (borrowed when it has no escapes), a
/// bool, or anything else (read to its end and dropped).
enum Scalar<'a> {
    Str(Str<'a>),
    Bool(bool),
    Other,
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;
    visit_others!("any JSON value", |_| Scalar::Other; Null Number Array Object);
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
}

impl<'de> de::Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

/// A map key, borrowed when it has no escapes.
pub struct Key<'a>(pub Str<'a>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_str(ScalarVisitor)? {
            Scalar::Str(s) => Ok(Key(s)),
            // JSON keys are strings: no parser hands anything else to a key.
            _ => Err(de::Error::custom("a key that is not a string")),
        }
    }
}

/// The next value as a string: anything that is not a non-empty string is `None`.
fn lenient<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Str<'de>>, A::Error> {
    Ok(match map.next_value::<Scalar<'de>>()? {
        Scalar::Str(s) if !s.is_empty() => Some(s),
        _ => None,
    })
}

/// The next value as a flag: a JSON bool, or a string that is one of `[yes, no]` in any letter
/// case (`readOnly` writes "true"/"false", `MFAUsed` "Yes"/"YES"/"No"); anything else is None.
fn flag<'de, A: MapAccess<'de>>(
    map: &mut A,
    [yes, no]: [&str; 2],
) -> Result<Option<bool>, A::Error> {
    Ok(match map.next_value::<Scalar<'de>>()? {
        Scalar::Bool(b) => Some(b),
        Scalar::Str(s) if s.eq_ignore_ascii_case(yes) => Some(true),
        Scalar::Str(s) if s.eq_ignore_ascii_case(no) => Some(false),
        _ => None,
    })
}

const TRUE_FALSE: [&str; 2] = ["true", "false"];

/// The next value as an object, read with `fields`.
fn object<'de, A: MapAccess<'de>, F: Fields<'de>>(
    map: &mut A,
    fields: F,
) -> Result<F::Out, A::Error> {
    map.next_value_seed(Any(ObjectSeed(fields)))
}

/// A seed for the string at a path of keys inside an object (see `StrAt`).
pub fn string_at<'de>(
    path: &'static [&'static str],
) -> impl DeserializeSeed<'de, Value = Option<Str<'de>>> {
    Any(ObjectSeed(StrAt(path)))
}

/// Read one field of an event into `ev`; returns false (after skipping the value) for a key that
/// is not one of CloudTrail's event fields ctq knows.
pub fn event_field<'de, A: MapAccess<'de>>(
    ev: &mut Event<'de>,
    key: &str,
    map: &mut A,
) -> Result<bool, A::Error> {
    match key {
        "eventTime" => ev.event_time = lenient(map)?,
        "eventSource" => ev.event_source = lenient(map)?,
        "eventName" => ev.event_name = lenient(map)?,
        "awsRegion" => ev.aws_region = lenient(map)?,
        "sourceIPAddress" => ev.source_ip = lenient(map)?,
        "userAgent" => ev.user_agent = lenient(map)?,
        "errorCode" => ev.error_code = lenient(map)?,
        "errorMessage" => ev.error_message = lenient(map)?,
        "eventID" => ev.event_id = lenient(map)?,
        // An aggregated event's time, account and id (`Event::settle`).
        "timeWindow" => ev.aggregated.window_start = object(map, StrAt(&["windowStart"]))?,
        "accountId" => ev.aggregated.account_id = lenient(map)?,
        "eventId" => ev.aggregated.event_id = lenient(map)?,
        "recipientAccountId" => ev.recipient_account_id = lenient(map)?,
        "eventVersion" => ev.event_version = lenient(map)?,
        "userIdentity" => ev.user_identity = object(map, UserIdentityFields)?,
        "tlsDetails" => ev.tls_host = object(map, StrAt(&["clientProvidedHostHeader"]))?,
        "requestParameters" => (ev.bucket_name, ev.object_key) = object(map, RequestFields)?,
        "resources" => ev.resource_arns = map.next_value_seed(Any(ResourcesSeed))?,
        "vpcEndpointId" => ev.vpc_endpoint_id = lenient(map)?,
        "eventCategory" => ev.event_category = lenient(map)?,
        "eventType" => ev.event_type = lenient(map)?,
        "readOnly" => ev.read_only = flag(map, TRUE_FALSE)?,
        "managementEvent" => ev.management_event = flag(map, TRUE_FALSE)?,
        "responseElements" => ev.console_login = object(map, StrAt(&["ConsoleLogin"]))?,
        "additionalEventData" => ev.mfa_used = object(map, AdditionalFields)?,
        // Event fields ctq does not read yet: known, skipped without building anything.
        "apiVersion"
        | "requestID"
        | "serviceEventDetails"
        | "sharedEventID"
        | "vpcEndpointAccountId"
        | "sessionCredentialFromConsole"
        | "edgeDeviceDetails"
        | "insightDetails"
        | "addendum" => {
            map.next_value::<Skip>()?;
        }
        _ => {
            map.next_value::<Skip>()?;
            return Ok(false);
        }
    }
    Ok(true)
}

/// Where the value of one key of a nested object goes, and how it is read.
enum Slot<'o, 'de> {
    /// A string (`lenient`).
    Str(&'o mut Option<Str<'de>>),
    /// A flag (`flag`): a bool, or a string that is one of the two words.
    Flag(&'o mut Option<bool>, [&'static str; 2]),
    /// The string at a path of keys inside an object (`StrAt`).
    StrAt(&'o mut Option<Str<'de>>, &'static [&'static str]),
    /// `sessionIssuer`'s `userName` and `type` inside an object (`SessionFields`).
    Session(&'o mut Option<Str<'de>>, &'o mut Option<Str<'de>>),
    /// `userName` and `type` of an object (`IssuerFields`).
    Issuer(&'o mut (Option<Str<'de>>, Option<Str<'de>>)),
    /// A key not read: its value is skipped.
    Skip,
}

/// The fields of a nested object that ctq reads: where the value of each key goes.
trait Fields<'de> {
    type Out: Default;
    fn slot<'o>(&self, out: &'o mut Self::Out, key: &str) -> Slot<'o, 'de>;
}

/// A nested object, read with its `Fields`; a value of any other type gives the default.
struct ObjectSeed<F>(F);

impl<'de, F: Fields<'de>> Visitor<'de> for ObjectSeed<F> {
    type Value = F::Out;
    visit_others!("any JSON value", |_| F::Out::default(); Null Bool Number Str Array);
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<F::Out, A::Error> {
        let mut out = F::Out::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match self.0.slot(&mut out, &key.0) {
                Slot::Str(s) => *s = lenient(&mut map)?,
                Slot::Flag(b, words) => *b = flag(&mut map, words)?,
                Slot::StrAt(s, path) => *s = object(&mut map, StrAt(path))?,
                Slot::Session(name, kind) => (*name, *kind) = object(&mut map, SessionFields)?,
                Slot::Issuer(pair) => *pair = object(&mut map, IssuerFields)?,
                Slot::Skip => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(out)
    }
}

struct UserIdentityFields;

impl<'de> Fields<'de> for UserIdentityFields {
    type Out = UserIdentity<'de>;
    fn slot<'o>(&self, u: &'o mut UserIdentity<'de>, key: &str) -> Slot<'o, 'de> {
        match key {
            "type" => Slot::Str(&mut u.kind),
            "arn" => Slot::Str(&mut u.arn),
            "invokedBy" => Slot::Str(&mut u.invoked_by),
            "principalId" => Slot::Str(&mut u.principal_id),
            "accountId" => Slot::Str(&mut u.account_id),
            "userName" => Slot::Str(&mut u.user_name),
            "accessKeyId" => Slot::Str(&mut u.access_key_id),
            "sessionContext" => Slot::Session(&mut u.issuer_user_name, &mut u.issuer_type),
            _ => Slot::Skip,
        }
    }
}

/// `sessionContext`: its `sessionIssuer`'s user name and type.
struct SessionFields;

impl<'de> Fields<'de> for SessionFields {
    type Out = (Option<Str<'de>>, Option<Str<'de>>);
    fn slot<'o>(&self, out: &'o mut Self::Out, key: &str) -> Slot<'o, 'de> {
        match key {
            "sessionIssuer" => Slot::Issuer(out),
            _ => Slot::Skip,
        }
    }
}

/// `sessionIssuer`: `userName` and `type`.
struct IssuerFields;

impl<'de> Fields<'de> for IssuerFields {
    type Out = (Option<Str<'de>>, Option<Str<'de>>);
    fn slot<'o>(&self, (name, kind): &'o mut Self::Out, key: &str) -> Slot<'o, 'de> {
        match key {
            "userName" => Slot::Str(name),
            "type" => Slot::Str(kind),
            _ => Slot::Skip,
        }
    }
}

/// `requestParameters.bucketName` and `.key`.
struct RequestFields;

impl<'de> Fields<'de> for RequestFields {
    type Out = (Option<Str<'de>>, Option<Str<'de>>);
    fn slot<'o>(&self, (bucket, key): &'o mut Self::Out, name: &str) -> Slot<'o, 'de> {
        match name {
            "bucketName" => Slot::Str(bucket),
            "key" => Slot::Str(key),
            _ => Slot::Skip,
        }
    }
}

/// `additionalEventData.MFAUsed`: real logs write "Yes", "YES", "No" and JSON booleans.
struct AdditionalFields;

impl<'de> Fields<'de> for AdditionalFields {
    type Out = Option<bool>;
    fn slot<'o>(&self, mfa: &'o mut Option<bool>, key: &str) -> Slot<'o, 'de> {
        if key == "MFAUsed" {
            Slot::Flag(mfa, ["yes", "no"])
        } else {
            Slot::Skip
        }
    }
}

/// The string at a path of keys: `StrAt(&["sessionIssuer", "userName"])` inside
/// `sessionContext`. Anything off the path is skipped.
struct StrAt(&'static [&'static str]);

impl<'de> Fields<'de> for StrAt {
    type Out = Option<Str<'de>>;
    fn slot<'o>(&self, out: &'o mut Option<Str<'de>>, key: &str) -> Slot<'o, 'de> {
        match self.0 {
            [last] if *last == key => Slot::Str(out),
            [first, rest @ ..] if *first == key => Slot::StrAt(out, rest),
            _ => Slot::Skip,
        }
    }
}

/// `resources`: an array of objects with `ARN`; anything else is no resources.
struct ResourcesSeed;

impl<'de> Visitor<'de> for ResourcesSeed {
    type Value = Vec<Str<'de>>;
    visit_others!("any JSON value", |_| Vec::new(); Null Bool Number Str Object);
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut arns = Vec::new();
        while let Some(arn) = seq.next_element_seed(Any(ObjectSeed(StrAt(&["ARN"]))))? {
            arns.extend(arn);
        }
        Ok(arns)
    }
}

/// One element of an array of events: the object parsed as an event, and, when it has none of
/// an event's own fields, what it looks like instead.
pub struct Element<'a> {
    pub event: Event<'a>,
    pub not_an_event: Option<String>,
}

/// One event object (inside `Records`, an array, or a lookup-events string), read through
/// `Any`; a value that is not an object is `Err` with what it is.
pub struct EventSeed;

impl<'de> Visitor<'de> for EventSeed {
    type Value = Result<Element<'de>, String>;
    visit_others!(
        "a CloudTrail event object",
        |kind: Kind| Err(format!("{}, not an event object", kind.json_noun()));
        Null Bool Number Str Array
    );
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut ev = Event::default();
        let mut other_keys = Vec::new();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if !event_field(&mut ev, &key.0, &mut map)? && other_keys.len() < 64 {
                other_keys.push(key.0.into_owned());
            }
        }
        ev.settle();
        let not_an_event = (!ev.looks_like_event()).then(|| describe_object(&other_keys));
        Ok(Ok(Element {
            event: ev,
            not_an_event,
        }))
    }
}

/// Say what a JSON object that is not CloudTrail events looks like, so the user can tell a digest
/// file or a CloudWatch Logs export from a broken trail file.
pub fn describe_object(keys: &[String]) -> String {
    let has = |k: &str| keys.iter().any(|x| x == k);
    if has("digestStartTime") || has("digestS3Object") {
        return "a CloudTrail digest file (digestStartTime, digestS3Object), not events".into();
    }
    if has("logEvents") && has("logGroup") {
        return "a CloudWatch Logs subscription envelope (logGroup, logEvents), not CloudTrail \
                events; extract the messages first"
            .into();
    }
    if keys.is_empty() {
        return "an empty JSON object, not CloudTrail events".into();
    }
    let mut shown: Vec<&str> = keys.iter().take(6).map(String::as_str).collect();
    if keys.len() > 6 {
        shown.push("…");
    }
    format!(
        "a JSON object with keys {} (expected \"Records\", \"Events\" or an event with \"eventTime\")",
        shown.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The events of a JSON array, each element read as one event object. The `()` stands where
    /// `shape`'s tests have the input's shape (the shapes are not read here).
    fn parse(text: &str) -> Result<((), Vec<Event<'_>>), String> {
        let elements: Vec<&serde_json::value::RawValue> =
            serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut events = Vec::new();
        for raw in elements {
            let mut de = serde_json::Deserializer::from_str(raw.get());
            let element = Any(EventSeed)
                .deserialize(&mut de)
                .map_err(|e| e.to_string())??;
            events.push(element.event);
        }
        Ok(((), events))
    }

    #[test]
    fn unexpected_types_are_absent_not_errors() {
        let (_, evs) = parse(
            r#"[{"eventName":"X","requestParameters":"bucketName=x","userIdentity":{"arn":42,"type":"IAMUser"},"tlsDetails":"x","resources":{"ARN":"arn:aws:s3:::b"},"errorCode":"","awsRegion":null}]"#,
        )
        .unwrap();
        let e = &evs[0];
        assert_eq!(e.bucket_name, None);
        assert_eq!(e.user_identity.arn, None);
        assert_eq!(e.principal(), "IAMUser");
        assert_eq!(e.tls_host, None);
        assert!(e.resource_arns.is_empty());
        assert_eq!(e.error_code, None);
        assert_eq!(e.aws_region, None);
    }

    #[test]
    fn principal_fallbacks() {
        let (_, evs) = parse(
            r#"[{"eventName":"a","userIdentity":{"invokedBy":"s3.amazonaws.com","principalId":"P"}},
                {"eventName":"b","userIdentity":{"principalId":"P","accountId":"1"}},
                {"eventName":"c","userIdentity":{"accountId":"1","type":"AWSAccount"}},
                {"eventName":"d","userIdentity":{"type":"AWSService","arn":""}},
                {"eventName":"e"}]"#,
        )
        .unwrap();
        let p: Vec<_> = evs.iter().map(|e| e.principal()).collect();
        assert_eq!(p, ["s3.amazonaws.com", "P", "1", "AWSService", "unknown"]);
    }

    #[test]
    fn investigation_fields() {
        let (_, evs) = parse(
            r#"[{"eventName":"ConsoleLogin","readOnly":"TRUE","vpcEndpointId":"vpce-1","eventCategory":"Management",
                 "userIdentity":{"type":"AssumedRole","userName":"u","accessKeyId":"AKIA1","arn":"arn:aws:sts::1:assumed-role/Admin/alice",
                   "sessionContext":{"sessionIssuer":{"userName":"Admin"}}},
                 "responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"YES"}},
                {"eventName":"B","readOnly":false,"additionalEventData":{"MFAUsed":false},"responseElements":"x"},
                {"eventName":"C","readOnly":"maybe","additionalEventData":{"MFAUsed":"No"}},
                {"eventName":"D","readOnly":1,"additionalEventData":{"MFAUsed":"true"}}]"#,
        )
        .unwrap();
        let e = &evs[0];
        assert_eq!(
            (e.read_only, e.mfa_used, e.console_login.as_deref()),
            (Some(true), Some(true), Some("Success"))
        );
        assert_eq!(e.user_identity.issuer_user_name.as_deref(), Some("Admin"));
        assert_eq!(e.user_identity.access_key_id.as_deref(), Some("AKIA1"));
        assert_eq!(e.arn_last_segment(), Some("alice"));
        assert_eq!(
            (
                evs[1].read_only,
                evs[1].mfa_used,
                evs[1].console_login.as_deref()
            ),
            (Some(false), Some(false), None)
        );
        assert_eq!((evs[2].read_only, evs[2].mfa_used), (None, Some(false)));
        assert_eq!((evs[3].read_only, evs[3].mfa_used), (None, None));
    }
}
