//! The inputs the fuzzer (`tests/fuzz/fuzz_parse.rs`) found interesting, kept in
//! `tests/fuzz/corpus/`, and hand-made edge cases: every reader must agree on each of them (see
//! `fuzz_check`).

use std::path::Path;

use crate::fuzz_check::check;

#[test]
fn the_kept_fuzz_inputs_keep_every_property() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus");
    let mut failures = Vec::new();
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read(&path).unwrap();
        n += 1;
        if let Some(why) = check(&text) {
            failures.push(format!("{}: {why}", path.display()));
        }
    }
    assert!(n > 0, "no inputs in {}", dir.display());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn hand_made_edge_cases_keep_every_property() {
    let cases: &[&[u8]] = &[
        b"",
        b" ",
        b"\xEF\xBB\xBF{\"Records\":[]}",
        b"{\"Records\":[{\"eventName\":\"A\"}],\"Records\":[{\"eventName\":\"B\"}]}",
        b"{\"Records\":[{\"eventName\":\"A\"}],\"Records\":5}",
        b"{\"Records\":[{\"eventName\":\"A\"}]}{\"Records\":[{\"eventName\":\"B\"}]}",
        b"{\"Records\":[{\"eventName\":\"A\"}]} {\"eventName\":\"B\"}",
        b"{\"eventName\":\"A\"}{\"eventName\":\"B\"}",
        b"[{\"eventName\":\"A\"}][{\"eventName\":\"B\"}]",
        b"[{\"eventName\":\"A\"},{\"x\":1}]",
        b"{\"Records\":[{\"x\":1}]}",
        b"{\"Records\":[{\"eventName\":\"A\",\"n\":1e999}]}",
        b"{\"Records\":[{\"eventName\":\"A\\\"]}\"}]}",
        b"{\"Events\":[{\"CloudTrailEvent\":\"{\\\"eventName\\\":\\\"L\\\"}\"}]}",
        b"{\"Records\":[1]}",
        b"{\"Records\" :\n[ {\"eventName\":\"A\"} ,\n ]}",
        b"123",
        b"\"text\"",
        b"nul",
        b"{\"Records\":[{\"eventName\":\"A\"}]",
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| check(c).map(|why| format!("{:?}: {why}", String::from_utf8_lossy(c))))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
