//! Helpers: run ctq, write trail files, build events.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

pub fn ctq() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ctq"));
    for var in [
        "CTQ_SOURCE",
        "CTQ_ENGINE",
        "CTQ_ATHENA_TABLE",
        "CTQ_ATHENA_DATABASE",
        "CTQ_ATHENA_WORKGROUP",
        "CTQ_ATHENA_OUTPUT",
        "CTQ_CACHE",
    ] {
        c.env_remove(var);
    }
    c
}

pub fn run(args: &[&str]) -> Run {
    run_with(ctq().args(args), None)
}

pub fn run_stdin(args: &[&str], input: &[u8]) -> Run {
    run_with(ctq().args(args), Some(input))
}

pub fn run_with(cmd: &mut Command, input: Option<&[u8]>) -> Run {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn ctq");
    if let Some(input) = input {
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().expect("ctq was killed by a signal"),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Write `data` at `dir/rel`, creating folders.
pub fn write(dir: &Path, rel: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, data).unwrap();
    path
}

/// A trail file body: `{"Records":[...]}`.
pub fn records(events: &[Value]) -> Vec<u8> {
    serde_json::to_vec(&json!({ "Records": events })).unwrap()
}

/// A plausible event; `extra` fields are merged over the defaults.
pub fn event(time: &str, name: &str, extra: Value) -> Value {
    let mut e = json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": "arn:aws:iam::111111111111:user/alice",
            "accountId": "111111111111",
            "userName": "alice"
        },
        "eventTime": time,
        "eventSource": "ec2.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.17.0",
        "requestParameters": null,
        "responseElements": null,
        "requestID": "req",
        "eventID": format!("id-{name}-{time}"),
        "readOnly": true,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "111111111111",
        "eventCategory": "Management"
    });
    merge(&mut e, extra);
    e
}

fn merge(base: &mut Value, extra: Value) {
    if let (Value::Object(b), Value::Object(x)) = (base, extra) {
        for (k, v) in x {
            match (b.get_mut(&k), &v) {
                (Some(Value::Object(_)), Value::Object(_)) => merge(b.get_mut(&k).unwrap(), v),
                _ => {
                    b.insert(k, v);
                }
            }
        }
    }
}

pub fn error_event(time: &str, name: &str, code: &str, message: &str) -> Value {
    event(
        time,
        name,
        json!({ "errorCode": code, "errorMessage": message }),
    )
}

/// The S3 key path of a trail file delivered at `stamp` (`YYYYMMDDTHHmmZ`).
pub fn trail_path(account: &str, region: &str, stamp: &str, suffix: &str) -> String {
    format!(
        "AWSLogs/{account}/CloudTrail/{region}/{}/{}/{}/{account}_CloudTrail_{region}_{stamp}_{suffix}.json.gz",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8]
    )
}

/// `check` on every case, on a few threads at once; the failures it reports, in case order.
pub fn failures_in_parallel<T: Sync>(
    cases: &[T],
    check: impl Fn(&T) -> Option<String> + Sync,
) -> Vec<String> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let failures = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(4, |n| n.get())
        .min(8);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    if let Some(f) = check(case) {
                        failures.lock().unwrap().push((i, f));
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    failures.into_iter().map(|(_, f)| f).collect()
}

/// `got` must equal the reviewed file `tests/golden/<rel>`; with CTQ_BLESS=1 it is written there
/// first (after a deliberate change, to be reviewed in the diff).
pub fn pinned(rel: &str, got: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(rel);
    if std::env::var_os("CTQ_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (CTQ_BLESS=1 creates it)", path.display()));
    assert_eq!(got, want, "differs from {}", path.display());
}
