#!/usr/bin/env python3
"""Writes the CloudTrail trail files of tests/detect/correlation: events/cNN-*.json, one file
per case of rules/ (README.md lists the cases and the firings each one must give).
Deterministic: the same files every run.

    python3 tests/detect/correlation/make_events.py

Each case has its own day (2025-03-NN for case cNN; c20's day-long window also uses
2025-04-01..04) and its own API calls, so the rules of one case never see the events of another.
Every event is given its time explicitly; a comment says what it does to the correlation
(`-> fires` marks the event completing a firing). Addresses are documentation addresses
(192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24), accounts the documentation accounts
111122223333 and 444455556666.
"""

import importlib.util
import json
import os
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ACCOUNT = "111122223333"
NS = uuid.UUID("3b0f5d1e-8a52-4c0e-b7a4-2f5e9c61d0a7")
CLI = "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79-99.167.amzn2023.x86_64 exe/x86_64.amzn.2023 prompt/off"
CONSOLE = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
BOTO = "Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#6.1.79 md/arch#x86_64 lang/python#3.11.8 cfg/retry-mode#legacy Botocore/1.34.84"
NO_ID = object()  # add(..., event_id=NO_ID): the event has no eventID
_spec = importlib.util.spec_from_file_location(
    "features_make_events", os.path.join(HERE, "..", "features", "make_events.py"))
FEATURES = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(FEATURES)


class Events:
    """One trail file's events, in the order they are added (not necessarily time order)."""

    def __init__(self, name, day):
        self.name = name
        self.day = day
        self.records = []

    def add(self, at, e, event_id=None, time_text=None):
        """at: "HH:MM:SS" on the case's day, a whole RFC 3339 time, or None (no eventTime);
        time_text: an eventTime written as it is (an unreadable one)."""
        key = f"{self.name}/{len(self.records)}"
        if time_text is not None:
            e["eventTime"] = time_text
        elif at is not None:
            e["eventTime"] = at if "T" in at else f"{self.day}T{at}Z"
        if event_id is not NO_ID:
            e["eventID"] = event_id or str(uuid.uuid5(NS, key))
        e["requestID"] = str(uuid.uuid5(NS, key + "/request"))
        self.records.append(order(e))


FIELD_ORDER = ["eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
               "sourceIPAddress", "userAgent", "errorCode", "errorMessage", "requestParameters",
               "responseElements", "additionalEventData", "requestID", "eventID", "readOnly",
               "resources", "eventType", "managementEvent", "recipientAccountId", "eventCategory"]


def order(e):
    out = {k: e[k] for k in FIELD_ORDER if k in e}
    out.update({k: v for k, v in e.items() if k not in out})
    return out


# ------------------------------------------------------------------ identities

def user(name, account=ACCOUNT):
    return {"type": "IAMUser", "principalId": "AIDA" + uuid.uuid5(NS, name).hex[:17].upper(),
            "arn": f"arn:aws:iam::{account}:user/{name}", "accountId": account,
            "accessKeyId": "AKIA" + uuid.uuid5(NS, name + "/key").hex[:16].upper(), "userName": name}


def role(role_name, session, account=ACCOUNT):
    rid = "AROA" + uuid.uuid5(NS, role_name).hex[:17].upper()
    return {"type": "AssumedRole", "principalId": f"{rid}:{session}",
            "arn": f"arn:aws:sts::{account}:assumed-role/{role_name}/{session}", "accountId": account,
            "accessKeyId": "ASIA" + uuid.uuid5(NS, session).hex[:16].upper(),
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": rid,
                                                 "arn": f"arn:aws:iam::{account}:role/{role_name}",
                                                 "accountId": account, "userName": role_name},
                               "webIdFederationData": {},
                               "attributes": {"creationDate": "2025-03-01T07:40:00Z", "mfaAuthenticated": "false"}}}


def aws_service(name):
    return {"type": "AWSService", "invokedBy": name}


