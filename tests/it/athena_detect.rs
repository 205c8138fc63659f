//! `ctq detect --engine athena`: the rules compiled to SQL give the local engine's rows, on the
//! DuckDB-backed Athena test server (`tests/athena/server.py`), over the fixtures and over every
//! real sample and the Sigma feature events laid out as a trail. A rule that does not compile is
//! named ("runs on the local engine only") and leaves exit 3; the comparison leaves it out.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::athena::AthenaServer;
use crate::detect::shared;
use crate::reference::manifest_dir;
use crate::util::*;

/// The names as CloudTrail spells them inside the table's struct columns: an event that spells
/// one in another letter case is left out, as Athena's SerDe reads keys in any case and the
/// local engine does not (README, "Scaling out").
const CANONICAL: &[&str] = &[
    "userIdentity",
    "type",
    "principalId",
    "arn",
    "accountId",
    "invokedBy",
    "accessKeyId",
    "userName",
    "onBehalfOf",
    "userId",
    "identityStoreArn",
    "sessionContext",
    "attributes",
    "mfaAuthenticated",
    "creationDate",
    "sessionIssuer",
    "ec2RoleDelivery",
    "sourceIdentity",
    "webIdFederationData",
    "federatedProvider",
    "tlsDetails",
    "tlsVersion",
    "cipherSuite",
    "clientProvidedHostHeader",
    "resources",
    "ARN",
];

fn spelled_otherwise(v: &Value) -> bool {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    if !CANONICAL.contains(&k.as_str())
                        && CANONICAL.iter().any(|c| c.eq_ignore_ascii_case(k))
                    {
                        return true;
                    }
                    stack.push(v);
                }
            }
            Value::Array(a) => stack.extend(a),
            _ => {}
        }
    }
    false
}

