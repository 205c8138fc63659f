#!/usr/bin/env python3
"""An Athena-compatible test server: Athena's JSON protocol over HTTP on 127.0.0.1, with the
queries really run, by DuckDB, over trail files in the S3 layout.

ctq's tests start it and point aws-sdk-athena at it (AWS_ENDPOINT_URL_ATHENA). It answers
GetWorkGroup, StartQueryExecution, GetQueryExecution, GetQueryResults and StopQueryExecution the
way Athena does: a query is QUEUED, then RUNNING, then SUCCEEDED (or FAILED with a reason, or
CANCELLED); a SELECT's first result row repeats the column names; results come in pages with a
NextToken.

The table. Every trail file under --fixtures (AWSLogs/[o-…/]ACCOUNT/FOLDER/REGION/YYYY/MM/DD/,
digest folders excepted) is loaded into DATABASE.TABLE with the columns of `ctq athena ddl` and
the partition columns account, region and day ('YYYY/MM/DD', the delivery day). Records are read
as Hive's JSON SerDes read them: keys without regard to case; a string column holds a JSON
string as is, and any other scalar, object or array as its JSON text (so requestparameters is
the object's JSON); a struct column holds an object (anything else is NULL), an array column an
array. With --drop-mistyped, events in which a field that ctq reads has the wrong JSON type (a
number for errorCode, a string for requestParameters…) are left out, and --export DIR writes the
files that were loaded, so that ctq's local engine can read exactly the same events: those
fields are where the two engines must differ (the local engine takes a mistyped field as absent,
the SerDe takes its text).

The translation from Athena's SQL (Trino) to DuckDB's, which is all that stands between the
query ctq prints and the one DuckDB runs:
- `x -> expr` lambdas become `lambda x: expr` (DuckDB's lambda syntax);
- `regexp_like(s, p)` becomes `regexp_matches(s, p)` (both match anywhere in s);
- `try(contains('CIDR', CAST(col AS IPADDRESS)))` becomes `ctq_ip_in('CIDR', col)`, a Python
  function with Trino's meaning: the text is an IPv4 or IPv6 address inside the block (an
  IPv4-mapped IPv6 address counts as IPv4, as Trino's IPADDRESS does);
- macros give Trino's functions that DuckDB lacks: json_extract_scalar (NULL for objects, arrays
  and invalid JSON), json_format, from_iso8601_timestamp, to_iso8601 (milliseconds, Z),
  to_unixtime. Every other function ctq uses (count_if, array_agg, array_distinct, array_sort,
  filter, cardinality, starts_with, strpos, regexp_extract, date_trunc, json_extract, row_number,
  NULLIF, COALESCE, CAST AS JSON) has the same name and meaning in both.

Test hooks: workgroups `primary` (results to s3://ctq-test-athena-results/), `no-output` (no
result location), `disabled` (DISABLED), `cancelling` (every query ends CANCELLED); --page-size
caps the rows per GetQueryResults page; --polls is how many GetQueryExecution calls see QUEUED or
RUNNING before the final state. GET /_log returns the calls made, as JSON.

DataScannedInBytes is the size of the files in the partitions the query names (day range and
account/region lists), as Athena bills the objects it reads.
"""

import argparse
import gzip
import ipaddress
import json
import os
import re
import shutil
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    import duckdb
except ImportError:
    print("tests/athena/server.py needs DuckDB: pip install duckdb (.ci/run installs it)",
          file=sys.stderr)
    sys.exit(3)

STR_FIELDS = [
    "eventversion", "eventtime", "eventsource", "eventname", "awsregion", "sourceipaddress",
    "useragent", "errorcode", "errormessage", "requestparameters", "responseelements",
    "additionaleventdata", "requestid", "eventid", "readonly", "eventtype", "apiversion",
    "recipientaccountid", "serviceeventdetails", "sharedeventid", "vpcendpointid",
    "vpcendpointaccountid", "eventcategory", "managementevent",
]

# (name, DuckDB type) of the struct columns, as in `ctq athena ddl`.
USERIDENTITY = {
    "type": "VARCHAR", "principalid": "VARCHAR", "arn": "VARCHAR", "accountid": "VARCHAR",
    "invokedby": "VARCHAR", "accesskeyid": "VARCHAR", "username": "VARCHAR",
    "onbehalfof": {"userid": "VARCHAR", "identitystorearn": "VARCHAR"},
    "sessioncontext": {
        "attributes": {"mfaauthenticated": "VARCHAR", "creationdate": "VARCHAR"},
        "sessionissuer": {"type": "VARCHAR", "principalid": "VARCHAR", "arn": "VARCHAR",
                          "accountid": "VARCHAR", "username": "VARCHAR"},
        "ec2roledelivery": "VARCHAR",
        "webidfederationdata": {"federatedprovider": "VARCHAR",
                                "attributes": "MAP(VARCHAR, VARCHAR)"},
        "sourceidentity": "VARCHAR",
    },
}
TLSDETAILS = {"tlsversion": "VARCHAR", "ciphersuite": "VARCHAR",
              "clientprovidedhostheader": "VARCHAR"}
