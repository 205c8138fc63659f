//! `ctq athena ddl`: the table definition, pinned as reviewed golden SQL
//! (`tests/golden/athena-*.sql`; CTQ_BLESS=1 rewrites them after a deliberate change).

use std::path::Path;

use crate::s3::{S3Server, fixture_bucket};
use crate::util::*;

fn golden(name: &str, sql: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("athena-{name}.sql"));
    if std::env::var_os("CTQ_BLESS").is_some() {
        std::fs::write(&path, sql).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (CTQ_BLESS=1 creates it)", path.display()));
    assert_eq!(sql, want, "differs from {}", path.display());
}

#[test]
fn single_account_from_the_options() {
    let r = run(&[
        "athena",
        "ddl",
        "-s",
        "s3://trail-bucket",
        "--account",
        "111111111111",
        "--region",
        "us-east-1",
        "--region",
        "eu-west-1",
        "--since",
        "2024-01-01",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    golden("single-account", &r.stdout);
    assert!(r.stdout.contains("LOCATION 's3://trail-bucket/AWSLogs/'"));
    assert!(r.stdout.contains("'storage.location.template'='s3://trail-bucket/AWSLogs/${account}/CloudTrail/${region}/${day}'"));
}

#[test]
fn organization_trail_from_the_options_with_a_prefix() {
    let r = run(&[
        "athena",
        "ddl",
        "-s",
        "s3://org-trails/team/AWSLogs/o-a1b2c3d4e5/",
        "--account",
        "222222222222",
        "--account",
        "333333333333",
        "--region",
        "us-east-1",
        "--table",
        "org_trail",
        "--database",
        "security",
        "--event-folder",
        "CloudTrail-NetworkActivity",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    golden("organization-network-activity", &r.stdout);
    assert!(
        r.stdout
            .contains("CREATE EXTERNAL TABLE IF NOT EXISTS `security`.`org_trail`")
    );
    assert!(r.stdout.contains("'s3://org-trails/team/AWSLogs/o-a1b2c3d4e5/${account}/CloudTrail-NetworkActivity/${region}/${day}'"));
    assert!(r.stdout.contains("'projection.day.range'='2013/11/01,NOW'"));
}

#[test]
fn needs_one_s3_location() {
    let r = run(&[
        "athena",
        "ddl",
        "-s",
        "fixtures",
        "--account",
        "111111111111",
        "--region",
        "us-east-1",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("needs exactly one --source s3://"),
        "{}",
        r.stderr
    );
}

#[test]
fn accounts_regions_and_organization_found_in_the_bucket() {
    let server = S3Server::start();
    fixture_bucket(&server);
    // The fixtures hold an account trail beside an organization trail: one table cannot cover
    // both, and the message says which sources would work.
    let r = server.run(&["athena", "ddl", "-s", "s3://trail"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("holds both an organization trail and account trails"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("s3://trail/AWSLogs/o-a1b2c3d4e5/ (organization trail)"),
        "{}",
        r.stderr
    );

    let r = server.run(&[
        "athena",
        "ddl",
        "-s",
        "s3://trail/AWSLogs/o-a1b2c3d4e5/",
        "--since",
        "2024-09-01",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    golden("discovered-organization", &r.stdout);
    assert!(
        r.stdout
            .contains("'projection.account.values'='222222222222,333333333333'"),
        "{}",
        r.stdout
    );

    // --account narrows the walk to the account trail beside it.
    let r = server.run(&[
        "athena",
        "ddl",
        "-s",
        "s3://trail",
        "--account",
        "111111111111",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("'projection.account.values'='111111111111'"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("LOCATION 's3://trail/AWSLogs/'"),
        "{}",
        r.stdout
    );
}
