-- ctq sts-endpoints on Athena: events in [2024-09-05T10:00:00Z, 2024-09-07T00:00:00Z).
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
    NULLIF(useragent, '') AS user_agent,
    NULLIF(useridentity.arn, '') AS arn,
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
),
d AS (
  SELECT
    to_iso8601(ts) AS "event_time",
    account_id AS "account",
    "event_name",
    host AS "host_header",
    "source_ip",
    "event_id",
    arn AS "principal_arn",
    "ts",
    event_id AS "ctq_event_id",
    1 AS "ctq_row"
  FROM s WHERE endpoint = 'global'
),
t AS (
  SELECT
    count_if(endpoint = 'global') AS "ctq_global",
    count_if(endpoint = 'regional') AS "ctq_regional",
    count_if(endpoint IS NULL) AS "ctq_no_host"
  FROM s
)
SELECT
  d."event_time",
  d."account",
  d."event_name",
  d."host_header",
  d."source_ip",
  d."event_id",
  d."principal_arn",
  d."ctq_row",
  t."ctq_global",
  t."ctq_regional",
  t."ctq_no_host"
FROM t LEFT JOIN d ON true
ORDER BY floor(to_unixtime(d."ts")) DESC NULLS LAST, d."ctq_event_id" DESC NULLS LAST, d."ts" ASC NULLS FIRST, d."account" ASC NULLS FIRST, d."event_name" ASC NULLS FIRST, d."host_header" ASC NULLS FIRST, d."source_ip" ASC NULLS FIRST, d."event_id" ASC NULLS FIRST, d."principal_arn" ASC NULLS FIRST
