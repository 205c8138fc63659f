//! S3 sources against a real S3 API: an `s3s-fs` server started in-process on 127.0.0.1, spoken
//! to over HTTP by the ctq binary through aws-sdk-s3 (`--endpoint-url`). A bucket is a folder of
//! the served root and a key is a file path under it, so test data is written with `std::fs`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use s3s::auth::SimpleAuth;
use serde_json::json;

use crate::faults::{self, Fault, Faults, On};
use crate::util::*;

pub const ACCESS_KEY: &str = "AKIACTQTEST0000001";
pub const SECRET_KEY: &str = "ctq-test-secret-key";

/// A key pair whose every part is distinctive, so that a test can look for it in any output:
/// `--debug` must never show the secret key (nor the session token sent with it).
pub const DEBUG_ACCESS_KEY: &str = "AKIACTQDEBUGKEY73914";
pub const DEBUG_SECRET_KEY: &str = "Zq7s3cr3t/ctq+debug/ne3ver-print-me-5b2d";

/// A valid key that may not list (ListObjectsV2 is denied), as an IAM policy without
/// s3:ListBucket would.
const NO_LIST_KEY: &str = "AKIACTQTESTNOLIST01";

/// The server's access policy: listing is denied to `NO_LIST_KEY`; GetObject is throttled twice
/// on keys containing `throttled`, denied on keys containing `denied`, and refused as S3 refuses an SSE-KMS object whose key the caller may not
/// use on keys containing `kms-locked`. Everything else is allowed to signed requests.
struct Policy;

/// Keys answered with SlowDown, once per refusal.
static THROTTLED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

#[async_trait::async_trait]
impl s3s::access::S3Access for Policy {
    async fn list_objects_v2(
        &self,
        req: &mut s3s::S3Request<s3s::dto::ListObjectsV2Input>,
    ) -> s3s::S3Result<()> {
        match &req.credentials {
            Some(c) if c.access_key == NO_LIST_KEY => {
                Err(s3s::s3_error!(AccessDenied, "Access Denied"))
            }
            _ => Ok(()),
        }
    }

    async fn get_object(
        &self,
        req: &mut s3s::S3Request<s3s::dto::GetObjectInput>,
    ) -> s3s::S3Result<()> {
        if req.input.key.contains("throttled") {
            // 503 SlowDown twice per key, then the object: as S3 does under request-rate pressure.
            let mut seen = THROTTLED.lock().unwrap();
            if seen.iter().filter(|k| **k == req.input.key).count() < 2 {
                seen.push(req.input.key.clone());
                return Err(s3s::s3_error!(SlowDown, "Please reduce your request rate."));
            }
        }
        if req.input.key.contains("kms-locked") {
            return Err(s3s::s3_error!(
                AccessDenied,
                "User: arn:aws:iam::111111111111:user/reader is not authorized to perform: kms:Decrypt on the resource associated with this ciphertext because the resource does not exist in this Region, no resource-based policies allow access, or a resource-based policy explicitly denies access"
            ));
        }
        if req.input.key.contains("denied") {
            return Err(s3s::s3_error!(AccessDenied, "Access Denied"));
        }
        Ok(())
    }
}

pub struct S3Server {
    pub endpoint: String,
    pub root: tempfile::TempDir,
    /// Faults to inject on this server's responses, and its listing page size.
    pub faults: Arc<Faults>,
    _rt: tokio::runtime::Runtime,
}

impl S3Server {
    pub fn start() -> S3Server {
        let root = tempfile::tempdir().unwrap();
        let faults = Arc::new(Faults::default());
        let mut auth = SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY);
        auth.register(NO_LIST_KEY.into(), SECRET_KEY.into());
        auth.register(DEBUG_ACCESS_KEY.into(), DEBUG_SECRET_KEY.into());
        let (endpoint, rt) = faults::serve(root.path(), 0, Arc::clone(&faults), auth, Policy);
        S3Server {
            endpoint,
            root,
            faults,
            _rt: rt,
        }
    }

    /// A bucket: a folder of the served root.
    pub fn bucket(&self, name: &str) -> PathBuf {
        let p = self.root.path().join(name);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    /// ctq with credentials for this server and nothing from the machine's own AWS set-up.
    pub fn ctq(&self) -> Command {
        let mut c = isolated_ctq();
        c.env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .args(["--endpoint-url", &self.endpoint]);
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        run_with(self.ctq().args(args), None)
    }
}

/// ctq with no AWS configuration from the environment or the home folder.
pub fn isolated_ctq() -> Command {
    let mut c = ctq();
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ] {
        c.env_remove(var);
    }
    c.env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent/ctq-test/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/ctq-test/credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true");
    c
}

pub fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The bundled fixtures as the trail bucket `trail`.
pub fn fixture_bucket(server: &S3Server) {
    copy_tree(&fixtures(), &server.bucket("trail"));
}

