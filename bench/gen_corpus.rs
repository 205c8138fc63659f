//! Deterministic generator of realistic CloudTrail trail data in the S3 layout, for benchmarks.
//!
//! `cargo run --release --example gen_corpus -- OUT_DIR SIZE_MB [DAYS]`
//! `cargo run --release --example gen_corpus -- OUT_DIR --org ACCOUNTS REGIONS FILES EVENTS`
//!
//! Writes about SIZE_MB megabytes of trail JSON (gzipped, as CloudTrail delivers it) under
//! `OUT_DIR/AWSLogs/o-bench00001/<account>/CloudTrail[-NetworkActivity]/<region>/YYYY/MM/DD/`,
//! spread over DAYS days from 2024-09-01 (default 30), and `OUT_DIR/corpus.txt` with the exact
//! number of files, events and uncompressed bytes. The same arguments always give the same bytes.
//!
//! `--org` writes one day (2024-09-05) of an organization trail instead: ACCOUNTS accounts ×
//! REGIONS regions × FILES files each, of about EVENTS events a file (the latency benchmark's
//! 50 × 4 × 96).
//!
//! The event mix follows real trails: STS calls with TLS host headers (global and regional),
//! S3 data events with resources and nested request parameters, EC2 Describe calls with filter
//! sets, KMS with encryption contexts, console logins, root activity, throttling and access
//! errors, and VPC endpoint network activity events in their own folder. Files are delivered
//! every few minutes per account and region, each holding the events of the minutes before its
//! delivery time, so some events straddle midnight into the next day's folder.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool: its usage and summary are printed"
)]

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use rayon::prelude::*;

/// splitmix64: small, fast, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            let _ = write!(s, "{:016x}", self.next());
        }
        s.truncate(n);
        s
    }
    fn alnum(&mut self, n: usize) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..n)
            .map(|_| A[self.below(A.len() as u64) as usize] as char)
            .collect()
    }
}

const ACCOUNTS: [&str; 3] = ["111122223333", "444455556666", "777788889999"];
const REGIONS: [&str; 4] = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"];
const ORG: &str = "o-bench00001";
/// About this much JSON per file, as in real trails of a busy account (the issue's reference
/// corpus: 1 GB in 1,500 files).
const FILE_BYTES: u64 = 700_000;

const USER_AGENTS: [&str; 6] = [
    "aws-cli/2.17.42 md/awscrt#0.21.2 ua/2.0 os/linux#6.8.0 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard",
    "aws-sdk-go-v2/1.30.4 os/linux lang/go#1.22.6 md/GOOS#linux md/GOARCH#amd64 api/sts#1.30.5",
    "Boto3/1.35.10 md/Botocore#1.35.10 ua/2.0 os/linux#5.10.223-211.872.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.4",
    "aws-sdk-java/1.12.770 Linux/5.10.224-212.876.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.12+7-LTS java/17.0.12",
    "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.65.0 aws-sdk-go-v2/1.30.4",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36",
];
const USERS: [&str; 5] = ["alice", "bob", "carol", "deploy-bot", "ops/henry"];
const ROLES: [&str; 4] = [
    "app-server",
    "etl",
    "incident-responder",
    "AWSReservedSSO_Admin_0123456789abcdef",
];
const BUCKETS: [&str; 4] = ["prod-data", "prod-logs", "analytics-raw", "backups"];
const IPS: [&str; 6] = [
    "203.0.113.10",
    "198.51.100.23",
    "192.0.2.44",
    "10.0.3.17",
    "2001:db8:1::50",
    "100.24.7.81",
];

/// The regions of an `--org` trail, in the order they are taken.
const ORG_REGIONS: [&str; 17] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "sa-east-1",
];

struct Ctx<'a> {
    account: &'a str,
    region: &'a str,
}

