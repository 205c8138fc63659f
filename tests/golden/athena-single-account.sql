-- CloudTrail table over the CloudTrail folders of s3://trail-bucket/AWSLogs/, written by ctq.
-- Partition projection: Athena computes the partitions a query needs from its WHERE clause;
-- nothing to add with ALTER TABLE or MSCK REPAIR.
--   account: enum of the 1 account(s) found.
--            A new account needs its id added to projection.account.values.
--   region:  enum of the 2 region(s) found.
--   day:     the S3 day folder, yyyy/MM/dd, from 2024/01/01 until today. It is the DELIVERY day:
--            a file delivered at 00:04 holds events of the evening before, so a query for
--            a window must take the days of the window AND the day after it, then filter
--            on eventtime, for example:
--              WHERE day BETWEEN '2024/09/05' AND '2024/09/06'
--                AND eventtime >= '2024-09-05T00:00:00Z' AND eventtime < '2024-09-06T00:00:00Z'
-- requestparameters, responseelements and additionaleventdata are JSON strings: read them with
-- json_extract_scalar(requestparameters, '$.bucketName'). An absent errorcode is NULL.
CREATE EXTERNAL TABLE IF NOT EXISTS `default`.`cloudtrail_logs` (
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
  tlsdetails STRUCT<tlsversion: STRING, ciphersuite: STRING, clientprovidedhostheader: STRING>
)
PARTITIONED BY (`account` STRING, `region` STRING, `day` STRING)
ROW FORMAT SERDE 'com.amazon.emr.hive.serde.CloudTrailSerde'
STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://trail-bucket/AWSLogs/'
TBLPROPERTIES (
  'projection.enabled'='true',
  'projection.account.type'='enum',
  'projection.account.values'='111111111111',
  'projection.region.type'='enum',
  'projection.region.values'='us-east-1,eu-west-1',
  'projection.day.type'='date',
  'projection.day.format'='yyyy/MM/dd',
  'projection.day.range'='2024/01/01,NOW',
  'projection.day.interval'='1',
  'projection.day.interval.unit'='DAYS',
  'storage.location.template'='s3://trail-bucket/AWSLogs/${account}/CloudTrail/${region}/${day}'
);
