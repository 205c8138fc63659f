#!/usr/bin/env python3
"""Write a random CloudTrail corpus for comparing ctq with the reference.

    gen_corpus.py SEED OUTDIR

Deterministic for a given seed (standard library only, gzip mtime=0). The
corpus mixes every edge case the reports care about: the S3 trail layout with
and without an organization segment (and at different depths), files that
straddle midnight, digest folders, all five input shapes, gzip decided by magic
bytes, bad files (invalid JSON, truncated gzip, wrong shapes), odd field types,
odd time formats, hostile control characters and exact duplicates.

Files in the trail layout keep CloudTrail's promise that a file only holds
events from the hour before its delivery time (that is what lets ctq skip day
folders); files outside the layout hold events from any time.
"""

import gzip
import json
import random
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

UTC = timezone.utc
ACCOUNTS = ["111111111111", "222222222222", "333333333333", "444455556666"]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"]
BUCKET = "prod-data"
DAY0 = datetime(2024, 9, 3, tzinfo=UTC)
DAYS = 5  # 2024-09-03 .. 2024-09-07

HOSTILE = ["aws-cli/2.17.0 \u001b[31mred\u001b[0m", "curl/8.0\r\nX-Evil: 1", "bell\u0007ring", "csi\u009b2J", "tab\there",
           "del\u007fete", "nul\u0000byte"]
AGENTS = ["aws-cli/1.18.69 Python/3.8.10", "aws-cli/2.17.42 md/awscrt#0.21.2", "Boto3/1.35.10 Botocore/1.35.10",
          "aws-sdk-go-v2/1.30.4", "console.amazonaws.com", "AWS Internal", "s3.amazonaws.com", "Mozilla/5.0 (ü; 日本語)",
          "emoji \U0001F600 agent", "Zeta", "alpha", ""]
HOSTS = ["sts.amazonaws.com", "STS.AMAZONAWS.COM", "Sts.AmazonAws.Com", "sts-global.amazonaws.com", "STS-GLOBAL.example.com",
         "sts.us-east-1.amazonaws.com", "sts.eu-west-1.amazonaws.com", "sts-fips.us-east-1.amazonaws.com",
         "sts.eu-west-1.api.aws", "sts.amazonaws.com.evil.example", "xsts.amazonaws.com", "sts-globalx.amazonaws.com",
         "sts.amazonaws.co", ""]
IPS = ["198.51.100.7", "198.51.100.23", "203.0.113.10", "10.0.0.1", "2001:db8::1", "s3.amazonaws.com",
       "AWS Internal", "9.9.9.9", "",
       # IPv6 in and out of 2001:db8::/32, upper case, compressed differently; edges of 198.51.100.0/24;
       # an IPv4-mapped IPv6 address; things that are not addresses
       "2001:db8:abcd::5", "2001:DB8::1", "2001:0db8:0000::0001", "2600:1f18::7", "2001:db9::1", "::ffff:198.51.100.7",
       "198.51.100.0", "198.51.100.255", "198.51.101.1", "198.51.99.255", "10.0.0.256", "198.51.100.7 ", "::1"]
USERS = ["alice", "bob", "carol"]
KEYS = ["AKIAALICEEXAMPLE0001", "AKIABOBEXAMPLE000001", "ASIASESSIONEXAMPLE01", "ASIASESSIONEXAMPLE02"]
VPCES = ["vpce-0a1b2c3d4e5f60718", "vpce-0f9e8d7c6b5a40312", "vpce-0a1b2c3d4e5f60718", "", 5, None]
CATEGORIES = ["Management"] * 6 + ["Data"] * 3 + ["NetworkActivity"] * 2 + ["Insight", "management", "", None, 3, "ABSENT"]
READ_ONLY = [True, True, False, False, "true", "false", "TRUE", "False", "yes", 1, 0, None, "", "ABSENT", "ABSENT"]
MFA = ["Yes", "Yes", "No", "No", "YES", "no", True, False, "maybe", "", None, 1, "ABSENT"]
ERRORS = [("AccessDenied", "Access Denied"), ("AccessDenied", None), ("AccessDenied", ""),
          ("ThrottlingException", "Rate exceeded"), ("NoSuchBucket", "The specified bucket does not exist"),
          ("VpceAccessDenied", "The request was denied due to a VPC endpoint policy"),
          ("Client.UnauthorizedOperation", "You are not authorized\n\u001b[2Jto perform this operation."),
          ("", "empty code is no error"), (None, "message without code")]
