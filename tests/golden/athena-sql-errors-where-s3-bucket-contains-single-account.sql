-- ctq errors on Athena: events in [2024-09-05T10:00:00Z, 2024-09-07T00:00:00Z).
-- Day partitions are delivery days: the window's days and the day after (late delivery).
WITH e AS (
  SELECT
    try(from_iso8601_timestamp(replace(eventtime, ' ', 'T'))) AT TIME ZONE 'UTC' AS ts,
    NULLIF(recipientaccountid, '') AS account_id,
    NULLIF(eventname, '') AS event_name,
    NULLIF(errorcode, '') AS error_code,
    NULLIF(errormessage, '') AS error_message
  FROM "default"."cloudtrail_logs"
  WHERE day BETWEEN '2024/09/05' AND '2024/09/07'
    AND account IN ('111111111111')
    AND COALESCE(eventsource = 's3.amazonaws.com', false)
    AND COALESCE(cardinality(filter(transform(filter(flatten(transform(filter(flatten(transform(filter(ARRAY[try(json_parse(requestparameters))], v1 -> v1 IS NOT NULL), v2 -> IF(json_format(v2) LIKE '[%', transform(CAST(v2 AS ARRAY(JSON)), v3 -> json_extract(v3, '$.bucketName')), ARRAY[json_extract(v2, '$.bucketName')]))), v4 -> v4 IS NOT NULL), v5 -> IF(json_format(v5) LIKE '[%', CAST(v5 AS ARRAY(JSON)), ARRAY[v5]))), v6 -> json_format(v6) <> 'null'), v7 -> json_extract_scalar(v7, '$')), v8 -> strpos(v8, 'prod') > 0)) > 0, false)
),
w AS (
  SELECT * FROM e
  WHERE ts >= from_iso8601_timestamp('2024-09-05T10:00:00Z') AT TIME ZONE 'UTC'
    AND ts < from_iso8601_timestamp('2024-09-07T00:00:00Z') AT TIME ZONE 'UTC'
    AND account_id IN ('111111111111')
    AND error_code IS NOT NULL
)
SELECT
  "event_name",
  "error_code",
  "error_message",
  count(*) AS "count",
  count(*) OVER () AS "ctq_kinds"
FROM w
GROUP BY 1, 2, 3
ORDER BY "count" DESC, "event_name" ASC NULLS FIRST, "error_code" ASC NULLS FIRST, "error_message" ASC NULLS FIRST
LIMIT 10
