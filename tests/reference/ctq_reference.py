#!/usr/bin/env python3
"""Independent reference implementation of ctq's reports (issues 2 and 4).

Written from the issue's text, not from the Rust code, and kept deliberately
plain: it reads every input file (no day-folder pruning, so comparing with ctq
checks that ctq's pruning never drops a matching event), filters, groups and
sorts in the most direct way, and prints the JSON that `ctq ... -o json` must
print.

    ctq_reference.py [--source PATH]... [--date D | --since T --until T]
                     [--account ID]... [--region R]... [-o json]
                     <sts-endpoints [--details] | root-activity [--details] |
                      errors [--top N] | who-touched-bucket BUCKET [--details] |
                      events [FILTERS] [--fields PATHS]... [--raw] [--limit N] [--oldest-first] |
                      console-logins [--failures] [--no-mfa] |
                      network-activity [--vpce ID]... [--denied] |
                      summary [--top N] [-o csv [--csv-raw]] | event-sources [--top N] |
                      detect [--rules PATH]... [--no-builtin] [--level L] [--rule TEXT] [--details] [--raw]>

The last four (issue 4) follow tests/reference/CONTRACT-issue4.md. `events --raw` prints
each matching event's own text from its file, one per line (-o is ignored); `summary -o csv`
prints the section,key,count lines. `detect` is in sigma_reference.py (its --raw prints like
`events --raw`; a skipped rule file or document also makes the exit code 3). Everything else
prints what `ctq ... -o json` prints.

Options may come before or after the command. T is YYYY-MM-DD or RFC 3339
(absolute times only). `--top 0` means all rows. Skipped inputs are named on
stderr as `ref: <path>: <why>` and make the exit code 3; a missing source is
exit 1; a usage error exit 2.
"""

import gzip
import ipaddress
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


def window(date, since, until):
    """(since, until) from --date or --since/--until, each None when open."""
    if date:
        start = parse_bound(date, "--date")
        return start, start + timedelta(days=1)
    return (parse_bound(since, "--since") if since else None,
            parse_bound(until, "--until") if until else None)


def span(text):
    """A span such as trace --lookback and profile --baseline take: 0, or N and s, m, h or d."""
    if text == "0":
        return timedelta(0)
    m = re.fullmatch(r"(\d+)([smhd])", text)
    if not m:
        usage(f"not a span of time: {text!r}")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
    return timedelta(**{unit: int(m.group(1))})


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


WS = " \t\r\n"


def skip_ws(text, i):
    while i < len(text) and text[i] in WS:
        i += 1
    return i


def element_spans(text, i):
    """(start, end) of each element of the JSON array that starts at text[i] ('[')."""
    dec = json.JSONDecoder()
    spans = []
    i = skip_ws(text, i + 1)
    if text[i] == "]":
        return spans
    while True:
        i = skip_ws(text, i)
        _, end = dec.raw_decode(text, i)
        spans.append((i, end))
        i = skip_ws(text, end)
        if text[i] == "]":
            return spans
        i += 1  # the comma


def member_span(text, i, key):
    """(start, end) of the value of the last member named `key` of the JSON object at text[i] ('{')."""
    dec = json.JSONDecoder()
    found = None
    i = skip_ws(text, i + 1)
    if text[i] == "}":
        return found
    while True:
        i = skip_ws(text, i)
        name, i = dec.raw_decode(text, i)  # the member's name
        i = skip_ws(text, i) + 1  # the colon
        i = skip_ws(text, i)
        _, end = dec.raw_decode(text, i)
        if name == key:
            found = (i, end)
        i = skip_ws(text, end)
        if text[i] == "}":
            return found
        i += 1  # the comma


def minified(raw):
    """An event's text as --raw prints it: as it is when on one line, else without the
    whitespace outside strings."""
    if "\n" not in raw and "\r" not in raw:
        return raw
    out = []
    in_string = escaped = False
    for c in raw:
        if in_string:
            out.append(c)
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c in WS:
            continue
        else:
            out.append(c)
            if c == '"':
                in_string = True
    return "".join(out)