RESOURCE = {"arn": "VARCHAR", "accountid": "VARCHAR", "type": "VARCHAR"}

# Fields ctq's local engine reads, with the JSON type it expects.
CTQ_STRINGS = ["eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
               "userAgent", "errorCode", "errorMessage", "eventID", "recipientAccountId",
               "eventVersion", "vpcEndpointId", "eventCategory", "eventType"]
CTQ_IDENTITY = ["type", "arn", "invokedBy", "principalId", "accountId", "userName", "accessKeyId"]
CTQ_OBJECTS = ["requestParameters", "responseElements", "additionalEventData", "tlsDetails"]


def duck_type(t):
    if isinstance(t, dict):
        return "STRUCT(" + ", ".join(f'"{k}" {duck_type(v)}' for k, v in t.items()) + ")"
    return t


def as_text(v):
    """A string column's value, as a Hive JSON SerDe reads it."""
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def as_struct(v, shape):
    if not isinstance(v, dict):
        return None
    lower = {k.lower(): x for k, x in v.items()}
    out = {}
    for name, t in shape.items():
        x = lower.get(name)
        if isinstance(t, dict):
            out[name] = as_struct(x, t)
        elif t.startswith("MAP"):
            out[name] = ({str(k): as_text(y) for k, y in x.items()}
                         if isinstance(x, dict) else None)
        else:
            out[name] = as_text(x)
    return out


def mistyped(r):
    """Does a field that ctq reads have a JSON type other than CloudTrail's?"""
    for k in CTQ_STRINGS:
        if r.get(k) is not None and not isinstance(r[k], str):
            return True
    ui = r.get("userIdentity")
    if ui is not None:
        if not isinstance(ui, dict):
            return True
        if any(ui.get(k) is not None and not isinstance(ui[k], str) for k in CTQ_IDENTITY):
            return True
    for k in CTQ_OBJECTS:
        if r.get(k) is not None and not isinstance(r[k], dict):
            return True
    res = r.get("resources")
    return res is not None and not isinstance(res, list)


PATH = re.compile(
    r"AWSLogs/(?:o-[a-z0-9]+/)?(\d{12})/(CloudTrail(?:-[A-Za-z]+)?)/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/[^/]+$")


def trail_files(root):
    for dirpath, _, names in os.walk(root):
        for n in sorted(names):
            p = os.path.join(dirpath, n)
            m = PATH.search(p.replace(os.sep, "/"))
            if m and m.group(2) != "CloudTrail-Digest":
                yield p, m


def read_records(p):
    data = open(p, "rb").read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    doc = json.loads(data)
    return doc["Records"] if isinstance(doc, dict) else doc