/// What `--stats` says after `ctq: stats: KEY: `.
pub fn stat_text<'a>(run: &'a Run, key: &str) -> &'a str {
    let prefix = format!("ctq: stats: {key}: ");
    run.stderr
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {key:?} in stderr:\n{}", run.stderr))
}

pub fn stat(run: &Run, key: &str) -> u64 {
    stat_text(run, key)
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn reports_from_s3_equal_reports_from_the_same_files_on_disk() {
    let server = S3Server::start();
    fixture_bucket(&server);
    let local = fixtures();
    let local = local.to_str().unwrap();
    let windows: [&[&str]; 3] = [
        &["--date", "2024-09-05"],
        &["--since", "2024-09-01", "--until", "2024-09-10"],
        &[
            "--since",
            "2024-09-05T12:00:00Z",
            "--until",
            "2024-09-06T00:00:00Z",
        ],
    ];
    let reports: [&[&str]; 7] = [
        &["sts-endpoints"],
        &["sts-endpoints", "--details"],
        &["root-activity"],
        &["root-activity", "--details"],
        &["errors", "--top", "0"],
        &["who-touched-bucket", "prod-data"],
        &["who-touched-bucket", "prod-data", "--details"],
    ];
    for window in windows {
        for report in reports {
            for format in ["json", "csv", "table"] {
                let args = [report, window, &["-o", format]].concat();
                let from_disk = run(&[args.as_slice(), &["-s", local]].concat());
                let from_s3 = server.run(&[args.as_slice(), &["-s", "s3://trail"]].concat());
                assert_eq!(from_s3.code, from_disk.code, "{args:?}: {}", from_s3.stderr);
                assert_eq!(from_s3.stdout, from_disk.stdout, "{args:?}");
                assert!(
                    from_disk.stdout.lines().count() > 1,
                    "{args:?}: empty report proves nothing"
                );
            }
        }
    }
    // The investigation commands, from S3 as from disk.
    let window = ["--since", "2024-09-01", "--until", "2024-09-10"];
    let investigations: [&[&str]; 9] = [
        &["events"],
        &["events", "--raw"],
        &[
            "events",
            "--fields",
            "eventTime,userIdentity.arn,requestParameters",
            "--limit",
            "7",
        ],
        &[
            "events",
            "--source-ip",
            "2001:db8::/32",
            "--source-ip",
            "198.51.100.0/24",
        ],
        &["console-logins"],
        &["console-logins", "--no-mfa"],
        &["network-activity"],
        &["network-activity", "--denied"],
        &["summary", "--top", "3"],
    ];
    for cmd in investigations {
        for format in ["json", "table"] {
            let args = [cmd, &window[..], &["-o", format]].concat();
            let from_disk = run(&[args.as_slice(), &["-s", local]].concat());
            let from_s3 = server.run(&[args.as_slice(), &["-s", "s3://trail"]].concat());
            assert_eq!(from_s3.code, from_disk.code, "{args:?}: {}", from_s3.stderr);
            assert_eq!(from_s3.stdout, from_disk.stdout, "{args:?}");
            assert!(
                from_disk.stdout.lines().count() > 1,
                "{args:?}: empty report proves nothing"
            );
        }
    }
    // Filters narrow the walk and give the same rows as filtering local files.
    for filters in [
        &["--account", "222222222222"][..],
        &["--region", "eu-west-1"],
        &["--account", "111111111111", "--region", "us-east-1"],
    ] {
        let args = [
            &[
                "errors",
                "--top",
                "0",
                "-o",
                "json",
                "--since",
                "2024-09-01",
                "--until",
                "2024-09-10",
            ][..],
            filters,
        ]
        .concat();
        let from_disk = run(&[args.as_slice(), &["-s", local]].concat());
        let from_s3 = server.run(&[args.as_slice(), &["-s", "s3://trail"]].concat());
        assert_eq!(from_s3.stdout, from_disk.stdout, "{args:?}");
    }
}

#[test]
fn only_the_windows_day_prefixes_are_listed_and_only_its_objects_downloaded() {
    let server = S3Server::start();
    let bucket = server.bucket("narrow");
    let regions = ["us-east-1", "eu-west-1"];
    for account in ["111111111111", "222222222222"] {
        for region in regions {
            for (stamp, time) in [
                ("20240904T1205Z", "2024-09-04T12:01:00Z"),
                ("20240905T0010Z", "2024-09-05T00:05:00Z"),
                ("20240905T1205Z", "2024-09-05T12:01:00Z"),
                ("20240906T0004Z", "2024-09-05T23:59:00Z"),
                ("20240906T1205Z", "2024-09-06T12:01:00Z"),
                ("20240907T1205Z", "2024-09-07T12:01:00Z"),
            ] {
                let key = trail_path(account, region, stamp, "a");
                let ev = event(
                    time,
                    "Call",
                    json!({"errorCode": "E", "recipientAccountId": account, "awsRegion": region}),
                );
                write(&bucket, &key, &gz(&records(&[ev])));
            }
            // Objects no window below may open: corrupt, so any download shows as a warning.
            for stamp in ["20240903T1205Z", "20240908T0004Z"] {
                write(
                    &bucket,
                    &trail_path(account, region, stamp, "corrupt"),
                    b"not gzip, not json",
                );
            }
        }
    }
    // Digest folders are never walked.
    write(
        &bucket,
        "AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2024/09/05/x_CloudTrail-Digest_us-east-1_x.json.gz",
        b"corrupt",
    );

    let r = server.run(&[
        "errors",
        "-s",
        "s3://narrow",
        "--date",
        "2024-09-05",
        "--stats",
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.json()[0]["count"],
        12,
        "2 accounts × 2 regions × (00:05, 12:01, 23:59 delivered late)"
    );
    // 4 region folders × (the day + the next day for late deliveries).
    assert!(
        r.stderr.contains("s3://narrow: day prefixes listed: 8 "),
        "{}",
        r.stderr
    );
    assert_eq!(stat(&r, "objects listed"), 4 * 4, "{}", r.stderr);
    assert_eq!(stat(&r, "read"), 4 * 4);
    assert_eq!(stat(&r, "skipped by time"), 0);

    // A window starting at noon: the object delivered at 00:10 that day is skipped by its name.
    let r = server.run(&[
        "errors",
        "-s",
        "s3://narrow",
        "--since",
        "2024-09-05T12:00:00Z",
        "--until",
        "2024-09-06T00:00:00Z",
        "--stats",
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(stat(&r, "objects listed"), 16);
    assert_eq!(stat(&r, "skipped by time"), 4);
    assert_eq!(stat(&r, "read"), 12);
    assert_eq!(r.json()[0]["count"], 8);

    // --account and --region narrow the walk itself.
    let r = server.run(&[
        "errors",
        "-s",
        "s3://narrow",
        "--date",
        "2024-09-05",
        "--stats",
        "--account",
        "222222222222",
        "--region",
        "eu-west-1",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("day prefixes listed: 2 "), "{}", r.stderr);
    assert_eq!(stat(&r, "read"), 4);
    assert!(
        r.stderr.contains(
            "ctq: stats: account 222222222222 region eu-west-1: 4 objects read, 4 events"
        ),
        "{}",
        r.stderr
    );

    // Without a window the default is the last 24 hours, said on stderr; nothing here is that recent.
    let r = server.run(&["errors", "-s", "s3://narrow", "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("no time window given: reading the last 24 hours"),
        "{}",
        r.stderr
    );
    assert_eq!(r.json(), json!([]));
    // A whole bucket needs an explicit --since.
    let r = server.run(&["errors", "-s", "s3://narrow", "--until", "2024-09-06"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("needs --since"), "{}", r.stderr);
    // A long window walks the year/month/day folders that exist: the corrupt ones are now read.
    let r = server.run(&[
        "errors",
        "-s",
        "s3://narrow",
        "--since",
        "2024-01-01",
        "--until",
        "2025-01-01",
        "--stats",
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(stat(&r, "read"), 24);
    assert_eq!(stat(&r, "failed"), 8);
}

#[test]
fn organization_layout_prefixes_and_straddling_midnight() {
    let server = S3Server::start();
    let bucket = server.bucket("org");
    for (account, org) in [
        ("111111111111", ""),
        ("222222222222", "o-a1b2c3d4e5/"),
        ("333333333333", "o-a1b2c3d4e5/"),
    ] {
        let key = format!(
            "team/{}",
            trail_path(account, "us-east-1", "20240906T0004Z", "mid")
        )
        .replace("AWSLogs/", &format!("AWSLogs/{org}"));
        let ev = event(
            "2024-09-05T23:58:00Z",
            "LateNight",
            json!({"errorCode": "E", "recipientAccountId": account}),
        );
        write(&bucket, &key, &gz(&records(&[ev])));
    }
    let accounts = |r: &Run| -> u64 { r.json()[0]["count"].as_u64().unwrap() };
    let r = server.run(&[
        "errors",
        "-s",
        "s3://org/team",
        "--date",
        "2024-09-05",
        "-o",
        "json",
    ]);
    assert_eq!((r.code, accounts(&r)), (0, 3), "{}", r.stderr);
    let r = server.run(&[
        "errors",
        "-s",
        "s3://org/team/AWSLogs/o-a1b2c3d4e5/",
        "--date",
        "2024-09-05",
        "-o",
        "json",
    ]);
    assert_eq!((r.code, accounts(&r)), (0, 2), "{}", r.stderr);
    let r = server.run(&[
        "errors",
        "-s",
        "s3://org/team/AWSLogs/o-a1b2c3d4e5/333333333333/CloudTrail/us-east-1",
        "--date",
        "2024-09-05",
        "-o",
        "json",
    ]);
    assert_eq!((r.code, accounts(&r)), (0, 1), "{}", r.stderr);
    // The late delivery belongs to the 5th, not the 6th.
    let r = server.run(&[
        "errors",
        "-s",
        "s3://org/team",
        "--date",
        "2024-09-06",
        "-o",
        "json",
    ]);
    assert_eq!(r.json(), json!([]));
    // A prefix with no trail under it is a clear fatal error.
    let r = server.run(&["errors", "-s", "s3://org/elsewhere", "--date", "2024-09-05"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("s3://org/elsewhere/AWSLogs/: no CloudTrail logs there"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_day_folder_larger_than_one_listing_page() {
    let server = S3Server::start();
    let bucket = server.bucket("big");
    let n = 1_050;
    for i in 0..n {
        let stamp = format!("20240905T{:02}{:02}Z", i / 60 % 24, i % 60);
        let ev = event(
            "2024-09-05T00:00:00Z",
            &format!("Call{i:04}"),
            json!({"errorCode": "E"}),
        );
        write(
            &bucket,
            &trail_path("111111111111", "us-east-1", &stamp, &format!("{i:05}")),
            &gz(&records(&[ev])),
        );
    }
    let r = server.run(&[
        "errors",
        "-s",
        "s3://big",
        "--date",
        "2024-09-05",
        "--top",
        "0",
        "--stats",
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json().as_array().unwrap().len(), n);
    assert_eq!(stat(&r, "read"), n as u64);
    // The walk (AWSLogs/, the account, CloudTrail/) + the two day prefixes, one of them two pages.
    assert!(r.stderr.contains("list requests: 6"), "{}", r.stderr);
}

#[test]
fn a_corrupt_object_among_good_ones_is_named_and_skipped() {
    let server = S3Server::start();
    let bucket = server.bucket("mixed");
    let good = gz(&records(&[error_event(
        "2024-09-05T10:00:00Z",
        "A",
        "E",
        "m",
    )]));
    write(
        &bucket,
        &trail_path("111111111111", "us-east-1", "20240905T1005Z", "good1"),
        &good,
    );
    write(
        &bucket,
        &trail_path("111111111111", "us-east-1", "20240905T1010Z", "good2"),
        &good,
    );
    let bad = trail_path("111111111111", "us-east-1", "20240905T1015Z", "bad");
    write(&bucket, &bad, &good[..good.len() / 2]);
    let r = server.run(&[
        "errors",
        "-s",
        "s3://mixed",
        "--date",
        "2024-09-05",
        "-o",
        "json",
        "--stats",
    ]);
    assert_eq!(r.code, 3);
    assert_eq!(r.json()[0]["count"], 2);
    assert!(
        r.stderr
            .contains(&format!("ctq: s3://mixed/{bad}: truncated gzip data")),
        "{}",
        r.stderr
    );
    assert_eq!((stat(&r, "read"), stat(&r, "failed")), (2, 1));
}

#[test]
fn fatal_errors_are_one_clear_line() {
    let server = S3Server::start();
    server.bucket("exists");
    let r = server.run(&[
        "errors",
        "-s",
        "s3://no-such-bucket",
        "--date",
        "2024-09-05",
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim(),
        "ctq: s3://no-such-bucket: no such bucket (check the name, and the account your credentials belong to)"
    );

    let r = run_with(
        isolated_ctq()
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", "wrong-secret")
            .args([
                "errors",
                "-s",
                "s3://exists",
                "--date",
                "2024-09-05",
                "--endpoint-url",
                &server.endpoint,
            ]),
        None,
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(
            "ctq: s3://exists/AWSLogs/: the credentials were rejected (SignatureDoesNotMatch)"
        ),
        "{}",
        r.stderr
    );

    let r = run_with(
        isolated_ctq().args([
            "errors",
            "-s",
            "s3://exists",
            "--date",
            "2024-09-05",
            "--endpoint-url",
            &server.endpoint,
        ]),
        None,
    );
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim(),
        "ctq: no AWS credentials: set AWS_PROFILE, run `aws configure` or `aws sso login`"
    );

    let r = run_with(
        server.ctq().args([
            "errors",
            "-s",
            "s3://exists",
            "--date",
            "2024-09-05",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ]),
        None,
    );
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim(),
        "ctq: s3://exists: cannot connect to http://127.0.0.1:9 (connection refused): check the network, --endpoint-url or AWS_ENDPOINT_URL"
    );
}

/// ctq with a home folder of its own holding `~/.aws/config`, and no AWS settings from the
/// environment, as a user's shell would have.
fn ctq_with_home(home: &Path, config: &str) -> Command {
    write(home, ".aws/config", config.as_bytes());
    let mut c = isolated_ctq();
    c.env_remove("AWS_CONFIG_FILE")
        .env_remove("AWS_SHARED_CREDENTIALS_FILE")
        .env("HOME", home);
    c
}

#[test]
fn a_profile_that_does_not_exist_is_named_with_the_file_that_lacks_it() {
    let server = S3Server::start();
    server.bucket("exists");
    let home = tempfile::tempdir().unwrap();
    let config = "[default]\nregion = us-east-1\n\n[profile dev]\nregion = eu-west-1\n";
    let args = [
        "errors",
        "-s",
        "s3://exists",
        "--date",
        "2024-09-05",
        "--endpoint-url",
        &server.endpoint,
    ];

    let r = run_with(
        ctq_with_home(home.path(), config)
            .args(args)
            .args(["--profile", "nosuch"]),
        None,
    );
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim(),
        "ctq: profile `nosuch` not found in ~/.aws/config (profiles there: default, dev): check --profile or AWS_PROFILE"
    );

    // The same from AWS_PROFILE, which the SDK would only report as no credentials at all.
    let r = run_with(
        ctq_with_home(home.path(), config)
            .env("AWS_PROFILE", "nosuch")
            .args(args),
        None,
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .starts_with("ctq: AWS_PROFILE: profile `nosuch` not found in ~/.aws/config"),
        "{}",
        r.stderr
    );

    // A profile that exists but holds no credentials: the plain advice.
    let r = run_with(
        ctq_with_home(home.path(), config)
            .args(args)
            .args(["--profile", "dev"]),
        None,
    );
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim(),
        "ctq: no AWS credentials: set AWS_PROFILE, run `aws configure` or `aws sso login`"
    );

    // AWS_CONFIG_FILE is where the SDK looks, so the message names it.
    let elsewhere = home.path().join("elsewhere");
    std::fs::write(&elsewhere, "[profile ops]\n").unwrap();
    let r = run_with(
        ctq_with_home(home.path(), config)
            .env("AWS_CONFIG_FILE", &elsewhere)
            .args(args)
            .args(["--profile", "dev"]),
        None,
    );
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim(),
        format!(
            "ctq: profile `dev` not found in {} (profiles there: ops): check --profile or AWS_PROFILE",
            elsewhere.display()
        )
    );
}

#[test]
fn denied_listing_is_fatal_denied_objects_are_skipped_and_kms_refusal_stops_the_run() {
    let server = S3Server::start();
    let bucket = server.bucket("guarded");
    let good = gz(&records(&[error_event(
        "2024-09-05T10:00:00Z",
        "A",
        "E",
        "m",
    )]));
    write(
        &bucket,
        &trail_path("111111111111", "us-east-1", "20240905T1005Z", "good"),
        &good,
    );
    let denied = trail_path("111111111111", "us-east-1", "20240905T1010Z", "denied");
    write(&bucket, &denied, &good);

    // A caller allowed to read objects but not to list: one line, naming the prefix and the fix.
    let r = run_with(
        isolated_ctq()
            .env("AWS_ACCESS_KEY_ID", NO_LIST_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .args([
                "errors",
                "-s",
                "s3://guarded",
                "--date",
                "2024-09-05",
                "--endpoint-url",
                &server.endpoint,
            ]),
        None,
    );
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim(),
        "ctq: s3://guarded/AWSLogs/: access denied (Access Denied): the caller needs s3:ListBucket on this bucket and prefix, and s3:GetObject on its objects"
    );
    assert!(r.stdout.is_empty());

    // One object the caller may not read: skipped and named, the rest reported.
    let r = server.run(&[
        "errors",
        "-s",
        "s3://guarded",
        "--date",
        "2024-09-05",
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(r.json()[0]["count"], 1);
    assert!(
        r.stderr.contains(&format!("ctq: s3://guarded/{denied}: download failed: access denied (the caller needs s3:GetObject)")),
        "{}",
        r.stderr
    );

    // An object encrypted with a KMS key the caller may not use: every object is, so stop.
    let locked = trail_path("111111111111", "us-east-1", "20240905T1015Z", "kms-locked");
    write(&bucket, &locked, &good);
    let r = server.run(&[
        "errors",
        "-s",
        "s3://guarded",
        "--date",
        "2024-09-05",
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "no report after a fatal error");
    let fatal = format!(
        "ctq: s3://guarded/{locked}: cannot decrypt: the trail is encrypted with a KMS key this caller may not use (it needs kms:Decrypt"
    );
    assert!(
        r.stderr.lines().any(|l| l.starts_with(&fatal)),
        "{}",
        r.stderr
    );
}

#[test]
fn throttled_downloads_are_retried() {
    let server = S3Server::start();
    let bucket = server.bucket("busy");
    let good = gz(&records(&[error_event(
        "2024-09-05T10:00:00Z",
        "A",
        "E",
        "m",
    )]));
    for i in 0..3 {
        write(
            &bucket,
            &trail_path(
                "111111111111",
                "us-east-1",
                "20240905T1005Z",
                &format!("throttled{i}"),
            ),
            &good,
        );
    }
    let r = server.run(&[
        "errors",
        "-s",
        "s3://busy",
        "--date",
        "2024-09-05",
        "-o",
        "json",
        "--stats",
    ]);
    assert_eq!(
        (r.code, r.stderr.contains("failed: 0")),
        (0, true),
        "{}",
        r.stderr
    );
    assert_eq!(r.json()[0]["count"], 3);
}

pub const ACCOUNT: &str = "111111111111";

/// `n` trail objects delivered on 2024-09-05 in `region`, one `Call` event (error `E`) each,
/// named `<tag>NNN`.
pub fn day_of_objects(bucket: &Path, region: &str, n: usize, tag: &str) -> Vec<String> {
    (0..n)
        .map(|i| {
            let key = trail_path(
                ACCOUNT,
                region,
                &format!("20240905T{:02}{:02}Z", i / 60, i % 60),
                &format!("{tag}{i:03}"),
            );
            let ev = event(
                "2024-09-05T10:00:00Z",
                "Call",
                json!({"errorCode": "E", "awsRegion": region}),
            );
            write(bucket, &key, &gz(&records(&[ev])));
            key
        })
        .collect()
}

/// The arguments of `errors` over 2024-09-05 of `bucket`, as JSON.
pub fn errors_args(bucket: &str) -> Vec<String> {
    [
        "errors",
        "-s",
        &format!("s3://{bucket}"),
        "--date",
        "2024-09-05",
        "-o",
        "json",
    ]
    .map(str::to_string)
    .to_vec()
}

/// `errors` over 2024-09-05 of `bucket`, with `--stats`.
fn errors_on_the_5th(server: &S3Server, bucket: &str) -> Run {
    run_with(server.ctq().args(errors_args(bucket)).arg("--stats"), None)
}

/// The events counted by `errors` (every test event is one `E` error).
pub fn counted(r: &Run) -> u64 {
    r.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["count"].as_u64().unwrap())
        .sum()
}

#[test]
fn a_listing_page_cut_short_or_garbled_is_asked_again_and_never_taken_for_the_end() {
    let server = S3Server::start();
    // Pages of 10 keys, so that 25 objects take three pages.
    server.faults.set_page_size(10);
    let bucket = server.bucket("pages");
    day_of_objects(&bucket, "us-east-1", 25, "a");
    day_of_objects(&bucket, "eu-west-1", 5, "b");
    day_of_objects(&bucket, "ap-south-1", 5, "c");
    let day = format!("AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2024/09/05/");
    // The delimiter listing that finds the region folders.
    let regions = format!("AWSLogs/{ACCOUNT}/CloudTrail/");

    let r = errors_on_the_5th(&server, "pages");
    assert_eq!((r.code, counted(&r)), (0, 35), "{}", r.stderr);

    for fault in [Fault::CutInHalf, Fault::Garble] {
        for (on, prefix, page) in [
            (On::first_page(&day), &day, 1),
            (On::later_pages(&day), &day, 2),
            (On::first_page(&regions), &regions, 1),
        ] {
            let case = format!("{fault:?} on {on:?}");
            // Damaged once: asked again, and every object is read.
            server.faults.clear();
            server.faults.add(on.clone(), fault, Some(1));
            let r = errors_on_the_5th(&server, "pages");
            assert_eq!(server.faults.hits(), 1, "{case}");
            assert_eq!(r.code, 0, "{case}: {}", r.stderr);
            assert_eq!(counted(&r), 35, "{case}");
            assert_eq!(stat(&r, "read"), 35, "{case}");

            // Damaged every time: the run stops and says which listing, never a shorter report.
            server.faults.clear();
            server.faults.add(on, fault, None);
            let r = errors_on_the_5th(&server, "pages");
            assert_eq!(r.code, 1, "{case}: {}", r.stderr);
            assert!(r.stdout.is_empty(), "{case}: {}", r.stdout);
            assert_eq!(r.stderr.lines().count(), 1, "{case}: {}", r.stderr);
            let expected = format!(
                "ctq: s3://pages/{prefix}: listing page {page} came back damaged 3 times ("
            );
            assert!(r.stderr.starts_with(&expected), "{case}: {}", r.stderr);
            assert!(
                r.stderr
                    .trim_end()
                    .ends_with("); stopping rather than reporting on part of the objects"),
                "{case}: {}",
                r.stderr
            );
        }
    }
}

#[test]
fn a_key_with_an_escape_character_is_read_like_any_other() {
    let server = S3Server::start();
    let bucket = server.bucket("esc");
    day_of_objects(&bucket, "us-east-1", 3, "plain");
    // XML 1.0 cannot carry ESC: only an url-encoded listing can name this key.
    let odd = trail_path(
        ACCOUNT,
        "us-east-1",
        "20240905T1010Z",
        "odd\u{1b}[31mred +%",
    );
    let ev = event("2024-09-05T10:00:00Z", "Call", json!({"errorCode": "E"}));
    write(&bucket, &odd, &gz(&records(&[ev])));

    let r = errors_on_the_5th(&server, "esc");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!((counted(&r), stat(&r, "read")), (4, 4), "{}", r.stderr);

    // Named in a message, the key stays on its one line.
    server
        .faults
        .add(On::object("odd\u{1b}"), Fault::FlipBytes, None);
    let r = errors_on_the_5th(&server, "esc");
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!((counted(&r), stat(&r, "read")), (3, 3), "{}", r.stderr);
    let named: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("_odd") && l.contains("red +%.json.gz"))
        .collect();
    assert_eq!(named.len(), 1, "{}", r.stderr);
}

#[test]
fn a_body_damaged_on_the_way_is_fetched_again_before_it_is_skipped() {
    let server = S3Server::start();
    let bucket = server.bucket("flaky");
    day_of_objects(&bucket, "us-east-1", 4, "good");
    let flaky = trail_path(ACCOUNT, "us-east-1", "20240905T1100Z", "flaky");
    let ev = event("2024-09-05T10:00:00Z", "Call", json!({"errorCode": "E"}));
    write(&bucket, &flaky, &gz(&records(&[ev])));

    // Bytes flipped in the gzip stream, no checksum to tell: the first copy fails to gunzip,
    // the second is read.
    server
        .faults
        .add(On::object("flaky"), Fault::FlipBytes, Some(1));
    let r = errors_on_the_5th(&server, "flaky");
    assert_eq!(server.faults.hits(), 1);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!((counted(&r), stat(&r, "read")), (5, 5), "{}", r.stderr);

    // Damaged every time: skipped, named, the rest read.
    server.faults.clear();
    server
        .faults
        .add(On::object("flaky"), Fault::FlipBytes, None);
    let r = errors_on_the_5th(&server, "flaky");
    assert_eq!(server.faults.hits(), 2, "fetched twice, no more");
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        (counted(&r), stat(&r, "read"), stat(&r, "failed")),
        (4, 4, 1)
    );
    assert!(
        r.stderr
            .lines()
            .any(|l| l.starts_with(&format!("ctq: s3://flaky/{flaky}: "))),
        "{}",
        r.stderr
    );

    // A checksum that does not match: the SDK notices, and the message says so.
    server.faults.clear();
    server
        .faults
        .add(On::object("flaky"), Fault::WrongChecksum, Some(1));
    let r = errors_on_the_5th(&server, "flaky");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(counted(&r), 5);
    server.faults.clear();
    server
        .faults
        .add(On::object("flaky"), Fault::WrongChecksum, None);
    let r = errors_on_the_5th(&server, "flaky");
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(counted(&r), 4);
    assert!(
        r.stderr.contains(&format!(
            "ctq: s3://flaky/{flaky}: download failed after 3 attempts: checksum mismatch"
        )),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("connection lost"), "{}", r.stderr);
}

#[test]
fn throttled_listings_are_retried() {
    let server = S3Server::start();
    let bucket = server.bucket("busy-list");
    day_of_objects(&bucket, "us-east-1", 3, "a");
    let day = format!("AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2024/09/05/");
    server
        .faults
        .add(On::first_page("AWSLogs/"), Fault::SlowDown, Some(1));
    server
        .faults
        .add(On::first_page(&day), Fault::SlowDown, Some(1));
    let r = errors_on_the_5th(&server, "busy-list");
    assert_eq!(server.faults.hits(), 2);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!((counted(&r), stat(&r, "read")), (3, 3), "{}", r.stderr);
}

#[test]
fn a_download_that_stalls_times_out_is_retried_then_skipped() {
    let server = S3Server::start();
    let bucket = server.bucket("stall");
    day_of_objects(&bucket, "us-east-1", 3, "good");
    let stuck = trail_path(ACCOUNT, "us-east-1", "20240905T1100Z", "stuck");
    // Large enough that half of it is more than one chunk's worth of headers and body.
    let events: Vec<_> = (0..200)
        .map(|i| {
            let ev = json!({"errorCode": "E", "requestID": format!("r{i}")});
            event("2024-09-05T10:00:00Z", "Call", ev)
        })
        .collect();
    write(&bucket, &stuck, &gz(&records(&events)));
    let args = [
        "errors",
        "-s",
        "s3://stall",
        "--date",
        "2024-09-05",
        "-o",
        "json",
        "--stats",
    ];

    // Stalls once: the second attempt reads it.
    server
        .faults
        .add(On::object("stuck"), Fault::Stall, Some(1));
    let started = std::time::Instant::now();
    let r = run_with(server.ctq().env("CTQ_READ_TIMEOUT", "1").args(args), None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!((counted(&r), stat(&r, "read")), (203, 4), "{}", r.stderr);

    // Stalls every time: three attempts of a second each, then skipped with the reason.
    server.faults.clear();
    server.faults.add(On::object("stuck"), Fault::Stall, None);
    let r = run_with(server.ctq().env("CTQ_READ_TIMEOUT", "1").args(args), None);
    assert_eq!(server.faults.hits(), 3);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        (counted(&r), stat(&r, "read"), stat(&r, "failed")),
        (3, 3, 1)
    );
    let line = format!("ctq: s3://stall/{stuck}: download failed after 3 attempts: stalled");
    assert!(
        r.stderr.lines().any(|l| l.starts_with(&line)),
        "{}",
        r.stderr
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );

    // A read timeout that is not a number of seconds is a usage error, before anything is sent.
    let r = run_with(
        server.ctq().env("CTQ_READ_TIMEOUT", "soon").args(args),
        None,
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(
            "--read-timeout (or CTQ_READ_TIMEOUT) must be a number of seconds between 0 and 3600"
        ),
        "{}",
        r.stderr
    );
}

/// The server can answer as a distant S3 does, each request after its own wait (100 ms ±50%
/// here): one request at a time then takes at least the sum of the waits, and the answers are
/// the same. A behaviour check of the latency layer; speed is measured by the benchmark.
#[test]
fn the_latency_server_delays_every_answer() {
    use crate::faults::Latency;
    use std::time::{Duration, Instant};
    let server = S3Server::start();
    let bucket = server.bucket("far");
    day_of_objects(&bucket, "us-east-1", 6, "far");
    let fast = errors_on_the_5th(&server, "far");
    assert_eq!(counted(&fast), 6, "{}", fast.stderr);
    let (listings, gets) = server.faults.requests();
    assert_eq!(gets, 6);
    server.faults.set_latency(Some(Latency {
        first_byte: Duration::from_millis(100),
        jitter: 0.5,
    }));
    let started = Instant::now();
    let slow = run_with(
        server
            .ctq()
            .args(errors_args("far"))
            .args(["--concurrency", "1"]),
        None,
    );
    let took = started.elapsed();
    assert_eq!(slow.stdout, fast.stdout);
    let (listings_after, gets_after) = server.faults.requests();
    assert_eq!(gets_after - gets, 6);
    // Every request waited at least 50 ms, one after another.
    let requests = (gets_after - gets) + (listings_after - listings);
    assert!(
        took >= Duration::from_millis(50) * requests as u32,
        "{requests} requests in {took:?}"
    );
}

/// The benchmark's server (`bench/s3_server.rs`, built by `cargo test` with the examples) is
/// this one as a program: it serves a folder, with latency, and says how many requests it
/// answered when its standard input closes.
#[test]
fn the_benchmark_server_serves_a_folder_and_counts_its_requests() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let program = Path::new(env!("CARGO_BIN_EXE_ctq"))
        .parent()
        .unwrap()
        .join("examples/s3_server");
    if !program.exists() {
        crate::reference::skipped(&format!(
            "the benchmark-server test is skipped: {} is not built (cargo test builds it)",
            program.display()
        ));
        return;
    }
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("trail")).unwrap();
    copy_tree(&fixtures(), &root.path().join("trail"));
    let mut server = Command::new(&program)
        .arg(root.path())
        .args(["--latency-ms", "20"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let endpoint = line.trim().strip_prefix("endpoint ").unwrap().to_string();
    let from_s3 = run_with(
        isolated_ctq()
            .args(errors_args("trail"))
            .args(["--endpoint-url", &endpoint])
            .env("AWS_ACCESS_KEY_ID", "AKIACTQBENCH0000001")
            .env("AWS_SECRET_ACCESS_KEY", "ctq-bench-secret-key"),
        None,
    );
    let from_disk = run(&[
        "errors",
        "-s",
        fixtures().to_str().unwrap(),
        "--date",
        "2024-09-05",
        "-o",
        "json",
    ]);
    assert_eq!(from_s3.code, from_disk.code, "{}", from_s3.stderr);
    assert_eq!(from_s3.stdout, from_disk.stdout);
    drop(server.stdin.take());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    server.wait().unwrap();
    let counts = rest
        .lines()
        .find_map(|l| l.strip_prefix("requests "))
        .unwrap_or_else(|| panic!("{rest}"));
    assert!(counts.starts_with("listings="), "{counts}");
    let field = |name: &str| -> u64 {
        counts
            .split_whitespace()
            .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("no {name} in {counts}"))
            .parse()
            .unwrap()
    };
    assert!(field("gets") > 0, "{counts}");
    assert!(
        (1..=field("gets")).contains(&field("peak_gets")),
        "{counts}"
    );
    assert_eq!(field("slowed"), 0, "{counts}");
}
