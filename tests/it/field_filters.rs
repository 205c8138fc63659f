//! `--where`, `--match` and `--resource` (issue 15): held to the reference's
//! `tests/reference/field_filters.py` on the fixtures, the real samples, a generated corpus and
//! events of odd shapes; read the same from S3 as from disk; refused with a reason when mistyped.

use std::path::PathBuf;

use serde_json::json;

use crate::reference::{compare_all, generated_corpus, manifest_dir, python_available};
use crate::s3::{S3Server, fixture_bucket};
use crate::util::*;

const COMMANDS: [&[&str]; 3] = [
    &["events"],
    &["errors", "--top", "0"],
    &["event-sources", "--top", "0"],
];

/// Filters that mean something on the fixtures and on the generated corpora.
const ON_FIXTURES: [&[&str]; 14] = [
    &["--where", "eventSource=s3.amazonaws.com"],
    &[
        "--where",
        "eventSource=s3.amazonaws.com",
        "--where",
        "eventSource=sts.amazonaws.com",
    ],
    &[
        "--where",
        "eventName!=GetObject",
        "--where",
        "eventName!=PutObject",
    ],
    &["--where", "requestParameters.bucketName?"],
    &[
        "--where",
        "requestParameters.bucketName*=prod",
        "--where",
        "errorCode?",
    ],
    &["--where", "resources[].ARN~^arn:aws:s3:::prod-data/"],
    &["--where", "resources.type=AWS::S3::Object"],
    &["--where", "readOnly=true"],
    &[
        "--where",
        "userIdentity.sessionContext.attributes.mfaAuthenticated=true",
    ],
    &["--where", "userAgent~(?i)^aws-cli/2"],
    &["--match", "AKIA"],
    &["--match", "prod-DATA", "--match", "alice"],
    &["--resource", "prod-data"],
    &[
        "--resource",
        "arn:aws:s3:::prod-data",
        "--where",
        "eventName=GetObject",
    ],
];

fn sources(dir: PathBuf) -> Vec<PathBuf> {
    vec![dir]
}

#[test]
fn fixtures_and_a_generated_corpus_agree_with_the_reference() {
    if !python_available() {
        return;
    }
    compare_all(
        "fixtures, field filters",
        &sources(fixtures()),
        &COMMANDS,
        &ON_FIXTURES,
    );
    let corpus = generated_corpus(5);
    compare_all(
        "generated corpus, field filters",
        &sources(corpus.path().to_path_buf()),
        &COMMANDS,
        &ON_FIXTURES,
    );
}

#[test]
fn real_samples_agree_with_the_reference() {
    let samples = manifest_dir().join("../shared/cloudtrail-samples");
    if !python_available() || !samples.is_dir() {
        return;
    }
    let filters: &[&[&str]] = &[
        &["--where", "requestParameters.instanceType=p2.8xlarge"],
        &[
            "--where",
            "requestParameters.instancesSet.items[].minCount=2",
        ],
        &["--where", "requestParameters.durationSeconds=900"],
        &[
            "--where",
            "responseElements.instancesSet.items.currentState.code=64",
        ],
        &[
            "--where",
            "responseElements.instancesSet.items.launchTime~^1666",
        ],
        &["--where", "userAgent~(?i)boto"],
        &["--where", "requestParameters.bucketName*=bucket"],
        &["--where", "requestParameters.policy?"],
        &[
            "--where",
            "eventName!=ConsoleLogin",
            "--where",
            "errorCode?",
        ],
        &[
            "--where",
            "additionalEventData.MFAUsed=Yes",
            "--where",
            "additionalEventData.MFAUsed=true",
        ],
        &["--where", "responseElements._return=true"],
        &[
            "--where",
            "requestParameters.enableCloudwatchLogsExports=audit",
        ],
        &["--where", "resources[].type=AWS::S3::Object"],
        &["--where", "resources?"],
        &["--where", "responseElements?"],
        &["--where", "requestParameters.filters.values~^i-"],
        &["--match", "stratus"],
        &["--match", "akia"],
        &["--resource", "example-bucket"],
        &["--resource", "arn:aws:s3:::example-bucket"],
        &["--resource", "i-0d9853f67e40ab80b"],
        &["--resource", "arn:aws:iam::aws:policy/ReadOnlyAccess"],
    ];
    compare_all(
        "real samples, field filters",
        &sources(samples),
        &COMMANDS[..1],
        filters,
    );
}

