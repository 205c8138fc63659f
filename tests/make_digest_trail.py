#!/usr/bin/env python3
"""Write a small CloudTrail trail with log file validation on, for `ctq verify`'s tests.

Two accounts, two regions, three days (2024-09-03 to 2024-09-05): two log files an hour per
account and region, and an hourly digest for each, chained and signed with a test RSA key
(SHA256withRSA, PKCS #1 v1.5), as AWS documents in "CloudTrail digest file structure" and
"Custom implementations of CloudTrail log file integrity validation". Only the standard library:
the keys are made here (Miller-Rabin from a fixed seed, so every run writes the same bytes).

    make_digest_trail.py OUT [--bucket NAME] [--break-chain ACCOUNT REGION N]

OUT/trail/AWSLogs/...            the log files and digests
OUT/signatures.json              digest key -> hex signature (S3's x-amz-meta-signature)
OUT/other-signatures.json        the same digests signed by another key
OUT/public-keys.json             `aws cloudtrail list-public-keys` output for the signing key
OUT/manifest.json                the digests (in chain order per account and region) and logs

--break-chain ACCOUNT REGION N: the N-th digest (0-based) of that chain records a wrong
previousDigestHashValue, yet is validly signed, and the next digest chains to it correctly.
"""

import base64
import gzip
import hashlib
import json
import os
import random
import sys
from datetime import datetime, timedelta, timezone

ACCOUNTS = ["111111111111", "222222222222"]
REGIONS = ["us-east-1", "eu-west-1"]
START = datetime(2024, 9, 3, tzinfo=timezone.utc)
HOURS = 72
TRAIL = "ctq-test"
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def is_probable_prime(n, rng):
    if n < 2:
        return False
    for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47):
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(24):
        a = rng.randrange(2, n - 1)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def prime(bits, rng):
    small = [p for p in range(3, 2000, 2) if all(p % q for q in range(3, int(p**0.5) + 1, 2))]
    while True:
        n = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if any(n % p == 0 for p in small):
            continue
        if is_probable_prime(n, rng):
            return n


def rsa_key(seed):
    rng = random.Random(seed)
    e = 65537
    while True:
        p, q = prime(1024, rng), prime(1024, rng)
        phi = (p - 1) * (q - 1)
        if p != q and phi % e != 0:
            n, d = p * q, pow(e, -1, phi)
            return n, e, d, p, q, d % (p - 1), d % (q - 1), pow(q, -1, p)


