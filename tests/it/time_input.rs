//! The time forms people type, through the binary: each spelling of one window gives the same
//! report, and a time that cannot be one is a usage error that says what would do.

use crate::util::*;

fn errors_json(window: &[&str]) -> Run {
    let fixtures = fixtures();
    let mut args = vec!["errors", "-s", fixtures.to_str().unwrap(), "-o", "json"];
    args.extend_from_slice(window);
    run(&args)
}

#[test]
fn every_spelling_of_a_window_gives_the_same_report() {
    let reference = errors_json(&[
        "--since",
        "2024-09-05T10:00:00Z",
        "--until",
        "2024-09-06T00:00:00Z",
    ]);
    assert_eq!(reference.code, 0, "{}", reference.stderr);
    assert_ne!(
        reference.json(),
        serde_json::json!([]),
        "the fixtures have errors that day"
    );
    for window in [
        &["--since", "2024-09-05T10:00", "--until", "2024-09-06"][..],
        &["--since", "2024-09-05 10:00Z", "--until", "@1725580800"],
        &[
            "--since",
            "2024-09-05T12:00+02:00",
            "--until",
            "2024-09-05T17:00-07:00",
        ],
        &["--since=@1725530400", "--until=2024-09-06T00:00"],
    ] {
        let r = errors_json(window);
        assert_eq!(r.code, 0, "{window:?}: {}", r.stderr);
        assert_eq!(r.stdout, reference.stdout, "{window:?}");
    }

    // Durations back from now, in the three spellings: all far enough back to hold the fixtures.
    let all = errors_json(&[]);
    for window in [
        &["--since", "20000d"][..],
        &["--since=-20000d"],
        &["--since", "-20000d"],
        &["--since", "20000d ago"],
        &["--since", "50y"],
    ] {
        let r = errors_json(window);
        assert_eq!(r.code, 0, "{window:?}: {}", r.stderr);
        assert_eq!(r.stdout, all.stdout, "{window:?}");
    }

    // Today and yesterday are days long past the fixtures': nothing, and no error.
    for window in [
        &["--date", "today"][..],
        &["--date", "yesterday"],
        &["--since", "yesterday", "--until", "now"],
    ] {
        let r = errors_json(window);
        assert_eq!(
            (r.code, r.json()),
            (0, serde_json::json!([])),
            "{window:?}: {}",
            r.stderr
        );
    }
}

#[test]
fn a_time_that_cannot_be_one_is_a_usage_error() {
    for (arg, says) in [
        (
            "--since=99999999999999999999d",
            "reaches too far back: a duration is at most 1000y",
        ),
        (
            "--since=@99999999999999",
            "is out of range: epoch seconds go up to @253402300799",
        ),
        (
            "--until=soon",
            "is not a time: use a date (2024-09-05), a UTC time (2024-09-05T10:00",
        ),
        (
            "--date=tomorrow",
            "use YYYY-MM-DD (2024-09-05), today or yesterday",
        ),
    ] {
        let r = errors_json(&[arg]);
        assert_eq!(r.code, 2, "{arg}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{arg}: {}", r.stderr);
    }
}
