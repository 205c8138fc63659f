-- ctq events on Athena: events in [2024-09-05T10:00:00Z, 2024-09-07T00:00:00Z).
-- Day partitions are delivery days: the window's days and the day after (late delivery).
WITH e AS (
  SELECT
    try(from_iso8601_timestamp(replace(eventtime, ' ', 'T'))) AT TIME ZONE 'UTC' AS ts,
    NULLIF(recipientaccountid, '') AS account_id,
    NULLIF(awsregion, '') AS aws_region,
    NULLIF(eventsource, '') AS event_source,
    NULLIF(eventname, '') AS event_name,
    NULLIF(eventid, '') AS event_id,
    NULLIF(sourceipaddress, '') AS source_ip,
    NULLIF(errorcode, '') AS error_code,
    CASE lower(readonly) WHEN 'true' THEN true WHEN 'false' THEN false END AS read_only,
    NULLIF(useridentity.username, '') AS user_name,
    NULLIF(useridentity.sessioncontext.sessionissuer.username, '') AS issuer_user_name,
    CASE WHEN strpos(useridentity.arn, '/') > 0 THEN NULLIF(regexp_extract(useridentity.arn, '[^/]*$'), '') WHEN regexp_like(useridentity.arn, '^arn:[^:]*:[^:]*:[^:]*:[^:]*:root$') THEN 'root' END AS arn_last,
    COALESCE(NULLIF(useridentity.arn, ''), NULLIF(useridentity.invokedby, ''), NULLIF(useridentity.principalid, ''), NULLIF(useridentity.accountid, ''), NULLIF(useridentity.type, ''), 'unknown') AS principal,
    NULLIF(json_extract_scalar(requestparameters, '$.bucketName'), '') AS bucket_name,
    resources AS resources
  FROM "default"."cloudtrail_logs"
  WHERE day BETWEEN '2024/09/05' AND '2024/09/07'
    AND account IN ('111111111111')
),
w AS (
  SELECT * FROM e
  WHERE ts >= from_iso8601_timestamp('2024-09-05T10:00:00Z') AT TIME ZONE 'UTC'
    AND ts < from_iso8601_timestamp('2024-09-07T00:00:00Z') AT TIME ZONE 'UTC'
    AND account_id IN ('111111111111')
    AND (user_name = 'erin' OR issuer_user_name = 'erin' OR arn_last = 'erin')
    AND COALESCE(try(contains('198.51.100.0/24', CAST(source_ip AS IPADDRESS))), false)
    AND (bucket_name = 'it''s' OR COALESCE(cardinality(filter(resources, r -> regexp_like(r.arn, '^arn:aws(-[^:]*)?:s3:::') AND (regexp_replace(r.arn, '^arn:aws(-[^:]*)?:s3:::', '') = 'it''s' OR starts_with(regexp_replace(r.arn, '^arn:aws(-[^:]*)?:s3:::', ''), 'it''s/')))) > 0, false))
    AND read_only = true
),
d AS (
  SELECT
    to_iso8601(ts) AS "event_time",
    account_id AS "account",
    aws_region AS "region",
    "event_source",
    "event_name",
    "principal",
    "source_ip",
    "error_code",
    "ts",
    event_id AS "ctq_event_id",
    1 AS "ctq_row"
  FROM w
),
t AS (
  SELECT
    count(*) AS "ctq_matched"
  FROM w
)
SELECT
  d."event_time",
  d."account",
  d."region",
  d."event_source",
  d."event_name",
  d."principal",
  d."source_ip",
  d."error_code",
  d."ctq_row",
  t."ctq_matched"
FROM t LEFT JOIN d ON true
ORDER BY floor(to_unixtime(d."ts")) DESC NULLS LAST, d."ctq_event_id" DESC NULLS LAST, d."ts" ASC NULLS FIRST, d."account" ASC NULLS FIRST, d."region" ASC NULLS FIRST, d."event_source" ASC NULLS FIRST, d."event_name" ASC NULLS FIRST, d."principal" ASC NULLS FIRST, d."source_ip" ASC NULLS FIRST, d."error_code" ASC NULLS FIRST
LIMIT 20
