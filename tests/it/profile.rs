//! `ctq profile`: golden JSON on the fixtures and on the identity corpus of `tests/trace/`
//! (reviewed by hand; CTQ_BLESS=1 rewrites them), the baseline's first-seen hunt, agreement with
//! `tests/reference/profile_reference.py`, and the same answers from S3 and stdin.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::s3::{S3Server, fixture_bucket};
use crate::util::*;

fn golden(name: &str, got: &str) {
    pinned(&format!("profile/{name}.json"), got);
}

fn trace_corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/trace")
}

/// (golden name, source, arguments).
fn cases() -> Vec<(&'static str, PathBuf, Vec<&'static str>)> {
    vec![
        ("fixtures-alice", fixtures(), vec!["alice"]),
        (
            "fixtures-erin-by-arn",
            fixtures(),
            vec!["arn:aws:iam::111111111111:user/erin", "--top", "0"],
        ),
        (
            "fixtures-ip-block",
            fixtures(),
            vec!["--ip", "203.0.113.0/24", "--date", "2024-09-05"],
        ),
        (
            "corpus-alice",
            trace_corpus(),
            vec!["alice", "--date", "2024-10-01", "--top", "0"],
        ),
        (
            "corpus-admin-session-key",
            trace_corpus(),
            vec!["ASIAADMIN0000000001", "--date", "2024-10-01"],
        ),
        (
            "corpus-grace-baseline",
            trace_corpus(),
            vec!["grace", "--date", "2024-10-01", "--baseline", "12h"],
        ),
    ]
}

#[test]
fn golden_profiles() {
    for (name, source, args) in cases() {
        let mut all = vec!["profile", "-s", source.to_str().unwrap(), "-o", "json"];
        all.extend(&args);
        let r = run(&all);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        golden(name, &r.stdout);
    }
}

