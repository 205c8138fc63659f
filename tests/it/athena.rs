//! `ctq athena ddl`: the table definition, pinned as reviewed golden SQL
//! (`tests/golden/athena-*.sql`; CTQ_BLESS=1 rewrites them after a deliberate change).

use std::path::Path;

use crate::cases::{self, Test};
use crate::s3::{S3Server, fixture_bucket};
use crate::util::*;

fn golden(name: &str, sql: &str) {
    pinned(&format!("athena-{name}.sql"), sql);
}

#[test]
fn single_account_from_the_options() {
    let r = run(&[
        "athena",
        "ddl",
        "-s",
        "s3://trail-bucket",
        "--account",
        "111111111111",
        "--region",
        "us-east-1",
        "--region",
        "eu-west-1",
        "--since",
        "2024-01-01",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    golden("single-account", &r.stdout);
    assert!(r.stdout.contains("LOCATION 's3://trail-bucket/AWSLogs/'"));
    assert!(r.stdout.contains("'storage.location.template'='s3://trail-bucket/AWSLogs/${account}/CloudTrail/${region}/${day}'"));
}

#[test]
fn organization_trail_from_the_options_with_a_prefix() {
    let r = run(&[
        "athena",
        "ddl",
        "-s",
        "s3://org-trails/team/AWSLogs/o-a1b2c3d4e5/",
        "--account",
        "222222222222",
        "--account",
        "333333333333",
        "--region",
        "us-east-1",
        "--table",
        "org_trail",
        "--database",
        "security",
        "--event-folder",
        "CloudTrail-NetworkActivity",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    golden("organization-network-activity", &r.stdout);
    assert!(
        r.stdout
            .contains("CREATE EXTERNAL TABLE IF NOT EXISTS `security`.`org_trail`")
    );
    assert!(r.stdout.contains("'s3://org-trails/team/AWSLogs/o-a1b2c3d4e5/${account}/CloudTrail-NetworkActivity/${region}/${day}'"));
    assert!(r.stdout.contains("'projection.day.range'='2013/11/01,NOW'"));
}

#[test]
fn needs_one_s3_location() {
    let r = run(&[
        "athena",
        "ddl",
        "-s",
        "fixtures",
        "--account",
        "111111111111",
        "--region",
        "us-east-1",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("needs exactly one --source s3://"),
        "{}",
        r.stderr
    );
}

#[test]
fn accounts_regions_and_organization_found_in_the_bucket() {
    let server = S3Server::start();
    fixture_bucket(&server);
    // The fixtures hold an account trail beside an organization trail: one table cannot cover
    // both, and the message says which sources would work.
    let r = server.run(&["athena", "ddl", "-s", "s3://trail"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("holds both an organization trail and account trails"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("s3://trail/AWSLogs/o-a1b2c3d4e5/ (organization trail)"),
        "{}",
        r.stderr
    );

    let r = server.run(&[
        "athena",
        "ddl",
        "-s",
        "s3://trail/AWSLogs/o-a1b2c3d4e5/",
        "--since",
        "2024-09-01",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    golden("discovered-organization", &r.stdout);
    assert!(
        r.stdout
            .contains("'projection.account.values'='222222222222,333333333333'"),
        "{}",
        r.stdout
    );

    // --account narrows the walk to the account trail beside it.
    let r = server.run(&[
        "athena",
        "ddl",
        "-s",
        "s3://trail",
        "--account",
        "111111111111",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("'projection.account.values'='111111111111'"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("LOCATION 's3://trail/AWSLogs/'"),
        "{}",
        r.stdout
    );
}

// ---------------------------------------------------------------------------------------------
// `--engine athena`: the SQL of each report (golden), its meaning (run by DuckDB behind an
// Athena-compatible server, compared with the local engine), and the client loop.

/// `tests/athena/server.py`: Athena's protocol on 127.0.0.1, queries run by DuckDB over trail
/// files (see the script's header for what it emulates and how SQL is translated).
/// Whether python3 can import duckdb and numpy, which the Athena test server needs.
fn duckdb_available() -> bool {
    static OK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *OK.get_or_init(|| {
        let ok = std::process::Command::new("python3")
            .args(["-c", "import duckdb, numpy"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            crate::reference::skipped(
                "the Athena tests are skipped: they run the queries on DuckDB, which python3 lacks \
                 (`python3 -m pip install duckdb==2.0.0 numpy` to run them; .ci/run does)",
            );
        }
        ok
    })
}

pub struct AthenaServer {
    child: std::process::Child,
    pub endpoint: String,
    pub events: usize,
}

impl AthenaServer {
    /// The server, or None (with a note saying how to run these tests) when python3 lacks
    /// DuckDB: `cargo test` passes on a machine with only Rust and a bare python3, and CI, which
    /// installs DuckDB, sets `CTQ_REQUIRE_ALL_TESTS=1` so that nothing is skipped there.
    pub fn start(fixtures: &Path, extra: &[&str]) -> Option<AthenaServer> {
        use std::io::BufRead;
        if !duckdb_available() {
            return None;
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/athena/server.py");
        let mut child = std::process::Command::new("python3")
            .arg(script)
            .arg("--fixtures")
            .arg(fixtures)
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("python3 runs tests/athena/server.py");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        let ["PORT", port, "EVENTS", events] = words[..] else {
            let _ = child.kill();
            panic!(
                "the Athena test server did not start (it needs `pip install duckdb numpy`, as .ci/run does); it said: {line:?}"
            );
        };
        Some(AthenaServer {
            endpoint: format!("http://127.0.0.1:{port}"),
            events: events.parse().unwrap(),
            child,
        })
    }

    /// The server over `fixtures` without the events that have a mistyped field, and the folder
    /// holding `trail/`, the files it loaded, for the local engine to read the same events.
    pub fn start_exported(fixtures: &Path) -> Option<(AthenaServer, tempfile::TempDir)> {
        let dir = tempfile::tempdir().unwrap();
        let export = dir.path().join("trail");
        let server = AthenaServer::start(
            fixtures,
            &["--drop-mistyped", "--export", export.to_str().unwrap()],
        )?;
        Some((server, dir))
    }

    /// ctq with the AWS environment pointing at this server.
    pub fn ctq(&self, args: &[&str]) -> Run {
        let mut c = ctq();
        for var in [
            "AWS_PROFILE",
            "AWS_ENDPOINT_URL",
            "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
        ] {
            c.env_remove(var);
        }
        c.env("AWS_ENDPOINT_URL_ATHENA", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "AKIDTESTTESTTESTTEST")
            .env("AWS_SECRET_ACCESS_KEY", "test-secret")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .args(["--engine", "athena"])
            .args(args);
        run_with(&mut c, None)
    }

    /// How the local engine over `local_source` and this server disagree on `args`: an exit
    /// code, or the output; None when they print the same bytes.
    pub fn differs(&self, local_source: &str, args: &[&str]) -> Option<String> {
        let mut local_args = vec!["-s", local_source];
        local_args.extend(args);
        let local = run(&local_args);
        let athena = self.ctq(args);
        if local.code != 0 || athena.code != 0 {
            return Some(format!(
                "{args:?}: exit {} locally, {} on Athena: {}{}",
                local.code, athena.code, local.stderr, athena.stderr
            ));
        }
        (local.stdout != athena.stdout).then(|| {
            format!(
                "{args:?}: the engines differ\n--- local\n{}\n--- athena\n{}",
                local.stdout, athena.stdout
            )
        })
    }

    /// The calls ctq made, as the server logged them.
    pub fn calls(&self) -> Vec<serde_json::Value> {
        let host = self.endpoint.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(host).unwrap();
        use std::io::{Read, Write};
        write!(
            s,
            "GET /_log HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
        serde_json::from_str(body).unwrap()
    }
}

impl Drop for AthenaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const WINDOWS: &[&[&str]] = &[
    &["--since", "2024-09-01", "--until", "2024-09-08"],
    &["--date", "2024-09-05"],
    &[
        "--since",
        "2024-09-05T23:50:00Z",
        "--until",
        "2024-09-06T12:00:00Z",
    ],
    &[
        "--since",
        "2024-09-04",
        "--until",
        "2024-09-08",
        "--account",
        "111111111111",
        "--region",
        "us-east-1",
    ],
    &[
        "--date",
        "2024-09-06",
        "--account",
        "222222222222",
        "--account",
        "333333333333",
    ],
];

#[test]
fn both_engines_give_the_same_rows_on_the_fixtures() {
    // The events with a mistyped field are left out on both sides (see the next test).
    let Some((server, dir)) = AthenaServer::start_exported(&fixtures()) else {
        return;
    };
    let export = dir.path().join("trail");
    assert!(server.events > 400, "{} events loaded", server.events);
    let local_source = export.to_str().unwrap();
    // The `parity` cases of tests/golden/cases.txt: every report, its options, and windows that
    // cut days, hours and the midnight of late delivery.
    let mut runs = Vec::new();
    for report in cases::args_of(Test::Parity) {
        for window in WINDOWS {
            for format in ["json", "table"] {
                runs.push((report, *window, format));
            }
        }
    }
    let failures = failures_in_parallel(&runs, |(report, window, format)| {
        let args: Vec<&str> = report
            .iter()
            .chain(window.iter())
            .copied()
            .chain(["-o", format])
            .collect();
        server.differs(local_source, &args)
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // Not an empty comparison: the cases found events.
    let r = server.ctq(&[
        "summary",
        "--since",
        "2024-09-01",
        "--until",
        "2024-09-08",
        "-o",
        "json",
    ]);
    assert!(r.json()["events"].as_u64().unwrap() > 400, "{}", r.stdout);
}

#[test]
fn mistyped_fields_are_where_the_engines_differ() {
    // `errorCode: 403` (a number) is not an error to the local engine, which takes a field of
    // the wrong JSON type as absent; Athena's SerDe reads its text, "403". The README says so.
    let Some(server) = AthenaServer::start(&fixtures(), &[]) else {
        return;
    };
    let args = ["errors", "--top", "0", "--date", "2024-09-05", "-o", "json"];
    let local = run(&[&["-s", fixtures().to_str().unwrap()], &args[..]].concat());
    let athena = server.ctq(&args);
    assert_eq!(
        (local.code, athena.code),
        (0, 0),
        "{}{}",
        local.stderr,
        athena.stderr
    );
    let codes = |r: &Run| -> Vec<String> {
        r.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["error_code"].to_string())
            .collect()
    };
    assert!(!codes(&local).contains(&"\"403\"".to_string()));
    assert!(
        codes(&athena).contains(&"\"403\"".to_string()),
        "{}",
        athena.stdout
    );
}

#[test]
fn the_client_polls_pages_and_reports_the_cost() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("trail");
    let Some(server) = AthenaServer::start(
        &fixtures(),
        &[
            "--page-size",
            "4",
            "--polls",
            "3",
            "--drop-mistyped",
            "--export",
            export.to_str().unwrap(),
        ],
    ) else {
        return;
    };
    let args = ["errors", "--top", "0", "--date", "2024-09-05", "-o", "json"];
    let r = server.ctq(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = r.json().as_array().unwrap().len();
    assert!(rows > 10, "{}", r.stdout);
    let calls = server.calls();
    let actions: Vec<&str> = calls
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    let n = |a: &str| actions.iter().filter(|x| **x == a).count();
    assert_eq!(n("GetWorkGroup"), 1, "{actions:?}");
    assert_eq!(n("StartQueryExecution"), 1, "{actions:?}");
    // QUEUED, RUNNING, RUNNING, then SUCCEEDED.
    assert_eq!(n("GetQueryExecution"), 4, "{actions:?}");
    // The header row and `rows` rows, 4 to a page.
    assert_eq!(n("GetQueryResults"), (rows + 1).div_ceil(4), "{actions:?}");
    let pages: Vec<&serde_json::Value> = calls
        .iter()
        .filter(|c| c["action"] == "GetQueryResults")
        .collect();
    assert!(pages[0]["body"].get("NextToken").is_none());
    assert_eq!(pages[1]["body"]["NextToken"], "4");
    assert_eq!(pages[0]["body"]["MaxResults"], 1000);
    let start = &calls[actions
        .iter()
        .position(|a| *a == "StartQueryExecution")
        .unwrap()]["body"];
    assert_eq!(start["WorkGroup"], "primary");
    assert_eq!(start["QueryExecutionContext"]["Database"], "default");
    assert!(
        start.get("ResultConfiguration").is_none(),
        "the workgroup's location is used"
    );
    assert!(
        start["QueryString"]
            .as_str()
            .unwrap()
            .contains("WHERE day BETWEEN '2024/09/05' AND '2024/09/06'")
    );
    // stderr: the query id, the data scanned and its cost.
    let id = calls
        .iter()
        .find(|c| c["action"] == "GetQueryExecution")
        .unwrap()["body"]["QueryExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        r.stderr.contains(&format!("query {id} started")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!("athena: query {id} · ")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(" scanned · about $0.0001 at $5/TB"),
        "{}",
        r.stderr
    );
    // Same rows as the local engine.
    let local = run(&[&["-s", export.to_str().unwrap()], &args[..]].concat());
    assert_eq!(local.stdout, r.stdout);
}

#[test]
fn a_failed_or_cancelled_query_is_one_clear_error() {
    let Some(server) = AthenaServer::start(&fixtures(), &["--polls", "1"]) else {
        return;
    };
    let r = server.ctq(&[
        "errors",
        "--date",
        "2024-09-05",
        "--athena-table",
        "no_such_table",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    let last = r.stderr.lines().last().unwrap();
    assert!(last.starts_with("ctq: Athena query "), "{}", r.stderr);
    assert!(last.contains(" failed: "), "{}", r.stderr);
    assert!(
        last.contains("no_such_table"),
        "Athena's reason is given: {}",
        r.stderr
    );

    let r = server.ctq(&[
        "errors",
        "--date",
        "2024-09-05",
        "--athena-workgroup",
        "cancelling",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains(" was cancelled: Query was cancelled by user"),
        "{}",
        r.stderr
    );
}

#[test]
fn workgroup_problems_are_named() {
    let Some(server) = AthenaServer::start(&fixtures(), &["--polls", "0"]) else {
        return;
    };
    for (workgroup, says) in [
        ("nope", &["Athena workgroup 'nope'", "not found"][..]),
        ("disabled", &["is disabled"][..]),
        ("no-output", &["pass --athena-output"][..]),
    ] {
        let r = server.ctq(&[
            "errors",
            "--date",
            "2024-09-05",
            "--athena-workgroup",
            workgroup,
        ]);
        assert_eq!(r.code, 1, "{workgroup}: {}", r.stderr);
        for s in says {
            assert!(r.stderr.contains(s), "{workgroup}: {}", r.stderr);
        }
    }
    // With --athena-output, the query runs and Athena is told where to write.
    let r = server.ctq(&[
        "errors",
        "--date",
        "2024-09-05",
        "--athena-workgroup",
        "no-output",
        "--athena-output",
        "s3://my-results/ctq/",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let start = server
        .calls()
        .into_iter()
        .find(|c| c["action"] == "StartQueryExecution")
        .unwrap();
    assert_eq!(
        start["body"]["ResultConfiguration"]["OutputLocation"],
        "s3://my-results/ctq/"
    );
}

#[test]
fn athena_usage_errors() {
    for (args, says) in [
        (
            &["events", "--raw", "--print-sql", "--date", "2024-09-05"][..],
            "--fields and --raw",
        ),
        (
            &[
                "events",
                "--fields",
                "eventName",
                "--engine",
                "athena",
                "--date",
                "2024-09-05",
            ][..],
            "--fields and --raw",
        ),
        (
            &[
                "errors",
                "--engine",
                "athena",
                "--athena-output",
                "my-bucket",
            ][..],
            "not an S3 location",
        ),
        (
            &["errors", "--engine", "athena", "--until", "2024-09-05"][..],
            "needs --since",
        ),
    ] {
        let r = run(args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
    }
}

/// `--print-sql` of the `sql` cases of `tests/golden/cases.txt`, pinned
/// (`tests/golden/athena-sql-*.sql`).
#[test]
fn golden_sql_for_every_report() {
    let single = [
        "--since",
        "2024-09-05T10:00:00Z",
        "--until",
        "2024-09-07",
        "--account",
        "111111111111",
    ];
    let org = [
        "--date",
        "2024-09-05",
        "--account",
        "222222222222",
        "--account",
        "333333333333",
        "--region",
        "eu-west-1",
        "--athena-database",
        "security",
        "--athena-table",
        "org_trail",
    ];
    for case in cases::of(Test::Sql) {
        let (name, args) = (case.sql_name(), &case.args);
        for (layout, window) in [("single-account", &single[..]), ("organization", &org[..])] {
            let r = run(&[&args[..], &["--print-sql"], window].concat());
            assert_eq!(r.code, 0, "{name}: {}", r.stderr);
            golden(&format!("sql-{name}-{layout}"), &r.stdout);
        }
    }
}
