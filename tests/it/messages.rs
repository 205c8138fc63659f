//! What ctq says beside its report: help that shows the command, usage errors in one voice,
//! notes for cut and empty results, the cap on repeated warnings, completions and the man page.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::util::*;

fn fixtures() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .display()
        .to_string()
}

#[test]
fn short_help_shows_the_command_and_long_help_everything() {
    let short = run(&["errors", "-h"]);
    assert_eq!(short.code, 0);
    let lines: Vec<&str> = short.stdout.lines().collect();
    assert!(
        lines.len() <= 45,
        "{} lines:\n{}",
        lines.len(),
        short.stdout
    );
    assert_eq!(lines[0], "What fails most?");
    for needle in [
        "--top <N>",
        "-s, --source",
        "--since",
        "Examples:\n  ctq errors -s s3://my-trail-bucket --since 24h",
        "More options (--help explains every one):",
        "--fail-on-empty",
    ] {
        assert!(
            short.stdout.contains(needle),
            "-h lacks {needle:?}:\n{}",
            short.stdout
        );
    }
    // The common options are named once, not explained, in -h.
    assert!(!short.stdout.contains("OWASP"), "{}", short.stdout);
    let long = run(&["errors", "--help"]);
    for needle in [
        "OWASP",
        "--athena-workgroup",
        "--width <N>",
        "Exit codes:",
        "4  --fail-on-empty",
        "Examples:",
    ] {
        assert!(long.stdout.contains(needle), "--help lacks {needle:?}");
    }
    // Every report has examples that run the report.
    let top = run(&["--help"]);
    for report in [
        "sts-endpoints",
        "root-activity",
        "errors",
        "who-touched-bucket",
        "events",
        "console-logins",
        "network-activity",
        "summary",
        "event-sources",
        "detect",
    ] {
        assert!(top.stdout.contains(report));
        let h = run(&[report, "-h"]);
        assert!(
            h.stdout.contains(&format!("Examples:\n  ctq {report} ")),
            "{report} -h:\n{}",
            h.stdout
        );
    }
}

