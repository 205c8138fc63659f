//! The issue-4 investigations (`events`, `console-logins`, `network-activity`, `summary`).
//!
//! Most tests run ctq and the reference implementation (`tests/reference/ctq_reference.py`, which
//! follows `tests/reference/CONTRACT-issue4.md`) with the same arguments on the fixtures, the real
//! samples in `../shared/cloudtrail-samples` and generated corpora, and compare: `-o json` as parsed
//! values (row order included), `events --raw` and `summary -o csv` byte for byte, exit codes and
//! the skipped files named on stderr. Others need no Python: `--raw` against the source files it
//! was written from, `--limit` against the unlimited list, the table's totals line, the same output
//! from S3 as from disk.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::reference::{self, manifest_dir, python_available, run_ctq, run_reference};
use crate::s3::S3Server;
use crate::util::{failures_in_parallel, fixtures, run};

/// How the two outputs are compared.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// `-o json`, parsed.
    Json,
    /// Byte for byte (`--raw`, `summary -o csv`).
    Text,
    /// The same lines in any order (`--raw` where events tie on every sort key but differ
    /// elsewhere, which the contract leaves unordered; the order is checked by the JSON cases).
    Lines,
}

struct Case {
    args: Vec<String>,
    mode: Mode,
}

/// One invocation: `--source` and `-o` before the command on odd cases, after it on even ones;
/// the filters (some of them the command's own options) after the command.
fn case(sources: &[PathBuf], command: &[&str], filter: &[&str], mode: Mode, before: bool) -> Case {
    let mut global: Vec<String> = Vec::new();
    for s in sources {
        global.push("--source".into());
        global.push(s.to_str().unwrap().into());
    }
    if mode == Mode::Json {
        global.extend(["-o".to_string(), "json".to_string()]);
    }
    let command = command.iter().chain(filter).map(|s| s.to_string());
    let args = if before {
        global.into_iter().chain(command).collect()
    } else {
        command.chain(global).collect()
    };
    Case { args, mode }
}

/// Every (command, filter) pair as cases of one mode.
fn cases(sources: &[PathBuf], commands: &[&[&str]], filters: &[&[&str]], mode: Mode) -> Vec<Case> {
    let mut out = Vec::new();
    for c in commands {
        for f in filters {
            let before = out.len() % 2 == 1;
            out.push(case(sources, c, f, mode, before));
        }
    }
    out
}