class Store:
    def __init__(self, args):
        self.db = duckdb.connect()
        self.db.execute("SET TimeZone = 'UTC'")
        self.lock = threading.Lock()
        self.sizes = []  # (account, region, day, bytes)
        database, table = args.database, args.table
        self.db.execute(f'CREATE SCHEMA "{database}"')
        cols = [f'"{c}" VARCHAR' for c in STR_FIELDS]
        cols += [f'"useridentity" {duck_type(USERIDENTITY)}',
                 f'"tlsdetails" {duck_type(TLSDETAILS)}',
                 f'"resources" {duck_type(RESOURCE)}[]',
                 '"account" VARCHAR', '"region" VARCHAR', '"day" VARCHAR']
        self.db.execute(f'CREATE TABLE "{database}"."{table}" ({", ".join(cols)})')
        names = STR_FIELDS + ["useridentity", "tlsdetails", "resources", "account", "region", "day"]
        rows = []
        for p, m in trail_files(args.fixtures):
            account, _, region = m.group(1), m.group(2), m.group(3)
            day = f"{m.group(4)}/{m.group(5)}/{m.group(6)}"
            records = read_records(p)
            if args.drop_mistyped:
                records = [r for r in records if not mistyped(r)]
            if args.export:
                rel = os.path.relpath(p, args.fixtures)
                out = os.path.join(args.export, rel[:-3] if rel.endswith(".gz") else rel)
                os.makedirs(os.path.dirname(out), exist_ok=True)
                with open(out, "w") as f:
                    json.dump({"Records": records}, f, ensure_ascii=False)
            self.sizes.append((account, region, day, os.path.getsize(p)))
            for r in records:
                lower = {k.lower(): v for k, v in r.items()}
                row = [as_text(lower.get(c)) for c in STR_FIELDS]
                row.append(as_struct(lower.get("useridentity"), USERIDENTITY))
                row.append(as_struct(lower.get("tlsdetails"), TLSDETAILS))
                res = lower.get("resources")
                row.append([as_struct(x, RESOURCE) for x in res]
                           if isinstance(res, list) else None)
                row += [account, region, day]
                rows.append(row)
        marks = ", ".join("?" for _ in names)
        self.db.executemany(f'INSERT INTO "{database}"."{table}" VALUES ({marks})', rows)
        self.events = len(rows)
        for macro in [
            "json_extract_scalar(j, p) AS CASE WHEN try(json_type(try(json_extract(j, p)))) "
            "IN ('OBJECT', 'ARRAY') THEN NULL ELSE try(json_extract_string(j, p)) END",
            "json_format(j) AS CAST(j AS VARCHAR)",
            "from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)",
            "to_iso8601(t) AS strftime(t, '%Y-%m-%dT%H:%M:%S.%gZ')",
            "to_unixtime(t) AS epoch(t)",
        ]:
            self.db.execute("CREATE MACRO " + macro)
        self.db.create_function("ctq_ip_in", ip_in, ["VARCHAR", "VARCHAR"], "BOOLEAN",
                                null_handling="special")

    def run(self, sql):
        with self.lock:
            cur = self.db.cursor()
            cur.execute("SET TimeZone = 'UTC'")
            rel = cur.execute(translate(sql))
            columns = [d[0] for d in rel.description]
            types = [str(d[1]) for d in rel.description]
            return columns, types, rel.fetchall()

    def scanned(self, sql):
        days = re.search(r"\bday BETWEEN '([^']*)' AND '([^']*)'", sql)
        accounts = re.search(r"\baccount IN \(([^)]*)\)", sql)
        regions = re.search(r"\bregion IN \(([^)]*)\)", sql)

        def names(m):
            return None if not m else set(re.findall(r"'([^']*)'", m.group(1)))
        accounts, regions = names(accounts), names(regions)
        total = 0
        for account, region, day, size in self.sizes:
            if days and not (days.group(1) <= day <= days.group(2)):
                continue
            if accounts is not None and account not in accounts:
                continue
            if regions is not None and region not in regions:
                continue
            total += size
        return total


def ip_in(cidr, text):
    if cidr is None or text is None:
        return None
    try:
        net = ipaddress.ip_network(cidr, strict=False)
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.version == net.version and ip in net


def translate(sql):
    sql = re.sub(r"try\(contains\(('(?:[^']|'')*'), CAST\((\w+) AS IPADDRESS\)\)\)",
                 r"ctq_ip_in(\1, \2)", sql)
    sql = re.sub(r"\b(\w+) -> ", r"lambda \1: ", sql)
    # Athena's regexp_like(s, p) is DuckDB's regexp_matches(s, p): both match anywhere in s.
    sql = re.sub(r"\bregexp_like\(", "regexp_matches(", sql)
    # detect's rules over JSON columns: Trino's JSON parse and JSON arrays.
    sql = re.sub(r"\bjson_parse\(", "json(", sql)
    sql = sql.replace(" AS ARRAY(JSON))", " AS JSON[])")
    sql = re.sub(r"\btransform\(", "list_transform(", sql)
    return sql