/// Every event of `sources`, one trail file per input file, under one day folder of a trail.
fn laid_out(sources: &[PathBuf], dir: &Path) -> PathBuf {
    let day = dir.join("AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/01");
    std::fs::create_dir_all(&day).unwrap();
    let mut files = Vec::new();
    for s in sources {
        let mut stack = vec![s.clone()];
        while let Some(p) = stack.pop() {
            if p.is_dir() {
                stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    for (n, f) in files.iter().enumerate() {
        let out = run(&[
            "events",
            "--raw",
            "-s",
            f.to_str().unwrap(),
            "--since",
            "2000-01-01",
            "--until",
            "2030-01-01",
        ]);
        let records: Vec<Value> = out
            .stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .filter(|e: &Value| {
                ["userIdentity", "tlsDetails", "resources"]
                    .iter()
                    .all(|k| !e.get(*k).is_some_and(spelled_otherwise))
            })
            .collect();
        if !records.is_empty() {
            let text = serde_json::to_vec(&serde_json::json!({ "Records": records })).unwrap();
            std::fs::write(day.join(format!("f{n:04}.json")), text).unwrap();
        }
    }
    dir.to_path_buf()
}

/// Runs `args` on both engines (locally on `local`, the files the server loaded) and says how
/// they differ, if they do; the rules Athena named as local-only are left out of the local rows.
fn differ(server: &AthenaServer, local: &Path, args: &[&str]) -> Option<String> {
    let mut a: Vec<&str> = args.to_vec();
    a.extend(["-o", "json", "--stats"]);
    let athena = server.ctq(&a);
    let mut l = vec!["-s", local.to_str().unwrap()];
    l.extend(args);
    l.extend(["-o", "json"]);
    let local = run(&l);
    let only: HashSet<String> = athena
        .stderr
        .lines()
        .filter(|line| line.contains("runs on the local engine only"))
        .filter_map(|line| line.split('"').nth(1).map(str::to_string))
        .collect();
    if ![0, 3].contains(&athena.code) || (athena.code == 3) == only.is_empty() {
        return Some(format!(
            "{args:?}: exit {} on Athena: {}",
            athena.code, athena.stderr
        ));
    }
    let rows = |r: &Run| -> Vec<Value> { r.json().as_array().cloned().unwrap_or_default() };
    let want: Vec<Value> = rows(&local)
        .into_iter()
        .filter(|r| !only.contains(r["title"].as_str().unwrap_or_default()))
        .collect();
    let got = rows(&athena);
    (got != want).then(|| {
        format!(
            "{args:?}: the engines differ\n--- local ({} rows)\n{}\n--- athena ({} rows)\n{}",
            want.len(),
            serde_json::to_string_pretty(&want).unwrap(),
            got.len(),
            serde_json::to_string_pretty(&got).unwrap()
        )
    })
}

fn compare(server: &AthenaServer, local: &Path, rule_sets: &[Vec<&str>], windows: &[&[&str]]) {
    let mut runs = Vec::new();
    for rules in rule_sets {
        for window in windows {
            for details in [false, true] {
                runs.push((rules, *window, details));
            }
        }
    }
    let failures = failures_in_parallel(&runs, |(rules, window, details)| {
        let mut args = vec!["detect"];
        args.extend(rules.iter());
        args.extend(window.iter());
        if *details {
            args.push("--details");
        }
        differ(server, local, &args)
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn detect_on_athena_gives_the_local_rows_on_the_fixtures() {
    let Some((server, dir)) = AthenaServer::start_exported(&fixtures()) else {
        return;
    };
    let export = dir.path().join("trail");
    let sigmahq = shared("sigma-aws-cloudtrail");
    let mut sets = vec![vec![]];
    if let Some(s) = &sigmahq {
        sets.push(vec!["--rules", s.to_str().unwrap()]);
    }
    compare(
        &server,
        &export,
        &sets,
        &[
            &["--since", "2024-09-01", "--until", "2024-09-08"],
            &["--date", "2024-09-05", "--account", "111111111111"],
        ],
    );
    // Not an empty comparison, and the built-in rules all compile but five (`re`).
    let r = server.ctq(&[
        "detect",
        "--since",
        "2024-09-01",
        "--until",
        "2024-09-08",
        "-o",
        "json",
    ]);
    assert!(r.json().as_array().unwrap().len() >= 5, "{}", r.stdout);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        r.stderr.matches("runs on the local engine only").count(),
        5,
        "{}",
        r.stderr
    );
    // --print-sql shows the query with each rule's predicate.
    let sql = server.ctq(&["detect", "--date", "2024-09-05", "--print-sql"]);
    assert!(sql.stdout.contains("CASE WHEN"), "{}", sql.stdout);
    assert!(sql.stdout.contains("CROSS JOIN UNNEST"), "{}", sql.stdout);
    // --raw needs the events' JSON, which the table does not keep.
    let raw = server.ctq(&["detect", "--date", "2024-09-05", "--raw"]);
    assert_eq!(raw.code, 2, "{}", raw.stderr);
    assert!(raw.stderr.contains("--raw"), "{}", raw.stderr);
}

#[test]
fn detect_on_athena_gives_the_local_rows_on_the_samples_and_feature_events() {
    let mut sources = vec![manifest_dir().join("tests/detect/features/events")];
    sources.extend(shared("cloudtrail-samples"));
    let dir = tempfile::tempdir().unwrap();
    let root = laid_out(&sources, &dir.path().join("in"));
    let Some((server, out)) = AthenaServer::start_exported(&root) else {
        return;
    };
    let export = out.path().join("trail");
    assert!(server.events > 200, "{} events loaded", server.events);
    let features = manifest_dir().join("tests/detect/features/rules");
    let mut sets = vec![
        vec![],
        vec!["--no-builtin", "--rules", features.to_str().unwrap()],
    ];
    let sigmahq = shared("sigma-aws-cloudtrail");
    if let Some(s) = &sigmahq {
        sets.push(vec!["--no-builtin", "--rules", s.to_str().unwrap()]);
    }
    compare(
        &server,
        &export,
        &sets,
        &[&["--since", "2000-01-01", "--until", "2030-01-01"]],
    );
}