fn shell_words(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if a.contains(|c: char| c.is_whitespace() || c == '\'') || a.is_empty() {
                format!("'{a}'")
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Paths named as skipped on stderr: lines `<prefix>: <path>: <why>` whose path exists.
fn skipped(stderr: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in stderr.lines() {
        let Some(rest) = line.strip_prefix(prefix) else {
            continue;
        };
        let mut end = rest.len();
        while let Some(i) = rest[..end].rfind(": ") {
            if Path::new(&rest[..i]).exists() {
                out.insert(rest[..i].to_string());
                break;
            }
            end = i;
        }
    }
    out
}

fn clip(s: &str) -> String {
    if s.len() <= 400 {
        return s.to_string();
    }
    let mut end = 400;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Where two texts first differ, line by line.
fn text_difference(ours: &str, theirs: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
    let i = a
        .iter()
        .zip(&b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let mut s = format!(
        "output: ctq {} lines vs reference {} lines; first difference at line {i}",
        a.len(),
        b.len()
    );
    for k in i..i + 2 {
        if k < a.len() || k < b.len() {
            s += &format!(
                "\n    [{k}] ctq       {}\n    [{k}] reference {}",
                a.get(k).map_or("(none)".to_string(), |l| clip(l)),
                b.get(k).map_or("(none)".to_string(), |l| clip(l))
            );
        }
    }
    if a.len() == b.len() && ours != theirs && i == a.len() {
        s += "\n    (the line endings differ)";
    }
    s
}

/// Compare one invocation; `None` when ctq and the reference agree.
fn compare(c: &Case) -> Option<String> {
    if c.mode == Mode::Json {
        return reference::compare(&c.args);
    }
    let ours = run_ctq(&c.args);
    let theirs = run_reference(&c.args);
    let mut problems = Vec::new();
    if ours.code != theirs.code {
        problems.push(format!(
            "exit code: ctq {} vs reference {}",
            ours.code, theirs.code
        ));
    }
    let (a, b) = (
        skipped(&ours.stderr, "ctq: "),
        skipped(&theirs.stderr, "ref: "),
    );
    if a != b {
        problems.push(format!("skipped files differ: ctq {a:?}, reference {b:?}"));
    }
    match c.mode {
        Mode::Text if ours.stdout != theirs.stdout => {
            problems.push(text_difference(&ours.stdout, &theirs.stdout))
        }
        Mode::Lines => {
            let mut x: Vec<&str> = ours.stdout.lines().collect();
            let mut y: Vec<&str> = theirs.stdout.lines().collect();
            x.sort_unstable();
            y.sort_unstable();
            if x != y {
                let only_ctq: Vec<_> = x.iter().filter(|l| !y.contains(*l)).take(3).collect();
                let only_ref: Vec<_> = y.iter().filter(|l| !x.contains(*l)).take(3).collect();
                problems.push(format!(
                    "lines: ctq {} vs reference {}\n    only in ctq: {}\n    only in reference: {}",
                    x.len(),
                    y.len(),
                    only_ctq
                        .iter()
                        .map(|l| clip(l))
                        .collect::<Vec<_>>()
                        .join("\n      "),
                    only_ref
                        .iter()
                        .map(|l| clip(l))
                        .collect::<Vec<_>>()
                        .join("\n      ")
                ));
            }
        }
        _ => {}
    }
    if problems.is_empty() {
        return None;
    }
    Some(format!(
        "ctq {}\n  {}\n  ctq stderr: {}\n  reference stderr: {}",
        shell_words(&c.args),
        problems.join("\n  "),
        clip(ours.stderr.trim()),
        clip(theirs.stderr.trim())
    ))
}

/// Every disagreement among `cases`, run in parallel.
fn disagreements(cases: &[Case]) -> Vec<String> {
    failures_in_parallel(cases, compare)
}

fn report(label: &str, failures: &[String], total: usize) {
    if !failures.is_empty() {
        let shown: Vec<_> = failures.iter().take(25).map(String::as_str).collect();
        panic!(
            "{label}: ctq and the reference disagree on {} of {} invocations{}:\n\n{}",
            failures.len(),
            total,
            if failures.len() > shown.len() {
                " (the first 25 follow)"
            } else {
                ""
            },
            shown.join("\n\n")
        );
    }
}

fn check(label: &str, cases: &[Case]) {
    report(label, &disagreements(cases), cases.len());
}

const VPCE_A: &str = "vpce-0a1b2c3d4e5f60718";
const VPCE_B: &str = "vpce-0f9e8d7c6b5a40312";

/// `events` filters on the fixtures: each alone, repeated (OR) and combined (AND).
const EVENT_FILTERS: &[&[&str]] = &[
    &[],
    // --user: userName, sessionIssuer.userName, the arn's last segment (a session name, a user
    // with an IAM path), repeated
    &["--user", "erin"],
    &["--user", "incident-responder"],
    &["--user", "henry"],
    &["--user", "erin@example.com"],
    &["--user", "app-server"],
    &["--user", "alice", "--user", "frank"],
    &["--user", "Erin"],
    &["--principal", "assumed-role/incident-responder"],
    &["--principal", "unknown"],
    &["--principal", "444455556666", "--principal", ":root"],
    &["--access-key", "AKIAERIN7EXAMPLE0001"],
    &[
        "--access-key",
        "ASIAINCIDENTEXAMPLE1",
        "--access-key",
        "AKIAIVAN7EXAMPLE0001",
    ],
    &["--event-name", "ConsoleLogin"],
    &["--event-name", "GetObject", "--event-name", "PutObject"],
    &["--event-source", "signin.amazonaws.com"],
    &[
        "--event-source",
        "kms.amazonaws.com",
        "--event-source",
        "ssm.amazonaws.com",
    ],
    // --source-ip: an address, IPv4 and IPv6 blocks, the same address written differently
    &["--source-ip", "198.51.100.50"],
    &["--source-ip", "198.51.100.0/24"],
    &["--source-ip", "2001:db8::/32"],
    &["--source-ip", "2001:db8:1::50"],
    &["--source-ip", "2001:DB8:1:0:0::50"],
    &["--source-ip", "2600:1f18::/32", "--source-ip", "10.0.0.0/8"],
    &["--source-ip", "0.0.0.0/0"],
    &["--source-ip", "::/0"],
    &["--bucket", "prod-data"],
    &[
        "--bucket",
        "prod-data-archive",
        "--bucket",
        "finance-reports",
    ],
    &["--vpce", VPCE_B],
    &["--vpce", VPCE_A, "--vpce", VPCE_B],
    &["--error-code", "VpceAccessDenied"],
    &[
        "--error-code",
        "AccessDenied",
        "--error-code",
        "NoSuchEntityException",
    ],
    &["--errors"],
    &["--read-only"],
    &["--write"],
    &["--category", "Management"],
    &["--category", "Data"],
    &["--category", "NetworkActivity"],
    &["--category", "Insight"],
    &["--category", "Data", "--category", "Insight"],
    // combined
    &["--user", "erin", "--source-ip", "2001:db8::/32"],
    &[
        "--access-key",
        "AKIAERIN7EXAMPLE0001",
        "--source-ip",
        "198.51.100.0/24",
        "--write",
    ],
    &[
        "--errors",
        "--category",
        "NetworkActivity",
        "--vpce",
        VPCE_A,
    ],
    &["--user", "erin", "--read-only", "--date", "2024-09-06"],
    &[
        "--event-source",
        "s3.amazonaws.com",
        "--bucket",
        "prod-data",
        "--errors",
        "--account",
        "111111111111",
    ],
    &[
        "--principal",
        "erin",
        "--event-name",
        "ConsoleLogin",
        "--region",
        "us-east-1",
    ],
    &[
        "--source-ip",
        "198.51.100.0/24",
        "--since",
        "2024-09-05T23:00:00Z",
        "--until",
        "2024-09-06T11:30:00Z",
    ],
    &[
        "--user",
        "erin",
        "--user",
        "ivan",
        "--source-ip",
        "2001:db8::/32",
        "--category",
        "Management",
    ],
];

#[test]
fn events_on_fixtures_agree_with_reference() {
    if !python_available() {
        return;
    }
    let src = [manifest_dir().join("fixtures")];
    let mut all = cases(&src, &[&["events"]], EVENT_FILTERS, Mode::Json);
    all.extend(cases(
        &src,
        &[&["events", "--raw"]],
        EVENT_FILTERS,
        Mode::Text,
    ));
    // order and --limit (more matches than the limit, in both orders), --fields with nested paths
    let more: &[&[&str]] = &[
        &["--oldest-first"],
        &["--limit", "7"],
        &["--limit", "7", "--oldest-first"],
        &["--limit", "3", "--user", "erin"],
        &["--limit", "3", "--user", "erin", "--oldest-first"],
        &["--limit", "100000"],
        &["--limit", "1", "--date", "2024-09-05"],
        &["--limit", "4", "--oldest-first", "--date", "2024-09-05"],
        &[
            "--fields",
            "userIdentity.arn,requestParameters.bucketName,tlsDetails.clientProvidedHostHeader",
        ],
        &[
            "--fields",
            "eventTime,userIdentity.sessionContext.sessionIssuer",
            "--fields",
            "readOnly,additionalEventData.MFAUsed,responseElements",
            "--user",
            "erin",
        ],
        &[
            "--fields",
            "requestParameters,resources,userIdentity.sessionContext.attributes.mfaAuthenticated",
            "--bucket",
            "prod-data",
            "--oldest-first",
        ],
        &[
            "--fields",
            "no.such.path,eventID,userIdentity.type.deeper",
            "--limit",
            "5",
        ],
        &[
            "--fields",
            "recipientAccountId,awsRegion,eventTime,userIdentity",
            "--account",
            "333333333333",
            "--limit",
            "6",
            "--oldest-first",
        ],
    ];
    all.extend(cases(&src, &[&["events"]], more, Mode::Json));
    // ctq refuses --raw with --fields (a usage error; the contract does not say): not compared
    let raw_more: Vec<&[&str]> = more
        .iter()
        .copied()
        .filter(|f| !f.contains(&"--fields"))
        .collect();
    all.extend(cases(&src, &[&["events", "--raw"]], &raw_more, Mode::Text));
    // -o is ignored with --raw
    all.push(case(
        &src,
        &["events", "--raw", "-o", "csv"],
        &["--user", "erin"],
        Mode::Text,
        false,
    ));
    check("events on fixtures", &all);
}

#[test]
fn console_logins_network_activity_and_summary_on_fixtures_agree_with_reference() {
    if !python_available() {
        return;
    }
    let src = [manifest_dir().join("fixtures")];
    let windows: &[&[&str]] = &[
        &[],
        &["--date", "2024-09-05"],
        &["--date", "2024-09-06"],
        &["--account", "111111111111"],
        &["--account", "222222222222", "--region", "eu-west-1"],
        &[
            "--since",
            "2024-09-06T11:00:00Z",
            "--until",
            "2024-09-06T11:25:30Z",
        ],
        &["--date", "2024-09-01"],
    ];
    let commands: &[&[&str]] = &[
        &["console-logins"],
        &["console-logins", "--failures"],
        &["console-logins", "--no-mfa"],
        &["console-logins", "--failures", "--no-mfa"],
        &["network-activity"],
        &["network-activity", "--vpce", VPCE_A],
        &["network-activity", "--vpce", VPCE_B],
        &["network-activity", "--vpce", VPCE_A, "--vpce", VPCE_B],
        &["network-activity", "--denied"],
        &["network-activity", "--denied", "--vpce", VPCE_B],
        &["network-activity", "--vpce", "vpce-none"],
        &["summary"],
        &["summary", "--top", "3"],
        &["summary", "--top", "0"],
        &["summary", "--top", "1000"],
    ];
    let mut all = cases(&src, commands, windows, Mode::Json);
    all.extend(cases(
        &src,
        &[
            &["summary", "-o", "csv"],
            &["summary", "--top", "2", "-o", "csv"],
        ],
        windows,
        Mode::Text,
    ));
    check(
        "console-logins, network-activity, summary on fixtures",
        &all,
    );
}

#[test]
fn investigations_on_shared_samples_agree_with_reference() {
    if !python_available() {
        return;
    }
    let samples = manifest_dir().join("../shared/cloudtrail-samples");
    if !samples.is_dir() {
        eprintln!(
            "note: {} is missing; the comparison on real samples is skipped",
            samples.display()
        );
        return;
    }
    let src = [samples.clone()];
    let windows: &[&[&str]] = &[
        &[],
        &["--since", "2022-01-01", "--until", "2024-01-01"],
        &["--account", "123456789012"],
    ];
    let commands: &[&[&str]] = &[
        &["events"],
        &["events", "--oldest-first"],
        &["events", "--limit", "10"],
        &["events", "--limit", "10", "--oldest-first"],
        &["events", "--event-name", "ConsoleLogin"],
        &["events", "--errors", "--read-only"],
        &["events", "--write"],
        &["events", "--category", "Management"],
        &[
            "events",
            "--category",
            "Data",
            "--category",
            "NetworkActivity",
        ],
        &[
            "events",
            "--source-ip",
            "10.0.0.0/8",
            "--source-ip",
            "2001:db8::/32",
        ],
        &["events", "--source-ip", "0.0.0.0/0"],
        &["events", "--user", "stratus-red-team-user"],
        &[
            "events", "--user", "Alice", "--user", "bob", "--user", "root",
        ],
        &["events", "--principal", "root"],
        &["events", "--bucket", "example-bucket"],
        &["events", "--vpce", "vpce-01234567890abcdef"],
        &[
            "events",
            "--fields",
            "userIdentity.arn,requestParameters.bucketName,tlsDetails.clientProvidedHostHeader",
            "--event-source",
            "s3.amazonaws.com",
        ],
        &["console-logins"],
        &["console-logins", "--failures"],
        &["console-logins", "--no-mfa"],
        &["network-activity"],
        &["network-activity", "--denied"],
        &["summary"],
        &["summary", "--top", "0"],
    ];
    let mut all = cases(&src, commands, windows, Mode::Json);
    all.extend(cases(
        &src,
        // (no --limit here: the samples hold copies of one event, with one eventID, in several
        // files and layouts; which copies fill the limit is not defined)
        &[
            &["events", "--raw"],
            &["events", "--raw", "--event-name", "ConsoleLogin"],
            &["events", "--raw", "--oldest-first", "--errors"],
        ],
        windows,
        Mode::Lines,
    ));
    all.extend(cases(
        &src,
        &[&["summary", "-o", "csv"]],
        windows,
        Mode::Text,
    ));
    // several sources, one of them lookup-events output named directly
    let lookup = samples.join("aws-cli-examples/lookup-events.rst.output.json");
    let two = [samples.join("stratus-red-team"), lookup.clone()];
    all.extend(cases(
        &two,
        &[&["events"], &["console-logins"], &["summary"]],
        &[&[]],
        Mode::Json,
    ));
    all.extend(cases(
        &[lookup],
        &[&["events", "--raw"]],
        &[&[]],
        Mode::Text,
    ));
    check("shared samples", &all);
}

#[test]
fn investigations_on_generated_corpora_agree_with_reference() {
    if !python_available() {
        return;
    }
    let windows: &[&[&str]] = &[
        &[],
        &["--date", "2024-09-05"],
        &["--account", "111111111111", "--region", "eu-west-1"],
    ];
    let json: &[&[&str]] = &[
        &["events"],
        &["events", "--oldest-first"],
        &["events", "--limit", "7"],
        &["events", "--limit", "7", "--oldest-first"],
        &["events", "--user", "alice", "--user", "app"],
        &[
            "events",
            "--access-key",
            "AKIAALICEEXAMPLE0001",
            "--access-key",
            "ASIASESSIONEXAMPLE01",
        ],
        &["events", "--source-ip", "198.51.100.0/24"],
        &[
            "events",
            "--source-ip",
            "2001:db8::/32",
            "--source-ip",
            "198.51.100.7",
        ],
        &["events", "--principal", "assumed-role/"],
        &["events", "--vpce", VPCE_A],
        &["events", "--read-only"],
        &["events", "--write", "--errors"],
        &[
            "events",
            "--category",
            "NetworkActivity",
            "--error-code",
            "VpceAccessDenied",
        ],
        &[
            "events",
            "--bucket",
            "prod-data",
            "--event-source",
            "s3.amazonaws.com",
        ],
        &[
            "events",
            "--event-name",
            "ConsoleLogin",
            "--category",
            "Management",
        ],
        &[
            "events",
            "--fields",
            "userIdentity.arn,eventID,additionalEventData.MFAUsed,readOnly",
            "--limit",
            "25",
        ],
        &["console-logins"],
        &["console-logins", "--failures"],
        &["console-logins", "--no-mfa"],
        &["network-activity"],
        &["network-activity", "--denied", "--vpce", VPCE_B],
        &["summary"],
        &["summary", "--top", "3"],
    ];
    let (mut failures, mut total) = (Vec::new(), 0);
    for seed in [1, 2, 3, 4] {
        let dir = crate::reference::generated_corpus(seed);
        let src = [dir.path().to_path_buf()];
        let mut all = cases(&src, json, windows, Mode::Json);
        all.extend(cases(
            &src,
            // (no --limit: which of several events tied on every sort key fill it is not defined)
            &[
                &["events", "--raw"],
                &["events", "--raw", "--oldest-first", "--write"],
                &["events", "--raw", "--source-ip", "2001:db8::/32"],
            ],
            windows,
            Mode::Lines,
        ));
        all.extend(cases(
            &src,
            &[&["summary", "-o", "csv"]],
            windows,
            Mode::Text,
        ));
        total += all.len();
        failures.extend(
            disagreements(&all)
                .into_iter()
                .map(|f| format!("[seed {seed}] {f}")),
        );
    }
    report("generated corpora", &failures, total);
}

// ------------------------------------------------------------------ --raw

/// Pretty-print compact JSON text: a newline and indentation after `{`, `[` and `,`, before `}`
/// and `]`, a space after `:`, all outside strings. Dropping whitespace outside strings gives the
/// input back.
fn pretty(compact: &str, newline: &str) -> String {
    let mut out = String::new();
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let indent = |depth: usize| format!("{newline}{}", "  ".repeat(depth));
    for c in compact.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                depth += 1;
                out.push(c);
                out += &indent(depth);
            }
            '}' | ']' => {
                depth -= 1;
                out += &indent(depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                out += &indent(depth);
            }
            ':' => out.push_str(": "),
            _ => out.push(c),
        }
    }
    out
}

/// `, ` and `: ` between values, on one line (what `json.dumps` writes by default).
fn spaced(compact: &str) -> String {
    let mut out = String::new();
    let (mut in_string, mut escaped) = (false, false);
    for c in compact.chars() {
        out.push(c);
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if c == ',' || c == ':' {
            out.push(' ');
        }
    }
    out
}

/// Event `i` (time 2024-09-05T10:<i>:00Z) as compact text with keys in CloudTrail's order, not
/// sorted, and escapes that a re-serialisation would write differently (`\u00e9`, `\/`, `1.5E3`).
fn raw_event(i: usize) -> String {
    let ip = if i.is_multiple_of(2) {
        format!("198.51.100.{i}")
    } else {
        format!("2001:db8::{i:x}")
    };
    format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","principalId":"AIDAERIN","arn":"arn:aws:iam::111111111111:user/erin","accountId":"111111111111","accessKeyId":"AKIAERIN7EXAMPLE0001","userName":"erin"}},"eventTime":"2024-09-05T10:{i:02}:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"{ip}","userAgent":"caf\u00e9 \/ agent  with  spaces\tand \"quotes\" — ünïcode","requestParameters":{{"bucketName":"prod-data","key":"a b/{{c}}, [d]: e","sizes":[1,2.50,1.5E3,true,null],"empty":{{}},"none":[]}},"responseElements":null,"requestID":"req-{i}","eventID":"raw-{i:02}","readOnly":"TRUE","eventType":"AwsApiCall","recipientAccountId":"111111111111","eventCategory":"Data"}}"#
    )
}

