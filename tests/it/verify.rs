//! `ctq verify`: a generated trail with valid digests (`tests/make_digest_trail.py`) is valid,
//! and every tamper is caught, once, with the right kind and object.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use crate::s3::copy_tree;
use crate::util::{Run, gz, run, run_with};

pub const WINDOW: [&str; 4] = ["--since", "2024-09-03", "--until", "2024-09-06"];

/// The generated trail (once per test run), or None without python3.
pub fn generated() -> Option<&'static Path> {
    static DIR: OnceLock<Option<tempfile::TempDir>> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/make_digest_trail.py");
        let status = Command::new("python3")
            .arg(&script)
            .arg(dir.path())
            .status()
            .ok()?;
        assert!(status.success(), "make_digest_trail.py failed");
        Some(dir)
    })
    .as_ref()
    .map(|d| d.path())
}

/// A copy of the generated trail to tamper with.
pub fn copy() -> Option<tempfile::TempDir> {
    let from = generated()?;
    let dir = tempfile::tempdir().unwrap();
    copy_tree(from, dir.path());
    Some(dir)
}

pub fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

/// The key of the `n`-th digest of a chain (`ACCOUNT/REGION`).
pub fn digest_key(dir: &Path, chain: &str, n: usize) -> String {
    manifest(dir)["digests"][chain][n]
        .as_str()
        .unwrap()
        .to_string()
}

pub fn log_key(dir: &Path, n: usize) -> String {
    manifest(dir)["logs"][n].as_str().unwrap().to_string()
}

fn verify_local(dir: &Path, extra: &[&str]) -> Run {
    let trail = dir.join("trail");
    let sigs = dir.join("signatures.json");
    let keys = dir.join("public-keys.json");
    let mut args = vec!["verify", "-s", trail.to_str().unwrap(), "-o", "json"];
    args.extend(WINDOW);
    args.extend([
        "--signatures",
        sigs.to_str().unwrap(),
        "--public-keys",
        keys.to_str().unwrap(),
    ]);
    args.extend(extra);
    let r = run(&args);
    reference_agrees(dir, &r);
    r
}

/// The independent reference (`tests/reference/verify_reference.py`) finds the same problems,
/// with the same periods.
fn reference_agrees(dir: &Path, r: &Run) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/verify_reference.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(dir.join("trail"))
        .args(["2024-09-03", "2024-09-06"])
        .arg(dir.join("signatures.json"))
        .arg(dir.join("public-keys.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut got: Vec<Value> = r.json()["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let object = p["object"].as_str().unwrap();
            let key = &object[object.find("AWSLogs/").unwrap()..];
            serde_json::json!({
                "kind": p["kind"],
                "key": key,
                "period_start": p["period_start"],
                "period_end": p["period_end"],
            })
        })
        .collect();
    got.sort_by_key(|p| (p["kind"].to_string(), p["key"].to_string()));
    assert_eq!(Value::Array(got), want, "ctq and the reference differ");
}

