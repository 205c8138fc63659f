//! Issue 10: output that stays safe and bounded on hostile input. Names and keys quoted on stderr
//! are escaped like table cells.

use serde_json::json;

use crate::util::*;

/// A screen clear and an OSC 52 clipboard write (`echo pwned` in base64), then BEL.
const CLEAR_AND_CLIPBOARD: &str = "\u{1b}[2J\u{1b}]52;c;ZWNobyBwd25lZA==\u{7}";
const CLEAR_AND_CLIPBOARD_SHOWN: &str = r"\x1b[2J\x1b]52;c;ZWNobyBwd25lZA==\x07";

fn assert_no_raw_controls(what: &str, text: &str) {
    for c in ['\u{1b}', '\u{7}', '\u{9b}', '\r'] {
        assert!(
            !text.contains(c),
            "{what}: raw {c:?} reaches the terminal:\n{}",
            text.escape_debug()
        );
    }
}

#[test]
fn file_names_in_warnings_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("trail{CLEAR_AND_CLIPBOARD}.json");
    write(dir.path(), &name, b"{ this is not JSON");
    write(
        dir.path(),
        "good.json",
        &records(&[event(
            "2024-09-05T10:00:00Z",
            "GetCallerIdentity",
            json!({}),
        )]),
    );
    let d = dir.path().to_str().unwrap();
    // Found in a folder, and named directly.
    let file = dir.path().join(&name);
    for source in [d, file.to_str().unwrap()] {
        let r = run(&["errors", "-s", source]);
        assert_eq!(r.code, 3, "{}", r.stderr);
        assert_no_raw_controls("stderr", &r.stderr);
        assert!(
            r.stderr
                .contains(&format!("trail{CLEAR_AND_CLIPBOARD_SHOWN}.json: ")),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn fatal_errors_quoting_a_path_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join(format!("gone{CLEAR_AND_CLIPBOARD}"));
    let r = run(&["errors", "-s", missing.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_no_raw_controls("stderr", &r.stderr);
    assert!(
        r.stderr
            .contains(&format!("gone{CLEAR_AND_CLIPBOARD_SHOWN}")),
        "{}",
        r.stderr
    );
}

#[test]
fn json_keys_in_not_cloudtrail_messages_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let key = format!("\u{1b}[31mred{CLEAR_AND_CLIPBOARD}\u{202e}\u{200b}");
    let body = serde_json::to_vec(&json!({ key: 1, "other": 2 })).unwrap();
    write(dir.path(), "config.json", &body);
    let r = run(&["summary", "-s", dir.path().to_str().unwrap(), "-o", "json"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_no_raw_controls("stderr", &r.stderr);
    for c in ['\u{202e}', '\u{200b}'] {
        assert!(
            !r.stderr.contains(c),
            "{c:?} in {}",
            r.stderr.escape_debug()
        );
    }
    assert!(
        r.stderr.contains(&format!(
            r"a JSON object with keys \x1b[31mred{CLEAR_AND_CLIPBOARD_SHOWN}\u{{202e}}\u{{200b}}"
        )),
        "{}",
        r.stderr
    );
}

#[test]
fn invisible_and_reordering_characters_are_escaped_in_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let message =
        "ok\u{061c}\u{2028}\u{2029}\u{200b}\u{200c}\u{200d}\u{2060}\u{feff}\u{e0041}\u{e007f}end";
    write(
        dir.path(),
        "a.json",
        &records(&[error_event(
            "2024-09-05T10:00:00Z",
            "GetObject",
            "AccessDenied",
            message,
        )]),
    );
    let r = run(&["errors", "-s", dir.path().to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(
            r"ok\u{61c}\u{2028}\u{2029}\u{200b}\u{200c}\u{200d}\u{2060}\u{feff}\u{e0041}\u{e007f}end"
        ),
        "{}",
        r.stdout
    );
}
