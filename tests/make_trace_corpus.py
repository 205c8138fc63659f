#!/usr/bin/env python3
"""Writes tests/trace/, the hand-written identity chains of `ctq trace` (tests/it/trace.rs says
what each scenario is). The files are committed; run this after changing a scenario:

    python3 tests/make_trace_corpus.py tests/trace
"""
import json, os, sys
root = sys.argv[1]
A, P, M = "111111111111", "222222222222", "333333333333"
files = {}
n = [0]
def ev(account, region, time, source, name, ident, req=None, resp=None, error=None, extra=None, rid=None):
    n[0] += 1
    e = {"eventVersion": "1.10", "userIdentity": ident, "eventTime": time, "eventSource": source,
         "eventName": name, "awsRegion": region, "sourceIPAddress": "198.51.100.%d" % (n[0] % 250 + 1),
         "userAgent": "aws-cli/2.17.0", "requestParameters": req, "responseElements": resp,
         "requestID": rid or "req-%04d" % n[0], "eventID": "evt-%04d" % n[0], "readOnly": False,
         "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": account,
         "eventCategory": "Management"}
    if error:
        e["errorCode"], e["errorMessage"] = error, "denied"
    if extra:
        e.update(extra)
    return e
def put(account, region, stamp, tag, events):
    d = os.path.join(root, "AWSLogs", account, "CloudTrail", region, stamp[:4], stamp[4:6], stamp[6:8])
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "%s_CloudTrail_%s_%s_%s.json" % (account, region, stamp, tag))
    with open(p, "w") as f:
        json.dump({"Records": events}, f, indent=1)
def user(name, key, account=A, mfa=None):
    u = {"type": "IAMUser", "principalId": "AIDA%s" % name.upper().ljust(17, "X")[:17], "arn": "arn:aws:iam::%s:user/%s" % (account, name),
         "accountId": account, "accessKeyId": key, "userName": name}
    if mfa is not None:
        u["sessionContext"] = {"attributes": {"creationDate": "2024-10-01T09:00:00Z", "mfaAuthenticated": mfa}}
    return u
def role(account, rolename, roleid, session, key, source_identity=None):
    u = {"type": "AssumedRole", "principalId": "%s:%s" % (roleid, session),
         "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (account, rolename, session), "accountId": account, "accessKeyId": key,
         "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": roleid, "arn": "arn:aws:iam::%s:role/%s" % (account, rolename),
                                              "accountId": account, "userName": rolename},
                            "attributes": {"creationDate": "2024-10-01T09:00:00Z", "mfaAuthenticated": "false"}}}
    if source_identity:
        u["sessionContext"]["sourceIdentity"] = source_identity
    return u
