-- ctq root-activity on Athena: events in [2024-09-05T00:00:00Z, 2024-09-06T00:00:00Z).
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
    NULLIF(errorcode, '') AS error_code,
    NULLIF(useridentity.type, '') AS identity_type,
    NULLIF(useridentity.invokedby, '') AS invoked_by
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
    AND identity_type = 'Root'
),
d AS (
  SELECT
    to_iso8601(ts) AS "event_time",
    account_id AS "account",
    aws_region AS "region",
    "event_name",
    "event_source",
    "source_ip",
    "user_agent",
    "error_code",
    "invoked_by",
    "event_id",
    "ts",
    event_id AS "ctq_event_id",
    1 AS "ctq_row"
  FROM w
)
SELECT
  d."event_time",
  d."account",
  d."region",
  d."event_name",
  d."event_source",
  d."source_ip",
  d."user_agent",
  d."error_code",
  d."invoked_by",
  d."event_id"
FROM d
ORDER BY floor(to_unixtime(d."ts")) DESC NULLS LAST, d."ctq_event_id" DESC NULLS LAST, d."ts" ASC NULLS FIRST, d."account" ASC NULLS FIRST, d."region" ASC NULLS FIRST, d."event_name" ASC NULLS FIRST, d."event_source" ASC NULLS FIRST, d."source_ip" ASC NULLS FIRST, d."user_agent" ASC NULLS FIRST, d."error_code" ASC NULLS FIRST, d."invoked_by" ASC NULLS FIRST, d."event_id" ASC NULLS FIRST