fn json_string(text: &str) -> String {
    serde_json::to_string(&Value::String(text.to_string())).unwrap()
}

/// Files in every shape, and for each event the line `--raw` must print for it.
fn raw_sources(dir: &Path) -> Vec<String> {
    let t: Vec<String> = (0..15).map(raw_event).collect();
    let mut expected = vec![String::new(); t.len()];
    let put = |name: &str, data: Vec<u8>| {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    };
    // a compact Records file, gzipped
    put(
        "trail/records.json.gz",
        crate::util::gz(format!(r#"{{"Records":[{},{}]}}"#, t[0], t[1]).as_bytes()),
    );
    expected[0] = t[0].clone();
    expected[1] = t[1].clone();
    // a Records file with spaces between values, on one line: kept as written
    put(
        "trail/records-spaced.json",
        format!(r#"{{"Records": [{}, {}]}}"#, spaced(&t[2]), spaced(&t[3])).into_bytes(),
    );
    expected[2] = spaced(&t[2]);
    expected[3] = spaced(&t[3]);
    // a pretty-printed array of events: minified
    put(
        "export/pretty-array.json",
        pretty(&format!("[{},{}]", t[4], t[5]), "\n").into_bytes(),
    );
    expected[4] = t[4].clone();
    expected[5] = t[5].clone();
    // a pretty-printed Records file with CRLF line ends
    put(
        "export/pretty-records-crlf.json",
        pretty(&format!(r#"{{"Records":[{}]}}"#, t[6]), "\r\n").into_bytes(),
    );
    expected[6] = t[6].clone();
    // newline-delimited events, one compact and one spaced
    put(
        "export/events.ndjson",
        format!("{}\n{}\n", t[7], spaced(&t[8])).into_bytes(),
    );
    expected[7] = t[7].clone();
    expected[8] = spaced(&t[8]);
    // what `jq '.Records[]'` writes: pretty-printed events one after another
    put(
        "export/jq-stream.json",
        format!("{}\n{}\n", pretty(&t[9], "\n"), pretty(&t[10], "\n")).into_bytes(),
    );
    expected[9] = t[9].clone();
    expected[10] = t[10].clone();
    // lookup-events output: the CloudTrailEvent string's content (minified when pretty)
    put(
        "lookup/lookup-events.json",
        format!(
            r#"{{"Events": [{{"EventId": "raw-11", "EventName": "GetObject", "ReadOnly": "true", "CloudTrailEvent": {}}}, {{"EventId": "raw-12", "CloudTrailEvent": {}}}]}}"#,
            json_string(&spaced(&t[11])),
            json_string(&pretty(&t[12], "\n"))
        )
        .into_bytes(),
    );
    expected[11] = spaced(&t[11]);
    expected[12] = t[12].clone();
    // one pretty-printed event alone, gzipped
    put(
        "export/single.json.gz",
        crate::util::gz(pretty(&t[13], "\n").as_bytes()),
    );
    expected[13] = t[13].clone();
    // one compact event alone, with whitespace around it
    put(
        "export/single-compact.json",
        format!("\n  {}  \n", t[14]).into_bytes(),
    );
    expected[14] = t[14].clone();
    expected
}

fn ctq_stdout(args: &[&str]) -> String {
    let r = run(args);
    assert_eq!(r.code, 0, "ctq {args:?}: {}", r.stderr);
    r.stdout
}

#[test]
fn raw_prints_each_event_as_it_is_in_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let expected = raw_sources(dir.path());
    let src = dir.path().to_str().unwrap();
    // newest first: event 14 .. 0
    let newest: Vec<&String> = expected.iter().rev().collect();
    let out = ctq_stdout(&["events", "--raw", "-s", src]);
    let lines: Vec<&str> = out.split_terminator('\n').collect();
    assert_eq!(lines.len(), expected.len(), "one line per event:\n{out}");
    let mut wrong = Vec::new();
    for (k, (line, want)) in lines.iter().zip(&newest).enumerate() {
        // it re-parses to the same JSON as the source text
        let a: Value = serde_json::from_str(line).unwrap();
        let b: Value = serde_json::from_str(want).unwrap();
        assert_eq!(a, b, "line {k}");
        // and it is byte for byte the event's text in its file
        if line.as_bytes() != want.as_bytes() {
            wrong.push(format!(
                "line {k} (event {}):\n  ctq:      {line}\n  expected: {want}",
                expected.len() - 1 - k
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "--raw lines that are not the event's text in its file:\n{}",
        wrong.join("\n")
    );
    assert!(out.ends_with('\n'));

    // oldest first, --limit (more matches than the limit) in both orders, -o ignored
    let oldest = ctq_stdout(&["events", "--raw", "--oldest-first", "-s", src]);
    let want: String = expected.iter().map(|l| format!("{l}\n")).collect();
    assert_eq!(oldest, want, "--oldest-first");
    let limited = ctq_stdout(&["events", "--raw", "--limit", "4", "-s", src]);
    let want: String = newest.iter().take(4).map(|l| format!("{l}\n")).collect();
    assert_eq!(limited, want, "--limit 4");
    let limited = ctq_stdout(&[
        "events",
        "--raw",
        "--limit",
        "4",
        "--oldest-first",
        "-s",
        src,
    ]);
    let want: String = expected.iter().take(4).map(|l| format!("{l}\n")).collect();
    assert_eq!(limited, want, "--limit 4 --oldest-first");
    for format in ["json", "csv", "table", "ndjson"] {
        assert_eq!(
            ctq_stdout(&["events", "--raw", "-o", format, "-s", src]),
            out,
            "--raw -o {format}"
        );
    }
    // a filter: the IPv6 sources are the odd events
    let v6 = ctq_stdout(&["events", "--raw", "--source-ip", "2001:db8::/32", "-s", src]);
    let want: String = newest
        .iter()
        .enumerate()
        .filter(|(k, _)| (expected.len() - 1 - k) % 2 == 1)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    assert_eq!(v6, want, "--raw --source-ip 2001:db8::/32");

    if python_available() {
        let dirs = [dir.path().to_path_buf()];
        let filters: &[&[&str]] = &[
            &[],
            &["--oldest-first"],
            &["--limit", "5"],
            &["--limit", "5", "--oldest-first"],
            &["--source-ip", "198.51.100.0/24"],
            &["--read-only"],
        ];
        let mut all = cases(&dirs, &[&["events", "--raw"]], filters, Mode::Text);
        all.extend(cases(&dirs, &[&["events"]], filters, Mode::Json));
        all.extend(cases(
            &dirs,
            &[&["events", "--fields", "requestParameters,userAgent,readOnly"]],
            filters,
            Mode::Json,
        ));
        check("raw sources", &all);
    }
}

// ------------------------------------------------------- without Python

fn json_of(args: &[&str]) -> Value {
    let out = run(args);
    assert_eq!(out.code, 0, "ctq {args:?}: {}", out.stderr);
    out.json()
}

/// `--limit N` is the first N rows of the unlimited list, in both orders, with more matches
/// than N.
#[test]
fn limit_is_the_head_of_the_full_list() {
    let fx = fixtures();
    let src = fx.to_str().unwrap();
    for filter in [&[][..], &["--user", "erin"], &["--date", "2024-09-05"]] {
        for order in [&[][..], &["--oldest-first"]] {
            let base = [&["events", "-s", src, "-o", "json"][..], filter, order].concat();
            let all = json_of(&base);
            let all = all.as_array().unwrap();
            for n in [1usize, 3, 10] {
                assert!(all.len() > n, "{base:?}: needs more than {n} matches");
                let n_text = n.to_string();
                let limited = json_of(&[&base[..], &["--limit", &n_text]].concat());
                assert_eq!(
                    limited.as_array().unwrap().as_slice(),
                    &all[..n],
                    "{base:?} --limit {n}"
                );
            }
        }
    }
    // --oldest-first is the reverse when no two events tie on time and id
    let newest = json_of(&["events", "-s", src, "-o", "json", "--user", "erin"]);
    let oldest = json_of(&[
        "events",
        "-s",
        src,
        "-o",
        "json",
        "--user",
        "erin",
        "--oldest-first",
    ]);
    let mut reversed = newest.as_array().unwrap().clone();
    reversed.reverse();
    assert_eq!(oldest.as_array().unwrap(), &reversed);
}

/// The table view of console-logins ends with the totals over the rows shown.
#[test]
fn console_logins_table_ends_with_totals() {
    let fx = fixtures();
    let src = fx.to_str().unwrap();
    for filter in [
        &[][..],
        &["--failures"],
        &["--no-mfa"],
        &["--date", "2024-09-06"],
        &["--account", "222222222222"],
    ] {
        let rows = json_of(&[&["console-logins", "-s", src, "-o", "json"][..], filter].concat());
        let rows = rows.as_array().unwrap();
        let count = |f: &dyn Fn(&Value) -> bool| rows.iter().filter(|r| f(r)).count();
        let want = format!(
            "successes: {} · failures: {} · without MFA: {} · root logins: {}",
            count(&|r| r["result"] == "Success"),
            count(&|r| r["result"] == "Failure"),
            count(&|r| r["mfa_used"] == Value::Bool(false)),
            count(&|r| r["identity_type"] == "Root"),
        );
        let table =
            ctq_stdout(&[&["console-logins", "-s", src, "-o", "table"][..], filter].concat());
        let last = table
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        assert_eq!(last.trim(), want, "console-logins {filter:?}:\n{table}");
    }
}

/// `summary -o ndjson` is the JSON object on one line; the CSV has the documented header.
#[test]
fn summary_formats() {
    let fx = fixtures();
    let src = fx.to_str().unwrap();
    for filter in [
        &[][..],
        &["--top", "2", "--date", "2024-09-05"],
        &["--date", "2024-09-01"],
    ] {
        let json = json_of(&[&["summary", "-s", src, "-o", "json"][..], filter].concat());
        assert!(json.is_object(), "summary -o json is one object");
        let nd = ctq_stdout(&[&["summary", "-s", src, "-o", "ndjson"][..], filter].concat());
        assert_eq!(nd.lines().count(), 1, "summary -o ndjson is one line: {nd}");
        assert_eq!(serde_json::from_str::<Value>(&nd).unwrap(), json);
        let csv = ctq_stdout(&[&["summary", "-s", src, "-o", "csv"][..], filter].concat());
        assert_eq!(csv.lines().next(), Some("section,key,count"));
        assert_eq!(
            csv.lines().nth(1),
            Some(format!("events,,{}", json["events"]).as_str())
        );
    }
}

#[test]
fn read_only_and_write_together_is_a_usage_error() {
    let fx = fixtures();
    let src = fx.to_str().unwrap();
    let out = run(&["events", "-s", src, "--read-only", "--write"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stdout.is_empty());
}

// --------------------------------------------------------------------- S3

fn copy_tree(from: &Path, to: &Path) {
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

#[test]
fn investigations_from_s3_equal_the_same_files_on_disk() {
    let server = S3Server::start();
    copy_tree(&fixtures(), &server.bucket("trail"));
    let local = fixtures();
    let local = local.to_str().unwrap();
    let windows: [&[&str]; 2] = [
        &["--since", "2024-09-01", "--until", "2024-09-10"],
        &["--date", "2024-09-06"],
    ];
    let commands: [&[&str]; 9] = [
        &["events"],
        &["events", "--user", "erin", "--oldest-first"],
        &["events", "--source-ip", "2001:db8::/32", "--limit", "3"],
        &[
            "events",
            "--fields",
            "userIdentity.arn,requestParameters,readOnly",
            "--category",
            "Data",
        ],
        &["console-logins"],
        &["console-logins", "--no-mfa"],
        &["network-activity"],
        &["network-activity", "--denied"],
        &["summary"],
    ];
    for window in windows {
        for command in commands {
            for format in ["json", "ndjson", "csv", "table"] {
                let args = [command, window, &["-o", format]].concat();
                let from_disk = run(&[args.as_slice(), &["-s", local]].concat());
                let from_s3 = server.run(&[args.as_slice(), &["-s", "s3://trail"]].concat());
                assert_eq!(from_s3.code, from_disk.code, "{args:?}: {}", from_s3.stderr);
                assert_eq!(from_s3.stdout, from_disk.stdout, "{args:?}");
                assert!(
                    from_disk.stdout.lines().count() > 1 || format == "ndjson",
                    "{args:?}: empty report proves nothing"
                );
            }
        }
        let args = [&["events", "--raw"][..], window].concat();
        let from_disk = run(&[args.as_slice(), &["-s", local]].concat());
        let from_s3 = server.run(&[args.as_slice(), &["-s", "s3://trail"]].concat());
        assert_eq!(from_s3.code, from_disk.code, "{args:?}: {}", from_s3.stderr);
        assert_eq!(from_s3.stdout, from_disk.stdout, "{args:?}");
        assert!(!from_disk.stdout.is_empty());
    }
}

/// The helpers that write the `--raw` sources: pretty-printing and spacing keep the JSON, and
/// dropping the whitespace outside strings gives the compact text back.
#[test]
fn pretty_and_spaced_helpers_keep_the_json() {
    let t = raw_event(3);
    let b: Value = serde_json::from_str(&t).unwrap();
    for text in [pretty(&t, "\n"), pretty(&t, "\r\n"), spaced(&t)] {
        let a: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(a, b);
    }
    let (mut minified, mut in_string, mut escaped) = (String::new(), false, false);
    for c in pretty(&t, "\r\n").chars() {
        if in_string {
            minified.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !c.is_ascii_whitespace() {
            minified.push(c);
            in_string = c == '"';
        }
    }
    assert_eq!(minified, t);
}
