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
    COALESCE(NULLIF(useridentity.arn, ''), NULLIF(useridentity.invokedby, ''), NULLIF(useridentity.principalid, ''), NULLIF(useridentity.accountid, ''), NULLIF(useridentity.type, ''), 'unknown') AS principal
  FROM "default"."cloudtrail_logs"
  WHERE day BETWEEN '2024/09/05' AND '2024/09/07'
    AND account IN ('111111111111')
    AND COALESCE(cardinality(filter(transform(COALESCE(resources, ARRAY[]), v1 -> v1.type), v2 -> v2 = 'AWS::S3::Object')) > 0, false)
    AND ((COALESCE(cardinality(filter(resources, v3 -> (regexp_extract(v3.arn, '^(?:[^:]*:){5}([\s\S]*)$', 1) = 'prod-data' OR starts_with(regexp_extract(v3.arn, '^(?:[^:]*:){5}([\s\S]*)$', 1), 'prod-data/') OR (length(regexp_extract(v3.arn, '^(?:[^:]*:){5}([\s\S]*)$', 1)) > 9 AND substr(regexp_extract(v3.arn, '^(?:[^:]*:){5}([\s\S]*)$', 1), length(regexp_extract(v3.arn, '^(?:[^:]*:){5}([\s\S]*)$', 1)) - 9) IN ('/prod-data', ':prod-data'))))) > 0, false) OR COALESCE(cardinality(filter(regexp_extract_all(requestparameters, '"(?:[^"\\]|\\.)*"\s*:?'), v4 -> NOT (v4 LIKE '%:') AND json_extract_scalar(v4, '$') = 'prod-data')) > 0, false)))
),
w AS (
  SELECT * FROM e
  WHERE ts >= from_iso8601_timestamp('2024-09-05T10:00:00Z') AT TIME ZONE 'UTC'
    AND ts < from_iso8601_timestamp('2024-09-07T00:00:00Z') AT TIME ZONE 'UTC'
    AND account_id IN ('111111111111')
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
)
SELECT
  d."event_time",
  d."account",
  d."region",
  d."event_source",
  d."event_name",
  d."principal",
  d."source_ip",
  d."error_code"
FROM d
ORDER BY floor(to_unixtime(d."ts")) DESC NULLS LAST, d."ctq_event_id" DESC NULLS LAST, d."ts" ASC NULLS FIRST, d."account" ASC NULLS FIRST, d."region" ASC NULLS FIRST, d."event_source" ASC NULLS FIRST, d."event_name" ASC NULLS FIRST, d."principal" ASC NULLS FIRST, d."source_ip" ASC NULLS FIRST, d."error_code" ASC NULLS FIRST