NAMES = {
    "sts.amazonaws.com": ["GetCallerIdentity", "AssumeRole", "AssumeRoleWithWebIdentity", "GetSessionToken"],
    "s3.amazonaws.com": ["GetObject", "PutObject", "HeadObject", "ListObjects", "DeleteObject", "GetBucketAcl"],
    "iam.amazonaws.com": ["ListUsers", "CreateAccessKey", "GetAccountSummary"],
    "signin.amazonaws.com": ["ConsoleLogin"],
    "ec2.amazonaws.com": ["DescribeInstances", "RunInstances"],
    "kms.amazonaws.com": ["Decrypt", "GenerateDataKey"],
}
SOURCES = list(NAMES)


class Gen:
    def __init__(self, seed, out):
        self.r = random.Random(seed)
        self.out = Path(out)
        self.dups = []  # events to deliver twice

    # ------------------------------------------------------------- pieces
    def pick(self, seq):
        return self.r.choice(seq)

    def chance(self, p):
        return self.r.random() < p

    def uid(self):
        return str(uuid.UUID(int=self.r.getrandbits(128), version=4))

    def time_text(self, dt, layout):
        """eventTime in one of the forms seen in the wild, sometimes unreadable."""
        roll = self.r.random()
        if roll < 0.70:
            return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        # Fractions are zero here: how two events of the same second with different fractions
        # are ordered is checked on its own (reference.rs, details_order_within_one_second).
        if roll < 0.76:
            return dt.strftime("%Y-%m-%dT%H:%M:%S.") + self.pick(["000", "0", "000000000"]) + "Z"
        if roll < 0.82:
            return dt.strftime("%Y-%m-%d %H:%M:%S") + self.pick([".000", "", ".000000000", ".0"])
        if roll < 0.88 and not layout:
            off = self.pick([2, -5, 10, 0])
            local = dt + timedelta(hours=off)
            sign = "+" if off >= 0 else "-"
            return local.strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}{abs(off):02d}:00"
        if roll < 0.92:
            return self.pick([None, 1725539696, "", "yesterday", "2024-13-45T99:99:99Z",
                              "2024/09/05 12:00:00", {"t": 1}])
        return dt.strftime("%Y-%m-%dT%H:%M:%SZ")

    def identity(self):
        acct = self.pick(ACCOUNTS)
        roll = self.r.random()
        if roll < 0.30:
            name = self.pick(USERS)
            ident = {"type": "IAMUser", "principalId": "AIDAEXAMPLE" + self.pick("ABC"),
                     "arn": f"arn:aws:iam::{acct}:user/{self.pick(['', '', 'ops/'])}{name}", "accountId": acct,
                     "accessKeyId": self.pick(KEYS[:2] + ["", 7]), "userName": name}
            roll = self.r.random()
            if roll < 0.15:
                del ident["userName"]  # --user still finds it through the arn
            elif roll < 0.25:
                ident["userName"] = self.pick(["", 12, None, "dave"])
            elif roll < 0.30:
                del ident["arn"]
            if self.chance(0.2):
                del ident["accessKeyId"]
            return ident
        if roll < 0.45:
            ident = {"type": "Root", "principalId": acct, "arn": f"arn:aws:iam::{acct}:root", "accountId": acct}
            if self.chance(0.3):
                ident["invokedBy"] = self.pick(["support.amazonaws.com", "health.amazonaws.com", "", 7])
            if self.chance(0.1):
                del ident["arn"]
            return ident
        if roll < 0.55:
            return {"type": "AWSService", "invokedBy": self.pick(["ec2.amazonaws.com", "lambda.amazonaws.com", "cloudtrail.amazonaws.com"])}
        if roll < 0.62:
            return {"type": "AWSAccount", "principalId": "AIDAEXTERNAL" + self.pick("XY"), "accountId": acct}
        if roll < 0.68:
            return {"type": "AWSAccount", "principalId": "", "accountId": self.pick([acct, "anonymous"])}
        if roll < 0.72:
            return {"type": self.pick(["Unknown", "SAMLUser", "WebIdentityUser"])}
        if roll < 0.75:
            return {"type": "Root", "arn": 12345, "principalId": None, "accountId": acct}
        if roll < 0.78:
            return {}
        if roll < 0.81:
            return self.pick([None, "root", ["Root"], 3])
        if roll < 0.84:
            return "ABSENT"
        role = self.pick(["app", "etl", "ci"])
        session = self.pick(["sess", "alice", "i-0abc", "bob@example.com"])
        issuer = {"type": "Role", "arn": f"arn:aws:iam::{acct}:role/{role}"}
        if self.chance(0.8):
            issuer["userName"] = self.pick([role, role, "", 4])
        ident = {"type": "AssumedRole", "principalId": f"AROAEXAMPLE:{session}", "arn": f"arn:aws:sts::{acct}:assumed-role/{role}/{session}",
                 "accountId": acct, "accessKeyId": self.pick(KEYS[2:] + [""]),
                 "sessionContext": self.pick([{"sessionIssuer": issuer}, {"sessionIssuer": issuer}, {"sessionIssuer": "app"}, "x", {}])}
        if self.chance(0.1):
            ident["arn"] = f"arn:aws:sts::{acct}:assumed-role/{role}/"  # ends with '/'
        return ident

    def request_and_resources(self, source):
        req, res = None, "ABSENT"
        if source == "s3.amazonaws.com" or self.chance(0.05):
            bucket = self.pick([BUCKET, BUCKET, BUCKET, "prod-data-archive", "PROD-DATA", "prod-datax", "other", "", 5])
            req = {"bucketName": bucket, "Host": "s3.amazonaws.com"}
            if self.chance(0.7):
                req["key"] = self.pick(["some/key", "a/b/c.txt", "", "k\u001b[1mbold", 42, None, "日本/ファイル"])
            if self.chance(0.6):
                res = [{"type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}]
            if self.chance(0.5):
                res = res if isinstance(res, list) else []
                res.append({"type": "AWS::S3::Object", "ARN": self.pick([
                    "arn:aws:s3:::prod-data", "arn:aws:s3:::prod-data/", "arn:aws:s3:::prod-data/x/y", "arn:aws:s3:::prod-data-archive/x",
                    "arn:aws:s3:::prod-datax", "arn:aws:s3:::PROD-DATA/x", "arn:aws:s3:::other/prod-data", "arn:aws:s3:::prod-data", 99, None])})
            roll = self.r.random()
            if roll < 0.06:
                req = self.pick(["bucketName=prod-data", None, [{"bucketName": BUCKET}], 1])
            elif roll < 0.10:
                res = {"ARN": "arn:aws:s3:::prod-data"}
            elif roll < 0.13:
                res = ["arn:aws:s3:::prod-data", None, {"arn": "arn:aws:s3:::prod-data"}, {"ARN": "arn:aws:s3:::prod-data/k"}]
            elif roll < 0.16:
                req = {"bucketName": {"name": BUCKET}}
        elif self.chance(0.2):
            req = self.pick([None, "string", [1, 2], {"roleArn": "arn:aws:iam::1:role/x"}])
        return req, res

    def event(self, dt, layout, account=None, region=None):
        source = self.pick(SOURCES + ["sts.amazonaws.com"] * 3 + ["s3.amazonaws.com"] * 2)
        e = {"eventVersion": self.pick(["1.08", "1.09", "1.10"])}
        ident = self.identity()
        if ident != "ABSENT":
            e["userIdentity"] = ident
        e["eventTime"] = self.time_text(dt, layout)
        e["eventSource"] = source if not self.chance(0.02) else self.pick(["STS.amazonaws.com", 4, None])
        name = self.pick(NAMES[source])
        if self.chance(0.03):
            name = self.pick([None, "", 17])
        e["eventName"] = name
        e["awsRegion"] = region or self.pick(REGIONS)
        if self.chance(0.03):
            e["awsRegion"] = self.pick(["global", None, "", 1])
        if self.chance(0.85):
            e["sourceIPAddress"] = self.pick(IPS)
        if self.chance(0.85):
            e["userAgent"] = self.pick(AGENTS) if self.chance(0.85) else self.pick(HOSTILE)
        if self.chance(0.3):
            code, msg = self.pick(ERRORS)
            if self.chance(0.1):
                msg = self.pick(HOSTILE)
            if code is not None:
                e["errorCode"] = code if not self.chance(0.03) else 403
            if msg is not None:
                e["errorMessage"] = msg
        req, res = self.request_and_resources(source)
        e["requestParameters"] = req
        e["responseElements"] = self.pick([None, {"ok": True}, "x"])
        if name == "ConsoleLogin" or self.chance(0.02):
            # console sign-ins: the result and MFAUsed as real logs (and odd ones) write them
            result = self.pick(["Success", "Success", "Failure", "failure", "", 1, None, "ABSENT"])
            if result == "ABSENT":
                e["responseElements"] = self.pick([None, "Success", {}])
            else:
                e["responseElements"] = {"ConsoleLogin": result}
            if result == "Failure" and "errorMessage" not in e:
                e["errorMessage"] = self.pick(["Failed authentication", "No username found in supplied account"])
            mfa = self.pick(MFA)
            extra = {"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No"}
            if mfa != "ABSENT":
                extra["MFAUsed"] = mfa
            e["additionalEventData"] = self.pick([extra, extra, extra, "MFAUsed=Yes", None])
        e["requestID"] = self.uid()
        if self.chance(0.93):
            e["eventID"] = self.uid() if self.chance(0.97) else self.pick(["", 5, None, "SAME-ID"])
        ro = self.pick(READ_ONLY)
        if ro != "ABSENT":
            e["readOnly"] = ro
        if res != "ABSENT":
            e["resources"] = res
        e["eventType"] = self.pick(["AwsApiCall"] * 8 + ["AwsConsoleSignIn", "AwsServiceEvent"])
        cat = self.pick(CATEGORIES)
        if cat != "ABSENT":
            e["eventCategory"] = cat
        if cat == "NetworkActivity" or self.chance(0.08):
            # network activity: sometimes only the eventType says so
            if self.chance(0.3):
                e["eventType"] = self.pick(["AwsVpceEvent", "AwsVpceEvents"])
            e["vpcEndpointId"] = self.pick(VPCES)
            if self.chance(0.4):
                e["errorCode"] = "VpceAccessDenied"
                e["errorMessage"] = "The request was denied due to a VPC endpoint policy"
        elif cat != "NetworkActivity" and self.chance(0.03):
            e["eventType"] = self.pick(["AwsVpceEvent", "AwsVpceEvents", "awsvpceevent"])
            e["vpcEndpointId"] = self.pick(VPCES)
        e["recipientAccountId"] = account or self.pick(ACCOUNTS)
        if self.chance(0.03):
            e["recipientAccountId"] = self.pick([None, 111111111111, ""])
        if self.chance(0.8):
            roll = self.r.random()
            if roll < 0.85:
                host = self.pick(HOSTS) if source == "sts.amazonaws.com" else f"{source.split('.')[0]}.us-east-1.amazonaws.com"
                e["tlsDetails"] = {"tlsVersion": "TLSv1.3", "clientProvidedHostHeader": host}
            elif roll < 0.92:
                e["tlsDetails"] = self.pick(["TLSv1.2", None, ["sts.amazonaws.com"], {}])
            else:
                e["tlsDetails"] = {"clientProvidedHostHeader": self.pick([None, 12, {"h": "sts.amazonaws.com"}])}
        return e

    def events(self, n, start, end, layout, account=None, region=None):
        span = int((end - start).total_seconds())
        out = []
        tie_time = None
        for _ in range(n):
            if tie_time is not None and self.chance(0.15):
                dt = tie_time  # several events in the same second
            else:
                dt = start + timedelta(seconds=self.r.randrange(max(span, 1)))
                tie_time = dt
            if out and self.chance(0.04):
                # an exact duplicate (CloudTrail sometimes delivers an event twice)
                out.append(dict(self.pick(out)))
            elif not layout and self.dups and self.chance(0.04):
                # outside the layout, a duplicate of an event from another file
                out.append(dict(self.pick(self.dups)))
            else:
                out.append(self.event(dt, layout, account, region))
                if self.chance(0.05):
                    self.dups.append(out[-1])
        return out

    # -------------------------------------------------------------- files
    def write(self, rel, data, gz):
        p = self.out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            data = data.encode("utf-8")
        if gz:
            data = gzip.compress(data, compresslevel=6, mtime=0)
        p.write_bytes(data)

    def dumps(self, v):
        return json.dumps(v, ensure_ascii=self.chance(0.5), separators=self.pick([(",", ":"), (", ", ": ")]))

    def rand16(self):
        return "".join(self.pick("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(16))

    def layout_tree(self, prefix, org):
        """A trail tree: files delivered during DAYS days, each holding events
        from the hour before delivery (some straddle midnight)."""
        for account in ACCOUNTS[:3]:
            base = f"{prefix}/AWSLogs/{org + '/' if org else ''}{account}"
            for region in REGIONS[:3]:
                for _ in range(self.r.randrange(3, 7)):
                    day = self.r.randrange(DAYS)
                    if self.chance(0.25):
                        minute = self.r.randrange(0, 10)  # just after midnight
                        delivered = DAY0 + timedelta(days=day, minutes=minute)
                    else:
                        delivered = DAY0 + timedelta(days=day, seconds=self.r.randrange(86400))
                    delivered = delivered.replace(second=0)
                    folder = self.pick(["CloudTrail"] * 6 + ["CloudTrail-NetworkActivity", "CloudTrail-Insight"])
                    kind = folder
                    name = f"{account}_{kind}_{region}_{delivered:%Y%m%dT%H%MZ}_{self.rand16()}.json"
                    rel = f"{base}/{folder}/{region}/{delivered:%Y/%m/%d}/{name}"
                    evs = self.events(self.r.randrange(0, 12), delivered - timedelta(minutes=59), delivered, True, account, region)
                    gz = self.chance(0.8)
                    self.write(rel + (".gz" if gz else ""), self.dumps({"Records": evs}), gz)
                # digests: ignored, even one that holds events
                d = DAY0 + timedelta(days=self.r.randrange(DAYS), hours=1)
                dig = f"{base}/CloudTrail-Digest/{region}/{d:%Y/%m/%d}/{account}_CloudTrail-Digest_{region}_trail_{region}_{d:%Y%m%dT%H%M%SZ}.json"
                self.write(dig + ".gz", self.dumps({"awsAccountId": account, "digestStartTime": "2024-09-03T00:00:00Z", "digestEndTime": "2024-09-03T01:00:00Z",
                                                   "digestS3Bucket": "b", "digestS3Object": dig, "logFiles": [],
                                                   "previousDigestSignature": None}), True)
                if self.chance(0.3):
                    evs = self.events(3, d - timedelta(minutes=30), d, True, account, region)
                    self.write(dig.replace("_trail_", "_events_"), self.dumps({"Records": evs}), False)

    def loose_files(self):
        """Files outside the layout: every shape, any event times."""
        start, end = DAY0 - timedelta(hours=6), DAY0 + timedelta(days=DAYS, hours=6)
        for i in range(self.r.randrange(8, 14)):
            evs = self.events(self.r.randrange(1, 15), start, end, False)
            shape = self.pick(["records", "array", "single", "ndjson", "concat", "lookup", "pretty-array", "pretty-records", "pretty-stream"])
            if shape == "records":
                text, ext = self.dumps({"Records": evs}), ".json"
            elif shape == "array":
                text, ext = self.dumps(evs), ".json"
            elif shape == "pretty-array":
                text, ext = json.dumps(evs, indent=self.pick([1, 2, 4, "\t"]), ensure_ascii=self.chance(0.5)), ".json"
            elif shape == "pretty-records":
                text, ext = json.dumps({"Records": evs}, indent=2, ensure_ascii=self.chance(0.5)).replace("\n", self.pick(["\n", "\r\n"])), ".json"
            elif shape == "pretty-stream":
                # what `jq '.Records[]'` writes: pretty-printed events one after another
                text, ext = "\n".join(json.dumps(e, indent=2, ensure_ascii=False) for e in evs) + "\n", self.pick([".json", ".jsonl"])
            elif shape == "single":
                text, ext = self.dumps(evs[0]), ".json"
            elif shape == "ndjson":
                text = "\n".join(json.dumps(e) for e in evs) + self.pick(["\n", "", "\n\n"])
                ext = self.pick([".jsonl", ".ndjson"])
            elif shape == "concat":
                text, ext = "".join(json.dumps(e) for e in evs), ".json"
            else:
                text = self.dumps({"Events": [{"EventId": self.uid(), "EventName": "x", "ReadOnly": "true", "EventTime": "2024-09-05T10:00:00-07:00",
                                               "EventSource": "sts.amazonaws.com", "Resources": [],
                                               "CloudTrailEvent": json.dumps(e) if self.chance(0.85) else json.dumps(e, indent=2)} for e in evs]})
                ext = ".json"
            gz = self.chance(0.4)
            # folders that look like dates but are not the trail layout: nothing may be pruned here
            folder = self.pick(["loose", "loose/2024/09/01", "exports/AWSLogs-copy/2024/08/30", "loose/deep/er"])
            self.write(f"{folder}/f{i:02d}{ext}{'.gz' if gz else ''}", text, gz)
        # gzip decided by magic bytes, not by name
        evs = self.events(4, start, end, False)
        self.write("loose/named-gz-but-plain.json.gz", self.dumps({"Records": evs}), False)
        evs = self.events(4, start, end, False)
        self.write("loose/named-plain-but-gz.json", self.dumps(evs), True)
        # names a directory walk must ignore (hold events that would change the reports)
        evs = self.events(6, start, end, False)
        for name in ["ignored.txt", "ignored.json.bak", "ignored.csv", "ignored.gz", "README"]:
            if self.chance(0.6):
                self.write(f"loose/{name}", self.dumps({"Records": evs}), False)
        # an empty Records file and an empty array: zero events, not errors
        self.write("loose/empty-records.json", '{"Records": []}', False)
        if self.chance(0.5):
            self.write("loose/empty-array.json", "[]", self.chance(0.5))

    def bad_files(self):
        """Each of these is a skipped input (named on stderr, exit 3)."""
        evs = self.events(5, DAY0, DAY0 + timedelta(days=DAYS), False)
        good = gzip.compress(json.dumps({"Records": evs}).encode(), mtime=0)
        bad = {
            "bad/truncated.json.gz": good[: len(good) // 2],
            "bad/invalid.json": b'{"Records": [{"eventVersion": "1.08", "eventTime": ',
            "bad/invalid-line.jsonl": (json.dumps(evs[0]) + "\n{not json}\n" + json.dumps(evs[1]) + "\n").encode(),
            "bad/digest-outside-folder.json": json.dumps({"awsAccountId": "111111111111", "digestStartTime": "2024-09-05T00:00:00Z",
                                                          "digestEndTime": "2024-09-05T01:00:00Z", "logFiles": []}).encode(),
            "bad/cloudwatch-envelope.json": json.dumps({"messageType": "DATA_MESSAGE", "owner": "111111111111", "logGroup": "g",
                                                        "logEvents": [{"id": "1", "timestamp": 1, "message": json.dumps(evs[0])}]}).encode(),
            "bad/config.json": b'{"region": "us-east-1", "output": "json"}',
            "bad/number.json": b"42",
            "bad/string.ndjson": b'"just a string"\n',
        }
        for rel, data in sorted(bad.items()):
            if self.chance(0.6):
                p = self.out / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data)

    def run(self):
        self.layout_tree("trails", None)
        self.layout_tree("org/nested/deeper", "o-a1b2c3d4e5")
        self.loose_files()
        if self.chance(0.7):
            self.bad_files()


def main():
    if len(sys.argv) != 3:
        print("usage: gen_corpus.py SEED OUTDIR", file=sys.stderr)
        sys.exit(2)
    Gen(int(sys.argv[1]), sys.argv[2]).run()


if __name__ == "__main__":
    main()
