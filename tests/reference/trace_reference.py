#!/usr/bin/env python3
"""Independent reference for `ctq trace` (issue 15), written from the README's "Who is behind a
key", not from the Rust code, and kept plain: every event is read, the issuing calls and the
keys' use are lists and dicts, and the chain is walked by the README's four rules in order.

    trace_reference.py -s PATH [--date D | --since T --until T] [--lookback 12h] WHO

Prints {"chain": [{"access_key_id", "principal", "matched_on", "issued_by"}...],
"origin": {"kind", "name", "account"}, "activity": [[key, event_name, count, errors]...]}:
the parts of `ctq trace -o json` that say who is behind the credentials (issued_by is the
issuing event's eventID).
"""

import json
import re
import sys

import ctq_reference as ref
import field_filters as ff

ISSUING = {"AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity", "GetSessionToken",
           "GetFederationToken", "GetRoleCredentials", "Federate", "CreateAccessKey"}
FEDERATED = {"AssumeRoleWithSAML", "AssumeRoleWithWebIdentity", "GetRoleCredentials", "Federate"}


def at(e, *path):
    """The first non-empty text at a path (strings, numbers as written, true/false)."""
    for v in ff.values(e, list(path)):
        t = ff.text_of(v)
        if t:
            return t
    return None


def identity(e, pe):
    """e as json parses it (the lean fields: strings only), pe with numbers kept as text."""
    u = ref.obj(e.get("userIdentity"))
    return {"type": ref.s(u.get("type")), "arn": ref.s(u.get("arn")),
            "principal_id": ref.s(u.get("principalId")), "account": ref.s(u.get("accountId")),
            "key": ref.s(u.get("accessKeyId")), "user": ref.s(u.get("userName")),
            "invoked_by": ref.s(u.get("invokedBy")),
            "on_behalf_of": at(pe, "userIdentity", "onBehalfOf", "userId")}


def issue_of(e, pe, t):
    if ref.s(e.get("eventName")) not in ISSUING or ref.s(e.get("errorCode")) is not None:
        return None
    caller = identity(e, pe)
    return {
        "name": ref.s(e.get("eventName")), "time": t, "event_id": ref.s(e.get("eventID")),
        "account": ref.s(e.get("recipientAccountId")),
        "request": at(pe, "requestID") or at(pe, "sharedEventID"),
        "caller": caller,
        "key": at(pe, "responseElements", "credentials", "accessKeyId") or at(pe, "responseElements", "accessKey", "accessKeyId"),
        "assumed_id": at(pe, "responseElements", "assumedRoleUser", "assumedRoleId") or at(pe, "responseElements", "federatedUser", "federatedUserId"),
        "assumed_arn": at(pe, "responseElements", "assumedRoleUser", "arn") or at(pe, "responseElements", "federatedUser", "arn"),
        "role_arn": at(pe, "requestParameters", "roleArn"),
        "session": at(pe, "requestParameters", "roleSessionName") or at(pe, "requestParameters", "name"),
        "subject": at(pe, "responseElements", "subjectFromWebIdentityToken") or at(pe, "responseElements", "subject") or caller["user"],
        "sso_account": at(pe, "requestParameters", "accountId"),
        "sso_role": at(pe, "requestParameters", "roleName"),
    }


def rank(t, ident):
    when = (True, 0) if t is None else (False, t.timestamp())
    return when + tuple(ident[k] or "" for k in ("arn", "principal_id", "type", "user"))


def richness(i):
    c = i["caller"]
    return sum(1 for k in ("arn", "key", "principal_id", "user") if c[k] is not None)


def session_parts(arn):
    if not arn or ":assumed-role/" not in arn:
        return None
    parts = arn.split(":")
    if len(parts) < 5:
        return None
    rest = arn.split(":assumed-role/", 1)[1]
    if "/" not in rest:
        return None
    role, session = rest.split("/", 1)
    return parts[4], role, session


def idc_session(issue, arn):
    p = session_parts(arn)
    if not p or not issue["sso_role"]:
        return False
    account, role, session = p
    prefix = "AWSReservedSSO_" + issue["sso_role"] + "_"
    return issue["sso_account"] == account and role.startswith(prefix) and issue["caller"]["user"] == session