def der_int(v):
    b = v.to_bytes((v.bit_length() + 8) // 8, "big")
    return b"\x02" + der_len(len(b)) + b


def der_len(n):
    if n < 128:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def public_der(key):
    n, e = key[0], key[1]
    body = der_int(n) + der_int(e)
    return b"\x30" + der_len(len(body)) + body


def sign(key, message):
    n, _, _, p, q, dp, dq, qinv = key
    k = (n.bit_length() + 7) // 8
    t = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    em = int.from_bytes(b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t, "big")
    # The Chinese remainder theorem: the same signature, about 3 times as fast.
    m1, m2 = pow(em, dp, p), pow(em, dq, q)
    return (m2 + (qinv * (m1 - m2) % p) * q).to_bytes(k, "big").hex()


def stamp(t, seconds=False):
    return t.strftime("%Y%m%dT%H%M%SZ" if seconds else "%Y%m%dT%H%MZ")


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def write(root, key, data):
    path = os.path.join(root, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main(argv):
    args = list(argv)
    out = args.pop(0)
    bucket = "ctq-verify-test"
    broken = None
    while args:
        opt = args.pop(0)
        if opt == "--bucket":
            bucket = args.pop(0)
        elif opt == "--break-chain":
            broken = (args.pop(0), args.pop(0), int(args.pop(0)))
        else:
            sys.exit(f"unknown option {opt}")
    key, other = rsa_key(20241201), rsa_key(20241202)
    der = public_der(key)
    fingerprint = hashlib.md5(der, usedforsecurity=False).hexdigest()
    root = os.path.join(out, "trail")
    rng = random.Random(7)
    signatures, other_signatures = {}, {}
    manifest = {"bucket": bucket, "digests": {}, "logs": []}
    for account in ACCOUNTS:
        for region in REGIONS:
            chain = f"{account}/{region}"
            manifest["digests"][chain] = []
            previous = None  # (key, sha256 hex, signature)
            for hour in range(HOURS):
                start = START + timedelta(hours=hour, seconds=30)
                end = start + timedelta(hours=1)
                logs = []
                for minute in (10, 40):
                    delivered = START + timedelta(hours=hour, minutes=minute)
                    name = f"{account}_CloudTrail_{region}_{stamp(delivered)}_{rng.getrandbits(64):016x}.json.gz"
                    log_key = f"AWSLogs/{account}/CloudTrail/{region}/{delivered:%Y/%m/%d}/{name}"
                    event_time = delivered - timedelta(minutes=3)
                    text = json.dumps({"Records": [{
                        "eventVersion": "1.09",
                        "eventTime": iso(event_time),
                        "eventSource": "s3.amazonaws.com",
                        "eventName": "ListBuckets",
                        "awsRegion": region,
                        "sourceIPAddress": "192.0.2.10",
                        "userIdentity": {"type": "IAMUser", "accountId": account,
                                         "arn": f"arn:aws:iam::{account}:user/alice"},
                        "eventID": f"{rng.getrandbits(128):032x}",
                        "recipientAccountId": account,
                    }]}).encode()
                    write(root, log_key, gzip.compress(text, mtime=0))
                    logs.append({
                        "s3Bucket": bucket,
                        "s3Object": log_key,
                        "hashValue": hashlib.sha256(text).hexdigest(),
                        "hashAlgorithm": "SHA-256",
                        "newestEventTime": iso(event_time),
                        "oldestEventTime": iso(event_time),
                    })
                    manifest["logs"].append(log_key)
                name = f"{account}_CloudTrail-Digest_{region}_{TRAIL}_{region}_{stamp(end, True)}.json.gz"
                digest_key = f"AWSLogs/{account}/CloudTrail-Digest/{region}/{end:%Y/%m/%d}/{name}"
                content = {
                    "awsAccountId": account,
                    "digestStartTime": iso(start),
                    "digestEndTime": iso(end),
                    "digestS3Bucket": bucket,
                    "digestS3Object": digest_key,
                    "digestPublicKeyFingerprint": fingerprint,
                    "digestSignatureAlgorithm": "SHA256withRSA",
                    "newestEventTime": logs[-1]["newestEventTime"],
                    "oldestEventTime": logs[0]["oldestEventTime"],
                    "previousDigestS3Bucket": bucket if previous else None,
                    "previousDigestS3Object": previous[0] if previous else None,
                    "previousDigestHashValue": previous[1] if previous else None,
                    "previousDigestHashAlgorithm": "SHA-256" if previous else None,
                    "previousDigestSignature": previous[2] if previous else None,
                    "logFiles": logs,
                }
                if broken == (account, region, hour):
                    content["previousDigestHashValue"] = hashlib.sha256(b"not the previous digest").hexdigest()
                text = json.dumps(content, indent=2).encode()
                sha = hashlib.sha256(text).hexdigest()
                signing = f"{iso(end)}\n{bucket}/{digest_key}\n{sha}\n{previous[2] if previous else 'null'}".encode()
                signature = sign(key, signing)
                signatures[digest_key] = signature
                other_signatures[digest_key] = sign(other, signing)
                write(root, digest_key, gzip.compress(text, mtime=0))
                manifest["digests"][chain].append(digest_key)
                previous = (digest_key, sha, signature)
    with open(os.path.join(out, "signatures.json"), "w") as f:
        json.dump(signatures, f, indent=1, sort_keys=True)
    with open(os.path.join(out, "other-signatures.json"), "w") as f:
        json.dump(other_signatures, f, indent=1, sort_keys=True)
    with open(os.path.join(out, "public-keys.json"), "w") as f:
        json.dump({"PublicKeyList": [{
            "ValidityStartTime": "2024-01-01T00:00:00+00:00",
            "ValidityEndTime": "2025-01-01T00:00:00+00:00",
            "Value": base64.b64encode(der).decode(),
            "Fingerprint": fingerprint,
        }]}, f, indent=1)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
