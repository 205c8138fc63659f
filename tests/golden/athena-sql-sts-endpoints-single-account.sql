-- ctq sts-endpoints on Athena: events in [2024-09-05T10:00:00Z, 2024-09-07T00:00:00Z).
-- Day partitions are delivery days: the window's days and the day after (late delivery).
WITH e AS (
  SELECT
    try(from_iso8601_timestamp(replace(eventtime, ' ', 'T'))) AT TIME ZONE 'UTC' AS ts,
    NULLIF(recipientaccountid, '') AS account_id,
    NULLIF(awsregion, '') AS aws_region,
    NULLIF(eventsource, '') AS event_source,
    NULLIF(useragent, '') AS user_agent,
    NULLIF(tlsdetails.clientprovidedhostheader, '') AS host
  FROM "default"."cloudtrail_logs"
  WHERE day BETWEEN '2024/09/05' AND '2024/09/07'
    AND account IN ('111111111111')
),
w AS (
  SELECT * FROM e
  WHERE ts >= from_iso8601_timestamp('2024-09-05T10:00:00Z') AT TIME ZONE 'UTC'
    AND ts < from_iso8601_timestamp('2024-09-07T00:00:00Z') AT TIME ZONE 'UTC'
    AND account_id IN ('111111111111')
    AND event_source = 'sts.amazonaws.com'
),
s AS (
  SELECT *, CASE WHEN host IS NULL THEN NULL WHEN lower(host) = 'sts.amazonaws.com' OR lower(host) LIKE 'sts-global.%' THEN 'global' ELSE 'regional' END AS endpoint
  FROM w
)
SELECT
  host AS "host_header",
  "endpoint",
  aws_region AS "region",
  "user_agent",
  count(*) AS "count"
FROM s
GROUP BY 1, 2, 3, 4
ORDER BY "count" DESC, "host_header" ASC NULLS FIRST, "endpoint" ASC NULLS FIRST, "region" ASC NULLS FIRST, "user_agent" ASC NULLS FIRST