def events_of(path):
    """All events of one file as (event, raw text) pairs, or Skip. A file is read whole or
    skipped whole. The raw text is the event's own JSON text in the file (for lookup-events
    output, the CloudTrailEvent string's content)."""
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
            start = i
            v, i = dec.raw_decode(text, i)
        except json.JSONDecodeError as err:
            raise Skip(f"invalid JSON: {err}")
        values.append((v, start, i))
    if not values:
        raise Skip("empty file")
    if len(values) > 1:
        # newline-delimited (or concatenated) events
        for v, _, _ in values:
            if not is_event(v):
                raise Skip("a value in a multi-value file is not an event")
        return [(v, text[a:b]) for v, a, b in values]
    v, start, _ = values[0]
    if isinstance(v, dict) and isinstance(v.get("Records"), list):
        recs = v["Records"]
        if not all(isinstance(r, dict) for r in recs):
            raise Skip("Records holds a non-object")
        a, _ = member_span(text, start, "Records")
        return [(r, text[x:y]) for r, (x, y) in zip(recs, element_spans(text, a), strict=True)]
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
            out.append((ev, raw))
        return out
    if isinstance(v, list):
        # an array of events; an array of anything else is "other JSON"
        if not all(is_event(r) for r in v):
            raise Skip("array holds something that is not an event object")
        return [(r, text[x:y]) for r, (x, y) in zip(v, element_spans(text, start), strict=True)]
    if is_event(v):
        return [(v, text[start:values[0][2]])]
    if isinstance(v, dict):
        raise Skip(f"not CloudTrail events: an object with keys {sorted(v)[:5]}")
    raise Skip(f"not CloudTrail events: a JSON {type(v).__name__}")


def as_read(e):
    """An aggregated event (README, "Aggregated events") as the reports read it: the start of its
    timeWindow as its time, its accountId as its account, its eventId as its id, each only when
    the event has no eventTime, recipientAccountId or eventID of its own."""
    out = dict(e)
    window = e.get("timeWindow")
    if s(e.get("eventTime")) is None and isinstance(window, dict) and s(window.get("windowStart")):
        out["eventTime"] = window["windowStart"]
    if s(e.get("recipientAccountId")) is None and s(e.get("accountId")):
        out["recipientAccountId"] = e["accountId"]
    if s(e.get("eventID")) is None and s(e.get("eventId")):
        out["eventID"] = e["eventId"]
    return out


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
            m = re.match(r"arn:aws(-[^:]*)?:s3:::", arn) if isinstance(arn, str) else None
            rest = arn[m.end():] if m else None
            if rest is not None and (rest == bucket or rest.startswith(f"{bucket}/")):
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


def report_event_sources(events, top):
    key = lambda e: (s(e.get("eventSource")), s(e.get("eventName")))
    rows = [{"event_source": k[0], "event_name": k[1], "count": g["count"],
             "first_seen": fmt_time(g["first"]), "last_seen": fmt_time(g["last"])}
            for k, g in group(events, key).items()]
    rows = sort_grouped(rows, ["event_source", "event_name"])
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


# ------------------------------------------------- issue 4: investigations
# Written from tests/reference/CONTRACT-issue4.md.

CATEGORIES = ("Management", "Data", "NetworkActivity", "Insight")
DEFAULT_COLUMNS = ("event_time", "account", "region", "event_source", "event_name", "principal", "source_ip", "error_code")
CONSOLE_COLUMNS = ("event_time", "account", "region", "principal", "user_name", "identity_type", "source_ip", "result",
                   "mfa_used", "error_message", "user_agent")


def ascii_lower(text):
    return "".join(c.lower() if c.isascii() else c for c in text)


def arn_tail(e):
    """The part of userIdentity.arn after its last '/', when the arn has a '/'; 'root' for the
    root user's arn (arn:aws:iam::123456789012:root)."""
    arn = field(e, "userIdentity", "arn")
    if arn is None:
        return None
    if "/" not in arn:
        parts = arn.split(":", 5)
        return "root" if parts[0] == "arn" and len(parts) == 6 and parts[5] == "root" else None
    return s(arn.rsplit("/", 1)[1])


