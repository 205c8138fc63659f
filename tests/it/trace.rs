//! `ctq trace` on the hand-written identity chains of `tests/trace/` (one day, 2024-10-01, in the
//! trail layout; each scenario is described where it is used below): the chain and origin of
//! each, pinned as golden JSON reviewed by hand (`tests/golden/trace/`, CTQ_BLESS=1 rewrites
//! them), the tree of one person, the lookback, and the same answers from S3 and stdin.

use std::path::{Path, PathBuf};

use crate::s3::S3Server;
use crate::util::*;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/trace")
}

/// (golden name, what is traced and how). The scenarios:
const CASES: [(&str, &[&str]); 14] = [
    // IAM user alice → AssumeRole Admin → (role chaining) AssumeRole S3Reader → S3 calls; alice's
    // key was made by bob in the window (created_by_event).
    ("role-chain", &["ASIAS3READ000000001"]),
    // Admin's session assumes ProdDeploy in account 222222222222: logged in both accounts, one
    // requestID; the caller's account's record names the caller.
    ("cross-account", &["ASIAPROD00000000001"]),
    // AssumeRoleWithSAML from Okta: the origin is the SAML subject, asked by session ARN.
    (
        "saml",
        &["arn:aws:sts::111111111111:assumed-role/OktaAdmin/carol@example.com"],
    ),
    // AssumeRoleWithWebIdentity from GitHub Actions: the OIDC subject.
    ("web-identity", &["ASIAGHA000000000001"]),
    // Identity Center: GetRoleCredentials in the management account logs no key; the session in
    // 222222222222 is found by account, permission set and user name.
    ("identity-center", &["ASIAIDC000000000001"]),
    // GetSessionToken with MFA: the session key's calls are the user's, mfaAuthenticated true.
    ("session-token-mfa", &["ASIAERINMFA00000001"]),
    // GetFederationToken, asked by federated-user ARN.
    (
        "federation-token",
        &["arn:aws:sts::111111111111:federated-user/contractor"],
    ),
    // The AssumeRole (global STS, us-east-1) is at 23:30 the day before the window, delivered at
    // 01:05, after the calls it enabled in eu-west-1: found in the 12 h lookback.
    ("late-delivery", &["ASIALATE00000000001"]),
    // heidi and ivan both assumed Shared as session "ops": by ARN or principalId there are two
    // candidates, each shown with its rule; by key, one.
    (
        "two-candidates-arn",
        &["arn:aws:sts::111111111111:assumed-role/Shared/ops"],
    ),
    ("two-candidates-id", &["AROASHARED0000000001:ops"]),
    ("two-candidates-key", &["ASIASHARED000000002"]),
    // EC2 assumed the role for an instance: an AWS service.
    ("instance-profile", &["ASIAEC2000000000001"]),
    // A long-term key: the IAM user itself.
    ("long-term-key", &["AKIAALICE0000000001"]),
    // Every session derived from alice, as a tree.
    ("tree-alice", &["--tree", "alice"]),
];

fn trace(source: &str, args: &[&str], format: &str) -> Run {
    let mut all = vec!["trace", "-s", source, "--date", "2024-10-01", "-o", format];
    all.extend(args);
    run(&all)
}

fn golden(name: &str, ext: &str, got: &str) {
    pinned(&format!("trace/{name}.{ext}"), got);
}

#[test]
fn every_scenario_gives_its_reviewed_chain_and_origin() {
    let c = corpus();
    for (name, args) in CASES {
        let r = trace(c.to_str().unwrap(), args, "json");
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        golden(name, "json", &r.stdout);
    }
}

