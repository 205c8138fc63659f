//! Arguments, usage errors and exit codes.

use serde_json::json;

use crate::util::*;

#[test]
fn help_documents_exit_codes() {
    let r = run(&["--help"]);
    assert_eq!(r.code, 0);
    for line in [
        "Exit codes:",
        "0  the report was printed",
        "1  fatal error",
        "2  usage error",
        "3  the report was printed, but some inputs were skipped",
    ] {
        assert!(
            r.stdout.contains(line),
            "--help lacks {line:?}:\n{}",
            r.stdout
        );
    }
    for cmd in [
        "sts-endpoints",
        "root-activity",
        "errors",
        "who-touched-bucket",
    ] {
        assert!(r.stdout.contains(cmd));
    }
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for (args, needle) in [
        (
            vec![
                "errors",
                "-s",
                d,
                "--date",
                "2024-09-05",
                "--since",
                "2024-09-01",
            ],
            "cannot be used with",
        ),
        (
            vec!["errors", "-s", d, "--date", "2024-02-30"],
            "is not a date",
        ),
        (
            vec!["errors", "-s", d, "--since", "last tuesday"],
            "duration back from now",
        ),
        (
            vec![
                "errors",
                "-s",
                d,
                "--since",
                "2024-09-06",
                "--until",
                "2024-09-05",
            ],
            "time window is empty",
        ),
        (vec!["errors", "-s", d, "--account", "1234"], "12 digits"),
        (vec!["errors", "-s", d, "-o", "xml"], "possible values"),
        (vec!["errors"], "no source given"),
        (
            vec!["who-touched-bucket", "-s", d, "arn:aws:s3:::b"],
            "not a bucket name",
        ),
        (vec!["frobnicate", "-s", d], "unrecognized subcommand"),
    ] {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(needle),
            "{args:?}: stderr lacks {needle:?}:\n{}",
            r.stderr
        );
        assert!(r.stdout.is_empty());
    }
}

#[test]
fn missing_source_is_fatal_and_named() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "ok.json",
        &records(&[event("2024-09-05T10:00:00Z", "A", json!({}))]),
    );
    let missing = dir.path().join("nope");
    let r = run(&[
        "errors",
        "-s",
        dir.path().to_str().unwrap(),
        "-s",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim(),
        format!("ctq: {}: no such file or folder", missing.display())
    );
    assert!(r.stdout.is_empty(), "nothing is printed for a fatal error");
}

#[test]
fn an_s3_url_without_a_bucket_is_a_usage_error() {
    let r = run(&["errors", "-s", "s3://", "--date", "2024-09-05"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("'s3://' has no bucket name: use s3://BUCKET[/PREFIX]"),
        "{}",
        r.stderr
    );
}

#[test]
fn source_from_environment_and_options_after_the_command() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.json",
        &records(&[error_event("2024-09-05T10:00:00Z", "A", "Denied", "no")]),
    );
    let r = run_with(
        ctq()
            .args(["errors", "-o", "json"])
            .env("CTQ_SOURCE", dir.path()),
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()[0]["count"], 1);
    // Global options before the command work the same.
    let r2 = run(&["-o", "json", "-s", dir.path().to_str().unwrap(), "errors"]);
    assert_eq!(r2.stdout, r.stdout);
}

#[test]
fn all_good_inputs_exit_0_and_bad_ones_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.json",
        &records(&[error_event("2024-09-05T10:00:00Z", "A", "Denied", "no")]),
    );
    let d = dir.path().to_str().unwrap();
    let r = run(&["errors", "-s", d, "-o", "json"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    write(dir.path(), "b.json", b"{\"Records\": [");
    let r = run(&["errors", "-s", d, "-o", "json"]);
    assert_eq!(r.code, 3);
    assert_eq!(r.json()[0]["count"], 1, "the good file is still reported");
    assert!(
        r.stderr.contains("1 of 2 inputs skipped (named above)"),
        "{}",
        r.stderr
    );
}
