//! Sources named on the command line as shells make them: a process substitution `<(…)` (a
//! pipe under /dev/fd), /dev/stdin, and `-s -` typed at a terminal, which says it is waiting.

use std::process::Command;

use crate::util::*;

/// A trail file of the fixtures (one account, one region, one day): 6 events.
fn a_trail_file() -> std::path::PathBuf {
    fixtures().join(
        "AWSLogs/o-a1b2c3d4e5/333333333333/CloudTrail/eu-west-1/2024/09/05/333333333333_CloudTrail_eu-west-1_20240905T1240Z_cM1y51B7ws2HYWjC.json.gz",
    )
}

fn shell_quote(p: &std::path::Path) -> String {
    format!("'{}'", p.to_str().unwrap().replace('\'', r"'\''"))
}

fn events_read(r: &Run) -> String {
    r.stderr
        .lines()
        .find(|l| l.starts_with("ctq: stats: events: "))
        .unwrap_or_else(|| panic!("no events line:\n{}", r.stderr))
        .to_string()
}

#[test]
fn process_substitution_and_dev_stdin_are_read() {
    let file = shell_quote(&a_trail_file());
    let ctq = shell_quote(std::path::Path::new(env!("CARGO_BIN_EXE_ctq")));
    // Two substitutions, one of them gunzipped on the way: both pipes are read whole.
    let script =
        format!("{ctq} errors -o json --stats -s <(cat {file}) -s <(gzip -dc {file} | cat)");
    let r = run_with(Command::new("bash").args(["-c", &script]), None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        events_read(&r),
        "ctq: stats: events: 12 read, 12 matched the filters"
    );
    assert!(!r.stderr.contains("reading events from standard input"));

    let r = run_stdin(
        &["errors", "-o", "json", "--stats", "-s", "/dev/stdin"],
        &std::fs::read(a_trail_file()).unwrap(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        events_read(&r),
        "ctq: stats: events: 6 read, 6 matched the filters"
    );
}

#[test]
fn standard_input_at_a_terminal_says_it_is_waiting() {
    const HINT: &str = "ctq: reading events from standard input (Ctrl-D to end)";
    // A pipe: a script needs no hint.
    let r = run_stdin(&["errors", "-o", "json", "-s", "-"], b"");
    assert!(!r.stderr.contains(HINT), "{}", r.stderr);

    // A terminal: util-linux's `script` gives ctq a pseudo-terminal, and ends its input (its
    // own standard input is empty) as Ctrl-D would.
    let has_script = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_script {
        crate::reference::skipped(
            "the terminal test of `-s -` is skipped: it needs util-linux's `script`",
        );
        return;
    }
    let ctq = shell_quote(std::path::Path::new(env!("CARGO_BIN_EXE_ctq")));
    for (extra, hint) in [("", true), (" --quiet", false)] {
        let inner = format!("{ctq} errors -o json -s -{extra}");
        let r = run_with(
            Command::new("script").args(["-qec", &inner, "/dev/null"]),
            Some(b""),
        );
        // `script` puts ctq's stdout and stderr on one terminal, and gives back its own.
        let seen = r.stdout.replace("\r\n", "\n");
        assert_eq!(
            seen.lines().filter(|l| *l == HINT).count(),
            usize::from(hint),
            "{extra}: {seen}"
        );
        assert!(seen.contains("<stdin>: empty file"), "{extra}: {seen}");
    }
}