ALICE, BOB, CAROL, DAVE = user("alice"), user("bob"), user("carol"), user("dave")
ADMIN = user("admin")
OPS = role("OpsRole", "ops-session")


# ------------------------------------------------------------------ events

def ev(name, source, who, **kw):
    """An API call by `who`: the features' event maker (tests/detect/features/make_events.py),
    which this corpus shares."""
    return FEATURES.ev(name, source, ident=who, **kw)


def console_login(who, result, ip="203.0.113.7"):
    e = ev("ConsoleLogin", "signin.amazonaws.com", who, ip=ip, ua=CONSOLE,
           resp={"ConsoleLogin": result},
           additionalEventData={"LoginTo": "https://console.aws.amazon.com/console/home",
                                "MobileVersion": "No", "MFAUsed": "No"},
           message="Failed authentication" if result == "Failure" else None)
    e["eventVersion"] = "1.08"
    e["eventType"] = "AwsConsoleSignIn"
    return e


def iam(name, who, params, resp=None):
    return ev(name, "iam.amazonaws.com", who, params=params, resp=resp)


def ec2(name, who, params, resp=None, read_only=False):
    return ev(name, "ec2.amazonaws.com", who, params=params, read_only=read_only,
              resp=resp if resp is not None else {"requestId": str(uuid.uuid5(NS, repr(params))), "_return": True})