def athena_text(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def athena_type(t):
    t = t.upper()
    if t in ("BIGINT", "INTEGER", "HUGEINT", "UBIGINT"):
        return "bigint"
    if t == "BOOLEAN":
        return "boolean"
    if t == "DOUBLE":
        return "double"
    return "varchar"


WORKGROUPS = {
    "primary": {"State": "ENABLED", "Configuration": {
        "ResultConfiguration": {"OutputLocation": "s3://ctq-test-athena-results/"}}},
    "no-output": {"State": "ENABLED", "Configuration": {}},
    "disabled": {"State": "DISABLED", "Configuration": {
        "ResultConfiguration": {"OutputLocation": "s3://ctq-test-athena-results/"}}},
    "cancelling": {"State": "ENABLED", "Configuration": {
        "ResultConfiguration": {"OutputLocation": "s3://ctq-test-athena-results/"}}},
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)

    def error(self, kind, message):
        self.reply(400, {"__type": kind, "Message": message})

    def do_GET(self):
        if self.path == "/_log":
            self.reply(200, self.server.calls)
        else:
            self.reply(404, {})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        action = self.headers.get("X-Amz-Target", "").split(".")[-1]
        self.server.calls.append({"action": action, "body": body})
        getattr(self, "op_" + action, self.op_unknown)(body)

    def op_unknown(self, body):
        self.error("InvalidRequestException", "unsupported action")

    def op_GetWorkGroup(self, body):
        name = body.get("WorkGroup")
        wg = WORKGROUPS.get(name)
        if wg is None:
            return self.error("InvalidRequestException", f"WorkGroup {name} is not found.")
        self.reply(200, {"WorkGroup": dict(wg, Name=name)})

    def op_StartQueryExecution(self, body):
        wg = body.get("WorkGroup", "primary")
        if wg not in WORKGROUPS or WORKGROUPS[wg]["State"] != "ENABLED":
            return self.error("InvalidRequestException", f"WorkGroup {wg} is not enabled.")
        sql = body["QueryString"]
        qid = str(uuid.uuid4())
        out = (body.get("ResultConfiguration") or {}).get("OutputLocation") or \
            WORKGROUPS[wg]["Configuration"].get("ResultConfiguration", {}).get("OutputLocation")
        q = {"sql": sql, "polls": 0, "workgroup": wg, "output": out}
        if wg == "cancelling":
            q["state"], q["reason"] = "CANCELLED", "Query was cancelled by user"
        else:
            try:
                q["result"] = self.server.store.run(sql)
                q["state"] = "SUCCEEDED"
            except Exception as e:  # what DuckDB says is Athena's reason here
                # Athena's reasons are one line ("TABLE_NOT_FOUND: line 9:8: …").
                first = str(e).splitlines()[0] if str(e) else type(e).__name__
                q["state"], q["reason"] = "FAILED", first
        self.server.queries[qid] = q
        self.reply(200, {"QueryExecutionId": qid})

    def query(self, body):
        q = self.server.queries.get(body.get("QueryExecutionId"))
        if q is None:
            self.error("InvalidRequestException",
                       f"QueryExecution {body.get('QueryExecutionId')} was not found")
        return q

    def op_GetQueryExecution(self, body):
        q = self.query(body)
        if q is None:
            return
        q["polls"] += 1
        if q["polls"] <= self.server.polls:
            state = "QUEUED" if q["polls"] == 1 else "RUNNING"
        else:
            state = q["state"]
        status = {"State": state, "SubmissionDateTime": 1725537600.0}
        if state in ("FAILED", "CANCELLED"):
            status["StateChangeReason"] = q["reason"]
        ex = {
            "QueryExecutionId": body["QueryExecutionId"], "Query": q["sql"],
            "StatementType": "DML", "WorkGroup": q["workgroup"], "Status": status,
            "ResultConfiguration": {"OutputLocation": f"{q['output']}{body['QueryExecutionId']}.csv"},
        }
        if state == "SUCCEEDED":
            ex["Statistics"] = {"DataScannedInBytes": self.server.store.scanned(q["sql"]),
                                "EngineExecutionTimeInMillis": 42,
                                "TotalExecutionTimeInMillis": 50}
        self.reply(200, {"QueryExecution": ex})

    def op_StopQueryExecution(self, body):
        q = self.query(body)
        if q is not None:
            q["state"], q["reason"] = "CANCELLED", "Query was cancelled by user"
            self.reply(200, {})

    def op_GetQueryResults(self, body):
        q = self.query(body)
        if q is None:
            return
        if q["state"] != "SUCCEEDED" or q["polls"] <= self.server.polls:
            return self.error("InvalidRequestException",
                              f"Query has not yet finished. Current state: {q['state']}")
        columns, types, rows = q["result"]
        table = [[{"VarCharValue": c} for c in columns]]
        table += [[{} if v is None else {"VarCharValue": athena_text(v)} for v in r] for r in rows]
        start = int(body.get("NextToken") or 0)
        size = min(int(body.get("MaxResults") or 1000), self.server.page_size)
        page = table[start:start + size]
        out = {"ResultSet": {
            "Rows": [{"Data": r} for r in page],
            "ResultSetMetadata": {"ColumnInfo": [
                {"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": c, "Label": c,
                 "Type": athena_type(t), "Precision": 0, "Scale": 0, "Nullable": "UNKNOWN",
                 "CaseSensitive": False} for c, t in zip(columns, types)]},
        }, "UpdateCount": 0}
        if start + size < len(table):
            out["NextToken"] = str(start + size)
        self.reply(200, out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--database", default="default")
    ap.add_argument("--table", default="cloudtrail_logs")
    ap.add_argument("--page-size", type=int, default=1000)
    ap.add_argument("--polls", type=int, default=2)
    ap.add_argument("--drop-mistyped", action="store_true")
    ap.add_argument("--export")
    ap.add_argument("--sql", help="run this query (after translation), print the rows, exit")
    args = ap.parse_args()
    if args.export:
        shutil.rmtree(args.export, ignore_errors=True)
    store = Store(args)
    if args.sql:
        columns, _, rows = store.run(args.sql)
        print(json.dumps([columns] + [[athena_text(v) for v in r] for r in rows]))
        return
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.store, server.queries, server.calls = store, {}, []
    server.page_size, server.polls = args.page_size, args.polls
    print(f"PORT {server.server_address[1]} EVENTS {store.events}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
