//! `who-touched-bucket BUCKET`: who read, wrote or changed this S3 bucket?

use super::{GroupsOrDetails, Report, s};
use crate::event::Event;
use crate::render::{Output, Value};
use crate::time::Micros;

#[derive(Debug, Clone, Default)]
pub struct WhoTouchedBucket {
    bucket: String,
    rows: GroupsOrDetails,
}

impl WhoTouchedBucket {
    pub fn new(bucket: &str, details: bool) -> Self {
        WhoTouchedBucket {
            bucket: bucket.to_string(),
            rows: GroupsOrDetails::new(details),
        }
    }

    pub fn matches(&self, ev: &Event<'_>) -> bool {
        touches_bucket(ev, &self.bucket)
    }
}

/// `requestParameters.bucketName` is the bucket, or a resource ARN is the bucket or an object in
/// it (`arn:aws:s3:::BUCKET/…`; `arn:aws:s3:::BUCKET-archive` is another bucket), in any AWS
/// partition (`arn:aws-cn:s3:::`, `arn:aws-us-gov:s3:::`, `arn:aws-iso-b:s3:::` …).
pub fn touches_bucket(ev: &Event<'_>, bucket: &str) -> bool {
    ev.bucket_name.as_deref() == Some(bucket)
        || ev.resource_arns.iter().any(|arn| {
            s3_arn_resource(arn)
                .and_then(|rest| rest.strip_prefix(bucket))
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
}

/// What follows `arn:<partition>:s3:::` in an S3 ARN, for the partitions `aws` and `aws-*`.
fn s3_arn_resource(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:")?;
    let (partition, rest) = rest.split_once(':')?;
    (partition == "aws" || partition.starts_with("aws-"))
        .then_some(())
        .and(rest.strip_prefix("s3:::"))
}

impl Report for WhoTouchedBucket {
    type Out = Output;

    fn observe(&mut self, ev: &Event<'_>, time: Option<Micros>) {
        if !self.matches(ev) {
            return;
        }
        let principal = ev.principal();
        match &mut self.rows.details {
            Some(d) => d.push(
                time,
                ev.event_id.as_deref(),
                vec![
                    Value::time(time),
                    Value::str(ev.event_name.as_deref()),
                    Value::str(ev.event_source.as_deref()),
                    Value::str(Some(principal)),
                    Value::str(ev.source_ip.as_deref()),
                    Value::str(ev.user_agent.as_deref()),
                    Value::str(ev.error_code.as_deref()),
                    Value::str(ev.object_key.as_deref()),
                    Value::str(ev.event_id.as_deref()),
                ],
            ),
            None => {
                let agg = self
                    .rows
                    .groups
                    .entry(&[Some(principal), ev.event_name.as_deref()]);
                agg.add(time);
                agg.add_ip(ev.source_ip.as_deref());
            }
        }
    }

    fn merge(&mut self, other: Self) {
        self.rows.merge(other.rows);
    }

    fn finish(self) -> Output {
        if let Some(details) = self.rows.details {
            return Output {
                columns: DETAIL_COLUMNS.to_vec(),
                rows: details.into_sorted(),
                footer: vec![],
            };
        }
        let rows = self
            .rows
            .groups
            .into_sorted()
            .into_iter()
            .map(|(k, a)| {
                vec![
                    s(&k[0]),
                    s(&k[1]),
                    Value::Count(a.count),
                    Value::time(a.first),
                    Value::time(a.last),
                    a.ips(),
                ]
            })
            .collect();
        Output {
            columns: COLUMNS.to_vec(),
            rows,
            footer: vec![],
        }
    }
}

pub const COLUMNS: [&str; 6] = [
    "principal",
    "event_name",
    "count",
    "first_seen",
    "last_seen",
    "source_ips",
];
pub const DETAIL_COLUMNS: [&str; 9] = [
    "event_time",
    "event_name",
    "event_source",
    "principal",
    "source_ip",
    "user_agent",
    "error_code",
    "key",
    "event_id",
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn bucket_matching_rules() {
        let r = WhoTouchedBucket::new("prod-data", false);
        let ev = |name: Option<&'static str>, arns: &[&'static str]| Event {
            bucket_name: name.map(Cow::Borrowed),
            resource_arns: arns.iter().map(|a| Cow::Borrowed(*a)).collect(),
            ..Default::default()
        };
        assert!(r.matches(&ev(Some("prod-data"), &[])));
        assert!(r.matches(&ev(None, &["arn:aws:s3:::prod-data"])));
        for arn in [
            "arn:aws-cn:s3:::prod-data/k",
            "arn:aws-us-gov:s3:::prod-data",
            "arn:aws-iso:s3:::prod-data/k",
            "arn:aws-iso-b:s3:::prod-data/k",
            "arn:aws-iso-f:s3:::prod-data",
        ] {
            assert!(r.matches(&ev(None, &[arn])), "{arn}");
        }
        assert!(!r.matches(&ev(None, &["arn:other:s3:::prod-data"])));
        assert!(!r.matches(&ev(None, &["arn:aws:s3:::"])));
        assert!(r.matches(&ev(
            None,
            &["arn:aws:iam::1:role/x", "arn:aws:s3:::prod-data/a/b.txt"]
        )));
        assert!(!r.matches(&ev(Some("prod-data-archive"), &[])));
        assert!(!r.matches(&ev(
            None,
            &[
                "arn:aws:s3:::prod-data-archive/x",
                "arn:aws:s3:::prod-datax"
            ]
        )));
        assert!(!r.matches(&ev(Some("PROD-DATA"), &[])));
    }
}