fn time(t: i64) -> String {
    let (d, s) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let (y, m, dd) = civil(d);
    format!(
        "{y:04}-{m:02}-{dd:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

fn civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `userIdentity` for an IAM user, an assumed role, root, or an AWS service.
fn identity(r: &mut Rng, c: &Ctx, kind: u64) -> (String, String) {
    let acct = c.account;
    match kind {
        0 => {
            let user = r.pick(&USERS);
            let name = user.rsplit('/').next().unwrap();
            (
                format!(
                    r#"{{"type":"IAMUser","principalId":"AIDA{}","arn":"arn:aws:iam::{acct}:user/{user}","accountId":"{acct}","accessKeyId":"AKIA{}","userName":"{name}"}}"#,
                    r.alnum(17).to_uppercase(),
                    r.alnum(16).to_uppercase()
                ),
                format!("arn:aws:iam::{acct}:user/{user}"),
            )
        }
        1 => {
            let role = r.pick(&ROLES);
            let session = format!("session-{}", r.below(50));
            let id = r.alnum(17).to_uppercase();
            (
                format!(
                    r#"{{"type":"AssumedRole","principalId":"AROA{id}:{session}","arn":"arn:aws:sts::{acct}:assumed-role/{role}/{session}","accountId":"{acct}","accessKeyId":"ASIA{}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROA{id}","arn":"arn:aws:iam::{acct}:role/{role}","accountId":"{acct}","userName":"{role}"}},"webIdFederationData":{{}},"attributes":{{"creationDate":"2024-09-01T00:00:00Z","mfaAuthenticated":"false"}}}}}}"#,
                    r.alnum(16).to_uppercase()
                ),
                format!("arn:aws:sts::{acct}:assumed-role/{role}/{session}"),
            )
        }
        2 => (
            format!(
                r#"{{"type":"Root","principalId":"{acct}","arn":"arn:aws:iam::{acct}:root","accountId":"{acct}","accessKeyId":"ASIA{}"}}"#,
                r.alnum(16).to_uppercase()
            ),
            format!("arn:aws:iam::{acct}:root"),
        ),
        _ => (
            r#"{"type":"AWSService","invokedBy":"lambda.amazonaws.com"}"#.to_string(),
            "lambda.amazonaws.com".to_string(),
        ),
    }
}

fn tls(host: &str) -> String {
    format!(
        r#"{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"{host}"}}"#
    )
}

/// One management or data event as a JSON object.
fn event(r: &mut Rng, c: &Ctx, t: i64) -> String {
    let (acct, region) = (c.account, c.region);
    let roll = r.below(100);
    let kind = match roll {
        0..=1 => 2,
        2..=8 => 3,
        9..=45 => 1,
        _ => 0,
    };
    let (who, _) = identity(r, c, kind);
    let ip = if kind == 3 {
        "lambda.amazonaws.com".to_string()
    } else {
        r.pick(&IPS).to_string()
    };
    let ua = if kind == 3 {
        "lambda.amazonaws.com".to_string()
    } else {
        r.pick(&USER_AGENTS).to_string()
    };
    let (source, name, req, resp, extra, category, read_only): (
        &str,
        String,
        String,
        String,
        String,
        &str,
        bool,
    ) = match r.below(100) {
        0..=24 => {
            let global = r.chance(20);
            let host = if global {
                "sts.amazonaws.com".to_string()
            } else {
                format!("sts.{region}.amazonaws.com")
            };
            let name = if r.chance(50) {
                "GetCallerIdentity"
            } else {
                "AssumeRole"
            };
            let req = if name == "AssumeRole" {
                format!(
                    r#"{{"roleArn":"arn:aws:iam::{acct}:role/{}","roleSessionName":"s-{}","durationSeconds":3600}}"#,
                    r.pick(&ROLES),
                    r.hex(8)
                )
            } else {
                "null".into()
            };
            let resp = if name == "AssumeRole" {
                format!(
                    r#"{{"credentials":{{"accessKeyId":"ASIA{}","sessionToken":"{}","expiration":"Sep 5, 2024, 1:00:00 PM"}},"assumedRoleUser":{{"assumedRoleId":"AROA{}:s","arn":"arn:aws:sts::{acct}:assumed-role/x/s"}}}}"#,
                    r.alnum(16).to_uppercase(),
                    r.alnum(120),
                    r.alnum(17).to_uppercase()
                )
            } else {
                "null".into()
            };
            (
                "sts.amazonaws.com",
                name.into(),
                req,
                resp,
                format!(r#","tlsDetails":{}"#, tls(&host)),
                "Management",
                name == "GetCallerIdentity",
            )
        }
        25..=49 => {
            let bucket = r.pick(&BUCKETS);
            let name = *r.pick(&[
                "GetObject",
                "GetObject",
                "PutObject",
                "HeadObject",
                "DeleteObject",
            ]);
            let key = format!("data/{}/part-{:05}.parquet", 2024, r.below(100_000));
            let req = format!(
                r#"{{"bucketName":"{bucket}","Host":"{bucket}.s3.{region}.amazonaws.com","key":"{key}","x-id":"{name}"}}"#
            );
            let extra = format!(
                r#","additionalEventData":{{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"bytesTransferredOut":{},"AuthenticationMethod":"AuthHeader","x-amz-id-2":"{}"}},"resources":[{{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::{bucket}/{key}"}},{{"accountId":"{acct}","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::{bucket}"}}],"sharedEventID":"{}-{}","tlsDetails":{}"#,
                r.below(10_000_000),
                r.alnum(76),
                r.hex(8),
                r.hex(12),
                tls(&format!("{bucket}.s3.{region}.amazonaws.com"))
            );
            (
                "s3.amazonaws.com",
                name.into(),
                req,
                "null".into(),
                extra,
                "Data",
                name != "PutObject" && name != "DeleteObject",
            )
        }
        50..=69 => {
            let name = *r.pick(&[
                "DescribeInstances",
                "DescribeSecurityGroups",
                "DescribeVolumes",
            ]);
            let req = format!(
                r#"{{"instancesSet":{{}},"filterSet":{{"items":[{{"name":"tag:Name","valueSet":{{"items":[{{"value":"web-{}"}}]}}}},{{"name":"instance-state-name","valueSet":{{"items":[{{"value":"running"}},{{"value":"stopped"}}]}}}}]}},"maxResults":1000}}"#,
                r.below(100)
            );
            (
                "ec2.amazonaws.com",
                name.into(),
                req,
                "null".into(),
                format!(
                    r#","tlsDetails":{}"#,
                    tls(&format!("ec2.{region}.amazonaws.com"))
                ),
                "Management",
                true,
            )
        }
        70..=84 => {
            let req = format!(
                r#"{{"encryptionContext":{{"aws:lambda:FunctionArn":"arn:aws:lambda:{region}:{acct}:function:fn-{}"}},"encryptionAlgorithm":"SYMMETRIC_DEFAULT"}}"#,
                r.below(40)
            );
            let extra = format!(
                r#","resources":[{{"accountId":"{acct}","type":"AWS::KMS::Key","ARN":"arn:aws:kms:{region}:{acct}:key/{}-{}"}}]"#,
                r.hex(8),
                r.hex(12)
            );
            (
                "kms.amazonaws.com",
                "Decrypt".into(),
                req,
                "null".into(),
                extra,
                "Management",
                true,
            )
        }
        85..=88 => {
            let mfa = if r.chance(70) { "Yes" } else { "No" };
            let ok = r.chance(85);
            let extra = format!(
                r#","additionalEventData":{{"LoginTo":"https://console.aws.amazon.com/console/home","MobileVersion":"No","MFAUsed":"{mfa}"}}{}"#,
                if ok {
                    ""
                } else {
                    r#","errorMessage":"Failed authentication""#
                }
            );
            let resp = format!(
                r#"{{"ConsoleLogin":"{}"}}"#,
                if ok { "Success" } else { "Failure" }
            );
            (
                "signin.amazonaws.com",
                "ConsoleLogin".into(),
                "null".into(),
                resp,
                extra,
                "Management",
                false,
            )
        }
        _ => {
            let name = *r.pick(&[
                "ListUsers",
                "GetRole",
                "CreateAccessKey",
                "AttachRolePolicy",
                "ListRoles",
            ]);
            let req = format!(r#"{{"roleName":"{}","maxItems":100}}"#, r.pick(&ROLES));
            (
                "iam.amazonaws.com",
                name.into(),
                req,
                "null".into(),
                format!(r#","tlsDetails":{}"#, tls("iam.amazonaws.com")),
                "Management",
                name.starts_with("List") || name.starts_with("Get"),
            )
        }
    };
    // A failed console login carries its own errorMessage; nothing else is added to it.
    let error = match r.below(100) {
        _ if extra.contains("\"errorMessage\"") => String::new(),
        0..=3 => r#","errorCode":"AccessDenied","errorMessage":"User is not authorized to perform this operation""#.to_string(),
        4..=6 => r#","errorCode":"ThrottlingException","errorMessage":"Rate exceeded""#.to_string(),
        7 => r#","errorCode":"Client.UnauthorizedOperation","errorMessage":"You are not authorized to perform this operation.""#.to_string(),
        _ => String::new(),
    };
    format!(
        r#"{{"eventVersion":"1.10","userIdentity":{who},"eventTime":"{}","eventSource":"{source}","eventName":"{name}","awsRegion":"{region}","sourceIPAddress":"{ip}","userAgent":"{ua}"{error},"requestParameters":{req},"responseElements":{resp},"requestID":"{}","eventID":"{}-{}-{}-{}-{}","readOnly":{read_only},"eventType":"{}","managementEvent":{},"recipientAccountId":"{acct}","eventCategory":"{category}"{extra}}}"#,
        time(t),
        r.alnum(20).to_uppercase(),
        r.hex(8),
        r.hex(4),
        r.hex(4),
        r.hex(4),
        r.hex(12),
        if source == "signin.amazonaws.com" {
            "AwsConsoleSignIn"
        } else {
            "AwsApiCall"
        },
        category == "Management",
    )
}

/// A VPC endpoint network activity event.
fn network_event(r: &mut Rng, c: &Ctx, t: i64) -> String {
    let (acct, region) = (c.account, c.region);
    let kind = r.below(2);
    let (who, _) = identity(r, c, kind);
    let denied = r.chance(15);
    let error = if denied {
        r#","errorCode":"VpceAccessDenied","errorMessage":"The request was denied due to a VPC endpoint policy""#
    } else {
        ""
    };
    format!(
        r#"{{"eventVersion":"1.11","userIdentity":{who},"eventTime":"{}","eventSource":"{}","eventName":"{}","awsRegion":"{region}","sourceIPAddress":"10.0.{}.{}","userAgent":"{}"{error},"requestID":"{}","eventID":"{}-{}","eventType":"AwsVpceEvent","recipientAccountId":"{acct}","sharedEventID":"{}","vpcEndpointId":"vpce-0{}","vpcEndpointAccountId":"{acct}","eventCategory":"NetworkActivity"}}"#,
        time(t),
        r.pick(&[
            "s3.amazonaws.com",
            "kms.amazonaws.com",
            "secretsmanager.amazonaws.com"
        ]),
        r.pick(&["GetObject", "Decrypt", "GetSecretValue"]),
        r.below(255),
        r.below(255),
        r.pick(&USER_AGENTS),
        r.alnum(20).to_uppercase(),
        r.hex(8),
        r.hex(24),
        r.hex(32),
        r.hex(16),
    )
}

struct File {
    path: PathBuf,
    seed: u64,
    delivered: i64,
    /// Minutes since the previous delivery: the events span them.
    spacing: i64,
    events: usize,
    network: bool,
    ctx: (usize, usize),
}

/// Hourly digests of the `CloudTrail/` files, chained per account and region, as CloudTrail
/// writes them with log file validation on (unsigned: a local copy has no signatures to check),
/// for `--verify` and `ctq verify`.
fn write_digests(
    out: &Path,
    plan: &[File],
    totals: &[(u64, u64, u64, String)],
    accounts: &[String],
    regions: &[&str],
    start_day: i64,
    days: i64,
) {
    let stamp = |t: i64| {
        let (y, m, d) = civil(t.div_euclid(86_400));
        let s = t.rem_euclid(86_400);
        (
            format!("{y:04}/{m:02}/{d:02}"),
            format!(
                "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
                s / 3600,
                s / 60 % 60,
                s % 60
            ),
        )
    };
    for (ai, acct) in accounts.iter().enumerate() {
        for (ri, region) in regions.iter().enumerate() {
            let mut previous: Option<(String, String)> = None;
            for hour in 0..days * 24 {
                let start = start_day * 86_400 + hour * 3600 + 30;
                let end = start + 3600;
                let mut logs = String::new();
                for (f, t) in plan.iter().zip(totals) {
                    if f.ctx != (ai, ri) || f.network || f.delivered < start || f.delivered >= end {
                        continue;
                    }
                    let key = f.path.strip_prefix(out).unwrap().to_str().unwrap();
                    if !logs.is_empty() {
                        logs.push(',');
                    }
                    write!(
                        logs,
                        r#"{{"s3Bucket":"bench","s3Object":"{key}","hashValue":"{}","hashAlgorithm":"SHA-256"}}"#,
                        t.3
                    )
                    .unwrap();
                }
                let (folder, end_stamp) = stamp(end);
                let key = format!(
                    "AWSLogs/{ORG}/{acct}/CloudTrail-Digest/{region}/{folder}/{acct}_CloudTrail-Digest_{region}_bench_{region}_{end_stamp}.json.gz"
                );
                let prev = match &previous {
                    Some((k, sha)) => format!(
                        r#""previousDigestS3Bucket":"bench","previousDigestS3Object":"{k}","previousDigestHashValue":"{sha}","previousDigestHashAlgorithm":"SHA-256","previousDigestSignature":"00""#
                    ),
                    None => r#""previousDigestS3Bucket":null,"previousDigestS3Object":null,"previousDigestHashValue":null,"previousDigestHashAlgorithm":null,"previousDigestSignature":null"#.into(),
                };
                let json = format!(
                    r#"{{"awsAccountId":"{acct}","digestStartTime":"{}","digestEndTime":"{}","digestS3Bucket":"bench","digestS3Object":"{key}","digestPublicKeyFingerprint":"00","digestSignatureAlgorithm":"SHA256withRSA",{prev},"logFiles":[{logs}]}}"#,
                    time(start),
                    time(end)
                );
                let path = out.join(&key);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                let mut gz = GzEncoder::new(Vec::new(), Compression::new(6));
                gz.write_all(json.as_bytes()).unwrap();
                std::fs::write(&path, gz.finish().unwrap()).unwrap();
                previous = Some((key, ctq::verify::crypto::sha256_hex(json.as_bytes())));
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!(
            "usage: gen_corpus OUT_DIR SIZE_MB [DAYS] | gen_corpus OUT_DIR --org ACCOUNTS REGIONS FILES EVENTS"
        );
        std::process::exit(2);
    }
    let out = Path::new(&args[1]);
    let number = |i: usize, what: &str| -> u64 {
        args.get(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("{what} is a number"))
    };
    let (accounts, regions, days, start_day, files_per_day, per_file): (
        Vec<String>,
        Vec<&str>,
        i64,
        i64,
        u64,
        usize,
    ) = if args[2] == "--org" {
        let accounts = (0..number(3, "ACCOUNTS"))
            .map(|i| format!("{:012}", 100_000_000_000 + i * 1_001))
            .collect();
        let regions = ORG_REGIONS
            .iter()
            .copied()
            .take(number(4, "REGIONS") as usize)
            .collect();
        // 2024-09-05.
        let (files, events) = (number(5, "FILES"), number(6, "EVENTS"));
        (
            accounts,
            regions,
            1,
            19_971,
            files.max(1),
            events.max(1) as usize,
        )
    } else {
        let size_mb = number(2, "SIZE_MB");
        let days: i64 = args
            .get(3)
            .map_or(30, |d| d.parse().expect("DAYS is a number"));
        let slots = ACCOUNTS.len() as u64 * REGIONS.len() as u64 * days as u64;
        let files_per_day = (size_mb * 1_000_000 / FILE_BYTES / slots).max(1);
        // An event is about 1.3 KB of JSON on average (measured on this generator's output).
        let events_total = size_mb * 1_000_000 / 1_290;
        let per_file = (events_total / (slots * files_per_day)).max(1) as usize;
        (
            ACCOUNTS.iter().map(|a| a.to_string()).collect(),
            REGIONS.to_vec(),
            days,
            // 2024-09-01.
            19_967,
            files_per_day,
            per_file,
        )
    };
    let first_day = {
        let (y, m, d) = civil(start_day);
        format!("{y:04}-{m:02}-{d:02}")
    };

    // Plan the files first (cheap), then write them in parallel.
    let spacing = 1440 / files_per_day as i64;
    let mut plan = Vec::new();
    let mut seed = 1u64;
    for day in 0..days {
        for (ai, acct) in accounts.iter().enumerate() {
            for (ri, region) in regions.iter().enumerate() {
                let mut r = Rng(day as u64 * 1_000_003 + ai as u64 * 7919 + ri as u64);
                for i in 0..files_per_day {
                    let minute = i as i64 * spacing + r.below(5) as i64 + 4;
                    let delivered = (start_day + day) * 86_400 + minute * 60;
                    let network = (day as u64 * files_per_day + i) % 10 == 9;
                    let folder = if network {
                        "CloudTrail-NetworkActivity"
                    } else {
                        "CloudTrail"
                    };
                    let (y, m, d) = civil(delivered.div_euclid(86_400));
                    let s = delivered.rem_euclid(86_400);
                    let kind = if network {
                        "CloudTrail-NetworkActivity"
                    } else {
                        "CloudTrail"
                    };
                    let name = format!(
                        "{acct}_{kind}_{region}_{y:04}{m:02}{d:02}T{:02}{:02}Z_{}.json.gz",
                        s / 3600,
                        s / 60 % 60,
                        r.alnum(16)
                    );
                    let path = out.join(format!(
                        "AWSLogs/{ORG}/{acct}/{folder}/{region}/{y:04}/{m:02}/{d:02}/{name}"
                    ));
                    let events = (per_file as u64 / 2 + r.below(per_file as u64 + 1)) as usize;
                    plan.push(File {
                        path,
                        seed,
                        delivered,
                        spacing,
                        events: if network { events / 4 + 1 } else { events },
                        network,
                        ctx: (ai, ri),
                    });
                    seed += 1;
                }
            }
        }
    }
    let totals: Vec<(u64, u64, u64, String)> = plan
        .par_iter()
        .map(|f| {
            let mut r = Rng(f.seed.wrapping_mul(0x2545_F491_4F6C_DD1D));
            let c = Ctx {
                account: &accounts[f.ctx.0],
                region: regions[f.ctx.1],
            };
            let mut json = String::with_capacity(f.events * 1_500 + 16);
            json.push_str("{\"Records\":[");
            for i in 0..f.events {
                if i > 0 {
                    json.push(',');
                }
                // Events since the previous delivery (some before midnight, in the next day's folder).
                let t = f.delivered - 30 - r.below(f.spacing as u64 * 60) as i64;
                json.push_str(&if f.network {
                    network_event(&mut r, &c, t)
                } else {
                    event(&mut r, &c, t)
                });
            }
            json.push_str("]}");
            std::fs::create_dir_all(f.path.parent().unwrap()).unwrap();
            let mut gz = GzEncoder::new(Vec::new(), Compression::new(6));
            gz.write_all(json.as_bytes()).unwrap();
            let bytes = gz.finish().unwrap();
            std::fs::write(&f.path, &bytes).unwrap();
            let sha = ctq::verify::crypto::sha256_hex(json.as_bytes());
            (json.len() as u64, bytes.len() as u64, f.events as u64, sha)
        })
        .collect();
    write_digests(out, &plan, &totals, &accounts, &regions, start_day, days);
    let (json, gz, events) = totals
        .iter()
        .fold((0, 0, 0), |a, t| (a.0 + t.0, a.1 + t.1, a.2 + t.2));
    let summary = format!(
        "files {}\nevents {events}\njson_bytes {json}\ngzip_bytes {gz}\ndays {days}\nfirst_day {first_day}\n",
        plan.len()
    );
    std::fs::write(out.join("corpus.txt"), &summary).unwrap();
    print!("{summary}");
}