/// Events whose fields are where a reader of the text can go wrong: keys written with escapes,
/// keys given twice, numbers as written, arrays in arrays, nulls, empty strings, escaped text.
fn odd_events() -> Vec<serde_json::Value> {
    let t = "2024-09-05T10:00:00Z";
    vec![
        event(
            t,
            "A",
            json!({"requestParameters": {"n": 1e3, "m": -0.0, "x": [[{"k": "deep"}], {"k": "one"}], "e": "", "z": null}}),
        ),
        event(
            t,
            "B",
            json!({"requestParameters": {"n": 1000, "x": [{"k": null}, {"k": ["two", 3, null, {"o": 1}]}], "q": "a\"b\\c"}}),
        ),
        event(
            t,
            "C",
            json!({"requestParameters": "a string", "resources": [{"ARN": "arn:aws:iam::111111111111:role/Admin"}, {"ARN": 5}]}),
        ),
        event(
            t,
            "D",
            json!({"requestParameters": {"deep": {"list": [{"name": "Admin"}], "key-not-value": 1}}, "resources": []}),
        ),
        event(
            t,
            "E",
            json!({"requestParameters": {"t": true, "f": false, "Straße": "ÉTÉ"}, "resources": {"ARN": "arn:aws:lambda:us-east-1:111111111111:function:fn"}}),
        ),
    ]
}

/// The same events with keys written with escapes and given twice (serde_json writes neither).
fn odd_text() -> String {
    let mut lines: Vec<String> = odd_events().iter().map(|e| e.to_string()).collect();
    lines.push(
        r#"{"eventVersion":"1.08","eventTime":"2024-09-05T10:00:00Z","eventName":"F","eventID":"f","eventSource":"x.amazonaws.com","awsRegion":"us-east-1","recipientAccountId":"111111111111","request\u0050arameters":{"n":"1","n":"2","k\u0065y":"v"},"userAgent":"first","userAgent":"Bot/1"}"#
            .to_string(),
    );
    lines.push(
        r#"{"eventVersion":"1.08","eventTime":"2024-09-05T10:00:00Z","eventName":"G","eventID":"g","requestParameters":{"n":1e3,"big":12345678901234567890123,"f":1.50,"neg":-0}}"#
            .to_string(),
    );
    lines.join("\n")
}

#[test]
fn odd_shapes_agree_with_the_reference() {
    if !python_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "odd.json", odd_text().as_bytes());
    let filters: &[&[&str]] = &[
        &["--where", "requestParameters.n=1e3"],
        &["--where", "requestParameters.n=1000"],
        &["--where", "requestParameters.n=2"],
        &["--where", "requestParameters.big=12345678901234567890123"],
        &["--where", "requestParameters.f=1.50"],
        &["--where", "requestParameters.f=1.5"],
        &["--where", "requestParameters.neg=-0"],
        &["--where", "requestParameters.n=1"],
        &["--where", "requestParameters.m=-0.0"],
        &["--where", "requestParameters.x.k=deep"],
        &["--where", "requestParameters.x.k=one"],
        &["--where", "requestParameters.x[].k=two"],
        &["--where", "requestParameters.x.k=3"],
        &["--where", "requestParameters.x.k?"],
        &["--where", "requestParameters.x.k!=two"],
        &["--where", "requestParameters.e?"],
        &["--where", "requestParameters.z?"],
        &["--where", "requestParameters.q=a\"b\\c"],
        &["--where", "requestParameters.key=v"],
        &[
            "--where",
            "requestParameters.t=true",
            "--where",
            "requestParameters.f=false",
        ],
        &["--where", "requestParameters=a string"],
        &["--where", "requestParameters?"],
        &["--where", "requestParameters.deep?"],
        &["--where", "requestParameters.deep.list.name=Admin"],
        &["--where", "userAgent=Bot/1"],
        &["--where", "userAgent~^B"],
        &["--where", "resources.ARN?"],
        &["--where", "resources.ARN=5"],
        &["--match", "straße"],
        &["--match", "été"],
        &["--match", "\\\"B"],
        &["--resource", "Admin"],
        &["--resource", "role/Admin"],
        &["--resource", "fn"],
        &["--resource", "a string"],
        &["--resource", "key-not-value"],
        &["--resource", "arn:aws:iam::111111111111:role"],
    ];
    compare_all(
        "odd events, field filters",
        &sources(dir.path().to_path_buf()),
        &COMMANDS[..1],
        filters,
    );
}

