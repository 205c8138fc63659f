//! Local sources: walk folders for trail files, pruning day folders and files by delivery time.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::bail;

use super::layout::{self, DIGEST_FOLDER, Level};
use super::{Found, Input};
use crate::exit::warn;
use crate::time::Window;

/// Add the files of one local path to `found`. A path that does not exist or cannot be read at
/// all is fatal; a folder deeper down that cannot be listed is a warning and a skipped input.
pub fn find(path: &Path, window: &Window, found: &mut Found) -> anyhow::Result<()> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) => bail!("{}: {}", path.display(), io_reason(&e)),
    };
    if meta.is_file() {
        // A file named directly is read whatever its name.
        found.inputs.push(Input::File(path.to_path_buf()));
        return Ok(());
    }
    if !meta.is_dir() {
        bail!("{}: not a file or folder", path.display());
    }
    // The levels of the named folder's own path count: `--source AWSLogs/1/CloudTrail/us-east-1/2024`
    // is pruned like the whole tree would be.
    let mut level = Level::Outside;
    for comp in path.components() {
        if let Some(name) = comp.as_os_str().to_str() {
            level = level.child(name, window).unwrap_or(Level::Outside);
        }
    }
    let entries = match fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) => bail!("{}: cannot read folder: {}", path.display(), io_reason(&e)),
    };
    walk_entries(path, entries, level, window, found);
    Ok(())
}

fn walk(dir: &Path, level: Level, window: &Window, found: &mut Found) {
    match fs::read_dir(dir) {
        Ok(entries) => walk_entries(dir, entries, level, window, found),
        Err(e) => {
            warn(&format!(
                "{}: cannot read folder: {}",
                dir.display(),
                io_reason(&e)
            ));
            found.unreadable += 1;
        }
    }
}

fn walk_entries(
    dir: &Path,
    entries: fs::ReadDir,
    level: Level,
    window: &Window,
    found: &mut Found,
) {
    let mut children: Vec<(PathBuf, bool)> = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                warn(&format!(
                    "{}: cannot read folder: {}",
                    dir.display(),
                    io_reason(&e)
                ));
                found.unreadable += 1;
                return;
            }
        };
        let path = entry.path();
        // Symbolic links to files are read; links to folders are not followed (no loops).
        let is_dir = match entry.file_type() {
            Ok(t) if t.is_symlink() => false,
            Ok(t) => t.is_dir(),
            Err(_) => false,
        };
        children.push((path, is_dir));
    }
    children.sort();
    for (path, is_dir) in children {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if is_dir {
            if name == DIGEST_FOLDER {
                continue;
            }
            match level.child(name, window) {
                Some(next) => walk(&path, next, window, found),
                None => found.folders_skipped_by_time += 1,
            }
        } else if is_event_file_name(name) {
            if layout::delivery_time(name).is_some_and(|t| !window.may_hold_delivery_time(t)) {
                found.files_skipped_by_time += 1;
                continue;
            }
            // Not checked for being a regular file: a broken link named like a trail file is
            // reported when it cannot be read, not passed over in silence.
            found.inputs.push(Input::File(path));
        }
    }
}

/// `.json`, `.jsonl` or `.ndjson`, each optionally followed by `.gz` (any letter case).
pub fn is_event_file_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let stem = lower.strip_suffix(".gz").unwrap_or(&lower);
    [".json", ".jsonl", ".ndjson"]
        .iter()
        .any(|ext| stem.ends_with(ext))
}

/// The OS error without Rust's "(os error N)" suffix.
pub fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or folder".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_file_names() {
        for yes in ["a.json", "a.json.gz", "a.JSON.GZ", "x.jsonl", "x.ndjson.gz"] {
            assert!(is_event_file_name(yes), "{yes}");
        }
        for no in ["a.gz", "a.txt", "json", "a.json.bz2", "a.json.gz.tmp"] {
            assert!(!is_event_file_name(no), "{no}");
        }
    }
}
