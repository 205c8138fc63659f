//! The AWS conventions: which region the clients sign for (`--api-region`, AWS_REGION,
//! AWS_DEFAULT_REGION), `--endpoint-url` and the timeouts checked as they are parsed, a refused
//! connection that fails at once and names the endpoint, and `--debug`, which shows the
//! requests and never a secret. Against the in-process S3 server of `s3.rs`.

use std::time::{Duration, Instant};

use crate::faults::{Fault, On};
use crate::s3::*;
use crate::util::*;

/// A port on 127.0.0.1 where nothing listens (bound, then let go).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn the_api_region_is_the_one_requests_are_signed_for() {
    let server = S3Server::start();
    let bucket = server.bucket("regions");
    day_of_objects(&bucket, "eu-west-3", 1, "r");
    // (the environment, the options, the region the requests must be signed for)
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], &'a str);
    let cases: [Case; 5] = [
        (&[], &["--api-region", "eu-west-3"], "eu-west-3"),
        (
            &[("AWS_REGION", "us-east-1")],
            &["--aws-region", "eu-north-1"],
            "eu-north-1",
        ),
        (&[("AWS_DEFAULT_REGION", "ap-south-1")], &[], "ap-south-1"),
        (
            &[
                ("AWS_REGION", "ca-central-1"),
                ("AWS_DEFAULT_REGION", "ap-south-1"),
            ],
            &[],
            "ca-central-1",
        ),
        (
            &[("AWS_DEFAULT_REGION", "ap-south-1")],
            &["--api-region", "sa-east-1"],
            "sa-east-1",
        ),
    ];
    for (env, args, want) in cases {
        let before = server.faults.signed_regions().len();
        let mut cmd = server.ctq();
        cmd.env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let r = run_with(cmd.args(errors_args("regions")).args(args), None);
        assert_eq!(r.code, 0, "{env:?} {args:?}: {}", r.stderr);
        assert_eq!(r.json()[0]["count"], 1);
        let seen = server.faults.signed_regions()[before..].to_vec();
        assert!(
            !seen.is_empty() && seen.iter().all(|r| r == want),
            "{env:?} {args:?}: signed for {seen:?}, want {want}"
        );
    }

    // A region name that is not one is a usage error.
    let r = server.run(&["errors", "-s", "s3://regions", "--api-region", "EU_WEST_1"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("like eu-west-1"), "{}", r.stderr);
}