#[test]
fn usage_errors_speak_with_one_voice() {
    let f = fixtures();
    for (args, needle) in [
        // clap's own
        (
            vec!["errors", "-s", &f, "-o", "xml"],
            "error: invalid value 'xml'",
        ),
        // ctq's own, after parsing
        (
            vec!["errors", "-s", &f, "--account", "1234"],
            "error: --account '1234' is not an AWS account id",
        ),
        (
            vec!["errors", "-s", &f, "--threads", "0"],
            "--threads must be a whole number, at least 1",
        ),
        (
            vec!["errors", "-s", &f, "--concurrency", "0"],
            "--concurrency must be a whole number, at least 1",
        ),
        (
            vec!["errors", "-s", &f, "--tpo", "3"],
            "tip: a similar argument exists: '--top'",
        ),
        (
            vec!["athena", "ddl", "-s", "s3://b", "--date", "2024-09-05"],
            "athena ddl does not take --date",
        ),
    ] {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.starts_with("error: "), "{args:?}:\n{}", r.stderr);
        assert!(
            r.stderr.contains(needle),
            "{args:?} lacks {needle:?}:\n{}",
            r.stderr
        );
        assert!(r.stderr.contains("For more information, try '--help'."));
        assert!(!r.stderr.contains("non-zero type"), "{}", r.stderr);
    }
    let r = run(&["errors", "-s", &f, "--verbose"]);
    assert_eq!(r.code, 2);
    assert!(
        !r.stderr.contains("similar"),
        "no close match:\n{}",
        r.stderr
    );
    // Values are names, whatever their case.
    let r = run(&["errors", "-s", &f, "-o", "JSON", "--top", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.json();
}

#[test]
fn a_cut_list_says_so_in_every_format() {
    let f = fixtures();
    for format in ["table", "json", "ndjson", "csv"] {
        let r = run(&["errors", "-s", &f, "-o", format]);
        assert_eq!(r.code, 0);
        assert!(
            r.stderr.contains(
                "ctq: showing 10 of 30 kinds of error (--top N for more, --top 0 for all)"
            ),
            "{format}: {}",
            r.stderr
        );
        assert!(
            !r.stdout.contains("showing"),
            "{format}: the note is on stderr only"
        );
        let r = run(&["events", "-s", &f, "--limit", "2", "-o", format]);
        assert!(
            r.stderr.contains(
                "showing 2 of 420 matching events (--limit N for more, --limit 0 for all)"
            ),
            "{format}: {}",
            r.stderr
        );
        let r = run(&["summary", "-s", &f, "--top", "3", "-o", format]);
        assert!(
            r.stderr
                .contains("showing the top of each list: top_event_sources 3 of 20"),
            "{format}: {}",
            r.stderr
        );
    }
    let r = run(&["errors", "-s", &f, "--top", "0", "-o", "json"]);
    assert!(!r.stderr.contains("showing"), "{}", r.stderr);
    assert_eq!(r.json().as_array().unwrap().len(), 30);
    let r = run(&["events", "-s", &f, "--limit", "0", "-o", "json"]);
    assert_eq!(r.json().as_array().unwrap().len(), 420);
}

#[test]
fn an_empty_result_says_why() {
    let f = fixtures();
    let empty = tempfile::tempdir().unwrap();
    let e = empty.path().to_str().unwrap();
    for (args, needle) in [
        (vec!["events", "-s", e], "no inputs found in "),
        (
            vec!["events", "-s", &f, "--date", "2020-01-01"],
            "nothing to read in the window [2020-01-01T00:00:00Z, 2020-01-02T00:00:00Z): 12 dated folders covering 2024-01-01 to 2024-12-31 outside it, not read",
        ),
        (
            vec!["errors", "-s", &f, "--account", "999999999999"],
            "420 events in the window, none passed --account",
        ),
        (
            vec![
                "errors",
                "-s",
                &f,
                "--region",
                "xx-east-1",
                "--match",
                "nowhere",
            ],
            "420 events in the window, none passed --region, --match",
        ),
        (
            vec!["events", "-s", &f, "--event-name", "getobject"],
            "--event-name is case-sensitive: no event has getobject; did you mean GetObject?",
        ),
        (
            vec!["events", "-s", &f, "--event-source", "S3.amazonaws.com"],
            "did you mean s3.amazonaws.com?",
        ),
    ] {
        let r = run(&args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(needle),
            "{args:?} lacks {needle:?}:\n{}",
            r.stderr
        );
        let mut failing = args.clone();
        failing.push("--fail-on-empty");
        assert_eq!(run(&failing).code, 4, "{failing:?}");
    }
    // Events of the file outside the window: their span is given.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "t.json",
        &records(&[
            event("2024-09-05T10:00:00Z", "A", json!({})),
            event("2024-09-07T11:00:00Z", "B", json!({})),
        ]),
    );
    let r = run(&[
        "events",
        "-s",
        dir.path().to_str().unwrap(),
        "--date",
        "2024-09-06",
    ]);
    assert!(
        r.stderr.contains(
            "none of the 2 events read is in the window [2024-09-06T00:00:00Z, 2024-09-07T00:00:00Z): \
             those outside it span 2024-09-05T10:00:00Z to 2024-09-07T11:00:00Z"
        ),
        "{}",
        r.stderr
    );
    // A report with rows, and --fail-on-empty: 0.
    assert_eq!(run(&["errors", "-s", &f, "--fail-on-empty"]).code, 0);
}

#[test]
fn repeated_warnings_are_capped_unless_stats() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..30 {
        std::fs::write(dir.path().join(format!("bad{i:02}.json")), "not json").unwrap();
    }
    write(
        dir.path(),
        "good.json",
        &records(&[event("2024-09-05T10:00:00Z", "A", json!({}))]),
    );
    let d = dir.path().to_str().unwrap();
    let r = run(&["errors", "-s", d, "-q"]);
    assert_eq!(r.code, 3);
    let named = r
        .stderr
        .lines()
        .filter(|l| l.contains("invalid JSON"))
        .count();
    assert_eq!(named, 20, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "ctq: and 10 more skipped inputs not shown (30 in all; --stats shows every one)"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("30 of 31 inputs skipped (the first 20 of each kind named above)")
    );
    let r = run(&["errors", "-s", d, "-q", "--stats"]);
    let named = r
        .stderr
        .lines()
        .filter(|l| l.contains("invalid JSON"))
        .count();
    assert_eq!(named, 30, "{}", r.stderr);
    assert!(!r.stderr.contains("not shown"));
}

