//! What a rule sees of an event: the event's own JSON, parsed once when a rule first asks, read
//! as CloudTrail readers expect.
//!
//! Two readings go beyond rsigma's JSON event, and ctq documents both:
//! - a field whose value is an array matches if any element matches (rsigma does this too, and
//!   follows every element when a path crosses an array);
//! - a field whose value is an object (`requestParameters|contains: 'Suspended'`) matches if any
//!   value inside it matches, at any depth: the object is shown to the rule as the list of its
//!   scalar values.
//!
//! Keyword (field-less) searches see every string value of the event at any depth. The event
//! was already held to ctq's nesting limit (`event::json::MAX_DEPTH`) when it was read, so every
//! walk here is bounded; the walks of this module are iterative anyway.

use std::borrow::Cow;

use rsigma_eval::event::{Event, EventValue, JsonEvent};
use serde_json::Value;

/// One event as rules see it: its JSON, parsed by the caller once it has a rule to show it to.
pub struct View<'v> {
    json: &'v Value,
    fields: JsonEvent<'v>,
}

impl<'v> View<'v> {
    pub fn new(json: &'v Value) -> View<'v> {
        View {
            json,
            fields: JsonEvent::borrow(json),
        }
    }
}

/// rsigma's value with every object and array in it replaced by its scalar values, at any
/// depth, as one list: a rule's value then matches if it matches any of them.
fn flatten(v: EventValue<'_>) -> EventValue<'_> {
    if !matches!(v, EventValue::Map(_) | EventValue::Array(_)) {
        return v;
    }
    let mut out = Vec::new();
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            EventValue::Map(entries) => stack.extend(entries.into_iter().rev().map(|(_, v)| v)),
            EventValue::Array(items) => stack.extend(items.into_iter().rev()),
            scalar => out.push(scalar),
        }
    }
    EventValue::Array(out)
}

impl Event for View<'_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        self.fields.get_field(path).map(flatten)
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        let mut stack = vec![self.json];
        while let Some(v) = stack.pop() {
            match v {
                Value::String(s) if pred(s) => return true,
                Value::Object(m) => stack.extend(m.values()),
                Value::Array(a) => stack.extend(a),
                _ => {}
            }
        }
        false
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        let mut out = Vec::new();
        let mut stack = vec![self.json];
        while let Some(v) = stack.pop() {
            match v {
                Value::String(s) => out.push(Cow::Borrowed(s.as_str())),
                Value::Object(m) => stack.extend(m.values().rev()),
                Value::Array(a) => stack.extend(a.iter().rev()),
                _ => {}
            }
        }
        out
    }

    fn to_json(&self) -> Value {
        self.json.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: Option<EventValue<'_>>) -> Vec<String> {
        match v {
            Some(EventValue::Array(a)) => a
                .iter()
                .map(|x| x.as_str().map(|s| s.into_owned()).unwrap_or_default())
                .collect(),
            Some(x) => vec![x.as_str().map(|s| s.into_owned()).unwrap_or_default()],
            None => vec![],
        }
    }

    #[test]
    fn objects_are_their_values_and_arrays_their_elements() {
        let raw = r#"{"eventName":"PutBucketVersioning","requestParameters":{"bucketName":"b","VersioningConfiguration":{"Status":"Suspended","x":[1,{"y":true}]}},"resources":[{"ARN":"arn:a"},{"ARN":"arn:b"}],"n":null}"#;
        let json = serde_json::from_str(raw).unwrap();
        let v = View::new(&json);
        assert_eq!(strs(v.get_field("eventName")), ["PutBucketVersioning"]);
        let mut inside = strs(v.get_field("requestParameters"));
        inside.sort();
        assert_eq!(inside, ["1", "Suspended", "b", "true"]);
        assert_eq!(strs(v.get_field("resources.ARN")), ["arn:a", "arn:b"]);
        assert_eq!(strs(v.get_field("resources")), ["arn:a", "arn:b"]);
        assert_eq!(v.get_field("n"), Some(EventValue::Null));
        assert_eq!(v.get_field("missing"), None);
        assert!(v.any_string_value(&|s| s == "arn:b"));
        assert!(!v.any_string_value(&|s| s == "1"));
    }
}
