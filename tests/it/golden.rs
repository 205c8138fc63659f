//! Exact rows pinned in the repository: `ctq <args> --source fixtures -o json` must parse equal to
//! `tests/golden/<name>.json` for every case in `tests/golden/cases.txt`. The golden files come
//! from the reference implementation (`tests/reference/regen_golden.sh`), so they can be reviewed
//! without running anything and the test needs no Python.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

#[test]
fn fixture_reports_match_golden_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let golden = root.join("tests/golden");
    let cases = std::fs::read_to_string(golden.join("cases.txt")).expect("tests/golden/cases.txt");
    let mut failures = Vec::new();
    let mut n = 0;
    for line in cases.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (name, args) = line.split_once('|').expect("a case is `name | arguments`");
        let (name, args): (&str, Vec<&str>) = (name.trim(), args.split_whitespace().collect());
        let file = golden.join(format!("{name}.json"));
        let expected: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display())))
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let out = Command::new(env!("CARGO_BIN_EXE_ctq"))
            .args(&args)
            .arg("--source")
            .arg(root.join("fixtures"))
            .args(["-o", "json"])
            .env_remove("CTQ_SOURCE")
            .stdin(Stdio::null())
            .output()
            .expect("run ctq");
        n += 1;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(0) {
            failures.push(format!("{name}: ctq {} exited {:?}: {stderr}", args.join(" "), out.status.code()));
            continue;
        }
        match serde_json::from_str::<Value>(&stdout) {
            Ok(v) if v == expected => {}
            Ok(v) => failures.push(format!(
                "{name}: ctq {} differs from {}:\n{}",
                args.join(" "),
                file.display(),
                first_difference(&v, &expected)
            )),
            Err(e) => failures.push(format!("{name}: stdout is not JSON ({e}): {stdout:.300}")),
        }
    }
    assert!(n > 0, "no cases in tests/golden/cases.txt");
    assert!(failures.is_empty(), "{} of {n} golden cases fail:\n\n{}", failures.len(), failures.join("\n\n"));
}

fn first_difference(ours: &Value, golden: &Value) -> String {
    let (Value::Array(a), Value::Array(b)) = (ours, golden) else {
        return format!("  ctq:    {ours}\n  golden: {golden}");
    };
    let mut s = format!("  {} rows from ctq, {} in the golden file", a.len(), b.len());
    let i = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    s += &format!("; first difference at row {i}");
    for k in i..(i + 3) {
        let show = |v: Option<&Value>| v.map_or("(none)".to_string(), |v| v.to_string());
        if k < a.len() || k < b.len() {
            s += &format!("\n  [{k}] ctq:    {}\n  [{k}] golden: {}", show(a.get(k)), show(b.get(k)));
        }
    }
    s
}