#[test]
fn athena_takes_its_region_from_api_region() {
    let port = closed_port();
    let athena = |args: &[&str]| {
        let mut c = isolated_ctq();
        c.env_remove("AWS_REGION")
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env(
                "AWS_ENDPOINT_URL_ATHENA",
                format!("http://127.0.0.1:{port}"),
            )
            .args(["errors", "--engine", "athena", "--date", "2024-09-05"])
            .args(args);
        run_with(&mut c, None)
    };
    let r = athena(&[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("Athena needs a region: pass --api-region"),
        "{}",
        r.stderr
    );
    // With --api-region the query is sent: here to a closed port, which fails at once.
    let started = Instant::now();
    let r = athena(&["--api-region", "eu-west-1", "--debug"]);
    assert_eq!(r.code, 1);
    assert!(!r.stderr.contains("needs a region"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("ctq: debug: region eu-west-1 (from --api-region)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!(
            "cannot connect to http://127.0.0.1:{port} (connection refused)"
        )),
        "{}",
        r.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn a_refused_connection_fails_at_once_and_names_the_endpoint() {
    let server = S3Server::start();
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let started = Instant::now();
    let r = run_with(
        server
            .ctq()
            .args(errors_args("trail"))
            .args(["--endpoint-url", &endpoint]),
        None,
    );
    let took = started.elapsed();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(
        r.stderr.trim(),
        format!(
            "ctq: s3://trail: cannot connect to {endpoint} (connection refused): check the \
             network, --endpoint-url or AWS_ENDPOINT_URL"
        )
    );
    // A generous bound: five attempts with backoff took 4.5 to 10 s; one takes milliseconds.
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[test]
fn endpoint_url_and_timeouts_are_checked_as_they_are_parsed() {
    let r = run(&["errors", "-s", "s3://b", "--endpoint-url", "localhost:9000"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("did you mean http://localhost:9000?"),
        "{}",
        r.stderr
    );
    let r = run(&["errors", "-s", "s3://b", "--endpoint-url", "ftp://host/"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    for arg in [
        "--read-timeout=-1",
        "--read-timeout=3601",
        "--connect-timeout=soon",
    ] {
        let r = run(&["errors", "-s", "s3://b", arg]);
        assert_eq!(r.code, 2, "{arg}: {}", r.stderr);
        assert!(
            r.stderr
                .contains("must be a number of seconds between 0 and 3600"),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn debug_shows_the_requests_and_never_a_secret() {
    const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjCTQ-debug-session-token-4f1e9a7c";
    let server = S3Server::start();
    let bucket = server.bucket("dbg");
    day_of_objects(&bucket, "us-east-1", 2, "plain");
    // Throttled once: its line says 2 attempts. And a key with an escape character, which
    // must reach the terminal escaped.
    let odd = trail_path(ACCOUNT, "us-east-1", "20240905T1010Z", "odd\u{1b}[31mred");
    let ev = event(
        "2024-09-05T10:00:00Z",
        "Call",
        serde_json::json!({"errorCode": "E"}),
    );
    write(&bucket, &odd, &gz(&records(&[ev])));
    server
        .faults
        .add(On::object("plain001"), Fault::SlowDown, Some(1));

    // The user asks for everything the SDK can log, both ways.
    for (var, filter) in [("CTQ_LOG", "trace"), ("RUST_LOG", "trace"), ("CTQ_LOG", "")] {
        let mut cmd = isolated_ctq();
        cmd.env("AWS_ACCESS_KEY_ID", DEBUG_ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", DEBUG_SECRET_KEY)
            .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
            .env_remove("CTQ_LOG")
            .env_remove("RUST_LOG")
            .env(var, filter)
            .args(errors_args("dbg"))
            .args(["--endpoint-url", &server.endpoint, "--debug"]);
        let r = run_with(&mut cmd, None);
        assert_eq!(r.code, 0, "{var}={filter}: {}", r.stderr);
        assert_eq!(r.json()[0]["count"], 3);
        for output in [&r.stdout, &r.stderr] {
            for secret in [DEBUG_SECRET_KEY, SESSION_TOKEN, DEBUG_ACCESS_KEY] {
                assert!(
                    !output.contains(secret),
                    "{var}={filter}: {secret} printed:\n{output}"
                );
            }
            // Nor the request signature, which the SDK's trace level would log with the headers.
            assert!(!output.contains("Signature="), "{var}={filter}: {output}");
            // Not even a recognisable part of one.
            assert!(!output.contains("ne3ver-print-me"), "{output}");
            assert!(!output.contains("debug-session-token"), "{output}");
        }
        let has = |text: &str| r.stderr.lines().any(|l| l.contains(text));
        assert!(
            has(
                "ctq: debug: credentials from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) (access key …3914)"
            ),
            "{}",
            r.stderr
        );
        assert!(
            has("ctq: debug: region us-east-1 (from AWS_REGION)"),
            "{}",
            r.stderr
        );
        assert!(
            has("ctq: debug: S3 ListObjectsV2: GET http://127.0.0.1:"),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr
                .lines()
                .any(|l| l.starts_with("ctq: debug: S3 GetObject: GET ")
                    && l.contains("plain001")
                    && l.contains(": HTTP 200, 2 attempts, ")),
            "{}",
            r.stderr
        );
        assert!(has("ctq: debug: sdk: "), "{}", r.stderr);
        assert!(!r.stderr.contains('\u{1b}'), "a raw ESC on stderr");
        assert!(has("odd\\x1b[31mred") || has("odd%1B"), "{}", r.stderr);
        server.faults.clear();
        server
            .faults
            .add(On::object("plain001"), Fault::SlowDown, Some(1));
    }

    // The same keys in a profile of the shared config file: the SDK logs the profile as it
    // reads it, before ctq has the credentials in hand.
    let home = tempfile::tempdir().unwrap();
    let config = write(
        home.path(),
        "config",
        format!(
            "[profile dbg]\naws_access_key_id = {DEBUG_ACCESS_KEY}\naws_secret_access_key = \
             {DEBUG_SECRET_KEY}\naws_session_token = {SESSION_TOKEN}\n"
        )
        .as_bytes(),
    );
    let mut cmd = isolated_ctq();
    cmd.env("AWS_CONFIG_FILE", &config)
        .env("CTQ_LOG", "trace")
        .args(errors_args("dbg"))
        .args([
            "--endpoint-url",
            &server.endpoint,
            "--debug",
            "--profile",
            "dbg",
        ]);
    let r = run_with(&mut cmd, None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for secret in [
        DEBUG_SECRET_KEY,
        SESSION_TOKEN,
        DEBUG_ACCESS_KEY,
        "Signature=",
    ] {
        assert!(
            !r.stderr.contains(secret),
            "{secret} printed:\n{}",
            r.stderr
        );
    }
    assert!(
        r.stderr.contains(
            "ctq: debug: credentials from the shared config and credentials files (profile `dbg`) (access key …3914)"
        ),
        "{}",
        r.stderr
    );

    // Without --debug, none of it.
    let r = server.run(
        &errors_args("dbg")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("debug"), "{}", r.stderr);
}