/// (kind, object) of each problem row.
pub fn problems(r: &Run) -> Vec<(String, String)> {
    r.json()["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_string(),
                p["object"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The run found exactly one problem, of `kind`, on the object whose key is `key`.
pub fn one_problem(r: &Run, kind: &str, key: &str) -> Value {
    let found = problems(r);
    assert_eq!(found.len(), 1, "{found:#?}\nstderr:\n{}", r.stderr);
    assert_eq!(found[0].0, kind, "{found:#?}");
    assert!(found[0].1.ends_with(key), "{} is not {key}", found[0].1);
    assert_eq!(r.code, 4, "{}", r.stderr);
    r.json()["problems"][0].clone()
}

fn path(dir: &Path, key: &str) -> PathBuf {
    dir.join("trail").join(key)
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn a_trail_with_valid_digests_is_valid() {
    let Some(dir) = generated() else { return };
    let r = verify_local(dir, &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j = r.json();
    assert_eq!(j["verdict"], "valid");
    let s = &j["summary"];
    assert_eq!(s["digests_checked"], 288);
    assert_eq!(s["digests_valid"], 288);
    assert_eq!(s["signatures_valid"], 288);
    assert_eq!(s["log_files_checked"], 576);
    assert_eq!(s["log_files_valid"], 576);
    assert_eq!(s["log_files_found"], 576);
    // Without the signatures, everything else is still checked, and said to be.
    let trail = dir.join("trail");
    let mut args = vec!["verify", "-s", trail.to_str().unwrap(), "-o", "json"];
    args.extend(WINDOW);
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = &r.json()["summary"];
    assert_eq!(s["signatures_not_checked"], 288);
    assert!(
        s["signatures_not_checked_reason"]
            .as_str()
            .unwrap()
            .contains("no S3 metadata"),
        "{s}"
    );
    assert_eq!(s["log_files_valid"], 576);
}

#[test]
fn a_deleted_log_file() {
    let Some(dir) = copy() else { return };
    let key = log_key(dir.path(), 100);
    std::fs::remove_file(path(dir.path(), &key)).unwrap();
    one_problem(&verify_local(dir.path(), &[]), "missing_log", &key);
}

#[test]
fn one_byte_changed_in_a_log_file() {
    let Some(dir) = copy() else { return };
    let key = log_key(dir.path(), 200);
    let p = path(dir.path(), &key);
    let text = String::from_utf8(gunzip(&std::fs::read(&p).unwrap())).unwrap();
    let edited = text.replacen("192.0.2.10", "192.0.2.11", 1);
    assert_ne!(text, edited);
    std::fs::write(&p, gz(edited.as_bytes())).unwrap();
    let row = one_problem(&verify_local(dir.path(), &[]), "modified_log", &key);
    assert!(row["detail"].as_str().unwrap().contains("SHA-256"), "{row}");
}

#[test]
fn a_gzip_member_appended_to_a_log_file() {
    let Some(dir) = copy() else { return };
    let key = log_key(dir.path(), 300);
    let p = path(dir.path(), &key);
    let mut data = std::fs::read(&p).unwrap();
    data.extend(gz(br#"{"Records":[{"eventName":"Hidden"}]}"#));
    std::fs::write(&p, data).unwrap();
    one_problem(&verify_local(dir.path(), &[]), "modified_log", &key);
}

#[test]
fn a_log_file_added_by_hand() {
    let Some(dir) = copy() else { return };
    let key = "AWSLogs/111111111111/CloudTrail/eu-west-1/2024/09/04/111111111111_CloudTrail_eu-west-1_20240904T0520Z_0123456789abcdef.json.gz";
    std::fs::write(
        path(dir.path(), key),
        gz(br#"{"Records":[{"eventTime":"2024-09-04T05:18:00Z","eventName":"Planted"}]}"#),
    )
    .unwrap();
    one_problem(&verify_local(dir.path(), &[]), "unlisted_log", key);
}

#[test]
fn a_deleted_digest() {
    let Some(dir) = copy() else { return };
    let key = digest_key(dir.path(), "111111111111/us-east-1", 30);
    std::fs::remove_file(path(dir.path(), &key)).unwrap();
    let row = one_problem(&verify_local(dir.path(), &[]), "missing_digest", &key);
    let detail = row["detail"].as_str().unwrap();
    assert!(detail.contains("1 hourly digest(s) missing"), "{detail}");
    assert!(detail.contains("2 log file(s)"), "{detail}");
}

#[test]
fn two_deleted_digests_in_a_row() {
    let Some(dir) = copy() else { return };
    let first = digest_key(dir.path(), "222222222222/us-east-1", 40);
    let second = digest_key(dir.path(), "222222222222/us-east-1", 41);
    std::fs::remove_file(path(dir.path(), &first)).unwrap();
    std::fs::remove_file(path(dir.path(), &second)).unwrap();
    let row = one_problem(&verify_local(dir.path(), &[]), "missing_digest", &second);
    let detail = row["detail"].as_str().unwrap();
    assert!(detail.contains("2 hourly digest(s) missing"), "{detail}");
    assert!(detail.contains("4 log file(s)"), "{detail}");
}

#[test]
fn an_edited_digest() {
    let Some(dir) = copy() else { return };
    let key = digest_key(dir.path(), "111111111111/eu-west-1", 50);
    let p = path(dir.path(), &key);
    let text = String::from_utf8(gunzip(&std::fs::read(&p).unwrap())).unwrap();
    let edited = text.replacen(
        "\"newestEventTime\": \"2024",
        "\"newestEventTime\": \"2023",
        1,
    );
    assert_ne!(text, edited);
    std::fs::write(&p, gz(edited.as_bytes())).unwrap();
    one_problem(&verify_local(dir.path(), &[]), "modified_digest", &key);
}

#[test]
fn a_signature_from_another_key() {
    let Some(dir) = copy() else { return };
    let key = digest_key(dir.path(), "222222222222/eu-west-1", 60);
    let sigs_path = dir.path().join("signatures.json");
    let mut sigs: Value = serde_json::from_slice(&std::fs::read(&sigs_path).unwrap()).unwrap();
    let other: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("other-signatures.json")).unwrap())
            .unwrap();
    sigs[&key] = other[&key].clone();
    std::fs::write(&sigs_path, sigs.to_string()).unwrap();
    one_problem(&verify_local(dir.path(), &[]), "bad_signature", &key);
}

#[test]
fn a_digest_whose_previous_hash_does_not_match() {
    let Some(_) = generated() else { return };
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/make_digest_trail.py");
    let status = Command::new("python3")
        .arg(&script)
        .arg(dir.path())
        .args(["--break-chain", "111111111111", "us-east-1", "20"])
        .status()
        .unwrap();
    assert!(status.success());
    let key = digest_key(dir.path(), "111111111111/us-east-1", 20);
    let row = one_problem(&verify_local(dir.path(), &[]), "chain_break", &key);
    assert!(
        row["detail"].as_str().unwrap().contains("validly signed"),
        "{row}"
    );
}

#[test]
fn a_whole_day_of_digests_removed() {
    let Some(dir) = copy() else { return };
    let day = path(
        dir.path(),
        "AWSLogs/222222222222/CloudTrail-Digest/eu-west-1/2024/09/04",
    );
    std::fs::remove_dir_all(&day).unwrap();
    // The digest that ends at 2024-09-05T00:00:30Z, the first left after the day, names the
    // last of them.
    let named = digest_key(dir.path(), "222222222222/eu-west-1", 46);
    let row = one_problem(&verify_local(dir.path(), &[]), "missing_digest", &named);
    assert_eq!(row["period_start"], "2024-09-03T23:00:30Z", "{row}");
    assert_eq!(row["period_end"], "2024-09-04T23:00:30Z", "{row}");
    let detail = row["detail"].as_str().unwrap();
    assert!(detail.contains("24 hourly digest(s) missing"), "{detail}");
}

#[test]
fn verify_refuses_standard_input_and_a_file() {
    let r = run(&["verify", "-s", "-"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("not standard input"), "{}", r.stderr);
    let _ = run_with;
}

/// The verdict line of a `verify` table: its last line.
fn verdict_of_verify(dir: &Path) -> String {
    let trail = dir.join("trail");
    let mut args = vec!["verify", "-s", trail.to_str().unwrap()];
    args.extend(WINDOW);
    let r = run(&args);
    r.stdout.lines().last().unwrap().to_string()
}

fn report_with_verify(dir: &Path) -> Run {
    let trail = dir.join("trail");
    let mut args = vec!["errors", "-s", trail.to_str().unwrap(), "--verify"];
    args.extend(WINDOW);
    run(&args)
}

#[test]
fn verify_on_a_report_gives_the_verdict_of_verify() {
    let Some(dir) = copy() else { return };
    let r = report_with_verify(dir.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let verdict = verdict_of_verify(dir.path());
    assert!(
        verdict.starts_with("verified: 576 log file(s), 288 digest(s)"),
        "{verdict}"
    );
    assert!(
        r.stderr.contains(&format!("ctq: {verdict}")),
        "{}",
        r.stderr
    );
    // Tampered: a log file changed, a digest deleted, a file added by hand.
    let changed = log_key(dir.path(), 10);
    let p = path(dir.path(), &changed);
    let text = gunzip(&std::fs::read(&p).unwrap());
    std::fs::write(&p, gz(&[&text[..], b" "].concat())).unwrap();
    let digest = digest_key(dir.path(), "222222222222/us-east-1", 5);
    std::fs::remove_file(path(dir.path(), &digest)).unwrap();
    let r = report_with_verify(dir.path());
    assert_eq!(r.code, 4, "{}", r.stderr);
    let verdict = verdict_of_verify(dir.path());
    assert!(
        verdict.starts_with("integrity problems: 1 modified_log, 1 missing_digest"),
        "{verdict}"
    );
    assert!(
        r.stderr.contains(&format!("ctq: {verdict}")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains(&format!("integrity: modified_log {}", p.display())),
        "{}",
        r.stderr
    );
    // The report itself is printed whole, before the verdict.
    assert!(r.stdout.contains("event_name"), "{}", r.stdout);
}

#[test]
fn verify_on_a_report_refuses_athena_and_standard_input() {
    let r = run(&["errors", "--verify", "--engine", "athena", "--since", "1d"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("not with --engine athena"),
        "{}",
        r.stderr
    );
    let r = run(&["errors", "--verify", "-s", "-"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("not standard input"), "{}", r.stderr);
    let r = run(&["verify", "--verify", "-s", "."]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// A one-file trail with an unsigned digest that lists `log` (its decompressed content `text`).
fn one_file_trail(dir: &Path, text: &[u8]) {
    use sha2::{Digest, Sha256};
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let log = "AWSLogs/111111111111/CloudTrail/us-east-1/2024/09/04/111111111111_CloudTrail_us-east-1_20240904T1010Z_big.json.gz";
    let digest = "AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2024/09/04/111111111111_CloudTrail-Digest_us-east-1_t_us-east-1_20240904T110030Z.json.gz";
    crate::util::write(dir, log, &gz(text));
    let content = serde_json::json!({
        "awsAccountId": "111111111111",
        "digestStartTime": "2024-09-04T10:00:30Z",
        "digestEndTime": "2024-09-04T11:00:30Z",
        "digestS3Bucket": "b",
        "digestS3Object": digest,
        "digestPublicKeyFingerprint": "00",
        "digestSignatureAlgorithm": "SHA256withRSA",
        "previousDigestS3Bucket": null,
        "previousDigestS3Object": null,
        "previousDigestHashValue": null,
        "previousDigestHashAlgorithm": null,
        "previousDigestSignature": null,
        "logFiles": [{"s3Bucket": "b", "s3Object": log, "hashValue": hex(&Sha256::digest(text)), "hashAlgorithm": "SHA-256"}],
    });
    crate::util::write(dir, digest, &gz(content.to_string().as_bytes()));
}

#[test]
fn verify_hashes_what_the_scan_streams() {
    // More events than one parse holds (read again as a stream), then more JSON than one
    // buffer holds (streamed from the start): the hash is of all of it either way.
    let many = {
        let mut t = b"{\"Records\":[".to_vec();
        for i in 0..100_000 {
            if i > 0 {
                t.push(b',');
            }
            t.extend_from_slice(br#"{"eventTime":"2024-09-04T10:05:00Z","eventName":"A"}"#);
        }
        t.extend_from_slice(b"]}\n");
        t
    };
    let big = {
        let pad = "x".repeat(1 << 20);
        let mut t = b"{\"Records\":[".to_vec();
        for i in 0..66 {
            if i > 0 {
                t.push(b',');
            }
            t.extend_from_slice(
                format!(r#"{{"eventTime":"2024-09-04T10:05:00Z","eventName":"B","pad":"{pad}"}}"#)
                    .as_bytes(),
            );
        }
        t.extend_from_slice(b"]}");
        t
    };
    for text in [many, big] {
        let dir = tempfile::tempdir().unwrap();
        one_file_trail(dir.path(), &text);
        let s = dir.path().to_str().unwrap();
        let r = run(&[
            "summary",
            "-s",
            s,
            "--date",
            "2024-09-04",
            "--verify",
            "-o",
            "json",
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stderr.contains("verified: 1 log file(s), 1 digest(s)"),
            "{}",
            r.stderr
        );
        // A byte more, and the hash no longer matches.
        let log = std::fs::read_dir(
            dir.path()
                .join("AWSLogs/111111111111/CloudTrail/us-east-1/2024/09/04"),
        )
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
        std::fs::write(&log, gz(&[&text[..], b"\n"].concat())).unwrap();
        let r = run(&[
            "summary",
            "-s",
            s,
            "--date",
            "2024-09-04",
            "--verify",
            "-o",
            "json",
        ]);
        assert_eq!(r.code, 4, "{}", r.stderr);
        assert!(r.stderr.contains("1 modified_log"), "{}", r.stderr);
    }
}

#[test]
fn names_from_a_digest_reach_the_terminal_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let digest = "AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2024/09/04/111111111111_CloudTrail-Digest_us-east-1_t_us-east-1_20240904T110030Z.json.gz";
    let content = serde_json::json!({
        "awsAccountId": "111111111111",
        "digestStartTime": "2024-09-04T10:00:30Z",
        "digestEndTime": "2024-09-04T11:00:30Z",
        "digestS3Bucket": "b",
        "digestS3Object": digest,
        "digestPublicKeyFingerprint": "00",
        "digestSignatureAlgorithm": "SHA256withRSA",
        "previousDigestS3Bucket": "b",
        "previousDigestS3Object": "AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2024/09/04/\u{1b}[31mred\u{7}.json.gz",
        "previousDigestHashValue": "00",
        "previousDigestHashAlgorithm": "SHA-256",
        "previousDigestSignature": "00",
        "logFiles": [{"s3Bucket": "b", "s3Object": "AWSLogs/111111111111/CloudTrail/us-east-1/2024/09/04/\u{1b}]0;title\u{7}.json.gz", "hashValue": "00", "hashAlgorithm": "SHA-256"}],
    });
    crate::util::write(dir.path(), digest, &gz(content.to_string().as_bytes()));
    let s = dir.path().to_str().unwrap();
    for format in ["table", "json", "ndjson", "csv"] {
        let r = run(&["verify", "-s", s, "--date", "2024-09-04", "-o", format]);
        assert_eq!(r.code, 4, "{format}: {}", r.stderr);
        // CSV keeps the exact text, as the README says (for programs, not terminals).
        let outs = if format == "csv" {
            vec![&r.stderr]
        } else {
            vec![&r.stdout, &r.stderr]
        };
        for out in outs {
            assert!(
                !out.contains('\u{1b}') && !out.contains('\u{7}'),
                "{format}: {out}"
            );
        }
        assert!(
            r.stdout.contains("missing_digest") && r.stdout.contains("missing_log"),
            "{format}: {}",
            r.stdout
        );
    }
    let r = run(&["events", "-s", s, "--date", "2024-09-04", "--verify"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        !r.stderr.contains('\u{1b}') && !r.stderr.contains('\u{7}'),
        "{}",
        r.stderr
    );
}

/// An unsigned digest of `account`/`us-east-1` for [start, end) listing `logs`, linked to
/// `prev` (its key and SHA-256); returns its key and SHA-256.
fn unsigned_digest(
    dir: &Path,
    (start, end, backfill): (&str, &str, bool),
    prev: Option<&(String, String)>,
    logs: &[(&str, &[u8])],
) -> (String, String) {
    use sha2::{Digest, Sha256};
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let stamp = end.replace(['-', ':'], "");
    let key = format!(
        "AWSLogs/111111111111/CloudTrail-Digest/us-east-1/{}/111111111111_CloudTrail-Digest_us-east-1_t_us-east-1_{stamp}{}.json.gz",
        end[..10].replace('-', "/"),
        if backfill { "_backfill" } else { "" }
    );
    let files: Vec<Value> = logs
        .iter()
        .map(|(k, text)| {
            crate::util::write(dir, k, &gz(text));
            serde_json::json!({"s3Bucket": "b", "s3Object": k, "hashValue": hex(&Sha256::digest(text)), "hashAlgorithm": "SHA-256"})
        })
        .collect();
    let content = serde_json::json!({
        "awsAccountId": "111111111111",
        "digestStartTime": start,
        "digestEndTime": end,
        "digestS3Bucket": "b",
        "digestS3Object": key,
        "digestPublicKeyFingerprint": "00",
        "digestSignatureAlgorithm": "SHA256withRSA",
        "previousDigestS3Bucket": prev.map(|_| "b"),
        "previousDigestS3Object": prev.map(|p| p.0.clone()),
        "previousDigestHashValue": prev.map(|p| p.1.clone()),
        "previousDigestHashAlgorithm": prev.map(|_| "SHA-256"),
        "previousDigestSignature": prev.map(|_| "00"),
        "logFiles": files,
    })
    .to_string();
    crate::util::write(dir, &key, &gz(content.as_bytes()));
    (key, hex(&Sha256::digest(content.as_bytes())))
}

#[test]
fn backfill_digests_cover_late_files_and_chain_among_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let log = |hhmm: &str| {
        format!(
            "AWSLogs/111111111111/CloudTrail/us-east-1/2024/09/04/111111111111_CloudTrail_us-east-1_20240904T{hhmm}Z_{hhmm}aaaaaaaaaaaa.json.gz"
        )
    };
    let (l1, l2, late) = (log("1010"), log("1110"), log("1050"));
    let text = br#"{"Records":[]}"#;
    let h10 = unsigned_digest(
        dir.path(),
        ("2024-09-04T10:00:30Z", "2024-09-04T11:00:30Z", false),
        None,
        &[(&l1, text)],
    );
    unsigned_digest(
        dir.path(),
        ("2024-09-04T11:00:30Z", "2024-09-04T12:00:30Z", false),
        Some(&h10),
        &[(&l2, text)],
    );
    // The file delivered at 10:50 reached no hourly digest: a backfill digest lists it. A later
    // backfill starts its own chain again, hours later: no gap.
    let b1 = unsigned_digest(
        dir.path(),
        ("2024-09-04T10:00:30Z", "2024-09-04T11:00:30Z", true),
        None,
        &[(&late, text)],
    );
    unsigned_digest(
        dir.path(),
        ("2024-09-04T11:00:30Z", "2024-09-04T12:00:30Z", true),
        None,
        &[],
    );
    let s = dir.path().to_str().unwrap();
    let r = run(&["verify", "-s", s, "--date", "2024-09-04", "-o", "json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json()["summary"]["log_files_valid"], 3, "{}", r.stdout);
    // A backfill digest that names a backfill digest that is gone: that one hour, no more.
    std::fs::remove_file(dir.path().join(&b1.0)).unwrap();
    unsigned_digest(
        dir.path(),
        ("2024-09-04T15:00:30Z", "2024-09-04T16:00:30Z", true),
        Some(&b1),
        &[],
    );
    let r = run(&["verify", "-s", s, "--date", "2024-09-04", "-o", "json"]);
    let row = one_problem(&r, "missing_digest", &b1.0);
    assert_eq!(row["period_start"], "2024-09-04T10:00:30Z", "{row}");
    assert_eq!(row["period_end"], "2024-09-04T11:00:30Z", "{row}");
}

/// Several tampers at once, chosen at random (a fixed seed per round): `verify` and the
/// independent reference find the same problems, with the same periods (`verify_local`
/// compares them), and the exit code follows.
#[test]
fn random_tampers_agree_with_the_reference() {
    let Some(_) = generated() else { return };
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) as usize) % n
    };
    let chains = [
        "111111111111/us-east-1",
        "111111111111/eu-west-1",
        "222222222222/us-east-1",
        "222222222222/eu-west-1",
    ];
    // More rounds with CTQ_VERIFY_ROUNDS=N.
    let rounds = std::env::var("CTQ_VERIFY_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(4);
    for round in 0..rounds {
        let dir = copy().unwrap();
        let d = dir.path();
        let mut done = Vec::new();
        for _ in 0..4 {
            let chain = chains[next(4)];
            let n = next(72);
            match next(8) {
                0 => {
                    let key = log_key(d, next(576));
                    let _ = std::fs::remove_file(path(d, &key));
                    done.push(format!("deleted {key}"));
                }
                1 => {
                    let key = log_key(d, next(576));
                    let p = path(d, &key);
                    if let Ok(data) = std::fs::read(&p) {
                        std::fs::write(&p, [&data[..], &gz(b"{}")[..]].concat()).unwrap();
                        done.push(format!("appended to {key}"));
                    }
                }
                2 => {
                    let (account, region) = chain.split_once('/').unwrap();
                    let (day, hour) = (3 + next(3), next(24));
                    let key = format!(
                        "AWSLogs/{account}/CloudTrail/{region}/2024/09/0{day}/{account}_CloudTrail_{region}_2024090{day}T{hour:02}25Z_planted{round}{n:02}.json.gz"
                    );
                    crate::util::write(&d.join("trail"), &key, &gz(b"{\"Records\":[]}"));
                    done.push(format!("planted {key}"));
                }
                3 => {
                    let key = digest_key(d, chain, n);
                    let _ = std::fs::remove_file(path(d, &key));
                    done.push(format!("deleted digest {key}"));
                }
                4 => {
                    for k in n..(n + 2 + next(3)).min(72) {
                        let _ = std::fs::remove_file(path(d, &digest_key(d, chain, k)));
                    }
                    done.push(format!("deleted digests {chain} from {n}"));
                }
                5 => {
                    let key = digest_key(d, chain, n);
                    let p = path(d, &key);
                    if let Ok(data) = std::fs::read(&p) {
                        let text = String::from_utf8(gunzip(&data)).unwrap();
                        let text = text.replacen(
                            "\"oldestEventTime\": \"2024",
                            "\"oldestEventTime\": \"2022",
                            1,
                        );
                        std::fs::write(&p, gz(text.as_bytes())).unwrap();
                        done.push(format!("edited {key}"));
                    }
                }
                6 => {
                    let key = digest_key(d, chain, n);
                    let sigs_path = d.join("signatures.json");
                    let mut sigs: Value =
                        serde_json::from_slice(&std::fs::read(&sigs_path).unwrap()).unwrap();
                    let other: Value = serde_json::from_slice(
                        &std::fs::read(d.join("other-signatures.json")).unwrap(),
                    )
                    .unwrap();
                    sigs[&key] = other[&key].clone();
                    std::fs::write(&sigs_path, sigs.to_string()).unwrap();
                    done.push(format!("resigned {key}"));
                }
                _ => {
                    let (account, region) = chain.split_once('/').unwrap();
                    let day = format!(
                        "AWSLogs/{account}/CloudTrail-Digest/{region}/2024/09/0{}",
                        3 + next(4)
                    );
                    let _ = std::fs::remove_dir_all(path(d, &day));
                    done.push(format!("deleted {day}"));
                }
            }
        }
        // verify_local holds ctq to the reference; the exit code says whether it found anything.
        let r = verify_local(d, &[]);
        let found = problems(&r);
        let want = if found.is_empty() { 0 } else { 4 };
        assert_eq!(r.code, want, "round {round} ({done:?}): {}", r.stderr);
    }
}

#[test]
fn a_digest_that_inflates_past_its_cap_is_a_modified_digest() {
    let dir = tempfile::tempdir().unwrap();
    let digest = "AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2024/09/04/111111111111_CloudTrail-Digest_us-east-1_t_us-east-1_20240904T110030Z.json.gz";
    // 65 MiB of spaces: a few dozen KB of gzip.
    let bomb = gz(&vec![b' '; 65 << 20]);
    assert!(bomb.len() < 1 << 20);
    crate::util::write(dir.path(), digest, &bomb);
    let r = run(&[
        "verify",
        "-s",
        dir.path().to_str().unwrap(),
        "--date",
        "2024-09-04",
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    let j = r.json();
    assert_eq!(j["problems"][0]["kind"], "modified_digest", "{j}");
    assert!(
        j["problems"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("64 MiB"),
        "{j}"
    );
    // Nesting without end: refused at serde_json's depth limit, without recursing further.
    let deep = format!(
        "{{\"logFiles\":{}{}}}",
        "[".repeat(200_000),
        "]".repeat(200_000)
    );
    crate::util::write(dir.path(), digest, &gz(deep.as_bytes()));
    let r = run(&[
        "verify",
        "-s",
        dir.path().to_str().unwrap(),
        "--date",
        "2024-09-04",
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    let j = r.json();
    assert_eq!(j["problems"][0]["kind"], "modified_digest", "{j}");
    assert!(
        j["problems"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("not a digest file"),
        "{j}"
    );
}
