//! `verify` on local copies of a trail: the walk for digests and log files, and the reading of
//! both.
//!
//! The walk is iterative (a stack, at most `MAX_DEPTH` folders deep), follows no link to a
//! folder, and enters only `CloudTrail/` and `CloudTrail-Digest/` below an account, and only the
//! day folders of the days asked for.

use std::fs;
use std::path::{Path, PathBuf};

use super::digest::{DigestName, layout_key};
use super::model::{Hashed, LogFile};
use super::read::hash_reader;
use crate::exit::{Repeated, warn_repeated};
use crate::source::layout::{self, DIGEST_FOLDER, InLayout, Level, Origin};
use crate::source::{io_reason, local, write_path};

/// The folders `verify` reads below an account.
pub const LOG_FOLDER: &str = "CloudTrail";

/// Folders deeper than this below a source are not walked.
const MAX_DEPTH: usize = 64;

/// A digest found, not yet read.
#[derive(Debug, Clone)]
pub struct DigestRef {
    pub object: String,
    pub key: String,
    pub root: String,
    pub origin: Origin,
    pub name: DigestName,
}

/// What a walk found.
#[derive(Debug, Default)]
pub struct Inventory {
    pub digests: Vec<(DigestRef, PathBuf)>,
    pub logs: Vec<(LogFile, PathBuf)>,
    /// Folders that could not be read (named on stderr).
    pub unreadable: u64,
}

fn display(p: &Path) -> String {
    let mut s = String::new();
    let _ = write_path(&mut s, p);
    s
}

/// Walk `source` for the digests and log files of the delivery days `days` (first, last).
pub fn walk(
    source: &Path,
    days: (i64, i64),
    accounts: &[String],
    regions: &[String],
    inv: &mut Inventory,
) -> anyhow::Result<()> {
    let meta = fs::metadata(source)
        .map_err(|e| anyhow::anyhow!("{}: {}", display(source), io_reason(&e)))?;
    if !meta.is_dir() {
        anyhow::bail!(
            "{}: verify reads a folder holding a trail's AWSLogs/ layout, not a file",
            display(source)
        );
    }
    let mut stack: Vec<(PathBuf, usize)> = vec![(source.to_path_buf(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                warn_repeated(
                    Repeated::UnreadablePath,
                    &format!("{}: cannot read folder: {}", display(&dir), io_reason(&e)),
                );
                inv.unreadable += 1;
                continue;
            }
        };
        let mut children: Vec<(PathBuf, bool)> = Vec::new();
        for entry in entries.flatten() {
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            children.push((entry.path(), is_dir));
        }
        children.sort();
        for (path, is_dir) in children.into_iter().rev() {
            let text = display(&path);
            let segs: Vec<&str> = text.split('/').filter(|s| !s.is_empty()).collect();
            let below = InLayout::find(&segs).map(|l| l.below).unwrap_or(&[]);
            if is_dir {
                if depth < MAX_DEPTH && wanted_folder(below, days, accounts, regions) {
                    stack.push((path, depth + 1));
                }
                continue;
            }
            // A file: only in a day folder, `<account>/<folder>/<region>/YYYY/MM/DD/<name>`.
            let [account, folder, region, _, _, _, name] = below else {
                continue;
            };
            let Some(key) = layout_key(&text).map(str::to_string) else {
                continue;
            };
            let origin = Origin {
                account: account.to_string(),
                region: region.to_string(),
            };
            let root = text[..text.len() - key.len()].to_string();
            if *folder == DIGEST_FOLDER {
                if let Some(name) = DigestName::parse(name) {
                    let d = DigestRef {
                        object: text.clone(),
                        key,
                        root,
                        origin,
                        name,
                    };
                    inv.digests.push((d, path));
                }
            } else if local::is_event_file_name(name) {
                let log = LogFile {
                    object: text.clone(),
                    key,
                    origin,
                    delivered: layout::delivery_time(name),
                };
                inv.logs.push((log, path));
            }
        }
    }
    Ok(())
}

/// Whether to enter a folder whose segments below `AWSLogs/[o-…/]` are `below`.
pub fn wanted_folder(
    below: &[&str],
    days: (i64, i64),
    accounts: &[String],
    regions: &[String],
) -> bool {
    let want = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == v);
    match below {
        [] => true,
        [account, rest @ ..] => {
            if !layout::is_account_id(account) || !want(accounts, account) {
                return false;
            }
            match rest {
                [] => true,
                [folder, rest @ ..] => {
                    if *folder != LOG_FOLDER && *folder != DIGEST_FOLDER {
                        return false;
                    }
                    match rest {
                        [] => true,
                        [region, dated @ ..] => want(regions, region) && dated_in(dated, days),
                    }
                }
            }
        }
    }
}

/// Whether `YYYY[/MM[/DD]]` can hold one of the days: each folder read as the layout reads
/// dated folders (`Level::dated`).
fn dated_in(dated: &[&str], (lo, hi): (i64, i64)) -> bool {
    let mut level = Level::Region;
    dated.iter().all(|name| match level.dated(name) {
        Some((next, first, last)) if last >= lo && first <= hi => {
            level = next;
            true
        }
        _ => false,
    })
}

/// Read and hash a local file (all its gzip members, decompressed).
pub fn hash_file(path: &Path, max_json: u64) -> Hashed {
    match local::open_regular(path) {
        Ok(Ok((file, _))) => hash_reader(Box::new(file), max_json),
        Ok(Err(what)) => Hashed::Unreadable(format!("not a regular file ({what})")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Hashed::Missing,
        Err(e) => Hashed::Unreadable(format!("cannot read: {}", io_reason(&e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time;

    #[test]
    fn folders_entered() {
        let day = time::date(2024, 9, 5).unwrap();
        let days = (day - 1, day + 1);
        let yes = |b: &[&str]| wanted_folder(b, days, &[], &[]);
        assert!(yes(&[]));
        assert!(yes(&[
            "111111111111",
            "CloudTrail-Digest",
            "us-east-1",
            "2024",
            "09",
            "06"
        ]));
        assert!(yes(&[
            "111111111111",
            "CloudTrail",
            "us-east-1",
            "2024",
            "09"
        ]));
        assert!(!yes(&[
            "111111111111",
            "CloudTrail",
            "us-east-1",
            "2024",
            "09",
            "07"
        ]));
        assert!(!yes(&[
            "111111111111",
            "CloudTrail",
            "us-east-1",
            "2024",
            "10"
        ]));
        assert!(!yes(&["111111111111", "CloudTrail-Insight"]));
        assert!(!yes(&["notanaccount"]));
        assert!(!wanted_folder(
            &["111111111111"],
            days,
            &["222222222222".into()],
            &[]
        ));
        assert!(!wanted_folder(
            &["111111111111", "CloudTrail", "eu-west-1"],
            days,
            &[],
            &["us-east-1".into()]
        ));
    }
}