def category(e):
    """eventCategory, or the category an event older than that field would have."""
    c = s(e.get("eventCategory"))
    if c is not None:
        return c
    t = e.get("eventType")
    if t in ("AwsVpceEvent", "AwsVpceEvents"):
        return "NetworkActivity"
    if t == "AwsCloudTrailInsight":
        return "Insight"
    m = e.get("managementEvent")
    if m is False or (isinstance(m, str) and m.lower() == "false"):
        return "Data"
    return "Management"


def read_only_value(e):
    """readOnly as True/False, or None when absent or of another type/value."""
    v = e.get("readOnly")
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        low = ascii_lower(v)
        if low == "true":
            return True
        if low == "false":
            return False
    return None


def parse_ip(text):
    """An IPv4/IPv6 address (no zone index), or None."""
    if not isinstance(text, str) or "%" in text:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def ip_matches(e, wanted):
    addr = parse_ip(e.get("sourceIPAddress"))
    if addr is None:
        return False
    for w in wanted:
        if isinstance(w, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            if addr.version == w.version and addr in w:
                return True
        elif addr.version == w.version and addr == w:
            return True
    return False


def user_matches(e, names):
    candidates = {field(e, "userIdentity", "userName"),
                  field(e, "userIdentity", "sessionContext", "sessionIssuer", "userName"),
                  arn_tail(e)}
    candidates.discard(None)
    return any(n in candidates for n in names)


def event_filter(a):
    """The `events` filters as one predicate: repeats of one filter OR, different filters AND."""
    f = a["filters"]
    tests = []
    if f["user"]:
        tests.append(lambda e: user_matches(e, f["user"]))
    if f["principal"]:
        tests.append(lambda e: any(p in principal(e) for p in f["principal"]))
    if f["access_key"]:
        tests.append(lambda e: field(e, "userIdentity", "accessKeyId") in f["access_key"])
    if f["event_name"]:
        tests.append(lambda e: s(e.get("eventName")) in f["event_name"])
    if f["event_source"]:
        tests.append(lambda e: s(e.get("eventSource")) in f["event_source"])
    if f["source_ip"]:
        tests.append(lambda e: ip_matches(e, f["source_ip"]))
    if f["bucket"]:
        tests.append(lambda e: any(touches_bucket(e, b) for b in f["bucket"]))
    if f["vpce"]:
        tests.append(lambda e: s(e.get("vpcEndpointId")) in f["vpce"])
    if f["error_code"]:
        tests.append(lambda e: s(e.get("errorCode")) in f["error_code"])
    if a["errors"]:
        tests.append(lambda e: s(e.get("errorCode")) is not None)
    if a["read_only"]:
        tests.append(lambda e: read_only_value(e) is True)
    if a["write"]:
        tests.append(lambda e: read_only_value(e) is False)
    if f["category"]:
        tests.append(lambda e: category(e) in f["category"])
    return lambda e: all(t(e) for t in tests)


def path_value(e, path):
    """The JSON value at a dotted field path (objects only), None when absent; "" is None."""
    cur = e
    for seg in path.split("."):
        if not isinstance(cur, dict) or seg not in cur:
            return None
        cur = cur[seg]
    if cur == "" and isinstance(cur, str):
        return None
    return cur


def cell_text(v):
    """A cell as compared for the final tie-break (and as csv/table show it)."""
    if v is None:
        return None
    if isinstance(v, str):
        return v
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def sort_event_list(items, oldest_first=False):
    """items: (time or None, eventID or None, cells tuple, payload). The event-list order."""
    cells_key = lambda it: tuple(null_first(cell_text(c)) for c in it[2])
    items.sort(key=cells_key)  # last tie-break: cells ascending, null first
    if oldest_first:
        items.sort(key=lambda it: (it[1] is None, it[1] or ""))  # event id ascending, null last
        items.sort(key=lambda it: (it[0] is None, fmt_time(it[0]) or ""))  # time ascending, none last
    else:
        items.sort(key=lambda it: null_first(it[1]), reverse=True)  # event id descending, null last
        items.sort(key=lambda it: null_first(fmt_time(it[0])), reverse=True)  # time descending, none last
    return items


def default_row(e, t):
    return {
        "event_time": fmt_time(t),
        "account": s(e.get("recipientAccountId")),
        "region": s(e.get("awsRegion")),
        "event_source": s(e.get("eventSource")),
        "event_name": s(e.get("eventName")),
        "principal": principal(e),
        "source_ip": s(e.get("sourceIPAddress")),
        "error_code": s(e.get("errorCode")),
    }


def report_events(events, a):
    keep = event_filter(a)
    items = []
    for e, t, raw in events:
        if not keep(e):
            continue
        if a["fields"]:
            row = {p: path_value(e, p) for p in a["fields"]}
        else:
            row = default_row(e, t)
        items.append((t, s(e.get("eventID")), tuple(row.values()), (row, raw)))
    sort_event_list(items, a["oldest_first"])
    if a["limit"] is not None:
        items = items[:a["limit"]]
    if a["raw"]:
        return [minified(it[3][1]) for it in items]
    return [it[3][0] for it in items]


def mfa_used(e):
    v = obj(e.get("additionalEventData")).get("MFAUsed")
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        low = ascii_lower(v)
        if low == "yes":
            return True
        if low == "no":
            return False
    return None


def report_console(events, a):
    items = []
    for e, t, _ in events:
        if s(e.get("eventName")) != "ConsoleLogin":
            continue
        user_name = field(e, "userIdentity", "userName")
        if user_name is None:
            user_name = arn_tail(e)
        row = {
            "event_time": fmt_time(t),
            "account": s(e.get("recipientAccountId")),
            "region": s(e.get("awsRegion")),
            "principal": principal(e),
            "user_name": user_name,
            "identity_type": field(e, "userIdentity", "type"),
            "source_ip": s(e.get("sourceIPAddress")),
            "result": field(e, "responseElements", "ConsoleLogin"),
            "mfa_used": mfa_used(e),
            "error_message": s(e.get("errorMessage")),
            "user_agent": s(e.get("userAgent")),
        }
        if a["failures"] and row["result"] != "Failure":
            continue
        if a["no_mfa"] and row["mfa_used"] is not False:
            continue
        items.append((t, s(e.get("eventID")), tuple(row.values()), row))
    sort_event_list(items)
    return [it[3] for it in items]


def is_network_activity(e):
    return s(e.get("eventCategory")) == "NetworkActivity" or s(e.get("eventType")) in ("AwsVpceEvent", "AwsVpceEvents")


def report_network(events, a):
    hits = []
    for e, t, _ in events:
        if not is_network_activity(e):
            continue
        if a["filters"]["vpce"] and s(e.get("vpcEndpointId")) not in a["filters"]["vpce"]:
            continue
        if a["denied"] and s(e.get("errorCode")) != "VpceAccessDenied":
            continue
        hits.append((e, t))
    keys = ["vpc_endpoint_id", "event_source", "event_name", "principal", "error_code"]
    key = lambda e: (s(e.get("vpcEndpointId")), s(e.get("eventSource")), s(e.get("eventName")), principal(e), s(e.get("errorCode")))
    rows = []
    for k, g in group(hits, key).items():
        row = dict(zip(keys, k))
        row.update({"count": g["count"], "first_seen": fmt_time(g["first"]), "last_seen": fmt_time(g["last"])})
        rows.append(row)
    return sort_grouped(rows, keys)


def counted(values, name, top=0):
    """[{name: value, "count": n}] by count descending, then value ascending (null first)."""
    counts = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], null_first(kv[0])))
    if top:
        rows = rows[:top]
    return [{name: k, "count": n} for k, n in rows]