#[test]
fn completions_parse_and_the_man_page_renders() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish", "BASH"] {
        let r = run(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(r.stdout.contains("sts-endpoints"), "{shell}");
        assert!(r.stdout.contains("--since"), "{shell}");
    }
    let script = run(&["completions", "bash"]).stdout;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ctq.bash");
    std::fs::write(&file, &script).unwrap();
    let check = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // Loaded, it completes the commands.
    let probe = format!(
        "source {}; COMP_WORDS=(ctq err); COMP_CWORD=1; _ctq ctq err ctq; echo \"${{COMPREPLY[@]}}\"",
        file.display()
    );
    let out = Command::new("bash").args(["-c", &probe]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("errors"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for shell in ["zsh", "fish"] {
        if Command::new(shell).arg("--version").output().is_ok() {
            let file = dir.path().join(format!("ctq.{shell}"));
            std::fs::write(&file, run(&["completions", shell]).stdout).unwrap();
            let check = Command::new(shell).arg("-n").arg(&file).output().unwrap();
            assert!(check.status.success(), "{shell} -n failed");
        }
    }
    let man = run(&["man"]);
    assert_eq!(man.code, 0);
    assert!(
        man.stdout.starts_with(".ie \\n(.g .ds Aq") || man.stdout.contains(".TH ctq"),
        "{}",
        &man.stdout[..200.min(man.stdout.len())]
    );
    // groff renders it without a warning, when it is installed.
    let Ok(mut groff) = Command::new("groff")
        .args(["-k", "-man", "-Tutf8", "-ww"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        return;
    };

    use std::io::Write;
    groff
        .stdin
        .take()
        .unwrap()
        .write_all(man.stdout.as_bytes())
        .unwrap();
    let out = groff.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("sts-endpoints"), "{text}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every command's `-h` is pinned as reviewed text in `tests/golden/help/<command>.txt`
/// (CTQ_BLESS=1 rewrites them after a deliberate change), and stays short.
#[test]
fn short_help_of_every_command_is_pinned() {
    let dir = crate::cases::golden_dir().join("help");
    let bless = std::env::var_os("CTQ_BLESS").is_some();
    if bless {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let commands: &[&[&str]] = &[
        &[],
        &["sts-endpoints"],
        &["root-activity"],
        &["errors"],
        &["who-touched-bucket"],
        &["events"],
        &["console-logins"],
        &["network-activity"],
        &["summary"],
        &["event-sources"],
        &["detect"],
        &["trace"],
        &["profile"],
        &["verify"],
        &["athena", "ddl"],
        &["completions"],
        &["man"],
    ];
    let mut failures = Vec::new();
    for command in commands {
        let mut args: Vec<&str> = command.to_vec();
        args.push("-h");
        let r = run_with(ctq().args(&args).env("COLUMNS", "100"), None);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        let name = if command.is_empty() {
            "ctq".to_string()
        } else {
            command.join("-")
        };
        // `events` has a dozen filters of its own; the others fit a screen.
        let most = match name.as_str() {
            "events" => 70,
            "ctq" => 68,               // the commands and the exit codes too
            "detect" => 55,            // its rule options too
            "trace" | "profile" => 50, // WHO takes several forms
            _ => 45,
        };
        if r.stdout.lines().count() > most {
            failures.push(format!("{name} -h: {} lines", r.stdout.lines().count()));
        }
        let file = dir.join(format!("{name}.txt"));
        if bless {
            std::fs::write(&file, &r.stdout).unwrap();
        } else if std::fs::read_to_string(&file).ok().as_deref() != Some(r.stdout.as_str()) {
            failures.push(format!(
                "{name} -h differs from {} (CTQ_BLESS=1 rewrites it):\n{}",
                file.display(),
                r.stdout
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
