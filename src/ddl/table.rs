//! The `CREATE EXTERNAL TABLE` text for a trail.
//!
//! The table uses partition projection on account, region and delivery day, so Athena computes
//! partitions from the query's WHERE clause instead of listing or registering them. Day
//! partitions are DELIVERY days (the S3 folders), so a query for a window must read the day
//! after it too, as ctq itself does; the comment block at the top of the output says so.

use std::fmt::Write as _;

/// What the table covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    pub bucket: String,
    /// Key prefix up to and including `AWSLogs/`.
    pub awslogs: String,
    pub organization: Option<String>,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    /// `CloudTrail` or `CloudTrail-NetworkActivity`.
    pub event_folder: String,
    pub database: String,
    pub table: String,
    /// First day of the day projection, `yyyy/MM/dd`.
    pub first_day: String,
}

/// CloudTrail's record, as Athena's CloudTrail SerDe reads it. `requestparameters`,
/// `responseelements` and `additionaleventdata` stay JSON strings (their shape differs by
/// service); `useridentity` and `tlsdetails` are structs.
const COLUMNS: &str = "\
  eventversion STRING,
  useridentity STRUCT<
    type: STRING,
    principalid: STRING,
    arn: STRING,
    accountid: STRING,
    invokedby: STRING,
    accesskeyid: STRING,
    username: STRING,
    onbehalfof: STRUCT<userid: STRING, identitystorearn: STRING>,
    sessioncontext: STRUCT<
      attributes: STRUCT<mfaauthenticated: STRING, creationdate: STRING>,
      sessionissuer: STRUCT<type: STRING, principalid: STRING, arn: STRING, accountid: STRING, username: STRING>,
      ec2roledelivery: STRING,
      webidfederationdata: STRUCT<federatedprovider: STRING, attributes: MAP<STRING, STRING>>,
      sourceidentity: STRING>>,
  eventtime STRING,
  eventsource STRING,
  eventname STRING,
  awsregion STRING,
  sourceipaddress STRING,
  useragent STRING,
  errorcode STRING,
  errormessage STRING,
  requestparameters STRING,
  responseelements STRING,
  additionaleventdata STRING,
  requestid STRING,
  eventid STRING,
  readonly STRING,
  resources ARRAY<STRUCT<arn: STRING, accountid: STRING, type: STRING>>,
  eventtype STRING,
  apiversion STRING,
  recipientaccountid STRING,
  serviceeventdetails STRING,
  sharedeventid STRING,
  vpcendpointid STRING,
  vpcendpointaccountid STRING,
  eventcategory STRING,
  managementevent STRING,
  tlsdetails STRUCT<tlsversion: STRING, ciphersuite: STRING, clientprovidedhostheader: STRING>";

fn quote_ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The `CREATE EXTERNAL TABLE` statement, with a comment block explaining each projection.
pub fn ddl(t: &TableSpec) -> String {
    let org = t
        .organization
        .as_deref()
        .map(|o| format!("{o}/"))
        .unwrap_or_default();
    let location = format!("s3://{}/{}{org}", t.bucket, t.awslogs);
    let template = format!(
        "{location}${{account}}/{}/${{region}}/${{day}}",
        t.event_folder
    );
    let mut out = String::new();
    let _ = writeln!(
        out,
        "-- CloudTrail table over the {} folders of s3://{}/{}{org}, written by ctq.",
        t.event_folder, t.bucket, t.awslogs
    );
    let _ = writeln!(
        out,
        "-- Partition projection: Athena computes the partitions a query needs from its WHERE clause;"
    );
    let _ = writeln!(out, "-- nothing to add with ALTER TABLE or MSCK REPAIR.");
    let _ = writeln!(
        out,
        "--   account: enum of the {} account(s) found{}.",
        t.accounts.len(),
        if t.organization.is_some() {
            " in the organization trail"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "--            A new account needs its id added to projection.account.values."
    );
    let _ = writeln!(
        out,
        "--   region:  enum of the {} region(s) found.",
        t.regions.len()
    );
    let _ = writeln!(
        out,
        "--   day:     the S3 day folder, yyyy/MM/dd, from {} until today. It is the DELIVERY day:",
        t.first_day
    );
    let _ = writeln!(
        out,
        "--            a file delivered at 00:04 holds events of the evening before, so a query for"
    );
    let _ = writeln!(
        out,
        "--            a window must take the days of the window AND the day after it, then filter"
    );
    let _ = writeln!(out, "--            on eventtime, for example:");
    let _ = writeln!(
        out,
        "--              WHERE day BETWEEN '2024/09/05' AND '2024/09/06'"
    );
    let _ = writeln!(
        out,
        "--                AND eventtime >= '2024-09-05T00:00:00Z' AND eventtime < '2024-09-06T00:00:00Z'"
    );
    let _ = writeln!(
        out,
        "-- requestparameters, responseelements and additionaleventdata are JSON strings: read them with"
    );
    let _ = writeln!(
        out,
        "-- json_extract_scalar(requestparameters, '$.bucketName'). An absent errorcode is NULL."
    );
    let _ = writeln!(
        out,
        "CREATE EXTERNAL TABLE IF NOT EXISTS {}.{} (",
        quote_ident(&t.database),
        quote_ident(&t.table)
    );
    let _ = writeln!(out, "  {COLUMNS}");
    let _ = writeln!(out, ")");
    let _ = writeln!(
        out,
        "PARTITIONED BY (`account` STRING, `region` STRING, `day` STRING)"
    );
    let _ = writeln!(
        out,
        "ROW FORMAT SERDE 'com.amazon.emr.hive.serde.CloudTrailSerde'"
    );
    let _ = writeln!(
        out,
        "STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'"
    );
    let _ = writeln!(
        out,
        "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'"
    );
    let _ = writeln!(out, "LOCATION {}", quote_str(&location));
    let _ = writeln!(out, "TBLPROPERTIES (");
    let props = [
        ("projection.enabled", "true".to_string()),
        ("projection.account.type", "enum".into()),
        ("projection.account.values", t.accounts.join(",")),
        ("projection.region.type", "enum".into()),
        ("projection.region.values", t.regions.join(",")),
        ("projection.day.type", "date".into()),
        ("projection.day.format", "yyyy/MM/dd".into()),
        ("projection.day.range", format!("{},NOW", t.first_day)),
        ("projection.day.interval", "1".into()),
        ("projection.day.interval.unit", "DAYS".into()),
        ("storage.location.template", template),
    ];
    for (i, (k, v)) in props.iter().enumerate() {
        let sep = if i + 1 < props.len() { "," } else { "" };
        let _ = writeln!(out, "  {}={}{sep}", quote_str(k), quote_str(v));
    }
    let _ = writeln!(out, ");");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_cannot_be_escaped() {
        assert_eq!(quote_str("it's"), "'it''s'");
        assert_eq!(quote_ident("a`b"), "`a``b`");
    }
}