def s3(name, bucket, who, params=None, resp=None, ip="198.51.100.23"):
    p = {"bucketName": bucket, "Host": f"{bucket}.s3.us-east-1.amazonaws.com"}
    p.update(params or {})
    return ev(name, "s3.amazonaws.com", who, params=p, resp=resp, ip=ip, ua=BOTO,
              resources=[{"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}])


def get_object(bucket, key, who):
    params = {"bucketName": bucket, "Host": f"{bucket}.s3.us-east-1.amazonaws.com"}
    res = [{"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}]
    if key is not None:
        params["key"] = key
        res.insert(0, {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"})
    e = ev("GetObject", "s3.amazonaws.com", who, params=params, ip="198.51.100.23", ua=BOTO,
           read_only=True, category="Data", resources=res,
           additionalEventData={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
                                "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader",
                                "bytesTransferredOut": 2048})
    e["eventVersion"] = "1.10"
    return e


def kms_decrypt(who, key_id):
    arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}"
    e = ev("Decrypt", "kms.amazonaws.com", who, params={"encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
           read_only=True, resources=[{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": arn}],
           ip=who.get("invokedBy", "192.0.2.10"), ua=who.get("invokedBy", CLI))
    return e


def assume_role(who, duration):
    params = {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/DeployRole", "roleSessionName": "deploy"}
    if duration is not ...:
        params["durationSeconds"] = duration
    return ev("AssumeRole", "sts.amazonaws.com", who, params=params, read_only=True,
              resp={"assumedRoleUser": {"assumedRoleId": "AROAEXAMPLEDEPLOY:deploy",
                                        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/DeployRole/deploy"}},
              resources=[{"accountId": ACCOUNT, "type": "AWS::IAM::Role",
                          "ARN": f"arn:aws:iam::{ACCOUNT}:role/DeployRole"}])


def logs(name, who, group, **params):
    p = {"logGroupName": group}
    p.update(params)
    return ev(name, "logs.amazonaws.com", who, params=p)


# ================================================================== the cases

def c01(E):
    # event_count gte 3 per userIdentity.arn within 10m: failed console logins
    E.add("10:00:00", console_login(ALICE, "Failure"))   # alice 1
    E.add("10:01:00", console_login(BOB, "Failure"))     # bob 1
    E.add("10:03:00", console_login(ALICE, "Failure"))   # alice 2
    E.add("10:05:00", console_login(BOB, "Failure"))     # bob 2
    E.add("10:06:00", console_login(ALICE, "Success"))   # not a failure
    E.add("10:07:00", console_login(ALICE, "Failure"))   # alice 3 -> fires
    E.add("10:12:00", console_login(BOB, "Failure"))     # bob: 10:01 dropped (older than 10:02), 2


def c02(E):
    # event_count gte 3 within 5m, no group-by: snapshots deleted by anyone
    snap = lambda n: {"snapshotId": f"snap-0{n}1234567890abcdef"}
    E.add("10:00:00", ec2("DeleteSnapshot", ALICE, snap(1)))    # 1
    E.add("10:01:00", ec2("CreateSnapshot", ALICE, {"volumeId": "vol-0abc1234def567890"}))  # not a delete
    E.add("10:02:00", ec2("DeleteSnapshot", BOB, snap(2)))      # 2
    E.add("10:04:00", ec2("DeleteSnapshot", OPS, snap(3)))      # 3 -> fires (OpsRole)
    E.add("10:20:00", ec2("DeleteSnapshot", ALICE, snap(4)))    # 1
    E.add("10:30:00", ec2("DeleteSnapshot", ALICE, snap(5)))    # 10:20 dropped: 1


def c03(E):
    # C03a event_count gt 2, lte 4 per arn within 1h; C03b eq 2 per arn within 1h
    pw = lambda n: {"instanceId": f"i-0{n}abcd1234efgh5678"}
    E.add("10:00:00", ec2("GetPasswordData", ALICE, pw(1), resp={}, read_only=True))  # alice: a 1; b 1
    E.add("10:05:00", ec2("GetPasswordData", BOB, pw(2), resp={}, read_only=True))    # bob: a 1; b 1
    E.add("10:10:00", ec2("GetPasswordData", ALICE, pw(3), resp={}, read_only=True))  # alice: a 2; b 2 -> fires
    E.add("10:15:00", ec2("GetPasswordData", BOB, pw(4), resp={}, read_only=True))    # bob: a 2; b 2 -> fires
    E.add("10:20:00", ec2("GetPasswordData", ALICE, pw(5), resp={}, read_only=True))  # alice: a 3 -> fires; b 1
    E.add("10:30:00", ec2("GetPasswordData", ALICE, pw(6), resp={}, read_only=True))  # alice: a 1; b 2 -> fires
    E.add("10:31:00", ec2("DescribeInstances", ALICE, {"instancesSet": {}}, read_only=True))  # other call


def c04(E):
    # event_count lt 2 within 1h, no group-by: every event fires (the window is empty before each)
    fl = lambda n: {"DeleteFlowLogsRequest": {"FlowLogId": {"tag": 1, "content": f"fl-0{n}23456789abcdef0"}}}
    E.add("10:00:00", ec2("DeleteFlowLogs", ALICE, fl(1)))   # 1 -> fires
    E.add("10:10:00", ec2("DeleteFlowLogs", ALICE, fl(2)))   # 1 -> fires
    E.add("10:20:00", ec2("DeleteFlowLogs", BOB, fl(3)))     # 1 -> fires
    E.add("10:25:00", ec2("DescribeFlowLogs", BOB, {}, read_only=True))  # other call


def c05(E):
    # value_count of requestParameters.secretId gte 3 per arn within 10m
    def secret(who, sid):
        params = {"secretId": sid} if sid is not None else {"versionStage": "AWSCURRENT"}
        return ev("GetSecretValue", "secretsmanager.amazonaws.com", who, params=params, read_only=True)
    E.add("10:00:00", secret(ALICE, "prod/api-key"))     # alice {api-key}
    E.add("10:00:00", secret(BOB, "prod/api-key"))       # bob {api-key}
    E.add("10:00:00", secret(CAROL, "prod/db"))          # carol {prod/db}
    E.add("10:01:00", secret(ALICE, "prod/api-key"))     # alice, same value: 1
    E.add("10:01:00", secret(CAROL, "Prod/DB"))          # carol 2 (case-sensitive)
    E.add("10:02:00", secret(ALICE, "prod/db"))          # alice 2
    E.add("10:02:00", secret(CAROL, "PROD/DB"))          # carol 3 -> fires
    E.add("10:03:00", secret(ALICE, "prod/db"))          # alice 2
    E.add("10:04:00", secret(ALICE, None))               # alice, no secretId: no value, 2
    E.add("10:05:00", secret(ALICE, "prod/signing-key"))  # alice 3 -> fires
    E.add("10:06:00", secret(ALICE, "prod/oauth"))       # alice 1 (window emptied)
    E.add("10:20:00", secret(BOB, "prod/db"))            # bob: api-key dropped, 1
    E.add("10:25:00", secret(BOB, "prod/signing-key"))   # bob 2
    E.add("10:26:00", ev("ListSecrets", "secretsmanager.amazonaws.com", BOB, params={}, read_only=True))  # other call


def c06(E):
    # value_count of (bucketName, key) gte 3 per arn within 1h
    E.add("10:00:00", get_object("finance-reports", "q1.csv", ALICE))   # alice 1
    E.add("10:00:00", get_object("finance-reports", "q1.csv", BOB))     # bob 1
    E.add("10:05:00", get_object("finance-reports", "q1.csv", ALICE))   # alice, same pair: 1
    E.add("10:05:00", get_object("finance-reports", None, BOB))         # bob, no key: no value, 1
    E.add("10:10:00", get_object("hr-reports", "q1.csv", ALICE))        # alice 2 (same key, other bucket)
    E.add("10:10:00", get_object("hr-reports", "q2.csv", BOB))          # bob 2
    e = get_object("finance-reports", "q2.csv", ALICE)
    e["eventName"] = "HeadObject"
    E.add("10:12:00", e)                                                 # not GetObject
    E.add("10:15:00", get_object("finance-reports", "q2.csv", ALICE))   # alice 3 -> fires


def c07(E):
    # temporal of CreateUser, CreateAccessKey, AttachUserPolicy per requestParameters.userName within 15m
    def create_user(n):
        return iam("CreateUser", ADMIN, {"userName": n},
                   resp={"user": {"path": "/", "userName": n, "arn": f"arn:aws:iam::{ACCOUNT}:user/{n}",
                                  "createDate": "Mar 7, 2025, 10:00:00 AM"}})

    def access_key(n):
        return iam("CreateAccessKey", ADMIN if n else ALICE, {"userName": n} if n else None,
                   resp={"accessKey": {"userName": n or "alice", "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
                                       "status": "Active", "createDate": "Mar 7, 2025, 10:10:00 AM"}})

    def attach(n):
        return iam("AttachUserPolicy", ADMIN, {"userName": n, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})
    E.add("10:00:00", create_user("svc-backup"))     # svc-backup {CreateUser}
    E.add("10:05:00", attach("svc-backup"))          # {CreateUser, Attach}
    E.add("10:07:00", iam("ListAttachedUserPolicies", ADMIN, {"userName": "svc-backup"}))  # other call
    E.add("10:10:00", access_key("svc-backup"))      # all three -> fires
    E.add("11:00:00", create_user("tmp-user"))       # tmp-user {CreateUser}
    E.add("11:05:00", access_key("tmp-user"))        # 2
    E.add("11:16:00", attach("tmp-user"))            # CreateUser (11:00) dropped: 2
    E.add("12:00:00", access_key(None))              # alice's own key: requestParameters null, group null, 1


def c08(E):
    # temporal gte 2 over three rules within 30m, no group-by
    E.add("10:00:00", ev("DeleteDetector", "guardduty.amazonaws.com", OPS,
                         params={"detectorId": "12abc34d567e8fa901bc2d34eexample"}, resp=None))  # {Detector}
    E.add("10:03:00", ev("GetDetector", "guardduty.amazonaws.com", OPS,
                         params={"detectorId": "12abc34d567e8fa901bc2d34eexample"}, read_only=True))  # other call
    E.add("10:05:00", ev("DeleteDetector", "guardduty.amazonaws.com", OPS,
                         params={"detectorId": "98fed76c543b2a109fe8d7c6bexample"}, resp=None))  # same rule: 1
    E.add("10:10:00", ev("DisableSecurityHub", "securityhub.amazonaws.com", OPS, params={}))  # 2 -> fires
    E.add("10:15:00", ev("DeleteConfigurationRecorder", "config.amazonaws.com", OPS,
                         params={"configurationRecorderName": "default"}))  # 1 (window emptied)
    E.add("10:50:00", ev("DisableSecurityHub", "securityhub.amazonaws.com", OPS, params={}))  # 10:15 dropped: 1


def c09(E):
    # temporal_ordered per bucket within 1h: C09a [public access block deleted, policy put],
    # C09b the same two rules in the other order
    unblock = lambda b: s3("DeleteBucketPublicAccessBlock", b, ALICE, {"publicAccessBlock": ""})
    policy = lambda b: s3("PutBucketPolicy", b, ALICE, {"bucketPolicy": {
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                "Resource": f"arn:aws:s3:::{b}/*"}]}, "policy": ""})
    E.add("10:00:00", unblock("corp-reports"))   # a: 0 (no policy after); b: 0
    E.add("10:05:00", s3("GetBucketPolicy", "corp-reports", ALICE, {"policy": ""}))  # other call
    E.add("10:10:00", policy("corp-reports"))    # a: unblock 10:00 then policy 10:10 -> fires; b: 0
    E.add("11:00:00", policy("corp-archive"))    # a: 0; b: 0
    E.add("11:05:00", unblock("corp-archive"))   # a: no policy at or after 11:05, 0; b: policy 11:00 then unblock 11:05 -> fires
    E.add("11:20:00", policy("corp-archive"))    # a: unblock 11:05 then policy 11:20 -> fires; b: 0 (window held policy 11:20 only)


def c10(E):
    # temporal_ordered [login profile created, console login] per user (aliases) within 1h
    profile = lambda n: iam("CreateLoginProfile", ADMIN, {"userName": n, "passwordResetRequired": True},
                            resp={"loginProfile": {"userName": n, "createDate": "Mar 10, 2025, 10:00:00 AM",
                                                   "passwordResetRequired": True}})
    E.add("10:00:00", profile("dave"))                        # dave {profile}
    E.add("10:01:00", console_login(ADMIN, "Success"))        # admin {login}: 0 (no profile created for admin)
    E.add("10:05:00", profile("erin"))                        # erin {profile}
    E.add("10:20:00", console_login(DAVE, "Success"))         # dave: profile 10:00 then login 10:20 -> fires
    E.add("10:30:00", console_login(user("frank"), "Success"))  # frank {login}: 0
    E.add("12:00:00", console_login(user("erin"), "Success"))   # erin: profile (10:05) dropped: 0


def c11(E):
    # three event_count gte 2 per arn within 10m: C11a generate true (top level),
    # C11b generate false, C11c generate true inside correlation
    sg = lambda port: ec2("AuthorizeSecurityGroupIngress", ALICE if port != 3389 else BOB,
                          {"groupId": "sg-0123456789abcdef0", "ipPermissions": {"items": [
                              {"ipProtocol": "tcp", "fromPort": port, "toPort": port,
                               "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}})
    key = lambda name, who, kind: ec2(kind, who, {"keyName": name, "keyType": "ed25519"},
                                      resp={"keyName": name, "keyFingerprint": "1f:51:ae:28:bf:89:e9:d8:1f:25:5d:37:2d:7d:b8:ca:9f:f5:f1:6f",
                                            "keyPairId": "key-0123456789abcdef0"})
    E.add("10:00:00", sg(22))                                  # a: alice 1
    E.add("10:00:00", key("deploy", ALICE, "CreateKeyPair"))   # b: alice 1
    E.add("10:00:00", key("laptop", ALICE, "ImportKeyPair"))   # c: alice 1
    E.add("10:01:00", sg(443))                                 # a: alice 2 -> fires
    E.add("10:02:00", key("deploy-2", ALICE, "CreateKeyPair"))  # b: alice 2 -> fires
    E.add("10:02:00", key("laptop-2", ALICE, "ImportKeyPair"))  # c: alice 2 -> fires
    E.add("10:03:00", key("bob", BOB, "ImportKeyPair"))        # c: bob 1
    E.add("10:30:00", sg(3389))                                # a: bob 1
    E.add("10:31:00", ec2("DescribeKeyPairs", ALICE, {}, read_only=True))  # other call


def c12(E):
    # one base rule (PutRolePolicy), two correlations: C12a event_count gte 3 within 10m, no
    # group-by, generate true; C12b event_count gte 2 per arn within 10m
    put = lambda who, n: iam("PutRolePolicy", who, {"roleName": "AppRole", "policyName": f"inline-{n}",
                                                    "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}"})
    E.add("10:00:00", put(ALICE, 1))    # a 1; b alice 1
    E.add("10:01:00", put(ALICE, 2))    # a 2; b alice 2 -> fires
    E.add("10:02:00", put(BOB, 3))      # a 3 -> fires; b bob 1
    E.add("10:03:00", iam("PutUserPolicy", BOB, {"userName": "bob", "policyName": "inline"}))  # other call
    E.add("10:30:00", put(BOB, 4))      # a 1; b bob: 10:02 dropped, 1


def c13(E):
    # temporal of [user data modified (by id), instance started (by name)] per arn within 10m
    E.add("10:00:00", ec2("StartInstances", BOB, {"instancesSet": {"items": [{"instanceId": "i-0bbbb1234efgh5678"}]}}))  # bob {start}
    E.add("10:00:00", ec2("ModifyInstanceAttribute", ALICE, {"instanceId": "i-0aaaa1234efgh5678",
                                                             "userData": "<sensitiveDataRemoved>"}))  # alice {modify}
    E.add("10:01:00", ec2("ModifyInstanceAttribute", BOB, {"instanceId": "i-0bbbb1234efgh5678",
                                                           "instanceType": {"value": "t3.large"}}))  # not user data
    E.add("10:02:00", ec2("StartInstances", ALICE, {"instancesSet": {"items": [{"instanceId": "i-0aaaa1234efgh5678"}]}}))  # alice 2 -> fires


def c14(E):
    # event_count gte 2 within 5m, no group-by: the window's edge
    fed = lambda who: ev("GetFederationToken", "sts.amazonaws.com", who,
                         params={"name": "partner", "durationSeconds": 3600}, read_only=True)
    E.add("10:00:00", fed(ALICE))              # 1
    E.add("10:05:00", fed(ALICE))              # 10:00 is exactly 5m back: stays, 2 -> fires
    E.add("11:00:00", fed(BOB))                # 1
    E.add("11:05:01", fed(BOB))                # 11:00 is 5m01s back: dropped, 1
    E.add("12:00:00", fed(CAROL))              # 1
    E.add("12:05:00.900", fed(CAROL))          # read as 12:05:00 (whole seconds): 12:00 stays, 2 -> fires


def c15(E):
    # event_count gte 2 per arn within 1h: several firings in one group
    run = lambda who, n: ec2("RunInstances", who, {"instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890",
                                                                                "minCount": 1, "maxCount": 1}]},
                                                   "instanceType": "p4d.24xlarge", "clientToken": f"token-{n}"})
    E.add("10:00:00", run(ALICE, 1))   # 1
    E.add("10:00:00", run(BOB, 2))     # bob 1
    E.add("10:01:00", run(ALICE, 3))   # 2 -> fires
    E.add("10:02:00", run(ALICE, 4))   # 1
    E.add("10:03:00", run(ALICE, 5))   # 2 -> fires
    E.add("10:04:00", run(ALICE, 6))   # 1


def c16(E):
    # event_count gte 3 within 1h, no group-by, generate true: events without a time take no part
    img = lambda who, n: ec2("CreateImage", who, {"instanceId": f"i-0{n}abcd1234efgh5678", "name": f"backup-{n}",
                                                  "noReboot": True}, resp={"imageId": f"ami-0{n}bcdef1234567890"})
    E.add("10:00:00", img(ALICE, 1))                            # 1
    E.add(None, img(ALICE, 2))                                  # no eventTime: left out
    E.add(None, img(BOB, 3), time_text="yesterday at noon")     # unreadable eventTime: left out
    E.add("10:30:00", img(ALICE, 4))                            # 2
    E.add("10:40:00", img(BOB, 5))                              # 3 -> fires


def c17(E):
    # C17a event_count gte 2 per userIdentity.userName within 1h (roles and services have none);
    # C17b event_count gte 3 per resources.ARN (an array: no single value, null) within 1h
    k1, k2 = "1234abcd-12ab-34cd-56ef-1234567890ab", "0987dcba-09fe-87dc-65ba-ab0987654321"
    E.add("10:00:00", kms_decrypt(OPS, k1))                               # a null 1; b null 1
    E.add("10:01:00", kms_decrypt(aws_service("secretsmanager.amazonaws.com"), k2))  # a null 2 -> fires; b 2
    E.add("10:02:00", kms_decrypt(ALICE, k1))                             # a alice 1; b 3 -> fires
    E.add("10:03:00", ev("GenerateDataKey", "kms.amazonaws.com", ALICE, params={"keySpec": "AES_256"}, read_only=True))  # other call


def c18(E):
    # rules A (PutBucketAcl) and B (PutBucketAcl with the public-read canned ACL); an event
    # matching both. C18a event_count gte 2, C18b temporal, C18c temporal gte 1; per bucket within 1h
    acl = lambda who, canned: s3("PutBucketAcl", "web-assets", who, {"acl": [""], "x-amz-acl": [canned]})
    E.add("10:00:00", acl(ALICE, "public-read"))  # A and B. a: 1 (once); b: A then B -> fires; c: A fires, B fires
    E.add("10:10:00", acl(BOB, "private"))        # A. a: 2 -> fires; b: 1; c: fires
    E.add("10:20:00", s3("GetBucketAcl", "web-assets", BOB, {"acl": ""}))  # other call


def c19(E):
    # C19a event_count gte 2 within 1m, no group-by: four events in the same second, taken by
    # eventID (absent first), not in the file's order
    E.add("10:00:00", logs("DeleteLogGroup", ALICE, "/app/a"), event_id="f1c7a0e2-5b14-4c8e-9d3a-6e2f81b07c55")  # 4th: 2 -> fires
    E.add("10:00:00", logs("DeleteLogGroup", BOB, "/app/b"), event_id="5a0d3c9b-7e21-4f6a-8b45-c19e2d7a3f08")    # 3rd: 1
    E.add("10:00:00", logs("DeleteLogGroup", CAROL, "/app/c"), event_id=NO_ID)                                 # 1st: 1
    E.add("10:00:00", logs("DeleteLogGroup", DAVE, "/app/d"), event_id="0c84e6f1-2d9a-4b37-a5c0-7f13b68e9d24")   # 2nd: 2 -> fires
    E.add("10:00:30", logs("DeleteLogGroup", ALICE, "/app/e"))                                                  # 1
    # C19b temporal_ordered [retention put, subscription filter deleted] within 10m: the two in
    # the same second, the second rule's event first by eventID: ties count as in order
    E.add("11:00:00", logs("PutRetentionPolicy", OPS, "/aws/cloudtrail", retentionInDays=1),
          event_id="9e5b2f7a-4c18-4d93-b6e0-2a71c8d4f6b3")                           # 2nd: retention then filter, same second -> fires
    E.add("11:00:00", logs("DeleteSubscriptionFilter", OPS, "/aws/cloudtrail", filterName="to-siem"),
          event_id="1b9d4e6c-0a37-4f25-8c1e-d5f3a7b2e904")                           # 1st: 0


def c20(E):
    # units: C20s 30s, C20m 2m, C20h 1h, C20d 1d (written `timeframe`); event_count gte 2 per arn
    call = lambda name, who, source="iam.amazonaws.com": ev(name, source, who, params=None, read_only=True)
    E.add("10:00:00", call("GetCallerIdentity", ALICE, "sts.amazonaws.com"))   # s: 1
    E.add("10:00:30", call("GetCallerIdentity", ALICE, "sts.amazonaws.com"))   # s: 30s back stays, 2 -> fires
    E.add("10:10:00", call("GetCallerIdentity", BOB, "sts.amazonaws.com"))     # s: 1
    E.add("10:10:31", call("GetCallerIdentity", BOB, "sts.amazonaws.com"))     # s: 31s back, 1
    E.add("10:00:00", call("ListRoles", ALICE))    # m: 1
    E.add("10:02:00", call("ListRoles", ALICE))    # m: 2 -> fires
    E.add("10:10:00", call("ListRoles", BOB))      # m: 1
    E.add("10:12:01", call("ListRoles", BOB))      # m: 1
    E.add("10:00:00", call("ListUsers", ALICE))    # h: 1
    E.add("11:00:00", call("ListUsers", ALICE))    # h: 2 -> fires
    E.add("13:00:00", call("ListUsers", ALICE))    # h: 1
    E.add("14:00:01", call("ListUsers", ALICE))    # h: 1
    E.add("2025-04-01T10:00:00Z", call("ListPolicies", ALICE))   # d: 1
    E.add("2025-04-02T10:00:00Z", call("ListPolicies", ALICE))   # d: 2 -> fires
    E.add("2025-04-03T10:00:00Z", call("ListPolicies", ALICE))   # d: 1
    E.add("2025-04-04T10:00:01Z", call("ListPolicies", ALICE))   # d: 1


def c21(E):
    # event_count gte 2 per requestParameters.durationSeconds within 1h: the group key is the
    # field's text (3600 and "3600" are one group, 900.0 is "900", true is not 1; absent and an
    # object are both null)
    E.add("10:00:00", assume_role(ALICE, 3600))          # "3600" 1
    E.add("10:01:00", assume_role(BOB, "3600"))          # "3600" 2 -> fires
    E.add("10:02:00", assume_role(ALICE, 900))           # "900" 1
    E.add("10:03:00", assume_role(BOB, 900.0))           # "900" 2 -> fires
    E.add("10:04:00", assume_role(ALICE, ...))           # null 1 (absent)
    E.add("10:05:00", assume_role(BOB, {"value": 900}))  # null 2 (an object) -> fires
    E.add("10:06:00", assume_role(ALICE, True))          # "true" 1
    E.add("10:07:00", assume_role(BOB, 1))               # "1" 1
    E.add("10:08:00", assume_role(CAROL, "true"))        # "true" 2 -> fires


CASES = [("c01-event-count-group-by", c01), ("c02-event-count-no-group-by", c02),
         ("c03-event-count-range-and-eq", c03), ("c04-event-count-lt", c04),
         ("c05-value-count-one-field", c05), ("c06-value-count-two-fields", c06),
         ("c07-temporal", c07), ("c08-temporal-gte-2-of-3", c08), ("c09-temporal-ordered", c09),
         ("c10-aliases", c10), ("c11-generate", c11), ("c12-shared-base-rule", c12),
         ("c13-references-by-id-and-name", c13),         ("c14-window-edge", c14), ("c15-reset-after-firing", c15), ("c16-events-without-time", c16),
         ("c17-null-group-key", c17), ("c18-event-matching-two-rules", c18), ("c19-ties", c19),
         ("c20-units", c20), ("c21-group-key-text", c21)]


def main():
    folder = os.path.join(HERE, "events")
    os.makedirs(folder, exist_ok=True)
    total = 0
    for name, build in CASES:
        E = Events(name, f"2025-03-{int(name[1:3]):02d}")
        build(E)
        with open(os.path.join(folder, name + ".json"), "w", encoding="utf-8") as f:
            f.write(json.dumps({"Records": E.records}, indent=1, ensure_ascii=False) + "\n")
        total += len(E.records)
    print(f"events: {total} in {len(CASES)} files")


if __name__ == "__main__":
    main()
