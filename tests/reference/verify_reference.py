#!/usr/bin/env python3
"""A deliberately simple reference for `ctq verify` on a local copy of a trail.

    verify_reference.py TRAIL SINCE UNTIL [SIGNATURES.json PUBLIC-KEYS.json]

Prints a JSON list of problems, each {kind, key, period_start, period_end}, sorted. `key` is
the object's key from AWSLogs/ on. Written from the contract in the README ("Verify the
trail"), not from ctq's code: every file is read whole, every digest is kept in memory, and
RSA is checked by hand (s^e mod n against the PKCS #1 v1.5 encoding of the SHA-256).
"""

import base64
import gzip
import hashlib
import json
import os
import sys
from datetime import datetime, timedelta, timezone

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
CONTIGUOUS = timedelta(minutes=5)
DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def t(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def fmt(d):
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def layout(key):
    i = key.find("AWSLogs/")
    return key[i:] if i >= 0 else None


def der_ints(der):
    """The two INTEGERs of an RSAPublicKey."""
    def length(b, i):
        if b[i] < 128:
            return b[i], i + 1
        n = b[i] & 127
        return int.from_bytes(b[i + 1:i + 1 + n], "big"), i + 1 + n
    assert der[0] == 0x30
    _, i = length(der, 1)
    out = []
    for _ in range(2):
        assert der[i] == 0x02
        n, i = length(der, i + 1)
        out.append(int.from_bytes(der[i:i + n], "big"))
        i += n
    return out


def rsa_ok(key, message, sig_hex):
    n, e = key
    k = (n.bit_length() + 7) // 8
    try:
        s = int(sig_hex, 16)
    except ValueError:
        return False
    t_ = DIGEST_INFO + hashlib.sha256(message).digest()
    em = b"\x00\x01" + b"\xff" * (k - len(t_) - 3) + b"\x00" + t_
    return pow(s, e, n).to_bytes(k, "big") == em


def gunzip(data):
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def main(argv):
    trail, since, until = argv[0], t(argv[1] + "T00:00:00Z"), t(argv[2] + "T00:00:00Z")
    sigs, keys = None, {}
    if len(argv) > 3:
        sigs = {layout(k): v for k, v in json.load(open(argv[3])).items()}
        for k in json.load(open(argv[4]))["PublicKeyList"]:
            keys[k["Fingerprint"].lower()] = der_ints(base64.b64decode(k["Value"]))

    def overlaps(a, b):
        return b > since and a < until

    digests, logs = {}, {}
    for folder, _, files in os.walk(trail):
        for name in files:
            path = os.path.join(folder, name)
            key = layout(path)
            parts = key.split("/")
            if len(parts) != 8:
                continue
            account, kind, region = parts[1], parts[2], parts[3]
            if kind == "CloudTrail-Digest":
                stem = name[:-len(".json.gz")]
                backfill = stem.endswith("_backfill")
                stem = stem[:-len("_backfill")] if backfill else stem
                rest, stamp = stem.rsplit("_", 1)
                trail_name = rest.split("_CloudTrail-Digest_", 1)[1][len(region) + 1:-(len(region) + 1)]
                end = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
                d = {"key": key, "origin": (account, region), "chain": (account, region, trail_name, backfill),
                     "start": end - HOUR, "end": end, "content": None, "sha": None}
                try:
                    text = gunzip(open(path, "rb").read())
                    c = json.loads(text)
                    d.update(content=c, sha=hashlib.sha256(text).hexdigest(),
                             start=t(c["digestStartTime"]), end=t(c["digestEndTime"]))
                except Exception:
                    pass
                digests[key] = d
            elif kind == "CloudTrail":
                stamp = name.split("_")[3]
                delivered = datetime.strptime(stamp, "%Y%m%dT%H%MZ").replace(tzinfo=timezone.utc)
                logs[key] = {"key": key, "path": path, "origin": (account, region), "delivered": delivered}

    # Signatures.
    for d in digests.values():
        c = d["content"]
        d["sig"] = "unchecked"
        if c is None or sigs is None:
            continue
        sig = sigs.get(d["key"])
        key = keys.get(c["digestPublicKeyFingerprint"].lower())
        prev = c["previousDigestSignature"] if c["previousDigestSignature"] is not None else "null"
        message = f'{c["digestEndTime"]}\n{c["digestS3Bucket"]}/{c["digestS3Object"]}\n{d["sha"]}\n{prev}'.encode()
        d["sig"] = "valid" if sig and key and rsa_ok(key, message, sig) else "invalid"

    problems = []

    def add(kind, key, start, end):
        if overlaps(start, end) and not any(p[0] == kind and p[1] == key for p in problems):
            problems.append((kind, key, start, end))

    consumed = set()
    for d in digests.values():
        c = d["content"]
        if c is None or layout(c["digestS3Object"]) != d["key"]:
            consumed.add(d["key"])
            add("modified_digest", d["key"], d["start"], d["end"])
    gaps = []
    chains = {}
    for d in digests.values():
        chains.setdefault(d["chain"], []).append(d)
    for members in chains.values():
        members.sort(key=lambda d: (d["end"], d["key"]))
        for i, d in enumerate(members):
            c = d["content"]
            if c is None:
                continue
            earlier = [m for m in members[:i] if m["end"] <= d["start"] + CONTIGUOUS]
            before = earlier[-1] if earlier else None
            link = c["previousDigestS3Object"]
            backfill = d["chain"][3]
            if link is None:
                # Backfill digests come only when needed: hours between them are no gap.
                if before and not backfill and d["start"] - before["end"] > CONTIGUOUS:
                    add("no_digest_period", d["key"], before["end"], d["start"])
                    gaps.append((d["origin"], before["end"], d["start"]))
                continue
            prev = digests.get(layout(link))
            if prev is None:
                stamp = link[:-len(".json.gz")].removesuffix("_backfill").rsplit("_", 1)[1]
                named_end = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
                if backfill:
                    start, end = named_end - HOUR, named_end
                elif before:
                    start, end = before["end"], d["start"]
                else:
                    start, end = d["start"] - HOUR, d["start"]
                add("missing_digest", layout(link), start, end)
                gaps.append((d["origin"], start, end))
                continue
            if prev["content"] is None or c["previousDigestHashValue"] == prev["sha"]:
                continue
            if prev["sig"] == "invalid":
                consumed.add(prev["key"])
                add("modified_digest", prev["key"], prev["start"], prev["end"])
            elif d["sig"] == "invalid":
                consumed.add(d["key"])
                add("modified_digest", d["key"], d["start"], d["end"])
            else:
                add("chain_break", d["key"], d["start"], d["end"])
    for d in digests.values():
        if d["sig"] == "invalid" and d["key"] not in consumed:
            add("bad_signature", d["key"], d["start"], d["end"])

    listed = set()
    for d in digests.values():
        for entry in (d["content"] or {}).get("logFiles", []):
            listed.add(layout(entry["s3Object"]))
    for d in sorted(digests.values(), key=lambda d: d["key"]):
        c = d["content"]
        if c is None or not overlaps(d["start"], d["end"]):
            continue
        for entry in c["logFiles"]:
            key = layout(entry["s3Object"])
            log = logs.get(key)
            if log is None:
                add("missing_log", key, d["start"], d["end"])
                continue
            try:
                sha = hashlib.sha256(gunzip(open(log["path"], "rb").read())).hexdigest()
            except Exception:
                sha = None
            if sha != entry["hashValue"]:
                add("modified_log", key, d["start"], d["end"])
    uncovered = {}
    for log in sorted(logs.values(), key=lambda log: (log["delivered"], log["key"])):
        when = log["delivered"]
        if not overlaps(when, when + MINUTE) or log["key"] in listed:
            continue
        if any(o == log["origin"] and when + MINUTE > a and when < b for o, a, b in gaps):
            continue
        periods = [(d["start"], d["end"]) for d in digests.values()
                   if d["content"] is not None and d["origin"] == log["origin"]]
        if any(when + MINUTE > a and when < b for a, b in periods):
            add("unlisted_log", log["key"], when, when + MINUTE)
            continue
        stretch = sum(1 for a, b in periods if b <= when)
        uncovered.setdefault((log["origin"], stretch), []).append(log)
    for files in uncovered.values():
        add("no_digest_period", files[0]["key"], files[0]["delivered"], files[-1]["delivered"] + MINUTE)

    out = [{"kind": k, "key": key, "period_start": fmt(a), "period_end": fmt(b)}
           for k, key, a, b in sorted(problems, key=lambda p: (p[0], p[1]))]
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main(sys.argv[1:])