#[test]
fn the_origins_in_short() {
    let c = corpus();
    let c = c.to_str().unwrap();
    let origin = |args: &[&str]| {
        let r = trace(c, args, "json");
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let o = &v["origin"];
        let chain: Vec<String> = v["chain"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["access_key_id"].as_str().unwrap_or("-").to_string())
            .collect();
        (
            o["kind"].as_str().unwrap().to_string(),
            o["name"].as_str().map(str::to_string),
            chain,
        )
    };
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        origin(&["ASIAS3READ000000001"]),
        (
            "iam_user".into(),
            s("alice"),
            vec![
                "ASIAS3READ000000001".into(),
                "ASIAADMIN0000000001".into(),
                "AKIAALICE0000000001".into()
            ]
        )
    );
    assert_eq!(
        origin(&["ASIAPROD00000000001"]).2.last().unwrap(),
        "AKIAALICE0000000001"
    );
    assert_eq!(
        origin(&["ASIAGHA000000000001"]).1,
        s("repo:acme/app:ref:refs/heads/main")
    );
    assert_eq!(origin(&["ASIAIDC000000000001"]).0, "identity_center_user");
    assert_eq!(origin(&["ASIALATE00000000001"]).1, s("grace"));
    assert_eq!(origin(&["ASIASHARED000000002"]).1, s("ivan"));
    assert_eq!(origin(&["ASIASHARED000000001"]).1, s("heidi"));
    assert_eq!(origin(&["AROASHARED0000000001:ops"]).0, "ambiguous");
    assert_eq!(
        origin(&["ASIAEC2000000000001"]),
        (
            "aws_service".into(),
            s("ec2.amazonaws.com"),
            vec!["ASIAEC2000000000001".into()]
        )
    );
    // Without the lookback, the late AssumeRole is outside what is read.
    assert_eq!(
        origin(&["ASIALATE00000000001", "--lookback", "0"]).0,
        "not_found"
    );
    assert_eq!(
        origin(&["ASIALATE00000000001", "--lookback", "1h"]).1,
        s("grace")
    );
}

