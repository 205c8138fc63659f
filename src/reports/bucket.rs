//! `who-touched-bucket BUCKET`: who read, wrote or changed this S3 bucket?

use super::cells::{
    ERROR_CODE, EVENT_ID, EVENT_NAME, EVENT_SOURCE, EVENT_TIME, PRINCIPAL, SOURCE_IP, USER_AGENT, ranked,
};
use super::def::{Context, Report, ReportDef};
use super::group::{GroupsOrDetails, row};
use crate::athena::results::ResultTable;
use crate::athena::sql::{self, COUNT_FIRST_LAST, Cell, F, Query, lit};
use crate::document::{Column, Document, Value};
use crate::event::Event;
use crate::time::Micros;

/// Who touched this S3 bucket?
///
/// Events whose requestParameters.bucketName is BUCKET, or with a resource ARN that is the
/// bucket or an object in it, grouped by principal and event name.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The bucket name (not an ARN)
    bucket: String,
    /// List every matching event instead of grouping
    #[arg(long)]
    details: bool,
}

const KEYS: [Cell; 2] = [ranked(PRINCIPAL, 0), EVENT_NAME];

const AGGREGATES: [Cell; 4] = [
    COUNT_FIRST_LAST[0],
    COUNT_FIRST_LAST[1],
    COUNT_FIRST_LAST[2],
    (
        Column::list("source_ips").rank(3),
        "json_format(CAST(array_sort(array_distinct(array_agg(source_ip) FILTER (WHERE source_ip IS NOT NULL))) AS JSON))",
    ),
];

const DETAIL_COLUMNS: [Cell; 9] = [
    EVENT_TIME,
    EVENT_NAME,
    EVENT_SOURCE,
    PRINCIPAL,
    SOURCE_IP,
    USER_AGENT,
    ERROR_CODE,
    (Column::text("key").elide().rank(1), "object_key"),
    EVENT_ID,
];

/// The columns of `e` that `DETAIL_COLUMNS` and the conditions read.
const DETAIL_FIELDS: [F; 10] = [
    F::BucketName,
    F::Resources,
    F::EventName,
    F::EventSource,
    F::Principal,
    F::SourceIp,
    F::UserAgent,
    F::ErrorCode,
    F::ObjectKey,
    F::EventId,
];

impl ReportDef for Args {
    const NAME: &'static str = "who-touched-bucket";
    const EXAMPLES: &'static str = "\
  ctq who-touched-bucket prod-data -s s3://my-trail-bucket --since 7d
  ctq who-touched-bucket prod-data -s ./AWSLogs --details -o ndjson | jq .key";
    type Acc = WhoTouchedBucket;

    fn check(&self) -> Result<(), String> {
        let b = &self.bucket;
        if b.is_empty() || b.starts_with("arn:") || b.starts_with("s3://") || b.contains('/') {
            return Err(format!(
                "'{b}' is not a bucket name: give the name alone, for example my-bucket"
            ));
        }
        Ok(())
    }

    fn accumulator(&self, _: &Context<'_>) -> WhoTouchedBucket {
        WhoTouchedBucket::new(&self.bucket, self.details)
    }

    fn athena_query(&self, _: &Context<'_>) -> Result<Query, String> {
        let conditions = vec![touches_bucket_sql(&self.bucket)];
        if !self.details {
            return Ok(Query::over_w(
                vec![
                    F::BucketName,
                    F::Resources,
                    F::Principal,
                    F::EventName,
                    F::SourceIp,
                ],
                conditions,
                sql::grouped(&KEYS, &AGGREGATES, &[], "w", None),
            ));
        }
        Ok(Query::event_rows(DETAIL_FIELDS.to_vec(), conditions, &DETAIL_COLUMNS))
    }

    fn athena_document(&self, t: &ResultTable<'_>) -> anyhow::Result<Document> {
        let columns = if self.details {
            sql::columns(&[&DETAIL_COLUMNS])
        } else {
            sql::columns(&[&KEYS, &AGGREGATES])
        };
        Ok(t.rows(columns, vec![])?.into())
    }
}

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

/// `bucket_name` is the bucket, or a resource ARN is the bucket or an object in it, in any AWS
/// partition (`arn:aws:s3:::`, `arn:aws-cn:s3:::` …).
pub fn touches_bucket_sql(bucket: &str) -> String {
    const S3_ARN: &str = "'^arn:aws(-[^:]*)?:s3:::'";
    format!(
        "(bucket_name = {b} OR COALESCE(cardinality(filter(resources, r -> regexp_like(r.arn, {S3_ARN}) \
         AND (regexp_replace(r.arn, {S3_ARN}, '') = {b} OR starts_with(regexp_replace(r.arn, {S3_ARN}, ''), {bs})))) > 0, false))",
        b = lit(bucket),
        bs = lit(&format!("{bucket}/"))
    )
}

impl Report for WhoTouchedBucket {
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

    fn finish(self) -> Document {
        self.rows.finish(
            sql::columns(&[&DETAIL_COLUMNS]),
            sql::columns(&[&KEYS, &AGGREGATES]),
            vec![],
            |(k, a)| row(k, a.count_first_last().into_iter().chain([a.ips()])),
        )
    }
}

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
