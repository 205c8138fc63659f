-- ctq console-logins on Athena: events in [2024-09-05T00:00:00Z, 2024-09-06T00:00:00Z).
-- Day partitions are delivery days: the window's days and the day after (late delivery).
WITH e AS (
  SELECT
    try(from_iso8601_timestamp(replace(eventtime, ' ', 'T'))) AT TIME ZONE 'UTC' AS ts,
    NULLIF(recipientaccountid, '') AS account_id,
    NULLIF(awsregion, '') AS aws_region,
    NULLIF(eventname, '') AS event_name,
    NULLIF(eventid, '') AS event_id,
    NULLIF(sourceipaddress, '') AS source_ip,
    NULLIF(useragent, '') AS user_agent,
    NULLIF(errormessage, '') AS error_message,
    NULLIF(useridentity.type, '') AS identity_type,
    NULLIF(useridentity.username, '') AS user_name,
    CASE WHEN strpos(useridentity.arn, '/') > 0 THEN NULLIF(regexp_extract(useridentity.arn, '[^/]*$'), '') WHEN regexp_like(useridentity.arn, '^arn:[^:]*:[^:]*:[^:]*:[^:]*:root$') THEN 'root' END AS arn_last,
    COALESCE(NULLIF(useridentity.arn, ''), NULLIF(useridentity.invokedby, ''), NULLIF(useridentity.principalid, ''), NULLIF(useridentity.accountid, ''), NULLIF(useridentity.type, ''), 'unknown') AS principal,
    NULLIF(json_extract_scalar(responseelements, '$.ConsoleLogin'), '') AS console_login,
    CASE lower(json_format(json_extract(additionaleventdata, '$.MFAUsed'))) WHEN 'true' THEN true WHEN '"yes"' THEN true WHEN 'false' THEN false WHEN '"no"' THEN false END AS mfa_used
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
    AND event_name = 'ConsoleLogin'
    AND mfa_used = false
),
d AS (
  SELECT
    to_iso8601(ts) AS "event_time",
    account_id AS "account",
    aws_region AS "region",
    "principal",
    COALESCE(user_name, arn_last) AS "user_name",
    "identity_type",
    "source_ip",
    console_login AS "result",
    "mfa_used",
    "error_message",
    "user_agent",
    "ts",
    event_id AS "ctq_event_id",
    1 AS "ctq_row"
  FROM w
),
t AS (
  SELECT
    count_if(console_login = 'Success') AS "ctq_successes",
    count_if(console_login = 'Failure') AS "ctq_failures",
    count_if(mfa_used = false) AS "ctq_without_mfa",
    count_if(identity_type = 'Root') AS "ctq_root"
  FROM w
)
SELECT
  d."event_time",
  d."account",
  d."region",
  d."principal",
  d."user_name",
  d."identity_type",
  d."source_ip",
  d."result",
  d."mfa_used",
  d."error_message",
  d."user_agent",
  d."ctq_row",
  t."ctq_successes",
  t."ctq_failures",
  t."ctq_without_mfa",
  t."ctq_root"
FROM t LEFT JOIN d ON true
ORDER BY floor(to_unixtime(d."ts")) DESC NULLS LAST, d."ctq_event_id" DESC NULLS LAST, d."ts" ASC NULLS FIRST, d."account" ASC NULLS FIRST, d."region" ASC NULLS FIRST, d."principal" ASC NULLS FIRST, d."user_name" ASC NULLS FIRST, d."identity_type" ASC NULLS FIRST, d."source_ip" ASC NULLS FIRST, d."result" ASC NULLS FIRST, d."mfa_used" ASC NULLS FIRST, d."error_message" ASC NULLS FIRST, d."user_agent" ASC NULLS FIRST
