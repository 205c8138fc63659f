-- ctq event-sources on Athena: events in [2024-09-05T10:00:00Z, 2024-09-07T00:00:00Z).
-- Day partitions are delivery days: the window's days and the day after (late delivery).
WITH e AS (
  SELECT
    try(from_iso8601_timestamp(replace(eventtime, ' ', 'T'))) AT TIME ZONE 'UTC' AS ts,
    NULLIF(recipientaccountid, '') AS account_id,
    NULLIF(eventsource, '') AS event_source,
    NULLIF(eventname, '') AS event_name
  FROM "default"."cloudtrail_logs"
  WHERE day BETWEEN '2024/09/05' AND '2024/09/07'
    AND account IN ('111111111111')
),
w AS (
  SELECT * FROM e
  WHERE ts >= from_iso8601_timestamp('2024-09-05T10:00:00Z') AT TIME ZONE 'UTC'
    AND ts < from_iso8601_timestamp('2024-09-07T00:00:00Z') AT TIME ZONE 'UTC'
    AND account_id IN ('111111111111')
)
SELECT
  "event_source",
  "event_name",
  count(*) AS "count",
  to_iso8601(min(ts)) AS "first_seen",
  to_iso8601(max(ts)) AS "last_seen",
  count(*) OVER () AS "ctq_kinds"
FROM w
GROUP BY 1, 2
ORDER BY "count" DESC, "event_source" ASC NULLS FIRST, "event_name" ASC NULLS FIRST
LIMIT 10