#[test]
fn tables_show_the_chain_the_origin_and_the_activity() {
    let c = corpus();
    let r = trace(
        c.to_str().unwrap(),
        &["ASIAS3READ000000001", "--width", "200"],
        "table",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    golden("role-chain", "table.txt", &r.stdout);
    let r = trace(
        c.to_str().unwrap(),
        &["--tree", "alice", "--width", "200"],
        "table",
    );
    golden("tree-alice", "table.txt", &r.stdout);
    let r = trace(
        c.to_str().unwrap(),
        &[
            "arn:aws:sts::111111111111:assumed-role/Shared/ops",
            "--width",
            "200",
        ],
        "table",
    );
    golden("two-candidates-arn", "table.txt", &r.stdout);
    let r = trace(c.to_str().unwrap(), &["ASIAS3READ000000001"], "csv");
    assert!(
        r.stdout.starts_with("section,step,access_key_id,"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("\n\nsection,access_key_id,event_name,count,errors\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn s3_and_stdin_give_the_same_answers() {
    let c = corpus();
    let server = S3Server::start();
    let bucket = server.bucket("trail");
    crate::s3::copy_tree(&c, &bucket);
    let mut stdin = Vec::new();
    for f in files(&c) {
        stdin.extend(std::fs::read(f).unwrap());
        stdin.push(b'\n');
    }
    for (name, args) in [CASES[0], CASES[1], CASES[4], CASES[13]] {
        let mut on_s3 = vec![
            "trace",
            "-s",
            "s3://trail",
            "--date",
            "2024-10-01",
            "-o",
            "json",
        ];
        on_s3.extend(args);
        let s = server.run(&on_s3);
        assert_eq!(s.code, 0, "{name}: {}", s.stderr);
        let local = trace(c.to_str().unwrap(), args, "json");
        assert_eq!(s.stdout, local.stdout, "{name} on S3");
        let mut from_stdin = vec!["trace", "-s", "-", "--date", "2024-10-01", "-o", "json"];
        from_stdin.extend(args);
        let i = run_stdin(&from_stdin, &stdin);
        assert_eq!(i.code, 0, "{name}: {}", i.stderr);
        assert_eq!(i.stdout, local.stdout, "{name} from stdin");
    }
}

#[test]
fn what_cannot_be_traced_says_why() {
    let c = corpus();
    let c = c.to_str().unwrap();
    let r = trace(c, &["alice"], "json");
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("a user name needs --tree"),
        "{}",
        r.stderr
    );
    let r = trace(c, &["ASIANOTHINGHERE0001", "--fail-on-empty"], "json");
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("nothing in the window (nor in the 12h before it) names ASIANOTHINGHERE0001"),
        "{}",
        r.stderr
    );
    let r = run(&[
        "trace",
        "--engine",
        "athena",
        "--date",
        "2024-10-01",
        "ASIAS3READ000000001",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("run it on the local engine"),
        "{}",
        r.stderr
    );
    let r = trace(c, &["ASIAS3READ000000001", "--lookback", "soon"], "json");
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("'soon' is not a span of time"),
        "{}",
        r.stderr
    );
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// What `tests/reference/trace_reference.py` prints of a `ctq trace -o json` document.
fn essentials(doc: &serde_json::Value) -> serde_json::Value {
    let chain: Vec<serde_json::Value> = doc["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            serde_json::json!({
                "access_key_id": l["access_key_id"], "principal": l["principal"],
                "matched_on": l["matched_on"], "issued_by": l["issued_by_event"]["event_id"],
            })
        })
        .collect();
    let activity: Vec<serde_json::Value> = doc["activity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| serde_json::json!([a["access_key_id"], a["event_name"], a["count"], a["errors"]]))
        .collect();
    let o = &doc["origin"];
    serde_json::json!({
        "chain": chain,
        "origin": {"kind": o["kind"], "name": o["name"], "account": o["account"]},
        "activity": activity,
    })
}

/// Every access key and assumed-role or federated-user ARN that `source` names.
fn credentials_in(source: &str) -> Vec<String> {
    let r = run(&[
        "events",
        "-s",
        source,
        "-o",
        "json",
        "--where",
        "userIdentity.accessKeyId?",
        "--fields",
        "userIdentity.accessKeyId,userIdentity.arn,userIdentity.principalId",
    ]);
    let rows: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let mut out = std::collections::BTreeSet::new();
    for row in rows.as_array().unwrap() {
        for v in row.as_object().unwrap().values() {
            let key = |s: &str| {
                (s.starts_with("ASIA") || s.starts_with("AKIA"))
                    && s.len() >= 16
                    && s.bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            };
            if let Some(s) = v.as_str()
                && (key(s)
                    || (s.starts_with("arn:") && s.contains(":assumed-role/"))
                    || (s.starts_with("AROA") && s.contains(':')))
            {
                out.insert(s.to_string());
            }
        }
    }
    out.into_iter().collect()
}

fn agree_with_reference(source: &Path, window: &[&str], targets: &[String]) -> Vec<String> {
    let src = source.to_str().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/trace_reference.py");
    crate::util::failures_in_parallel(targets, |who| {
        let mut args = vec!["trace", "-s", src, "-o", "json"];
        args.extend(window);
        args.push(who);
        let ours = run(&args);
        let theirs = std::process::Command::new("python3")
            .arg(&script)
            .args(["-s", src])
            .args(window)
            .arg(who)
            .output()
            .unwrap();
        let theirs: serde_json::Value = match serde_json::from_slice(&theirs.stdout) {
            Ok(v) => v,
            Err(e) => {
                return Some(format!(
                    "{who}: the reference failed: {e}: {}",
                    String::from_utf8_lossy(&theirs.stderr)
                ));
            }
        };
        let ours = match serde_json::from_str::<serde_json::Value>(&ours.stdout) {
            Ok(v) => essentials(&v),
            Err(e) => return Some(format!("{who}: ctq failed: {e}: {}", ours.stderr)),
        };
        (ours != theirs)
            .then(|| format!("{who} {window:?}:\n  ctq       {ours}\n  reference {theirs}"))
    })
}

#[test]
fn the_reference_agrees_on_the_corpus_the_fixtures_and_the_samples() {
    if !crate::reference::python_available() {
        return;
    }
    let mut failures = Vec::new();
    let c = corpus();
    let mut targets = credentials_in(c.to_str().unwrap());
    assert!(targets.len() > 20, "{targets:?}");
    targets.extend([
        "arn:aws:sts::111111111111:federated-user/contractor".to_string(),
        "ASIANEVERSEEN000001".to_string(),
    ]);
    failures.extend(agree_with_reference(
        &c,
        &["--date", "2024-10-01"],
        &targets,
    ));
    failures.extend(agree_with_reference(
        &c,
        &["--date", "2024-10-01", "--lookback", "0"],
        &targets,
    ));
    let f = fixtures();
    let targets = credentials_in(f.to_str().unwrap());
    assert!(!targets.is_empty());
    failures.extend(agree_with_reference(
        &f,
        &["--date", "2024-09-05"],
        &targets,
    ));
    failures.extend(agree_with_reference(&f, &[], &targets));
    let samples = crate::reference::manifest_dir().join("../shared/cloudtrail-samples");
    if samples.is_dir() {
        let targets = credentials_in(samples.to_str().unwrap());
        failures.extend(agree_with_reference(&samples, &[], &targets));
    }
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn one_thread_or_many_give_the_same_bytes() {
    let c = corpus();
    let c = c.to_str().unwrap();
    for args in [
        &["trace", "ASIAPROD00000000001"][..],
        &["trace", "--tree", "alice"],
        &["trace", "arn:aws:sts::111111111111:assumed-role/Shared/ops"],
        &["profile", "alice", "--baseline", "12h", "--top", "0"],
        &["profile", "--ip", "198.51.100.0/24"],
    ] {
        for format in ["json", "table", "csv"] {
            let mut base = args.to_vec();
            base.extend(["-s", c, "--date", "2024-10-01", "-o", format]);
            let many = run(&base);
            let one = run(&[&base[..], &["--threads", "1"]].concat());
            assert_eq!(many.code, 0, "{args:?}: {}", many.stderr);
            assert_eq!(many.stdout, one.stdout, "{args:?} -o {format}");
        }
    }
}

/// Hostile logs: calls that issue each other's keys in a loop, and a chain longer than any AWS
/// allows, end with "not found"; nothing recurses or runs away.
#[test]
fn loops_and_long_chains_end() {
    let dir = tempfile::tempdir().unwrap();
    let t = "2024-10-01T10:00:00Z";
    let issue = |by: &str, gives: &str, n: usize| {
        event(
            t,
            "AssumeRole",
            serde_json::json!({
                "eventID": format!("loop-{n}"), "requestID": format!("loop-req-{n}"),
                "userIdentity": {"type": "AssumedRole", "arn": format!("arn:aws:sts::111111111111:assumed-role/R/{by}"), "accessKeyId": by},
                "responseElements": {"credentials": {"accessKeyId": gives}},
            }),
        )
    };
    let key = |i: usize| format!("ASIALOOP{i:011}");
    let mut events = vec![issue(&key(1), &key(0), 0), issue(&key(0), &key(1), 1)];
    for i in 100..160 {
        events.push(issue(&key(i + 1), &key(i), i));
    }
    write(dir.path(), "loop.json", &records(&events));
    let src = dir.path().to_str().unwrap();
    for (who, most) in [(key(0), 3), (key(100), 32)] {
        let r = run(&["trace", "-s", src, "-o", "json", &who]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["origin"]["kind"], "not_found", "{who}");
        assert!(
            v["chain"].as_array().unwrap().len() <= most,
            "{who}: {}",
            v["chain"]
        );
    }
    let r = run(&["trace", "-s", src, "-o", "json", "--tree", &key(160)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}