#[test]
fn the_baseline_lists_only_what_is_new_in_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let zed = |t: &str, name: &str| {
        event(
            t,
            name,
            json!({"userIdentity": {"type": "IAMUser", "userName": "zed", "arn": "arn:aws:iam::111111111111:user/zed", "accessKeyId": "AKIAZED0000000000001"}}),
        )
    };
    let events = vec![
        zed("2024-09-20T10:00:00Z", "ListBuckets"),
        zed("2024-09-25T10:00:00Z", "GetCallerIdentity"),
        zed("2024-10-01T10:00:00Z", "ListBuckets"),
        zed("2024-10-01T11:00:00Z", "GetCallerIdentity"),
        zed("2024-10-01T12:00:00Z", "CreateUser"),
        zed("2024-10-01T12:05:00Z", "CreateAccessKey"),
        zed("2024-10-01T12:06:00Z", "CreateAccessKey"),
    ];
    write(dir.path(), "zed.json", &records(&events));
    let src = dir.path().to_str().unwrap();
    let new = |baseline: &str| {
        let r = run(&[
            "profile",
            "-s",
            src,
            "zed",
            "--date",
            "2024-10-01",
            "--baseline",
            baseline,
            "-o",
            "json",
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let names: Vec<String> = match v["new_in_window"].as_array() {
            Some(a) => a
                .iter()
                .map(|x| format!("{}×{}", x["event_name"].as_str().unwrap(), x["count"]))
                .collect(),
            None => vec!["off".into()],
        };
        (
            names,
            v["baseline"]["events"].as_u64(),
            v["events"].as_u64().unwrap(),
        )
    };
    // 30 days back: ListBuckets and GetCallerIdentity were called before; the rest is new.
    assert_eq!(
        new("30d"),
        (
            vec!["CreateAccessKey×2".to_string(), "CreateUser×1".to_string()],
            Some(2),
            5
        )
    );
    // 8 days back holds GetCallerIdentity only.
    assert_eq!(
        new("8d").0,
        ["CreateAccessKey×2", "CreateUser×1", "ListBuckets×1"]
    );
    // Off by default, and the baseline's events are not counted as the window's.
    assert_eq!(new("0"), (vec!["off".to_string()], None, 5));
    let r = run(&[
        "profile",
        "-s",
        src,
        "zed",
        "--baseline",
        "7d",
        "-o",
        "json",
    ]);
    assert!(
        r.stderr.contains("--baseline needs a window start"),
        "{}",
        r.stderr
    );
}

fn reference(source: &Path, args: &[&str]) -> Option<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/profile_reference.py");
    let theirs = std::process::Command::new("python3")
        .arg(&script)
        .args(["-s", source.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap();
    let mut all = vec!["profile", "-s", source.to_str().unwrap(), "-o", "json"];
    all.extend(args);
    let ours = run(&all);
    let theirs: serde_json::Value = match serde_json::from_slice(&theirs.stdout) {
        Ok(v) => v,
        Err(e) => {
            return Some(format!(
                "{args:?}: the reference failed: {e}: {}",
                String::from_utf8_lossy(&theirs.stderr)
            ));
        }
    };
    let ours: serde_json::Value = match serde_json::from_str(&ours.stdout) {
        Ok(v) => v,
        Err(e) => return Some(format!("{args:?}: ctq failed: {e}: {}", ours.stderr)),
    };
    (ours != theirs).then(|| {
        let keys: Vec<String> = ours
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| ours[k.as_str()] != theirs[k.as_str()])
            .map(|k| {
                format!(
                    "{k}:\n  ctq       {}\n  reference {}",
                    ours[k.as_str()],
                    theirs[k.as_str()]
                )
            })
            .collect();
        format!("{args:?}:\n{}", keys.join("\n"))
    })
}

#[test]
fn the_reference_agrees() {
    if !crate::reference::python_available() {
        return;
    }
    let f = fixtures();
    let c = trace_corpus();
    let mut runs: Vec<(PathBuf, Vec<&str>)> = Vec::new();
    for who in [
        &["alice"][..],
        &["erin"],
        &["root"],
        &["arn:aws:iam::222222222222:user/alice"],
        &["AKIAPXOMNUV9KRVCRMCX"],
        &["--ip", "203.0.113.0/24"],
        &["--ip", "198.51.100.7"],
        &["--ip", "2001:db8::/32"],
        &["nobody"],
    ] {
        for extra in [
            &[][..],
            &["--date", "2024-09-05", "--top", "0"],
            &[
                "--since",
                "2024-09-05T12:00:00Z",
                "--baseline",
                "1d",
                "--top",
                "2",
            ],
        ] {
            runs.push((f.clone(), [who, extra].concat()));
        }
    }
    for who in [
        "alice",
        "grace",
        "dave",
        "ASIAADMIN0000000001",
        "carol@example.com",
    ] {
        runs.push((
            c.clone(),
            vec![
                who,
                "--date",
                "2024-10-01",
                "--baseline",
                "12h",
                "--top",
                "0",
            ],
        ));
    }
    let samples = crate::reference::manifest_dir().join("../shared/cloudtrail-samples");
    if samples.is_dir() {
        for who in [
            &["johndoe"][..],
            &["Mateo", "--top", "0"],
            &["AKIAIOSFODNN7EXAMPLE"],
            &["--ip", "192.0.2.0/24"],
        ] {
            runs.push((samples.clone(), who.to_vec()));
        }
    }
    let failures = failures_in_parallel(&runs, |(source, args)| reference(source, args));
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn s3_and_stdin_give_the_same_profile() {
    let server = S3Server::start();
    fixture_bucket(&server);
    let args = [
        "profile",
        "alice",
        "--since",
        "2024-09-01",
        "--until",
        "2024-09-10",
        "-o",
        "json",
    ];
    let local = run(&[&args[..], &["-s", fixtures().to_str().unwrap()]].concat());
    let s3 = server.run(&[&args[..], &["-s", "s3://trail"]].concat());
    assert_eq!(s3.code, 0, "{}", s3.stderr);
    assert_eq!(local.stdout, s3.stdout);
    let one = trace_corpus().join("AWSLogs/111111111111/CloudTrail/us-east-1/2024/10/01/111111111111_CloudTrail_us-east-1_20241001T0915Z_chain.json");
    let from_file = run(&[
        "profile",
        "-s",
        one.to_str().unwrap(),
        "alice",
        "-o",
        "json",
    ]);
    let from_stdin = run_stdin(
        &["profile", "-s", "-", "alice", "-o", "json"],
        &std::fs::read(&one).unwrap(),
    );
    assert_eq!(from_stdin.code, 0, "{}", from_stdin.stderr);
    assert_eq!(from_file.stdout, from_stdin.stdout);
    assert!(
        from_file.stdout.contains("\"events\": 1"),
        "{}",
        from_file.stdout
    );
}

#[test]
fn profile_usage_and_table() {
    let f = fixtures();
    let f = f.to_str().unwrap();
    let r = run(&["profile", "-s", f]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = run(&["profile", "-s", f, "alice", "--ip", "1.2.3.4"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = run(&["profile", "-s", f, "alice", "--baseline", "soon"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = run(&["profile", "-s", f, "nobody-at-all", "--fail-on-empty"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("no event of nobody-at-all in the window"),
        "{}",
        r.stderr
    );
    let r = run(&["profile", "-s", f, "alice", "--width", "100"]);
    assert_eq!(r.code, 0);
    for section in [
        "alice (name): 86 events",
        "source IPs",
        "event names",
        "denied (AccessDenied",
        "events per hour (UTC)",
    ] {
        assert!(r.stdout.contains(section), "{section}:\n{}", r.stdout);
    }
}