#[test]
fn filters_read_the_same_from_s3_as_from_disk() {
    let server = S3Server::start();
    fixture_bucket(&server);
    let local = fixtures();
    for filter in ON_FIXTURES {
        for command in [&["events"][..], &["errors", "--top", "0"]] {
            let mut args: Vec<&str> = command.to_vec();
            args.extend([
                "--since",
                "2024-09-01",
                "--until",
                "2024-09-10",
                "-o",
                "json",
            ]);
            args.extend(filter);
            let mut on_disk = args.clone();
            on_disk.extend(["-s", local.to_str().unwrap()]);
            let mut on_s3 = args.clone();
            on_s3.extend(["-s", "s3://trail"]);
            let (d, s) = (run(&on_disk), server.run(&on_s3));
            assert_eq!(d.code, 0, "{on_disk:?}: {}", d.stderr);
            assert_eq!(s.code, 0, "{on_s3:?}: {}", s.stderr);
            assert_eq!(d.stdout, s.stdout, "{filter:?}");
        }
    }
}

#[test]
fn a_filter_on_the_fixtures_keeps_what_it_says() {
    let f = fixtures();
    let f = f.to_str().unwrap();
    let count = |args: &[&str]| {
        let mut all = vec!["events", "-s", f, "-o", "json"];
        all.extend(args);
        let r = run(&all);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        serde_json::from_str::<serde_json::Value>(&r.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
    };
    let s3 = count(&["--event-source", "s3.amazonaws.com"]);
    assert!(s3 > 0);
    assert_eq!(count(&["--where", "eventSource=s3.amazonaws.com"]), s3);
    let all = count(&[]);
    assert_eq!(
        count(&["--where", "eventSource!=s3.amazonaws.com"]),
        all - s3
    );
    assert_eq!(count(&["--where", "eventSource*=s3.amazon"]), s3);
    assert_eq!(count(&["--where", "eventSource~^s3\\."]), s3);
    // One fixture event has no eventSource at all.
    assert_eq!(count(&["--where", "eventSource?"]), all - 1);
    assert_eq!(count(&["--where", "noSuchField?"]), 0);
    // --resource generalises --bucket: it also finds the fixture event whose requestParameters
    // is an array holding {"bucketName": "prod-data"}, which --bucket reads as no bucket.
    assert_eq!(
        count(&["--bucket", "prod-data"]) + 1,
        count(&["--resource", "prod-data"]),
    );
}

#[test]
fn mistyped_filters_are_usage_errors_that_say_why() {
    let f = fixtures();
    let f = f.to_str().unwrap();
    for (arg, value, needle) in [
        (
            "--where",
            "requestParameters..x=1",
            "'requestParameters..x' is not a field path",
        ),
        ("--where", "a[0].b=1", "'a[0].b' is not a field path"),
        ("--where", "eventName=", "has an empty value"),
        ("--where", "eventName", "has no test: PATH=VALUE"),
        ("--where", "userAgent~(unclosed", "not a regular expression"),
        ("--where", "=x", "'' is not a field path"),
        ("--match", "", "an empty text"),
        ("--resource", "", "an empty ARN or name"),
    ] {
        let r = run(&["errors", "-s", f, arg, value]);
        assert_eq!(r.code, 2, "{arg} {value}: {}", r.stderr);
        assert!(r.stderr.contains(needle), "{arg} {value}: {}", r.stderr);
    }
}

/// Events in the trail layout whose requestParameters hold what the SQL of `--where` must walk
/// as the local engine does: arrays of objects, arrays at the end, numbers, escaped strings,
/// nulls, objects as values; and resource ARNs of every kind `--resource` reads.
fn nested_trail(dir: &std::path::Path) {
    let t = "2024-09-05T10:00:00Z";
    let with = |name: &str, extra: serde_json::Value| event(t, name, extra);
    let events = vec![
        with(
            "RunInstances",
            json!({"requestParameters": {"instanceType": "p4d.24xlarge", "instancesSet": {"items": [{"imageId": "ami-1", "minCount": 2}, {"imageId": "ami-2", "minCount": 1}]}, "tags": ["a", "b", null, {"k": "v"}]}}),
        ),
        with(
            "RunInstances",
            json!({"requestParameters": {"instanceType": "t3.micro", "instancesSet": {"items": [{"imageId": "ami-3"}]}, "tags": []}}),
        ),
        with(
            "PutObject",
            json!({"requestParameters": {"bucketName": "prod-data", "key": "a\"quoted\"/k", "nested": {"deeper": [{"name": "Admin"}]}, "z": null},
            "resources": [{"ARN": "arn:aws:s3:::prod-data/a/k", "type": "AWS::S3::Object"}, {"ARN": "arn:aws:s3:::prod-data", "type": "AWS::S3::Bucket"}]}),
        ),
        with(
            "AssumeRole",
            json!({"requestParameters": {"roleArn": "arn:aws:iam::111111111111:role/Admin", "durationSeconds": 3600, "flag": true},
            "resources": [{"ARN": "arn:aws:iam::111111111111:role/Admin", "type": "AWS::IAM::Role"}]}),
        ),
        with(
            "Invoke",
            json!({"requestParameters": {"functionName": "arn:aws:lambda:us-east-1:111111111111:function:fn"},
            "resources": [{"ARN": "arn:aws:lambda:us-east-1:111111111111:function:fn"}]}),
        ),
        with("ListBuckets", json!({"requestParameters": null})),
    ];
    let path = trail_path("111111111111", "us-east-1", "20240905T1000Z", "nested");
    write(dir, &path, &gz(&records(&events)));
}

#[test]
fn athena_runs_the_same_filters_as_the_local_engine() {
    let nested = tempfile::tempdir().unwrap();
    nested_trail(nested.path());
    for (label, source) in [
        ("fixtures", fixtures()),
        ("nested", nested.path().to_path_buf()),
    ] {
        let Some((server, dir)) = crate::athena::AthenaServer::start_exported(&source) else {
            return;
        };
        let export = dir.path().join("trail");
        let local_source = export.to_str().unwrap();
        let mut filters: Vec<&[&str]> = ON_FIXTURES
            .iter()
            .copied()
            .filter(|f| f[0] != "--match")
            .collect();
        filters.extend([
            &["--where", "requestParameters.instanceType=p4d.24xlarge"][..],
            &[
                "--where",
                "requestParameters.instancesSet.items[].imageId=ami-2",
            ],
            &["--where", "requestParameters.instancesSet.items.minCount=2"],
            &[
                "--where",
                "requestParameters.instancesSet.items.minCount!=2",
            ],
            &["--where", "requestParameters.tags=b"],
            &["--where", "requestParameters.tags?"],
            &["--where", "requestParameters.z?"],
            &["--where", "requestParameters.key*=\"quoted\""],
            &["--where", "requestParameters.nested.deeper?"],
            &["--where", "requestParameters.nested?"],
            &["--where", "requestParameters.durationSeconds=3600"],
            &["--where", "requestParameters.flag=true"],
            &["--where", "requestParameters?"],
            &["--where", "resources.ARN~:role/"],
            &["--resource", "Admin"],
            &["--resource", "fn"],
            &["--resource", "arn:aws:iam::111111111111:role/Admin"],
            &["--resource", "a/k"],
            &["--resource", "a\"quoted\"/k"],
        ]);
        let mut runs = Vec::new();
        for filter in &filters {
            for command in [&["events"][..], &["errors", "--top", "0"]] {
                runs.push((command, *filter));
            }
        }
        let failures = failures_in_parallel(&runs, |(command, filter)| {
            let args: Vec<&str> = command
                .iter()
                .chain(
                    [
                        "--since",
                        "2024-09-01",
                        "--until",
                        "2024-09-08",
                        "-o",
                        "json",
                    ]
                    .iter(),
                )
                .chain(filter.iter())
                .copied()
                .collect();
            server
                .differs(local_source, &args)
                .map(|why| format!("[{label}] {why}"))
        });
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    }
}

/// `--match` reads each event's text as it is: for `lookup-events` output that is the decoded
/// `CloudTrailEvent` string, whose quotes the file holds escaped; an input that holds none of the
/// text anywhere has no event that matches.
#[test]
fn match_reads_each_events_own_text() {
    let dir = tempfile::tempdir().unwrap();
    let inner = event("2024-09-05T10:00:00Z", "GetObject", json!({}));
    let lookup = json!({"Events": [{"EventId": "x", "CloudTrailEvent": inner.to_string()}]});
    write(dir.path(), "lookup.json", lookup.to_string().as_bytes());
    write(
        dir.path(),
        "trail.json",
        &records(&[event("2024-09-05T11:00:00Z", "GetObject", json!({}))]),
    );
    let src = dir.path().to_str().unwrap();
    let count = |text: &str| {
        let r = run(&["events", "-s", src, "--match", text, "-o", "json"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        serde_json::from_str::<serde_json::Value>(&r.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(count("\"eventName\":\"GetObject\""), 2);
    assert_eq!(count("\"EVENTNAME\":\"getobject\""), 2);
    assert_eq!(
        count("\\\"eventName\\\""),
        0,
        "the escaped form is the file's, not the event's"
    );
    assert_eq!(count("nowhere-at-all"), 0);
}
