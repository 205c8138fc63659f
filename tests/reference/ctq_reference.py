#!/usr/bin/env python3
"""Independent reference implementation of ctq's four reports (issue 2).

Written from the issue's text, not from the Rust code, and kept deliberately
plain: it reads every input file (no day-folder pruning, so comparing with ctq
checks that ctq's pruning never drops a matching event), filters, groups and
sorts in the most direct way, and prints the JSON that `ctq ... -o json` must
print.

    ctq_reference.py [--source PATH]... [--date D | --since T --until T]
                     [--account ID]... [--region R]... [-o json]
                     <sts-endpoints [--details] | root-activity [--details] |
                      errors [--top N] | who-touched-bucket BUCKET [--details]>

Options may come before or after the command. T is YYYY-MM-DD or RFC 3339
(absolute times only). `--top 0` means all rows. Skipped inputs are named on
stderr as `ref: <path>: <why>` and make the exit code 3; a missing source is
exit 1; a usage error exit 2.
"""

import gzip
import json
import os
import re
import sys
from datetime import datetime, timedelta, timezone

UTC = timezone.utc
EXTENSIONS = (".json", ".jsonl", ".ndjson")
# A JSON object is taken as a single CloudTrail event when it has any of these
# keys (the digest file, CloudWatch Logs envelopes and config files have none).
EVENT_KEYS = ("eventVersion", "eventTime", "eventSource", "eventName", "eventID")


class Skip(Exception):
    """The input file is skipped with this reason."""


def usage(msg):
    print(f"ref: usage: {msg}", file=sys.stderr)
    sys.exit(2)


# ------------------------------------------------------------------ values

def s(v):
    """A string field: non-strings and empty strings are absent (None)."""
    return v if isinstance(v, str) and v != "" else None


def obj(v):
    return v if isinstance(v, dict) else {}


def field(e, *path):
    """e[path[0]][path[1]]... as a string, or None."""
    cur = e
    for p in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(p)
    return s(cur)


# ------------------------------------------------------------------- time

TIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})?"  # RFC 3339; no zone = UTC (ctq's documented leniency)
    r"| (\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})?)",  # space (RFC 3339 5.6 note); no zone = UTC
    re.ASCII,
)


def parse_time(v):
    """eventTime -> (aware UTC datetime truncated to whole seconds, fraction
    as a string) or None when unreadable. Whole seconds are what ctq prints and
    sorts on; the fraction only matters for window boundaries."""
    if not isinstance(v, str):
        return None
    m = TIME_RE.fullmatch(v)
    if not m:
        return None
    g = m.groups()
    if g[3] is not None:
        hh, mi, ss, frac, zone = g[3], g[4], g[5], g[6], g[7] or "Z"
    else:
        hh, mi, ss, frac, zone = g[8], g[9], g[10], g[11], g[12] or "Z"
    # RFC 3339 allows a leap second (:60); it is printed as :59 of the same minute
    leap = ss == "60"
    try:
        dt = datetime(int(g[0]), int(g[1]), int(g[2]), int(hh), int(mi), 59 if leap else int(ss), tzinfo=UTC)
        if zone not in ("Z", "z"):
            sign = 1 if zone[0] == "+" else -1
            oh, om = int(zone[1:3]), int(zone[4:6])
            if oh > 23 or om > 59:
                return None
            dt -= sign * timedelta(hours=oh, minutes=om)
    except (ValueError, OverflowError):
        return None  # month 13, hour 24, out of range, ...
    return dt