def assume(account, roleacct, rolename, roleid, session, newkey, time, caller, region="us-east-1", rid=None, name="AssumeRole", extra_req=None, extra_resp=None):
    req = {"roleArn": "arn:aws:iam::%s:role/%s" % (roleacct, rolename), "roleSessionName": session, "durationSeconds": 3600}
    req.update(extra_req or {})
    resp = {"credentials": {"accessKeyId": newkey, "sessionToken": "HIDDEN", "expiration": "Oct 1, 2024, 11:00:00 PM"},
            "assumedRoleUser": {"assumedRoleId": "%s:%s" % (roleid, session), "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (roleacct, rolename, session)}}
    resp.update(extra_resp or {})
    return ev(account, region, time, "sts.amazonaws.com", name, caller, req, resp, rid=rid,
              extra={"resources": [{"accountId": roleacct, "type": "AWS::IAM::Role", "ARN": req["roleArn"]}], "readOnly": True})
def calls(account, region, time, ident, names, error_on=()):
    return [ev(account, region, time, "s3.amazonaws.com" if n in ("GetObject", "PutObject", "ListBucket", "DeleteBucket") else "ec2.amazonaws.com",
               n, ident, {"bucketName": "data"}, None, error="AccessDenied" if i in error_on else None)
            for i, n in enumerate(names)]

ALICE = user("alice", "AKIAALICE0000000001")
BOB = user("bob", "AKIABOB000000000001")
# alice sets a source identity when she assumes Admin; it is carried through the chain.
ADMIN = role(A, "Admin", "AROAADMIN00000000001", "alice-admin", "ASIAADMIN0000000001", source_identity="alice")
S3R = role(A, "S3Reader", "AROAS3READ0000000001", "chained", "ASIAS3READ000000001", source_identity="alice")
PROD = role(P, "ProdDeploy", "AROAPROD000000000001", "alice-prod", "ASIAPROD00000000001", source_identity="alice")

# 1. IAM user -> AssumeRole -> role chaining -> S3 calls; the user's key made in the window.
put(A, "us-east-1", "20241001T0815Z", "create", [
    ev(A, "us-east-1", "2024-10-01T08:00:00Z", "iam.amazonaws.com", "CreateAccessKey", BOB, {"userName": "alice"},
       {"accessKey": {"userName": "alice", "accessKeyId": "AKIAALICE0000000001", "status": "Active", "createDate": "Oct 1, 2024 8:00:00 AM"}})])
put(A, "us-east-1", "20241001T0915Z", "chain", [
    assume(A, A, "Admin", "AROAADMIN00000000001", "alice-admin", "ASIAADMIN0000000001", "2024-10-01T09:00:00Z", ALICE,
           extra_req={"sourceIdentity": "alice"}, extra_resp={"sourceIdentity": "alice"}),
    assume(A, A, "S3Reader", "AROAS3READ0000000001", "chained", "ASIAS3READ000000001", "2024-10-01T09:05:00Z", ADMIN),
    *calls(A, "us-east-1", "2024-10-01T09:10:00Z", S3R, ["GetObject", "GetObject", "GetObject", "ListBucket"], error_on=(3,)),
])
# 2. Cross-account AssumeRole, logged in both accounts (one requestID, one sharedEventID).
cross = assume(A, P, "ProdDeploy", "AROAPROD000000000001", "alice-prod", "ASIAPROD00000000001", "2024-10-01T09:20:00Z", ADMIN, rid="req-cross-1")
cross["sharedEventID"] = "shared-cross-1"
other = json.loads(json.dumps(cross))
other["recipientAccountId"] = P
other["eventID"] = "evt-cross-2"
other["userIdentity"] = {"type": "AWSAccount", "principalId": "AROAADMIN00000000001:alice-admin", "accountId": A}
put(A, "us-east-1", "20241001T0925Z", "cross", [cross])
put(P, "us-east-1", "20241001T0925Z", "cross", [other, *calls(P, "us-east-1", "2024-10-01T09:22:00Z", PROD, ["DescribeInstances", "TerminateInstances"])])
# 3. AssumeRoleWithSAML.
SAML = {"type": "SAMLUser", "principalId": "Z5XW3kM9pQ/fake+hash=:carol@example.com", "userName": "carol@example.com",
        "identityProvider": "Z5XW3kM9pQ/fake+hash="}
put(A, "us-east-1", "20241001T1015Z", "saml", [
    ev(A, "us-east-1", "2024-10-01T10:00:00Z", "sts.amazonaws.com", "AssumeRoleWithSAML", SAML,
       {"roleArn": "arn:aws:iam::%s:role/OktaAdmin" % A, "principalArn": "arn:aws:iam::%s:saml-provider/Okta" % A, "durationSeconds": 3600},
       {"credentials": {"accessKeyId": "ASIASAML00000000001", "sessionToken": "HIDDEN", "expiration": "x"},
        "assumedRoleUser": {"assumedRoleId": "AROASAML000000000001:carol@example.com", "arn": "arn:aws:sts::%s:assumed-role/OktaAdmin/carol@example.com" % A},
        "subject": "carol@example.com", "subjectType": "persistent", "issuer": "http://www.okta.com/exk1fakeissuer",
        "audience": "https://signin.aws.amazon.com/saml", "nameQualifier": "Z5XW3kM9pQ/fake+hash="}),
    *calls(A, "us-east-1", "2024-10-01T10:05:00Z", role(A, "OktaAdmin", "AROASAML000000000001", "carol@example.com", "ASIASAML00000000001"),
           ["ListUsers", "GetAccountAuthorizationDetails"]),
])
# 4. AssumeRoleWithWebIdentity: a GitHub Actions OIDC subject.
GH = {"type": "WebIdentityUser", "principalId": "arn:aws:iam::%s:oidc-provider/token.actions.githubusercontent.com:sts.amazonaws.com:repo:acme/app:ref:refs/heads/main" % A,
      "userName": "repo:acme/app:ref:refs/heads/main", "identityProvider": "arn:aws:iam::%s:oidc-provider/token.actions.githubusercontent.com" % A}
put(A, "us-east-1", "20241001T1115Z", "oidc", [
    ev(A, "us-east-1", "2024-10-01T11:00:00Z", "sts.amazonaws.com", "AssumeRoleWithWebIdentity", GH,
       {"roleArn": "arn:aws:iam::%s:role/GitHubDeploy" % A, "roleSessionName": "GitHubActions", "durationSeconds": 3600},
       {"credentials": {"accessKeyId": "ASIAGHA000000000001", "sessionToken": "HIDDEN", "expiration": "x"},
        "subjectFromWebIdentityToken": "repo:acme/app:ref:refs/heads/main",
        "assumedRoleUser": {"assumedRoleId": "AROAGHA0000000000001:GitHubActions", "arn": "arn:aws:sts::%s:assumed-role/GitHubDeploy/GitHubActions" % A},
        "provider": "arn:aws:iam::%s:oidc-provider/token.actions.githubusercontent.com" % A, "audience": "sts.amazonaws.com"}),
    *calls(A, "us-east-1", "2024-10-01T11:02:00Z", role(A, "GitHubDeploy", "AROAGHA0000000000001", "GitHubActions", "ASIAGHA000000000001"), ["PutObject", "PutObject"]),
])
# 5. An Identity Center user: GetRoleCredentials in the management account, the session in prod.
IDC = {"type": "Unknown", "principalId": M, "accountId": M, "userName": "dave",
       "onBehalfOf": {"userId": "90676d1a-7081-70ee-5c4c-fake00000001", "identityStoreArn": "arn:aws:identitystore::%s:identitystore/d-1234567890" % M}}
put(M, "us-east-1", "20241001T1215Z", "sso", [
    ev(M, "us-east-1", "2024-10-01T12:00:00Z", "sso.amazonaws.com", "GetRoleCredentials", IDC,
       {"roleName": "AdministratorAccess", "accountId": P}, None, extra={"eventCategory": "Management", "readOnly": True})])
put(P, "eu-west-1", "20241001T1215Z", "sso", calls(P, "eu-west-1", "2024-10-01T12:03:00Z",
    role(P, "AWSReservedSSO_AdministratorAccess_0123456789abcdef", "AROAIDC0000000000001", "dave", "ASIAIDC000000000001"),
    ["CreateUser", "AttachUserPolicy"]))
# 6. GetSessionToken with MFA.
ERIN = user("erin", "AKIAERIN00000000001")
put(A, "us-east-1", "20241001T1315Z", "mfa", [
    ev(A, "us-east-1", "2024-10-01T13:00:00Z", "sts.amazonaws.com", "GetSessionToken", ERIN,
       {"durationSeconds": 3600, "serialNumber": "arn:aws:iam::%s:mfa/erin" % A},
       {"credentials": {"accessKeyId": "ASIAERINMFA00000001", "sessionToken": "HIDDEN", "expiration": "x"}}),
    *calls(A, "us-east-1", "2024-10-01T13:05:00Z", user("erin", "ASIAERINMFA00000001", mfa="true"), ["DeleteBucket"]),
])
# 7. GetFederationToken.
FRANK = user("frank", "AKIAFRANK0000000001")
FED = {"type": "FederatedUser", "principalId": "%s:contractor" % A, "arn": "arn:aws:sts::%s:federated-user/contractor" % A,
       "accountId": A, "accessKeyId": "ASIAFED000000000001",
       "sessionContext": {"sessionIssuer": {"type": "IAMUser", "principalId": FRANK["principalId"], "arn": FRANK["arn"], "accountId": A, "userName": "frank"},
                          "attributes": {"creationDate": "2024-10-01T14:00:00Z", "mfaAuthenticated": "false"}}}
put(A, "us-east-1", "20241001T1415Z", "fed", [
    ev(A, "us-east-1", "2024-10-01T14:00:00Z", "sts.amazonaws.com", "GetFederationToken", FRANK,
       {"name": "contractor", "durationSeconds": 3600},
       {"credentials": {"accessKeyId": "ASIAFED000000000001", "sessionToken": "HIDDEN", "expiration": "x"},
        "federatedUser": {"federatedUserId": "%s:contractor" % A, "arn": "arn:aws:sts::%s:federated-user/contractor" % A}, "packedPolicySize": 6}),
    *calls(A, "us-east-1", "2024-10-01T14:05:00Z", FED, ["GetObject"]),
])
# 8. The issuing call before the window (global STS, us-east-1), delivered after the calls it
# enabled, which are in eu-west-1.
GRACE = user("grace", "AKIAGRACE0000000001")
put(A, "eu-west-1", "20241001T0015Z", "late", calls(A, "eu-west-1", "2024-10-01T00:10:00Z",
    role(A, "DataSci", "AROADATASCI000000001", "grace", "ASIALATE00000000001"), ["GetObject", "GetObject"]))
put(A, "us-east-1", "20241001T0105Z", "late", [
    assume(A, A, "DataSci", "AROADATASCI000000001", "grace", "ASIALATE00000000001", "2024-09-30T23:30:00Z", GRACE)])
# 9. Two candidate issuers for one session name.
HEIDI, IVAN = user("heidi", "AKIAHEIDI0000000001"), user("ivan", "AKIAIVAN00000000001")
put(A, "us-east-1", "20241001T1515Z", "shared", [
    assume(A, A, "Shared", "AROASHARED0000000001", "ops", "ASIASHARED000000001", "2024-10-01T15:00:00Z", HEIDI),
    assume(A, A, "Shared", "AROASHARED0000000001", "ops", "ASIASHARED000000002", "2024-10-01T15:01:00Z", IVAN),
    *calls(A, "us-east-1", "2024-10-01T15:05:00Z", role(A, "Shared", "AROASHARED0000000001", "ops", "ASIASHARED000000001"), ["StopInstances"]),
    *calls(A, "us-east-1", "2024-10-01T15:06:00Z", role(A, "Shared", "AROASHARED0000000001", "ops", "ASIASHARED000000002"), ["DeleteTrail"]),
])
# 10. An instance profile: EC2 assumes the role for an instance.
EC2 = {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}
put(A, "us-east-1", "20241001T1615Z", "ec2", [
    assume(A, A, "WebServer", "AROAWEB0000000000001", "i-0123456789abcdef0", "ASIAEC2000000000001", "2024-10-01T16:00:00Z", EC2),
    *calls(A, "us-east-1", "2024-10-01T16:01:00Z", role(A, "WebServer", "AROAWEB0000000000001", "i-0123456789abcdef0", "ASIAEC2000000000001"), ["DescribeTags"]),
])
