-- ctq root-activity on Athena: events in [2024-09-05T10:00:00Z, 2024-09-07T00:00:00Z).
-- Day partitions are delivery days: the window's days and the day after (late delivery).
WITH e AS (
  SELECT
    try(from_iso8601_timestamp(replace(eventtime, ' ', 'T'))) AT TIME ZONE 'UTC' AS ts,
    NULLIF(recipientaccountid, '') AS account_id,
    NULLIF(eventname, '') AS event_name,
    NULLIF(useridentity.type, '') AS identity_type,
    NULLIF(useridentity.invokedby, '') AS invoked_by
  FROM "default"."cloudtrail_logs"
  WHERE day BETWEEN '2024/09/05' AND '2024/09/07'
    AND account IN ('111111111111')
),
w AS (
  SELECT * FROM e
  WHERE ts >= from_iso8601_timestamp('2024-09-05T10:00:00Z') AT TIME ZONE 'UTC'
    AND ts < from_iso8601_timestamp('2024-09-07T00:00:00Z') AT TIME ZONE 'UTC'
    AND account_id IN ('111111111111')
    AND identity_type = 'Root'
)
SELECT
  "event_name",
  "invoked_by",
  count(*) AS "count",
  to_iso8601(min(ts)) AS "first_seen",
  to_iso8601(max(ts)) AS "last_seen"
FROM w
GROUP BY 1, 2
ORDER BY "count" DESC, "event_name" ASC NULLS FIRST, "invoked_by" ASC NULLS FIRST