def parse_bound(text, opt):
    """--since/--until/--date value: YYYY-MM-DD (midnight UTC) or RFC 3339."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text, re.ASCII):
        try:
            return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            usage(f"{opt}: bad date {text!r}")
    m = TIME_RE.fullmatch(text)
    if not m or m.group(4) is None:
        usage(f"{opt}: not an absolute time {text!r} (the reference takes no durations)")
    dt = parse_time(text)
    if dt is None:
        usage(f"{opt}: bad time {text!r}")
    # keep sub-second precision of the bound itself
    frac = m.group(7)
    if frac:
        dt += timedelta(microseconds=int((frac + "000000")[:6]))
    return dt


def event_instant(v):
    """Exact instant (with microseconds) for window comparisons."""
    dt = parse_time(v)
    if dt is None:
        return None
    m = TIME_RE.fullmatch(v)
    frac = m.group(7) if m.group(4) is not None else m.group(12)
    if frac:
        dt += timedelta(microseconds=int((frac + "000000")[:6]))
    if (m.group(6) or m.group(11)) == "60":
        dt = dt.replace(microsecond=999999)  # a leap second sorts after :59.999999
    return dt


def fmt_time(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ") if dt is not None else None


# ------------------------------------------------------------------ inputs

def list_files(source):
    """Files of one --source, in a fixed order."""
    if source == "-":
        return ["-"]
    if not os.path.exists(source):
        print(f"ref: {source}: no such file or directory", file=sys.stderr)
        sys.exit(1)
    if not os.path.isdir(source):
        return [source]  # a file named directly is read whatever its name
    out = []
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames.sort()
        rel = os.path.relpath(dirpath, source)
        if "CloudTrail-Digest" in rel.split(os.sep):
            continue  # digest files, not events
        for name in sorted(filenames):
            base = name[:-3] if name.endswith(".gz") else name
            if base.endswith(EXTENSIONS):
                out.append(os.path.join(dirpath, name))
    return out


def read_bytes(path):
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as f:
                data = f.read()
    except OSError as err:
        raise Skip(f"cannot read: {err.strerror}")
    if data[:2] == b"\x1f\x8b":  # gzip magic, whatever the name says
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, ValueError) as err:
            raise Skip(f"cannot gunzip: {err}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Skip("not UTF-8")


def is_event(v):
    return isinstance(v, dict) and any(k in v for k in EVENT_KEYS)


def events_of(path):
    """All events of one file, or Skip. A file is read whole or skipped whole."""
    text = read_bytes(path)
    dec = json.JSONDecoder()
    values = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            break
        try:
            v, i = dec.raw_decode(text, i)
        except json.JSONDecodeError as err:
            raise Skip(f"invalid JSON: {err}")
        values.append(v)
    if not values:
        raise Skip("empty file")
    if len(values) > 1:
        # newline-delimited (or concatenated) events
        for v in values:
            if not is_event(v):
                raise Skip("a value in a multi-value file is not an event")
        return values
    v = values[0]
    if isinstance(v, dict) and isinstance(v.get("Records"), list):
        recs = v["Records"]
        if not all(isinstance(r, dict) for r in recs):
            raise Skip("Records holds a non-object")
        return recs
    if isinstance(v, dict) and isinstance(v.get("Events"), list):
        out = []
        for item in v["Events"]:
            raw = item.get("CloudTrailEvent") if isinstance(item, dict) else None
            if not isinstance(raw, str):
                raise Skip("Events[] entry without a CloudTrailEvent string")
            try:
                ev = json.loads(raw)
            except json.JSONDecodeError as err:
                raise Skip(f"invalid CloudTrailEvent JSON: {err}")
            if not isinstance(ev, dict):
                raise Skip("CloudTrailEvent is not an object")
            out.append(ev)
        return out
    if isinstance(v, list):
        # an array of events; an array of anything else is "other JSON"
        if not all(is_event(r) for r in v):
            raise Skip("array holds something that is not an event object")
        return v
    if is_event(v):
        return [v]
    if isinstance(v, dict):
        raise Skip(f"not CloudTrail events: an object with keys {sorted(v)[:5]}")
    raise Skip(f"not CloudTrail events: a JSON {type(v).__name__}")


# ----------------------------------------------------------------- reports

def principal(e):
    ui = obj(e.get("userIdentity"))
    for k in ("arn", "invokedBy", "principalId", "accountId", "type"):
        v = s(ui.get(k))
        if v is not None:
            return v
    return "unknown"


def is_global_host(host):
    h = "".join(c.lower() if c.isascii() else c for c in host)  # ASCII case folding only
    return h == "sts.amazonaws.com" or h.startswith("sts-global.")


def touches_bucket(e, bucket):
    if field(e, "requestParameters", "bucketName") == bucket:
        return True
    res = e.get("resources")
    if isinstance(res, list):
        for r in res:
            arn = s(r.get("ARN")) if isinstance(r, dict) else None
            if arn is not None and (arn == f"arn:aws:s3:::{bucket}" or arn.startswith(f"arn:aws:s3:::{bucket}/")):
                return True
    return False


def null_first(v):
    """Sort key: None before every string, strings by code point (= UTF-8 byte
    order), numbers by value, lists element-wise."""
    if v is None:
        return (0,)
    if isinstance(v, list):
        return (1, tuple(null_first(x) for x in v))
    return (1, v)


def group(events, keyfn, with_times=False, ips=False):
    """Group -> rows with count (and first/last seen, source ips)."""
    groups = {}
    for e, t in events:
        k = keyfn(e)
        g = groups.setdefault(k, {"count": 0, "first": None, "last": None, "ips": set()})
        g["count"] += 1
        if t is not None:
            g["first"] = t if g["first"] is None or t < g["first"] else g["first"]
            g["last"] = t if g["last"] is None or t > g["last"] else g["last"]
        ip = s(e.get("sourceIPAddress"))
        if ip is not None:
            g["ips"].add(ip)
    return groups


def sort_grouped(rows, keys):
    # count descending, then the key columns ascending, null first. Keys are
    # unique per group, so no tie remains.
    rows.sort(key=lambda r: (-r["count"], tuple(null_first(r[k]) for k in keys)))
    return rows


def sort_details(rows):
    # event_time descending (whole seconds, the printed value), then event_id
    # descending with null last, rows without a readable time last. Rows that
    # still tie (same second, same or no event_id) are put in a deterministic
    # order by comparing the whole row, column by column, ascending, null first.
    rows.sort(key=lambda r: tuple(null_first(v) for v in r.values()))  # final tie-break
    rows.sort(key=lambda r: null_first(r["event_id"]), reverse=True)  # None last when reversed
    rows.sort(key=lambda r: null_first(r["event_time"]), reverse=True)  # times are ISO strings
    return rows


def report_sts(events, details):
    sts = [(e, t) for e, t in events if s(e.get("eventSource")) == "sts.amazonaws.com"]
    with_host = [(e, t) for e, t in sts if field(e, "tlsDetails", "clientProvidedHostHeader") is not None]
    if details:
        rows = []
        for e, t in with_host:
            host = field(e, "tlsDetails", "clientProvidedHostHeader")
            if not is_global_host(host):
                continue
            rows.append({
                "event_time": fmt_time(t),
                "account": s(e.get("recipientAccountId")),
                "event_name": s(e.get("eventName")),
                "host_header": host,
                "source_ip": s(e.get("sourceIPAddress")),
                "event_id": s(e.get("eventID")),
                "principal_arn": field(e, "userIdentity", "arn"),
            })
        return sort_details(rows)

    def key(e):
        host = field(e, "tlsDetails", "clientProvidedHostHeader")
        return (host, "global" if is_global_host(host) else "regional", s(e.get("awsRegion")), s(e.get("userAgent")))

    rows = [{"host_header": k[0], "endpoint": k[1], "region": k[2], "user_agent": k[3], "count": g["count"]}
            for k, g in group(with_host, key).items()]
    return sort_grouped(rows, ["host_header", "endpoint", "region", "user_agent"])


def report_root(events, details):
    roots = [(e, t) for e, t in events if field(e, "userIdentity", "type") == "Root"]
    if details:
        rows = [{
            "event_time": fmt_time(t),
            "account": s(e.get("recipientAccountId")),
            "region": s(e.get("awsRegion")),
            "event_name": s(e.get("eventName")),
            "event_source": s(e.get("eventSource")),
            "source_ip": s(e.get("sourceIPAddress")),
            "user_agent": s(e.get("userAgent")),
            "error_code": s(e.get("errorCode")),
            "invoked_by": field(e, "userIdentity", "invokedBy"),
            "event_id": s(e.get("eventID")),
        } for e, t in roots]
        return sort_details(rows)
    key = lambda e: (s(e.get("eventName")), field(e, "userIdentity", "invokedBy"))
    rows = [{"event_name": k[0], "invoked_by": k[1], "count": g["count"],
             "first_seen": fmt_time(g["first"]), "last_seen": fmt_time(g["last"])}
            for k, g in group(roots, key).items()]
    return sort_grouped(rows, ["event_name", "invoked_by"])


def report_errors(events, top):
    errs = [(e, t) for e, t in events if s(e.get("errorCode")) is not None]
    key = lambda e: (s(e.get("eventName")), s(e.get("errorCode")), s(e.get("errorMessage")))
    rows = [{"event_name": k[0], "error_code": k[1], "error_message": k[2], "count": g["count"]}
            for k, g in group(errs, key).items()]
    rows = sort_grouped(rows, ["event_name", "error_code", "error_message"])
    return rows if top == 0 else rows[:top]


def report_bucket(events, bucket, details):
    hits = [(e, t) for e, t in events if touches_bucket(e, bucket)]
    if details:
        rows = [{
            "event_time": fmt_time(t),
            "event_name": s(e.get("eventName")),
            "event_source": s(e.get("eventSource")),
            "principal": principal(e),
            "source_ip": s(e.get("sourceIPAddress")),
            "user_agent": s(e.get("userAgent")),
            "error_code": s(e.get("errorCode")),
            "key": field(e, "requestParameters", "key"),
            "event_id": s(e.get("eventID")),
        } for e, t in hits]
        return sort_details(rows)
    key = lambda e: (principal(e), s(e.get("eventName")))
    rows = [{"principal": k[0], "event_name": k[1], "count": g["count"],
             "first_seen": fmt_time(g["first"]), "last_seen": fmt_time(g["last"]),
             "source_ips": sorted(g["ips"])}
            for k, g in group(hits, key).items()]
    return sort_grouped(rows, ["principal", "event_name"])


# -------------------------------------------------------------------- main

def parse_args(argv):
    a = {"sources": [], "date": None, "since": None, "until": None, "accounts": [], "regions": [],
         "output": "json", "details": False, "top": 10, "command": None, "bucket": None}
    with_value = {"-s": "sources", "--source": "sources", "--date": "date", "--since": "since",
                  "--until": "until", "--account": "accounts", "--region": "regions",
                  "-o": "output", "--output": "output", "--threads": None, "--top": "top"}
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, val = arg.partition("=")
        if arg.startswith("-") and arg != "-" and (name if eq else arg) in with_value:
            opt = name if eq else arg
            if not eq:
                i += 1
                if i >= len(argv):
                    usage(f"{opt} needs a value")
                val = argv[i]
            dest = with_value[opt]
            if dest in ("sources", "accounts", "regions"):
                a[dest].append(val)
            elif dest == "top":
                if not val.isdigit():
                    usage("--top needs a number")
                a["top"] = int(val)
            elif dest is not None:
                a[dest] = val
        elif arg == "--details":
            a["details"] = True
        elif arg.startswith("-") and arg != "-":
            usage(f"unknown option {arg}")
        elif a["command"] is None:
            a["command"] = arg
        elif a["command"] == "who-touched-bucket" and a["bucket"] is None:
            a["bucket"] = arg
        else:
            usage(f"unexpected argument {arg}")
        i += 1
    if a["command"] not in ("sts-endpoints", "root-activity", "errors", "who-touched-bucket"):
        usage(f"unknown command {a['command']}")
    if a["command"] == "who-touched-bucket" and a["bucket"] is None:
        usage("who-touched-bucket needs BUCKET")
    if a["output"] != "json":
        usage("the reference prints -o json only")
    if a["date"] and (a["since"] or a["until"]):
        usage("--date conflicts with --since/--until")
    if not a["sources"]:
        env = os.environ.get("CTQ_SOURCE")
        if not env:
            usage("no --source")
        a["sources"] = [env]
    return a


def main(argv):
    a = parse_args(argv)
    since = until = None
    if a["date"]:
        since = parse_bound(a["date"], "--date")
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", a["date"], re.ASCII):
            usage("--date takes YYYY-MM-DD")
        until = since + timedelta(days=1)
    if a["since"]:
        since = parse_bound(a["since"], "--since")
    if a["until"]:
        until = parse_bound(a["until"], "--until")
    windowed = since is not None or until is not None

    files = []
    for src in a["sources"]:
        files.extend(list_files(src))

    skipped = 0
    events = []  # (event, whole-second UTC time or None)
    for path in files:
        try:
            evs = events_of(path)
        except Skip as why:
            print(f"ref: {path}: {why}", file=sys.stderr)
            skipped += 1
            continue
        for e in evs:
            if a["accounts"] and s(e.get("recipientAccountId")) not in a["accounts"]:
                continue
            if a["regions"] and s(e.get("awsRegion")) not in a["regions"]:
                continue
            t = parse_time(e.get("eventTime"))
            if windowed:
                exact = event_instant(e.get("eventTime"))
                if exact is None:
                    continue  # unreadable time: left out when a window is given
                if since is not None and exact < since:
                    continue
                if until is not None and exact >= until:
                    continue
            events.append((e, t))

    cmd = a["command"]
    if cmd == "sts-endpoints":
        rows = report_sts(events, a["details"])
    elif cmd == "root-activity":
        rows = report_root(events, a["details"])
    elif cmd == "errors":
        rows = report_errors(events, a["top"])
    else:
        rows = report_bucket(events, a["bucket"], a["details"])

    sys.stdout.write(json.dumps(rows, indent=1, ensure_ascii=True) + "\n")
    return 3 if skipped else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
