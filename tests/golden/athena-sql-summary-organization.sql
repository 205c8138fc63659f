-- ctq summary on Athena: events in [2024-09-05T00:00:00Z, 2024-09-06T00:00:00Z).
-- Day partitions are delivery days: the window's days and the day after (late delivery).
WITH e AS (
  SELECT
    try(from_iso8601_timestamp(replace(eventtime, ' ', 'T'))) AT TIME ZONE 'UTC' AS ts,
    NULLIF(recipientaccountid, '') AS account_id,
    NULLIF(awsregion, '') AS aws_region,
    NULLIF(eventsource, '') AS event_source,
    NULLIF(eventname, '') AS event_name,
    NULLIF(sourceipaddress, '') AS source_ip,
    NULLIF(errorcode, '') AS error_code,
    COALESCE(NULLIF(eventcategory, ''), CASE WHEN eventtype IN ('AwsVpceEvent', 'AwsVpceEvents') THEN 'NetworkActivity' WHEN eventtype = 'AwsCloudTrailInsight' THEN 'Insight' WHEN lower(managementevent) = 'false' THEN 'Data' ELSE 'Management' END) AS category,
    COALESCE(NULLIF(useridentity.arn, ''), NULLIF(useridentity.invokedby, ''), NULLIF(useridentity.principalid, ''), NULLIF(useridentity.accountid, ''), NULLIF(useridentity.type, ''), 'unknown') AS principal
  FROM "security"."org_trail"
  WHERE day BETWEEN '2024/09/05' AND '2024/09/06'
    AND account IN ('222222222222', '333333333333')
    AND region IN ('eu-west-1')
),
w AS (
  SELECT * FROM e
  WHERE ts >= from_iso8601_timestamp('2024-09-05T00:00:00Z') AT TIME ZONE 'UTC'
    AND ts < from_iso8601_timestamp('2024-09-06T00:00:00Z') AT TIME ZONE 'UTC'
    AND account_id IN ('222222222222', '333333333333')
    AND aws_region IN ('eu-west-1')
),
v AS (
  SELECT *, (ts >= from_iso8601_timestamp('2024-09-05T00:00:00Z') AT TIME ZONE 'UTC' AND ts < from_iso8601_timestamp('2024-09-06T00:00:00Z') AT TIME ZONE 'UTC') AS plausible FROM w
),
extent AS (
  SELECT min(ts) AS span_first, max(ts) AS span_last FROM v WHERE plausible
),
tl AS (
  SELECT CASE
      WHEN date_diff('hour', date_trunc('hour', span_first), date_trunc('hour', span_last)) < 400 THEN date_trunc('hour', ts)
      WHEN date_diff('day', date_trunc('day', span_first), date_trunc('day', span_last)) < 400 THEN date_trunc('day', ts)
      ELSE date_trunc('month', ts)
    END AS "start"
  FROM v CROSS JOIN extent
  WHERE plausible
),
s AS (
  SELECT 0 AS "ord", 'by_category' AS "section", category AS "key", count(*) AS "count" FROM w GROUP BY category
  UNION ALL
  SELECT 1 AS "ord", 'by_account' AS "section", account_id AS "key", count(*) AS "count" FROM w GROUP BY account_id
  UNION ALL
  SELECT 2 AS "ord", 'by_region' AS "section", aws_region AS "key", count(*) AS "count" FROM w GROUP BY aws_region
  UNION ALL
  SELECT 3 AS "ord", 'top_event_sources' AS "section", event_source AS "key", count(*) AS "count" FROM w GROUP BY event_source
  UNION ALL
  SELECT 4 AS "ord", 'top_event_names' AS "section", event_name AS "key", count(*) AS "count" FROM w GROUP BY event_name
  UNION ALL
  SELECT 5 AS "ord", 'top_principals' AS "section", principal AS "key", count(*) AS "count" FROM w GROUP BY principal
  UNION ALL
  SELECT 6 AS "ord", 'top_source_ips' AS "section", source_ip AS "key", count(*) AS "count" FROM w GROUP BY source_ip
  UNION ALL
  SELECT 7 AS "ord", 'timeline' AS "section", to_iso8601("start") AS "key", count(*) AS "count" FROM tl GROUP BY "start"
),
r AS (
  SELECT *, row_number() OVER (PARTITION BY "ord" ORDER BY "count" DESC, "key" ASC NULLS FIRST) AS "rank",
    count(*) OVER (PARTITION BY "ord") AS ctq_kinds FROM s
)
SELECT -1 AS "ord", 'totals' AS "section", CAST(NULL AS VARCHAR) AS "key", count(*) AS "count",
  count_if(error_code IS NOT NULL) AS ctq_errors,
  to_iso8601(min(CASE WHEN plausible THEN ts END)) AS first_seen, to_iso8601(max(CASE WHEN plausible THEN ts END)) AS last_seen,
  count_if(NOT plausible) AS ctq_implausible, to_iso8601(min(CASE WHEN NOT plausible THEN ts END)) AS ctq_implausible_first, to_iso8601(max(CASE WHEN NOT plausible THEN ts END)) AS ctq_implausible_last,
  0 AS "rank", CAST(NULL AS BIGINT) AS ctq_kinds
FROM v
UNION ALL
SELECT "ord", "section", "key", "count", CAST(NULL AS BIGINT), CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR),
  CAST(NULL AS BIGINT), CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), "rank", ctq_kinds
FROM r
WHERE "ord" NOT IN (3, 4, 5, 6) OR "rank" <= 5
ORDER BY "ord", "rank"
