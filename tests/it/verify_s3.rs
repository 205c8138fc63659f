//! `ctq verify` on S3: signatures from the objects' metadata (`x-amz-meta-signature`, served by
//! the s3s-fs test server from its metadata files), public keys from CloudTrail's
//! `ListPublicKeys` through the SDK, against a CloudTrail endpoint on 127.0.0.1
//! (`AWS_ENDPOINT_URL_CLOUDTRAIL`) that speaks the service's JSON protocol.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::s3::{S3Server, copy_tree};
use crate::util::{Run, run_with};
use crate::verify::{WINDOW, copy, digest_key, one_problem, problems};

const BUCKET: &str = "ctq-verify-test";

/// A CloudTrail endpoint that answers ListPublicKeys with `keys` (the CLI's JSON), and counts
/// the requests, keeping the last one's target, credential scope and body.
pub struct CloudTrailServer {
    pub endpoint: String,
    pub requests: Arc<AtomicU64>,
    pub last: Arc<Mutex<(String, String, Value)>>,
}

impl CloudTrailServer {
    pub fn start(keys: &Value, status: u16) -> CloudTrailServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        // The service's JSON: blobs in base64 (as the CLI prints them), times in epoch seconds.
        let secs = |v: &Value| {
            let s = v.as_str().unwrap();
            chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp() as f64
        };
        let list: Vec<Value> = keys["PublicKeyList"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                json!({
                    "Value": k["Value"],
                    "Fingerprint": k["Fingerprint"],
                    "ValidityStartTime": secs(&k["ValidityStartTime"]),
                    "ValidityEndTime": secs(&k["ValidityEndTime"]),
                })
            })
            .collect();
        let body = if status == 200 {
            json!({ "PublicKeyList": list }).to_string()
        } else {
            json!({"__type": "AccessDeniedException", "message": "not allowed: cloudtrail:ListPublicKeys"}).to_string()
        };
        let requests = Arc::new(AtomicU64::new(0));
        let last = Arc::new(Mutex::new((String::new(), String::new(), Value::Null)));
        let (count, seen) = (Arc::clone(&requests), Arc::clone(&last));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (body, count, seen) = (body.clone(), Arc::clone(&count), Arc::clone(&seen));
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut writer = stream;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let (mut len, mut target, mut auth) =
                            (0usize, String::new(), String::new());
                        loop {
                            let mut h = String::new();
                            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                                return;
                            }
                            let h = h.trim_end();
                            if h.is_empty() {
                                break;
                            }
                            let (name, value) = h.split_once(':').unwrap_or((h, ""));
                            match name.to_ascii_lowercase().as_str() {
                                "content-length" => len = value.trim().parse().unwrap_or(0),
                                "x-amz-target" => target = value.trim().to_string(),
                                "authorization" => auth = value.trim().to_string(),
                                _ => {}
                            }
                        }
                        let mut request = vec![0u8; len];
                        if reader.read_exact(&mut request).is_err() {
                            return;
                        }
                        count.fetch_add(1, Ordering::SeqCst);
                        *seen.lock().unwrap() = (
                            target,
                            auth,
                            serde_json::from_slice(&request).unwrap_or(Value::Null),
                        );
                        let reason = if status == 200 { "OK" } else { "Bad Request" };
                        let response = format!(
                            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: test-request\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if writer.write_all(response.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        CloudTrailServer {
            endpoint,
            requests,
            last,
        }
    }
}

/// The generated trail in `dir` as the bucket of a new S3 server, each digest with its
/// signature as object metadata, as CloudTrail writes it.
fn serve(dir: &Path, signatures: &str) -> S3Server {
    let server = S3Server::start();
    copy_tree(&dir.join("trail"), &server.bucket(BUCKET));
    let sigs: Value =
        serde_json::from_slice(&std::fs::read(dir.join(signatures)).unwrap()).unwrap();
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    for (key, sig) in sigs.as_object().unwrap() {
        // s3s-fs keeps an object's metadata beside the bucket folders, in this file.
        let file = server.root.path().join(format!(
            ".bucket-{}.object-{}.metadata.json",
            b64(BUCKET),
            b64(key)
        ));
        let attrs = json!({"user_metadata": {"signature": sig}});
        std::fs::write(file, attrs.to_string()).unwrap();
    }
    server
}

fn verify_s3(server: &S3Server, cloudtrail: &CloudTrailServer, extra: &[&str]) -> Run {
    let source = format!("s3://{BUCKET}");
    let mut args = vec!["verify", "-s", source.as_str(), "-o", "json"];
    args.extend(WINDOW);
    args.extend(extra);
    let mut cmd = server.ctq();
    cmd.env("AWS_ENDPOINT_URL_CLOUDTRAIL", &cloudtrail.endpoint)
        .args(&args);
    run_with(&mut cmd, None)
}

fn keys(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("public-keys.json")).unwrap()).unwrap()
}

