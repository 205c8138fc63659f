//! Exact rows pinned in the repository: `ctq <args> --source fixtures -o json` must parse equal to
//! `tests/golden/<name>.json` for every `golden` case in `tests/golden/cases.txt`. The golden files
//! come from the reference implementation (`tests/reference/regen_golden.sh`), so they can be
//! reviewed without running anything and the test needs no Python.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::cases::{self, Test};

#[test]
fn fixture_reports_match_golden_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let golden = cases::golden_dir();
    let mut failures = Vec::new();
    let mut n = 0;
    for case in cases::of(Test::Golden) {
        let (name, args) = (case.name, &case.args);
        let file = golden.join(format!("{name}.json"));
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display())),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let out = Command::new(env!("CARGO_BIN_EXE_ctq"))
            .args(args)
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
            failures.push(format!(
                "{name}: ctq {} exited {:?}: {stderr}",
                args.join(" "),
                out.status.code()
            ));
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
    assert!(
        failures.is_empty(),
        "{} of {n} golden cases fail:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn first_difference(ours: &Value, golden: &Value) -> String {
    let (Value::Array(a), Value::Array(b)) = (ours, golden) else {
        return format!("  ctq:    {ours}\n  golden: {golden}");
    };
    let mut s = format!(
        "  {} rows from ctq, {} in the golden file",
        a.len(),
        b.len()
    );
    let i = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    s += &format!("; first difference at row {i}");
    for k in i..(i + 3) {
        let show = |v: Option<&Value>| v.map_or("(none)".to_string(), |v| v.to_string());
        if k < a.len() || k < b.len() {
            s += &format!(
                "\n  [{k}] ctq:    {}\n  [{k}] golden: {}",
                show(a.get(k)),
                show(b.get(k))
            );
        }
    }
    s
}

/// A JSON object with its keys in document order (serde_json's `Map` sorts them).
struct Ordered(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a row object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Ordered, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry::<String, Value>()? {
                    pairs.push(pair);
                }
                Ok(Ordered(pairs))
            }
        }
        d.deserialize_map(V)
    }
}

/// The other formats carry the same rows: NDJSON line i is golden row i, CSV is the golden rows
/// quoted as RFC 4180 says, and the table view is pinned as reviewed text in
/// `tests/golden/<name>.table.txt` (set CTQ_BLESS=1 to rewrite those after a deliberate change).
#[test]
fn fixture_reports_in_every_format() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let golden = cases::golden_dir();
    let bless = std::env::var_os("CTQ_BLESS").is_some();
    for case in cases::of(Test::Golden) {
        let (name, args) = (case.name, &case.args);
        let text = std::fs::read_to_string(golden.join(format!("{name}.json"))).unwrap();
        // `summary` prints one object, not rows: its other formats are checked in
        // investigations.rs (against the reference and against its own JSON).
        if !serde_json::from_str::<Value>(&text).unwrap().is_array() {
            continue;
        }
        let expected: Vec<Value> = serde_json::from_str(&text).unwrap();
        let ordered: Vec<Ordered> = serde_json::from_str(&text).unwrap();
        let run = |format: &str| -> String {
            let out = Command::new(env!("CARGO_BIN_EXE_ctq"))
                .args(args)
                .arg("--source")
                .arg(root.join("fixtures"))
                .args(["-o", format])
                .env_remove("CTQ_SOURCE")
                .stdin(Stdio::null())
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0), "{name} -o {format}");
            String::from_utf8(out.stdout).unwrap()
        };

        let ndjson: Vec<Value> = run("ndjson")
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(ndjson, expected, "{name}: -o ndjson");

        let csv = run("csv");
        let mut lines = csv.split_terminator('\n');
        let header = lines.next().unwrap();
        if let Some(first) = ordered.first() {
            let keys: Vec<&str> = first.0.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(header, keys.join(","), "{name}: CSV header");
        }
        let want: String = ordered.iter().map(csv_row).collect();
        assert_eq!(&csv[header.len() + 1..], want, "{name}: -o csv");

        let table = run("table");
        let snapshot = golden.join(format!("{name}.table.txt"));
        if bless {
            std::fs::write(&snapshot, &table).unwrap();
        }
        let pinned = std::fs::read_to_string(&snapshot).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run with CTQ_BLESS=1 to create it)",
                snapshot.display()
            )
        });
        assert_eq!(
            table,
            pinned,
            "{name}: table view differs from {}",
            snapshot.display()
        );
        // Every golden cell is in the table (written to a pipe: not fitted, every value whole up
        // to 4096 columns), escaped where it holds control characters, and cut with `…` where
        // it is longer (the golden cells are narrow characters).
        for row in &expected {
            for cell in row.as_object().unwrap().values() {
                if let Value::String(s) = cell {
                    let shown: String = s
                        .chars()
                        .flat_map(|c| {
                            if c.is_control() {
                                format!("{:?}", c).chars().collect::<Vec<_>>()
                            } else {
                                vec![c]
                            }
                        })
                        .collect();
                    if !s.chars().any(char::is_control) && s.chars().count() > TABLE_CELL_WIDTH {
                        let cut: String = s.chars().take(TABLE_CELL_WIDTH - 1).collect();
                        assert!(
                            table.contains(&format!("{cut}…")) && !table.contains(s.as_str()),
                            "{name}: table lacks {s:?} cut to {TABLE_CELL_WIDTH} columns"
                        );
                    } else if !s.chars().any(char::is_control) {
                        assert!(table.contains(s.as_str()), "{name}: table lacks {s:?}");
                    } else {
                        assert!(
                            !table.contains(s.as_str()),
                            "{name}: table shows raw control characters of {shown}"
                        );
                    }
                }
            }
        }
    }
}

/// The widest a table cell is shown (README, Output).
const TABLE_CELL_WIDTH: usize = 4096;

/// A CSV row as the README describes it: RFC 4180 quoting, and a leading `'` on text that starts
/// like a spreadsheet formula (numbers, booleans and times are never changed).
fn csv_row(row: &Ordered) -> String {
    let cells: Vec<String> = row
        .0
        .iter()
        .map(|(_, v)| {
            let guard = |s: String| {
                if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                    format!("'{s}")
                } else {
                    s
                }
            };
            let text = match v {
                Value::Null => String::new(),
                Value::String(s) => guard(s.clone()),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Array(a) => guard(
                    a.iter()
                        .map(|x| x.as_str().unwrap().to_string())
                        .collect::<Vec<_>>()
                        .join(";"),
                ),
                other => panic!("unexpected cell {other}"),
            };
            if text.contains([',', '"', '\r', '\n']) {
                format!("\"{}\"", text.replace('"', "\"\""))
            } else {
                text
            }
        })
        .collect();
    cells.join(",") + "\n"
}