# CloudTrail began on 2013-11-01; an event time before that, or more than a day after the run's
# "now", is implausible: counted in events, errors and the lists, but not in first_event,
# last_event or the timeline (CONTRACT-issue4.md, section 4).
CLOUDTRAIL_BEGAN = datetime(2013, 11, 1, tzinfo=UTC)
TIMELINE_POINTS = 400  # at most this many buckets: hour, else day, else month


def month_start(t):
    return t.replace(day=1, hour=0, minute=0, second=0)


def bucket_starts(first, last, bucket):
    """Every bucket start from first's bucket to last's, in order."""
    if bucket == "hour":
        t, step = first.replace(minute=0, second=0), lambda t: t + timedelta(hours=1)
    elif bucket == "day":
        t, step = first.replace(hour=0, minute=0, second=0), lambda t: t + timedelta(days=1)
    else:
        t = month_start(first)
        step = lambda t: t.replace(year=t.year + t.month // 12, month=t.month % 12 + 1)
    out = []
    while t <= last:
        out.append(t)
        t = step(t)
    return out


def truncate(t, bucket):
    if bucket == "hour":
        return t.replace(minute=0, second=0)
    if bucket == "day":
        return t.replace(hour=0, minute=0, second=0)
    return month_start(t)


def choose_bucket(first, last):
    """The finest bucket giving at most TIMELINE_POINTS points from first to last (counted with
    whole hours, days, months; not by walking them, which would take ages on a wide span)."""
    if first is None:
        return "hour"
    hours = (last.replace(minute=0, second=0) - first.replace(minute=0, second=0)) // timedelta(hours=1) + 1
    if hours <= TIMELINE_POINTS:
        return "hour"
    days = (last.date() - first.date()).days + 1
    if days <= TIMELINE_POINTS:
        return "day"
    return "month"


def report_summary(events, top):
    now = datetime.now(UTC)
    times = [t for _, t, _ in events if t is not None]
    plausible = [t for t in times if CLOUDTRAIL_BEGAN <= t < now + timedelta(days=1)]
    implausible = [t for t in times if not (CLOUDTRAIL_BEGAN <= t < now + timedelta(days=1))]
    first = min(plausible) if plausible else None
    last = max(plausible) if plausible else None
    bucket = choose_bucket(first, last)
    timeline = []
    if plausible:
        per_bucket = {}
        for t in plausible:
            b = truncate(t, bucket)
            per_bucket[b] = per_bucket.get(b, 0) + 1
        timeline = [{"start": fmt_time(b), "count": per_bucket.get(b, 0)}
                    for b in bucket_starts(first, last, bucket)]
    evs = [e for e, _, _ in events]
    return {
        "events": len(evs),
        "errors": sum(1 for e in evs if s(e.get("errorCode")) is not None),
        "first_event": fmt_time(first),
        "last_event": fmt_time(last),
        "implausible_times": len(implausible),
        "by_category": counted([category(e) for e in evs], "category"),
        "by_account": counted([s(e.get("recipientAccountId")) for e in evs], "account"),
        "by_region": counted([s(e.get("awsRegion")) for e in evs], "region"),
        "top_event_sources": counted([s(e.get("eventSource")) for e in evs], "event_source", top),
        "top_event_names": counted([s(e.get("eventName")) for e in evs], "event_name", top),
        "top_principals": counted([principal(e) for e in evs], "principal", top),
        "top_source_ips": counted([s(e.get("sourceIPAddress")) for e in evs], "source_ip", top),
        "timeline_bucket": bucket,
        "timeline": timeline,
    }


def csv_cell(text, guard=False):
    """RFC 4180 quoting; with guard (a text cell from the logs, without --csv-raw), a leading '
    when the text starts like a spreadsheet formula (OWASP: =, +, -, @, TAB, CR)."""
    if text is None:
        return ""
    text = str(text)
    if guard and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def summary_csv(summary, raw=False):
    lines = ["section,key,count"]
    lines.append(f"events,,{summary['events']}")
    lines.append(f"errors,,{summary['errors']}")
    for name in ("first_event", "last_event"):
        if summary[name] is not None:
            lines.append(f"{name},{csv_cell(summary[name])},")
    lines.append(f"implausible_times,,{summary['implausible_times']}")
    for section in ("by_category", "by_account", "by_region", "top_event_sources", "top_event_names",
                    "top_principals", "top_source_ips"):
        for entry in summary[section]:
            key = [v for k, v in entry.items() if k != "count"][0]
            lines.append(f"{section},{csv_cell(key, guard=not raw)},{entry['count']}")
    lines.append(f"timeline_bucket,{summary['timeline_bucket']},")
    for entry in summary["timeline"]:
        lines.append(f"timeline,{entry['start']},{entry['count']}")
    return "".join(line + "\n" for line in lines)


# -------------------------------------------------------------------- main

FILTERS = {"--user": "user", "--principal": "principal", "--access-key": "access_key", "--event-name": "event_name",
           "--event-source": "event_source", "--source-ip": "source_ip", "--bucket": "bucket", "--vpce": "vpce",
           "--error-code": "error_code", "--category": "category"}
FLAGS = {"--details": "details", "--raw": "raw", "--oldest-first": "oldest_first", "--errors": "errors",
         "--read-only": "read_only", "--write": "write", "--failures": "failures", "--no-mfa": "no_mfa", "--denied": "denied",
         "--csv-raw": "csv_raw", "--no-builtin": "no_builtin"}
# which command takes which option (besides the common ones)
ALLOWED = {
    "sts-endpoints": {"--details"}, "root-activity": {"--details"}, "errors": {"--top"},
    "who-touched-bucket": {"--details"},
    "events": set(FILTERS) | {"--fields", "--raw", "--limit", "--oldest-first", "--errors", "--read-only", "--write"},
    "console-logins": {"--failures", "--no-mfa"},
    "network-activity": {"--vpce", "--denied"},
    "summary": {"--top"},
    "event-sources": {"--top"},
    "detect": {"--rules", "--no-builtin", "--level", "--rule", "--details", "--raw"},
}


def parse_args(argv):
    a = {"sources": [], "date": None, "since": None, "until": None, "accounts": [], "regions": [],
         "output": "json", "top": 10, "command": None, "bucket": None, "fields": [], "limit": None,
         "filters": {v: [] for v in FILTERS.values()}, "given": set(), "rules": [], "level": None, "rule": None,
         "wheres": [], "matches": [], "resources": []}
    a.update({v: False for v in FLAGS.values()})
    with_value = {"-s": "sources", "--source": "sources", "--date": "date", "--since": "since",
                  "--until": "until", "--account": "accounts", "--region": "regions",
                  "-o": "output", "--output": "output", "--threads": None, "--top": "top",
                  "--fields": "fields", "--limit": "limit", "--rules": "rules", "--level": "level",
                  "--rule": "rule", "--where": "wheres", "--match": "matches", "--resource": "resources",
                  **FILTERS}
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, val = arg.partition("=")
        if arg.startswith("-") and arg != "-" and (name if eq else arg) in with_value:
            opt = name if eq else arg
            a["given"].add(opt)
            if not eq:
                i += 1
                if i >= len(argv):
                    usage(f"{opt} needs a value")
                val = argv[i]
            dest = with_value[opt]
            if dest in ("sources", "accounts", "regions", "rules", "wheres", "matches", "resources"):
                a[dest].append(val)
            elif dest in ("top", "limit"):
                if not val.isdigit():
                    usage(f"{opt} needs a number")
                a[dest] = int(val)
            elif dest == "fields":
                a["fields"].extend(val.split(","))
            elif opt in FILTERS:
                if opt == "--source-ip":
                    try:
                        val = ipaddress.ip_network(val, strict=False) if "/" in val else ipaddress.ip_address(val)
                    except ValueError:
                        usage(f"--source-ip: not an IP address or CIDR block: {val!r}")
                if opt == "--category" and val not in CATEGORIES:
                    usage(f"--category: one of {', '.join(CATEGORIES)}")
                a["filters"][dest].append(val)
            elif dest is not None:
                a[dest] = val
        elif arg in FLAGS:
            a["given"].add(arg)
            a[FLAGS[arg]] = True
        elif arg.startswith("-") and arg != "-":
            usage(f"unknown option {arg}")
        elif a["command"] is None:
            a["command"] = arg
        elif a["command"] == "who-touched-bucket" and a["bucket"] is None:
            a["bucket"] = arg
        else:
            usage(f"unexpected argument {arg}")
        i += 1
    if a["command"] not in ALLOWED:
        usage(f"unknown command {a['command']}")
    common = {"-s", "--source", "--date", "--since", "--until", "--account", "--region", "-o", "--output", "--threads",
              "--csv-raw", "--where", "--match", "--resource"}
    for opt in a["given"] - common:
        if opt not in ALLOWED[a["command"]]:
            usage(f"{a['command']} does not take {opt}")
    if a["command"] == "who-touched-bucket" and a["bucket"] is None:
        usage("who-touched-bucket needs BUCKET")
    if a["read_only"] and a["write"]:
        usage("--read-only conflicts with --write")
    if a["output"] == "csv" and a["command"] == "summary":
        pass
    elif a["output"] != "json" and not a["raw"]:
        usage("the reference prints -o json only (and -o csv for summary)")
    if a["date"] and (a["since"] or a["until"]):
        usage("--date conflicts with --since/--until")
    if a["level"] is not None and a["level"] not in ("informational", "low", "medium", "high", "critical"):
        usage("--level: one of informational, low, medium, high, critical")
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

    import field_filters  # --where, --match, --resource live in their own file
    try:
        fields = field_filters.Filters(a["wheres"], a["matches"], a["resources"])
    except field_filters.Bad as why:
        usage(str(why))

    files = []
    for src in a["sources"]:
        files.extend(list_files(src))

    skipped = 0
    events = []  # (event, whole-second UTC time or None, raw text)
    for path in files:
        try:
            evs = events_of(path)
        except Skip as why:
            print(f"ref: {path}: {why}", file=sys.stderr)
            skipped += 1
            continue
        for e, raw in evs:
            e = as_read(e)
            # Aggregated events are summaries, not calls: only events and summary read them.
            if s(e.get("eventCategory")) == "Aggregated" and a["command"] not in ("events", "summary"):
                continue
            if a["accounts"] and s(e.get("recipientAccountId")) not in a["accounts"]:
                continue
            if a["regions"] and s(e.get("awsRegion")) not in a["regions"]:
                continue
            if fields and not fields.accepts(raw):
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
            events.append((e, t, raw))

    cmd = a["command"]
    pairs = [(e, t) for e, t, _ in events]  # what the first four reports take
    if cmd == "sts-endpoints":
        rows = report_sts(pairs, a["details"])
    elif cmd == "root-activity":
        rows = report_root(pairs, a["details"])
    elif cmd == "errors":
        rows = report_errors(pairs, a["top"])
    elif cmd == "who-touched-bucket":
        rows = report_bucket(pairs, a["bucket"], a["details"])
    elif cmd == "events":
        rows = report_events(events, a)
    elif cmd == "console-logins":
        rows = report_console(events, a)
    elif cmd == "network-activity":
        rows = report_network(events, a)
    elif cmd == "event-sources":
        rows = report_event_sources(pairs, a["top"])
    elif cmd == "detect":
        import sigma_reference  # the Sigma evaluator lives in its own file
        rows, bad_rules = sigma_reference.report_detect(events, a)
        skipped += bad_rules
    else:
        rows = report_summary(events, a["top"])

    if cmd in ("events", "detect") and a["raw"]:
        sys.stdout.buffer.write("".join(line + "\n" for line in rows).encode("utf-8"))
    elif cmd == "summary" and a["output"] == "csv":
        sys.stdout.buffer.write(summary_csv(rows, raw=a["csv_raw"]).encode("utf-8"))
    else:
        sys.stdout.write(json.dumps(rows, indent=1, ensure_ascii=True) + "\n")
    return 3 if skipped else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
