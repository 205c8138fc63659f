-- ctq network-activity on Athena: events in [2024-09-05T10:00:00Z, 2024-09-07T00:00:00Z).
-- Day partitions are delivery days: the window's days and the day after (late delivery).
WITH e AS (
  SELECT
    try(from_iso8601_timestamp(replace(eventtime, ' ', 'T'))) AT TIME ZONE 'UTC' AS ts,
    NULLIF(recipientaccountid, '') AS account_id,
    NULLIF(eventsource, '') AS event_source,
    NULLIF(eventname, '') AS event_name,
    NULLIF(errorcode, '') AS error_code,
    COALESCE(NULLIF(eventcategory, ''), CASE WHEN eventtype IN ('AwsVpceEvent', 'AwsVpceEvents') THEN 'NetworkActivity' WHEN eventtype = 'AwsCloudTrailInsight' THEN 'Insight' WHEN lower(managementevent) = 'false' THEN 'Data' ELSE 'Management' END) AS category,
    NULLIF(eventtype, '') AS event_type,
    NULLIF(vpcendpointid, '') AS vpce,
    COALESCE(NULLIF(useridentity.arn, ''), NULLIF(useridentity.invokedby, ''), NULLIF(useridentity.principalid, ''), NULLIF(useridentity.accountid, ''), NULLIF(useridentity.type, ''), 'unknown') AS principal
  FROM "default"."cloudtrail_logs"
  WHERE day BETWEEN '2024/09/05' AND '2024/09/07'
    AND account IN ('111111111111')
),
w AS (
  SELECT * FROM e
  WHERE ts >= from_iso8601_timestamp('2024-09-05T10:00:00Z') AT TIME ZONE 'UTC'
    AND ts < from_iso8601_timestamp('2024-09-07T00:00:00Z') AT TIME ZONE 'UTC'
    AND account_id IN ('111111111111')
    AND (category = 'NetworkActivity' OR event_type IN ('AwsVpceEvent', 'AwsVpceEvents'))
    AND error_code = 'VpceAccessDenied'
)
SELECT
  vpce AS "vpc_endpoint_id",
  "event_source",
  "event_name",
  "principal",
  "error_code",
  count(*) AS "count",
  to_iso8601(min(ts)) AS "first_seen",
  to_iso8601(max(ts)) AS "last_seen"
FROM w
GROUP BY 1, 2, 3, 4, 5
ORDER BY "count" DESC, "vpc_endpoint_id" ASC NULLS FIRST, "event_source" ASC NULLS FIRST, "event_name" ASC NULLS FIRST, "principal" ASC NULLS FIRST, "error_code" ASC NULLS FIRST