def main(argv):
    sources, date, since, until, lookback, who = [], None, None, None, "12h", None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-s", "--source", "--date", "--since", "--until", "--lookback"):
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
            else:
                lookback = v
            continue
        who = a
        i += 1
    since_t, until_t = ref.window(date, since, until)
    back = ref.span(lookback)
    read_since = since_t - back if since_t is not None else None

    issues, keys = [], {}
    files = []
    for src in sources:
        files.extend(ref.list_files(src))
    for path in files:
        try:
            evs = ref.events_of(path)
        except ref.Skip:
            continue
        for e, raw in evs:
            exact = ref.event_instant(e.get("eventTime"))
            windowed = since_t is not None or until_t is not None
            if windowed and exact is None:
                continue
            if read_since is not None and exact < read_since:
                continue
            if until_t is not None and exact >= until_t:
                continue
            pe = ff.parse(raw)
            issue = issue_of(e, pe, exact)
            if issue:
                issues.append(issue)
            ident = identity(e, pe)
            k = ident["key"]
            if k is None:
                continue
            used = keys.setdefault(k, {"ident": ident, "first": exact, "names": {}})
            # The identity of the first use: the earliest (untimed last), then the least by
            # ARN, principalId, type and user name.
            if rank(exact, ident) < rank(used["first"], used["ident"]):
                used["ident"], used["first"] = ident, exact
            if since_t is None or exact >= since_t:
                name = ref.s(e.get("eventName"))
                c = used["names"].setdefault(name, [0, 0])
                c[0] += 1
                c[1] += 1 if ref.s(e.get("errorCode")) is not None else 0

    # One record per call, the richest caller of the records sharing a request id.
    issues.sort(key=lambda x: (x["time"], x["event_id"] or "", x["account"] or ""))
    merged, by_request = [], {}
    for x in issues:
        rid = x["request"] or x["event_id"]
        if rid is not None and rid in by_request:
            j = by_request[rid]
            if richness(x) > richness(merged[j]):
                merged[j] = x
            continue
        if rid is not None:
            by_request[rid] = len(merged)
        merged.append(x)
    issues = merged

    def keys_of(arn=None, pid=None):
        found = [(u["first"], k) for k, u in keys.items()
                 if (arn is not None and u["ident"]["arn"] == arn) or (pid is not None and u["ident"]["principal_id"] == pid)]
        return [k for _, k in sorted(found, key=lambda x: (x[0] is not None, x[0], x[1]))]

    def link_of(ident):
        if ident["key"]:
            ks = [ident["key"]]
        elif ident["type"] == "AssumedRole":
            ks = keys_of(ident["arn"], ident["principal_id"])
        else:
            ks = []
        return {"keys": ks, "key": ident["key"], "arn": ident["arn"], "pid": ident["principal_id"],
                "account": ident["account"], "ident": ident}

    def issuers(link):
        usable = [x for x in issues if x["name"] != "CreateAccessKey"]
        found = [(x, "responseElements.credentials.accessKeyId") for x in usable if x["key"] in link["keys"]]
        if not found:
            found = [(x, "responseElements.assumedRoleUser.assumedRoleId") for x in usable
                     if link["pid"] is not None and x["assumed_id"] == link["pid"]]
            found += [(x, "responseElements.assumedRoleUser.arn") for x in usable
                      if link["arn"] is not None and x["assumed_arn"] == link["arn"] and all(x is not y for y, _ in found)]
        if not found and link["arn"]:
            found = [(x, "GetRoleCredentials: account, permission set and user name") for x in issues
                     if x["name"] in ("GetRoleCredentials", "Federate") and idc_session(x, link["arn"])]
        if not found and session_parts(link["arn"]):
            account, role, session = session_parts(link["arn"])
            for x in issues:
                r = x["role_arn"] or ""
                if (r.startswith("arn:") and ":role/" in r and r.split(":")[4:5] == [account]
                        and r.rsplit("/", 1)[-1] == role and x["session"] == session):
                    found.append((x, "requestParameters.roleArn and roleSessionName"))
        return found

    def own_origin(link):
        ident = None
        for k in link["keys"]:
            if k in keys:
                ident = keys[k]["ident"]
                break
        if ident is None:
            return None
        account = ident["account"] or link["account"]
        if ident["on_behalf_of"]:
            return ("identity_center_user", ident["on_behalf_of"], account)
        if ident["type"] == "Root":
            return ("root", "root", account)
        if ident["type"] == "IAMUser":
            name = ident["user"] or (ident["arn"].rsplit("/", 1)[-1] if ident["arn"] else None)
            return ("iam_user", name, account)
        if ident["type"] == "AWSService" or ident["invoked_by"]:
            return ("aws_service", ident["invoked_by"], account)
        if ident["type"] == "AWSAccount":
            return ("aws_account", ident["principal_id"], account)
        return None

    def long_term(ident):
        temp = (ident["key"] or "").startswith("ASIA")
        if ident["type"] in ("Root", "AWSService", "AWSAccount"):
            return True
        if ident["type"] == "IAMUser":
            return not temp
        return ident["invoked_by"] is not None

    # The first link.
    if re.fullmatch(r"A[KS]IA[A-Z0-9]{12,124}", who):
        if who in keys:
            link = link_of(keys[who]["ident"])
            link["key"], link["keys"] = who, [who]
        else:
            x = next((x for x in issues if x["name"] != "CreateAccessKey" and x["key"] == who), None)
            link = {"keys": [who], "key": who, "arn": x and x["assumed_arn"], "pid": x and x["assumed_id"],
                    "account": x and x["assumed_arn"] and x["assumed_arn"].split(":")[4], "ident": None}
    else:
        by_arn = who.startswith("arn:")
        ks = keys_of(arn=who) if by_arn else keys_of(pid=who)
        link = link_of(keys[ks[0]]["ident"]) if ks else {"keys": [], "key": None, "arn": None, "pid": None, "account": None, "ident": None}
        if by_arn:
            link["arn"] = who
            link["account"] = link["account"] or who.split(":")[4]
        else:
            link["pid"] = who
        link["keys"], link["key"] = ks, (ks[0] if ks else None)

    chain, origin, seen = [], None, set()
    first_ident = keys[link["keys"][0]]["ident"] if link["keys"] and link["keys"][0] in keys else None
    if first_ident and long_term(first_ident):
        chain.append((link, None, None))
        o = own_origin(link)
        origin = o or ("not_found", None, link["account"])
    while origin is None:
        found = issuers(link)
        if len(found) != 1:
            chain.append((link, None, None))
            if found:
                origin = ("ambiguous", None, link["account"])
            else:
                origin = own_origin(link) or ("not_found", None, link["account"])
            break
        x, rule = found[0]
        chain.append((link, x, rule))
        n = x["name"]
        if n == "AssumeRoleWithSAML":
            kind = "identity_center_user" if "/AWSReservedSSO_" in (x["role_arn"] or "") else "saml_subject"
            origin = (kind, x["subject"], x["account"])
        elif n == "AssumeRoleWithWebIdentity":
            origin = ("web_identity", x["subject"], x["account"])
        elif n in ("GetRoleCredentials", "Federate"):
            origin = ("identity_center_user", x["caller"]["user"], x["caller"]["account"])
        elif id(x) in seen or len(chain) + 1 > 32:
            origin = ("not_found", None, link["account"])
        else:
            seen.add(id(x))
            c = x["caller"]
            if c["type"] == "AWSService" or (c["invoked_by"] and not c["key"]):
                origin = ("aws_service", c["invoked_by"], c["account"] or link["account"])
                break
            nxt = link_of(c)
            if long_term(c) or (not c["key"] and c["type"] not in ("AssumedRole", "FederatedUser")):
                chain.append((nxt, None, None))
                o = own_origin_ident(c, nxt)
                origin = o or ("not_found", None, nxt["account"])
                break
            link = nxt

    acts, done = [], set()
    for l, _, _ in chain:
        for k in l["keys"]:
            if k in done or k not in keys:
                continue
            done.add(k)
            for name, (n, e) in sorted(keys[k]["names"].items(), key=lambda kv: (-kv[1][0], kv[0] or "")):
                acts.append([k, name, n, e])
    out = {
        "chain": [{"access_key_id": l["key"], "principal": l["arn"] or None, "matched_on": rule,
                   "issued_by": x["event_id"] if x else None} for l, x, rule in chain],
        "origin": {"kind": origin[0], "name": origin[1], "account": origin[2]},
        "activity": acts,
    }
    print(json.dumps(out, indent=1, sort_keys=True))
    return 0


def own_origin_ident(ident, link):
    account = ident["account"] or link["account"]
    if ident["on_behalf_of"]:
        return ("identity_center_user", ident["on_behalf_of"], account)
    if ident["type"] == "Root":
        return ("root", "root", account)
    if ident["type"] == "IAMUser":
        return ("iam_user", ident["user"] or (ident["arn"].rsplit("/", 1)[-1] if ident["arn"] else None), account)
    if ident["type"] == "AWSService" or ident["invoked_by"]:
        return ("aws_service", ident["invoked_by"], account)
    if ident["type"] == "AWSAccount":
        return ("aws_account", ident["principal_id"], account)
    return None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
