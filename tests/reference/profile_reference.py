#!/usr/bin/env python3
"""Independent reference for `ctq profile` (issue 15), written from the README's "Profile of an
identity", not from the Rust code: the events of WHO are picked, then every list is counted in
the plainest way. Prints exactly what `ctq profile -o json` prints.

    profile_reference.py -s PATH [--date D | --since T --until T] [--top N] [--baseline 30d]
                         (WHO | --ip IP|CIDR)
"""

import ipaddress
import json
import re
import sys
from datetime import datetime, timedelta

import ctq_reference as ref

KEY = re.compile(r"A[KS]IA[A-Z0-9]{12,124}")


def denied(code):
    c = code.lower()
    return any(w in c for w in ("accessdenied", "unauthorized", "notauthorized", "forbidden"))


def matches(e, who, how):
    u = ref.obj(e.get("userIdentity"))
    if how == "ip":
        return ref.ip_matches(e, [who])
    if how == "arn":
        return ref.s(u.get("arn")) == who
    if how == "access_key":
        return ref.s(u.get("accessKeyId")) == who
    return ref.user_matches(e, [who])


def listed(entries, key, top):
    """entries: [(key tuple, time)] -> rows by count desc, then key asc (None first)."""
    groups = {}
    for k, t in entries:
        g = groups.setdefault(k, [0, None, None])
        g[0] += 1
        if t is not None:
            g[1] = t if g[1] is None else min(g[1], t)
            g[2] = t if g[2] is None else max(g[2], t)
    rows = sorted(groups.items(), key=lambda kv: (-kv[1][0], [(x is not None, x or "") for x in kv[0]]))
    out = []
    for k, (n, first, last) in rows[: top or None]:
        row = {key: k[0]}
        if len(k) > 1:
            row["error_code"] = k[1]
        row.update({"count": n, "first_seen": ref.fmt_time(first), "last_seen": ref.fmt_time(last)})
        out.append(row)
    return out


def main(argv):
    sources, date, since, until, top, baseline, ip, who = [], None, None, None, 5, "0", None, None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-s", "--source", "--date", "--since", "--until", "--top", "--baseline", "--ip"):
            v = argv[i + 1]
            i += 2
            if a in ("-s", "--source"):
                sources.append(v)
            elif a == "--date":
                date = v
            elif a == "--since":
                since = v
            elif a == "--until":
                until = v
            elif a == "--top":
                top = int(v)
            elif a == "--baseline":
                baseline = v
            else:
                ip = v
            continue
        who = a
        i += 1
    if ip is not None:
        how, who = "ip", (ipaddress.ip_network(ip, strict=False) if "/" in ip else ipaddress.ip_address(ip))
    elif who.startswith("arn:"):
        how = "arn"
    elif KEY.fullmatch(who):
        how = "access_key"
    else:
        how = "name"
    since_t, until_t = ref.window(date, since, until)
    back = ref.span(baseline)
    windowed = since_t is not None or until_t is not None

    inside, before = [], []
    for src in sources:
        for path in ref.list_files(src):
            try:
                evs = ref.events_of(path)
            except ref.Skip:
                continue
            for e, raw in evs:
                exact = ref.event_instant(e.get("eventTime"))
                if windowed and exact is None:
                    continue
                if until_t is not None and exact >= until_t:
                    continue
                if since_t is not None and exact < since_t:
                    if back and exact >= since_t - back and matches(e, who, how):
                        before.append(e)
                    continue
                if matches(e, who, how):
                    inside.append((e, ref.parse_time(e.get("eventTime"))))

    now = datetime.now(ref.UTC)
    plausible = [t for _, t in inside if t is not None and ref.CLOUDTRAIL_BEGAN <= t < now + timedelta(days=1)]
    first = min(plausible) if plausible else None
    last = max(plausible) if plausible else None
    bucket = ref.choose_bucket(first, last)
    timeline = []
    if plausible:
        per = {}
        for t in plausible:
            b = ref.truncate(t, bucket)
            per[b] = per.get(b, 0) + 1
        timeline = [{"start": ref.fmt_time(b), "count": per.get(b, 0)} for b in ref.bucket_starts(first, last, bucket)]

    def field(e, *path):
        return ref.field(e, *path)

    def entries(keyf, cond=lambda e: True):
        out = []
        for e, t in inside:
            if cond(e):
                k = keyf(e)
                if k[0] is not None or len(k) > 1:
                    out.append((k, t))
        return out

    names_before = {ref.s(e.get("eventName")) for e in before}
    doc = {
        # An IP is shown as its block (198.51.100.7/32), as --ip reads it.
        "who": str(ipaddress.ip_network(str(who), strict=False)) if how == "ip" else who, "matched_on": how,
        "events": len(inside),
        "errors": sum(1 for e, _ in inside if ref.s(e.get("errorCode")) is not None),
        "first_seen": ref.fmt_time(first), "last_seen": ref.fmt_time(last),
        "accounts": listed(entries(lambda e: (ref.s(e.get("recipientAccountId")),)), "account", top),
        "regions": listed(entries(lambda e: (ref.s(e.get("awsRegion")),)), "region", top),
        "principals": listed(entries(lambda e: (ref.principal(e),)), "principal", top),
        "source_ips": listed(entries(lambda e: (ref.s(e.get("sourceIPAddress")),)), "source_ip", top),
        "user_agents": listed(entries(lambda e: (ref.s(e.get("userAgent")),)), "user_agent", top),
        "access_keys": listed(entries(lambda e: (field(e, "userIdentity", "accessKeyId"),)), "access_key_id", top),
        "event_sources": listed(entries(lambda e: (ref.s(e.get("eventSource")),)), "event_source", top),
        "event_names": listed(entries(lambda e: (ref.s(e.get("eventName")),)), "event_name", top),
        "error_codes": listed(entries(lambda e: (ref.s(e.get("errorCode")),)), "error_code", top),
        "writes": listed([((ref.s(e.get("eventName")),), t) for e, t in inside if ref.read_only_value(e) is False], "event_name", top),
        "denied": listed([((ref.s(e.get("eventName")), ref.s(e.get("errorCode"))), t) for e, t in inside
                          if ref.s(e.get("errorCode")) is not None and denied(ref.s(e.get("errorCode")))], "event_name", top),
        "new_in_window": None if not back else listed(
            [((ref.s(e.get("eventName")),), t) for e, t in inside if ref.s(e.get("eventName")) not in names_before], "event_name", top),
        "console_logins": [
            {"event_time": ref.fmt_time(t), "source_ip": ref.s(e.get("sourceIPAddress")), "user_agent": ref.s(e.get("userAgent")),
             "result": field(e, "responseElements", "ConsoleLogin"), "mfa": ref.mfa_used(e)}
            for e, t in sorted(((e, t) for e, t in inside if ref.s(e.get("eventName")) == "ConsoleLogin"),
                               key=lambda et: (et[1] is not None, et[1], ref.s(et[0].get("sourceIPAddress")) is not None,
                                               ref.s(et[0].get("sourceIPAddress")) or "", ref.s(et[0].get("userAgent")) is not None,
                                               ref.s(et[0].get("userAgent")) or ""), reverse=True)],
        "baseline": None if not (back and since_t) else {
            "since": ref.fmt_time(since_t - back), "until": ref.fmt_time(since_t), "events": len(before)},
        "timeline_bucket": bucket,
        "timeline": timeline,
    }
    print(json.dumps(doc, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
