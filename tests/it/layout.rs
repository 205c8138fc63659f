//! Tables fitted to a terminal's width: every golden case of `tests/golden/cases.txt` rendered
//! with `--width` 80, 120 and 200 equals `tests/golden/layout/<name>.<width>.txt` (CTQ_BLESS=1
//! rewrites them after a deliberate change), and keeps the rules whatever the files say: no line
//! wider than the width, no identifier split or shortened, every column either shown or named
//! as left out on stderr.

use std::path::Path;

use serde_json::Value;

use crate::cases::{self, Test};
use crate::util::{Run, run};

const WIDTHS: [usize; 3] = [80, 120, 200];

/// The columns that hold identifiers: shown whole on one line, or left out and named.
const IDENTIFIERS: [&str; 14] = [
    "event_time",
    "first_seen",
    "last_seen",
    "account",
    "region",
    "source_ip",
    "event_id",
    "event_name",
    "error_code",
    "host_header",
    "vpc_endpoint_id",
    "endpoint",
    "identity_type",
    "count",
];

fn width_of(line: &str) -> usize {
    line.chars().count()
}

fn fitted(name: &str, args: &[&str], width: usize) -> Run {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let fixtures = fixtures.display().to_string();
    let width_arg = width.to_string();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--source", &fixtures, "--width", &width_arg]);
    let r = run(&all);
    assert_eq!(r.code, 0, "{name} at {width}: {}", r.stderr);
    r
}

#[test]
fn tables_fit_80_120_and_200_columns() {
    let dir = cases::golden_dir().join("layout");
    let bless = std::env::var_os("CTQ_BLESS").is_some();
    if bless {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let mut failures = Vec::new();
    for case in cases::of(Test::Golden) {
        let json_args: Vec<&str> = case.args.iter().copied().chain(["-o", "json"]).collect();
        let rows = fitted(case.name, &json_args, 80).json();
        for width in WIDTHS {
            let r = fitted(case.name, &case.args, width);
            let file = dir.join(format!("{}.{width}.txt", case.name));
            if bless {
                std::fs::write(&file, &r.stdout).unwrap();
            } else {
                match std::fs::read_to_string(&file) {
                    Ok(expected) if expected == r.stdout => {}
                    Ok(_) => failures.push(format!(
                        "{} at {width}: differs from {} (CTQ_BLESS=1 rewrites it):\n{}",
                        case.name,
                        file.display(),
                        r.stdout
                    )),
                    Err(e) => failures.push(format!("{}: {e}", file.display())),
                }
            }
            failures.extend(check_rules(case.name, width, &r, &rows));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The rules every fitted table keeps.
fn check_rules(name: &str, width: usize, r: &Run, rows: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let records = r.stdout.starts_with("─[ 1 ]");
    for line in r.stdout.lines() {
        // A footer line is text, not a table; a record's identifier may pass the width (it is
        // never cut), but a table's line may not.
        let is_table = line.starts_with(['┌', '│', '╞', '└', '├']);
        if is_table && width_of(line) > width {
            bad.push(format!(
                "{name} at {width}: a line of {} columns: {line}",
                width_of(line)
            ));
        }
    }
    let Some(rows) = rows.as_array() else {
        return bad; // summary: one object, checked by its width above
    };
    let left_out: Vec<&str> = r
        .stderr
        .lines()
        .filter_map(|l| l.split_once(" columns: ").or(l.split_once(" column: ")))
        .filter_map(|(_, rest)| rest.split(" (--wide").next())
        .flat_map(|names| names.split(", "))
        .collect();
    let header = r.stdout.lines().nth(1).unwrap_or("");
    for row in rows {
        let Some(obj) = row.as_object() else { continue };
        for (column, value) in obj {
            let shown = if records {
                r.stdout.lines().any(|l| l.starts_with(column.as_str()))
            } else {
                header
                    .split(['│', '┆'])
                    .any(|h| h.trim() == column.as_str())
            };
            if !shown && !left_out.contains(&column.as_str()) {
                bad.push(format!(
                    "{name} at {width}: column {column} neither shown nor named as left out"
                ));
            }
            if !shown || !IDENTIFIERS.contains(&column.as_str()) {
                continue;
            }
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => continue,
            };
            if !r.stdout.lines().any(|l| l.contains(&text)) {
                bad.push(format!(
                    "{name} at {width}: identifier {column} = {text} is not whole on one line"
                ));
            }
        }
    }
    bad
}

#[test]
fn a_pipe_gets_every_column_and_the_terminal_width_is_not_guessed() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let fixtures = fixtures.to_str().unwrap();
    // Not a terminal, COLUMNS set: nothing is fitted (COLUMNS is a terminal's width).
    let r = crate::util::run_with(
        crate::util::ctq()
            .args(["console-logins", "-s", fixtures])
            .env("COLUMNS", "80"),
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.lines().nth(1).unwrap().contains("user_agent"));
    assert!(!r.stderr.contains("left out"), "{}", r.stderr);
    // --wide on any output keeps every column too.
    let r = run(&["console-logins", "-s", fixtures, "--wide"]);
    assert!(r.stdout.lines().nth(1).unwrap().contains("user_agent"));
    // --width 0 fits nothing; a width below 20 is refused in words.
    let r = run(&["console-logins", "-s", fixtures, "--width", "0"]);
    assert!(r.stdout.lines().nth(1).unwrap().contains("user_agent"));
    let r = run(&["console-logins", "-s", fixtures, "--width", "5"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("--width must be a number of columns from 20 to 10000, or 0"),
        "{}",
        r.stderr
    );
}

/// In a real terminal (tmux, 80 columns wide), with no option: the width is found by itself,
/// no identifier is split, and the left-out columns are named.
#[test]
fn a_real_terminal_of_80_columns() {
    use std::process::Command;
    if Command::new("tmux").arg("-V").output().is_err() {
        crate::reference::skipped("the real-terminal layout test is skipped: it needs tmux");
        return;
    }
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let socket = format!("ctq-test-{}", std::process::id());
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("run tmux")
    };
    let script = format!(
        "env -u COLUMNS -u CTQ_SOURCE {} events --limit 4 -s '{}'; echo ctq-exit-$?; sleep 60",
        env!("CARGO_BIN_EXE_ctq"),
        fixtures.display()
    );
    let started = tmux(&["new-session", "-d", "-x", "80", "-y", "50", &script]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let mut screen = String::new();
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        screen = String::from_utf8_lossy(&tmux(&["capture-pane", "-p"]).stdout).into_owned();
        if screen.contains("ctq-exit-") {
            break;
        }
    }
    tmux(&["kill-server"]);
    assert!(screen.contains("ctq-exit-0"), "{screen}");
    assert!(screen.contains("│ event_time"), "{screen}");
    assert!(screen.contains("2024-09-06T13:05:00Z"), "{screen}");
    assert!(
        screen.contains("left out to fit 80 columns: account, region"),
        "{screen}"
    );
    for line in screen.lines() {
        assert!(line.chars().count() <= 80, "{line}");
    }
}