#[test]
fn valid_on_s3_with_signatures_from_metadata_and_keys_from_list_public_keys() {
    let Some(dir) = copy() else { return };
    let server = serve(dir.path(), "signatures.json");
    let cloudtrail = CloudTrailServer::start(&keys(dir.path()), 200);
    let r = verify_s3(&server, &cloudtrail, &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let s = &r.json()["summary"];
    assert_eq!(s["signatures_valid"], 288, "{s}");
    assert_eq!(s["log_files_valid"], 576, "{s}");
    // One call per region of the digests, through the SDK: signed for CloudTrail, with the
    // digests' time range.
    assert_eq!(cloudtrail.requests.load(Ordering::SeqCst), 2);
    let (target, auth, body) = cloudtrail.last.lock().unwrap().clone();
    assert_eq!(target, "CloudTrail_20131101.ListPublicKeys");
    assert!(auth.contains("/cloudtrail/aws4_request"), "{auth}");
    assert!(
        body["StartTime"].as_f64().unwrap() < 1_725_321_600.0,
        "{body}"
    );
    assert!(
        body["EndTime"].as_f64().unwrap() > 1_725_580_800.0,
        "{body}"
    );
    // The same verdict from --public-keys, without asking CloudTrail.
    let file = dir.path().join("public-keys.json");
    let r = verify_s3(
        &server,
        &cloudtrail,
        &["--public-keys", file.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["summary"]["signatures_valid"], 288);
    assert_eq!(cloudtrail.requests.load(Ordering::SeqCst), 2);
}

#[test]
fn tampers_on_s3() {
    let Some(dir) = copy() else { return };
    // A signature from another key, in the object's metadata.
    let server = serve(dir.path(), "other-signatures.json");
    let cloudtrail = CloudTrailServer::start(&keys(dir.path()), 200);
    let r = verify_s3(
        &server,
        &cloudtrail,
        &["--account", "111111111111", "--region", "us-east-1"],
    );
    assert_eq!(r.code, 4, "{}", r.stderr);
    let found = problems(&r);
    assert_eq!(found.len(), 72, "{found:#?}");
    assert!(
        found.iter().all(|(k, _)| k == "bad_signature"),
        "{found:#?}"
    );
    // A deleted digest and a deleted log file.
    let server = serve(dir.path(), "signatures.json");
    let digest = digest_key(dir.path(), "222222222222/eu-west-1", 10);
    std::fs::remove_file(server.bucket(BUCKET).join(&digest)).unwrap();
    let r = verify_s3(&server, &cloudtrail, &[]);
    let row = one_problem(&r, "missing_digest", &digest);
    assert!(
        row["object"]
            .as_str()
            .unwrap()
            .starts_with("s3://ctq-verify-test/AWSLogs/"),
        "{row}"
    );
}

#[test]
fn list_public_keys_refused_stops_the_run_with_the_reason() {
    let Some(dir) = copy() else { return };
    let server = serve(dir.path(), "signatures.json");
    let cloudtrail = CloudTrailServer::start(&keys(dir.path()), 400);
    let r = verify_s3(&server, &cloudtrail, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("ListPublicKeys"), "{}", r.stderr);
    assert!(r.stderr.contains("AccessDenied"), "{}", r.stderr);
    assert!(r.stderr.contains("--public-keys"), "{}", r.stderr);
}

#[test]
fn a_digest_that_cannot_be_downloaded_is_skipped_not_a_finding() {
    use crate::faults::{Fault, On};
    let Some(dir) = copy() else { return };
    let server = serve(dir.path(), "signatures.json");
    let cloudtrail = CloudTrailServer::start(&keys(dir.path()), 200);
    let digest = digest_key(dir.path(), "111111111111/eu-west-1", 33);
    let name = digest.rsplit('/').next().unwrap();
    server.faults.add(On::object(name), Fault::SlowDown, None);
    let r = verify_s3(&server, &cloudtrail, &[]);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(problems(&r).is_empty(), "{:#?}", problems(&r));
    assert!(r.stderr.contains(name), "{}", r.stderr);
    assert!(r.stderr.contains("SlowDown"), "{}", r.stderr);
}

#[test]
fn verify_on_a_report_reads_each_object_once() {
    let Some(dir) = copy() else { return };
    let server = serve(dir.path(), "signatures.json");
    let cloudtrail = CloudTrailServer::start(&keys(dir.path()), 200);
    let source = format!("s3://{BUCKET}");
    let mut args = vec!["errors", "-s", source.as_str(), "--verify", "-o", "json"];
    args.extend(WINDOW);
    let mut cmd = server.ctq();
    cmd.env("AWS_ENDPOINT_URL_CLOUDTRAIL", &cloudtrail.endpoint)
        .args(&args);
    let r = run_with(&mut cmd, None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("verified: 576 log file(s), 288 digest(s), signatures valid"),
        "{}",
        r.stderr
    );
    // Each log file downloaded once, by the report (whose hashes verify takes), and each digest
    // once, by verify: none of the log files twice.
    let (_, gets) = server.faults.requests();
    assert_eq!(gets, 576 + 288, "{}", r.stderr);
}
