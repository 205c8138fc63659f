-- ctq who-touched-bucket on Athena: events in [2024-09-05T10:00:00Z, 2024-09-07T00:00:00Z).
-- Day partitions are delivery days: the window's days and the day after (late delivery).
WITH e AS (
  SELECT
    try(from_iso8601_timestamp(replace(eventtime, ' ', 'T'))) AT TIME ZONE 'UTC' AS ts,
    NULLIF(recipientaccountid, '') AS account_id,
    NULLIF(eventname, '') AS event_name,
    NULLIF(sourceipaddress, '') AS source_ip,
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
    AND (bucket_name = 'prod-data' OR COALESCE(cardinality(filter(resources, r -> regexp_like(r.arn, '^arn:aws(-[^:]*)?:s3:::') AND (regexp_replace(r.arn, '^arn:aws(-[^:]*)?:s3:::', '') = 'prod-data' OR starts_with(regexp_replace(r.arn, '^arn:aws(-[^:]*)?:s3:::', ''), 'prod-data/')))) > 0, false))
)
SELECT
  "principal",
  "event_name",
  count(*) AS "count",
  to_iso8601(min(ts)) AS "first_seen",
  to_iso8601(max(ts)) AS "last_seen",
  json_format(CAST(array_sort(array_distinct(array_agg(source_ip) FILTER (WHERE source_ip IS NOT NULL))) AS JSON)) AS "source_ips"
FROM w
GROUP BY 1, 2
ORDER BY "count" DESC, "principal" ASC NULLS FIRST, "event_name" ASC NULLS FIRST
