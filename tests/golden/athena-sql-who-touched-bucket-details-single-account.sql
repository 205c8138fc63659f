-- ctq who-touched-bucket on Athena: events in [2024-09-05T10:00:00Z, 2024-09-07T00:00:00Z).
-- Day partitions are delivery days: the window's days and the day after (late delivery).
WITH e AS (
  SELECT
    try(from_iso8601_timestamp(replace(eventtime, ' ', 'T'))) AT TIME ZONE 'UTC' AS ts,
    NULLIF(recipientaccountid, '') AS account_id,
    NULLIF(eventsource, '') AS event_source,
    NULLIF(eventname, '') AS event_name,
    NULLIF(eventid, '') AS event_id,
    NULLIF(sourceipaddress, '') AS source_ip,
    NULLIF(useragent, '') AS user_agent,
    NULLIF(errorcode, '') AS error_code,
    COALESCE(NULLIF(useridentity.arn, ''), NULLIF(useridentity.invokedby, ''), NULLIF(useridentity.principalid, ''), NULLIF(useridentity.accountid, ''), NULLIF(useridentity.type, ''), 'unknown') AS principal,
    NULLIF(json_extract_scalar(requestparameters, '$.bucketName'), '') AS bucket_name,
    NULLIF(json_extract_scalar(requestparameters, '$.key'), '') AS object_key,
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
    AND (bucket_name = 'prod-data' OR COALESCE(cardinality(filter(resources, r -> regexp_like(r.arn, '^arn:aws(-[^:]*)?:s3:::') AND (regexp_replace(r.arn, '^arn:aws(-[^:]*)?:s3:::', '') = 'prod-data' OR starts_with(regexp_replace(r.arn, '^arn:aws(-[^:]*)?:s3:::', ''), 'prod-data/')))) > 0, false))
),
d AS (
  SELECT
    to_iso8601(ts) AS "event_time",
    "event_name",
    "event_source",
    "principal",
    "source_ip",
    "user_agent",
    "error_code",
    object_key AS "key",
    "event_id",
    "ts",
    event_id AS "ctq_event_id",
    1 AS "ctq_row"
  FROM w
)
SELECT
  d."event_time",
  d."event_name",
  d."event_source",
  d."principal",
  d."source_ip",
  d."user_agent",
  d."error_code",
  d."key",
  d."event_id"
FROM d
ORDER BY floor(to_unixtime(d."ts")) DESC NULLS LAST, d."ctq_event_id" DESC NULLS LAST, d."ts" ASC NULLS FIRST, d."event_name" ASC NULLS FIRST, d."event_source" ASC NULLS FIRST, d."principal" ASC NULLS FIRST, d."source_ip" ASC NULLS FIRST, d."user_agent" ASC NULLS FIRST, d."error_code" ASC NULLS FIRST, d."key" ASC NULLS FIRST, d."event_id" ASC NULLS FIRST
