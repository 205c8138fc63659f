//! Local sources: walk folders for trail files, pruning day folders and files by delivery time.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::bail;

use super::layout::{self, DIGEST_FOLDER, Level};
use super::{Found, Input, io_reason};
use crate::exit::{Repeated, warn_repeated};
use crate::time::Window;

/// Add the files of one local path to `found`. A path that does not exist or cannot be read at
/// all is fatal; a folder deeper down that cannot be listed is a warning and a skipped input.
pub fn find(path: &Path, window: &Window, found: &mut Found) -> anyhow::Result<()> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) => bail!("{}: {}", path.display(), io_reason(&e)),
    };
    if !meta.is_dir() {
        // A file named directly is read whatever its name and kind: `-s <(zcat …)` is a pipe.
        found.inputs.push(Input::Named(path.to_path_buf()));
        return Ok(());
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
        Err(e) => unreadable_folder(dir, &e, found),
    }
}

/// Names a folder that cannot be read, and counts it.
fn unreadable_folder(dir: &Path, e: &std::io::Error, found: &mut Found) {
    warn_repeated(
        Repeated::UnreadablePath,
        &format!("{}: cannot read folder: {}", dir.display(), io_reason(e)),
    );
    found.unreadable += 1;
}

fn walk_entries(
    dir: &Path,
    entries: fs::ReadDir,
    level: Level,
    window: &Window,
    found: &mut Found,
) {
    let mut children: Vec<(PathBuf, Kind)> = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => return unreadable_folder(dir, &e, found),
        };
        let path = entry.path();
        // Symbolic links to files are read; links to folders are not followed (no loops).
        let kind = match entry.file_type() {
            Ok(t) if t.is_symlink() => match fs::metadata(&path) {
                Ok(m) if m.is_file() => Kind::File,
                Ok(m) if m.is_dir() => Kind::LinkToFolder,
                Ok(m) => Kind::Special(special_kind(&m.file_type())),
                // A broken link named like a trail file is reported when it cannot be read,
                // not passed over in silence.
                Err(_) => Kind::File,
            },
            Ok(t) if t.is_dir() => Kind::Folder,
            Ok(t) if t.is_file() => Kind::File,
            Ok(t) => Kind::Special(special_kind(&t)),
            Err(_) => Kind::File,
        };
        children.push((path, kind));
    }
    children.sort();
    for (path, kind) in children {
        // Names need not be UTF-8: a name that is not is read all the same, and shown with its
        // odd bytes escaped.
        let Some(name) = path.file_name().map(|n| n.to_string_lossy()) else {
            continue;
        };
        match kind {
            Kind::Folder => {
                if name == DIGEST_FOLDER {
                    continue;
                }
                match level.child(&name, window) {
                    Some(next) => walk(&path, next, window, found),
                    None => {
                        found.folders_skipped_by_time += 1;
                        if let Some((_, first, last)) = level.dated(&name) {
                            found.days_skipped = Some(match found.days_skipped {
                                Some((a, b)) => (a.min(first), b.max(last)),
                                None => (first, last),
                            });
                        }
                    }
                }
            }
            _ if !is_event_file_name(&name) => {}
            // A link to a folder named like a trail file: not followed (no loops), but named.
            Kind::LinkToFolder => {
                warn_repeated(
                    Repeated::UnreadablePath,
                    &format!(
                        "{}: not a regular file (a link to a folder, not followed); skipped",
                        Input::File(path.clone())
                    ),
                );
                found.unreadable += 1;
            }
            Kind::Special(what) => {
                // Reading a pipe waits for a writer forever; a device never ends.
                warn_repeated(
                    Repeated::UnreadablePath,
                    &format!(
                        "{}: not a regular file ({what}); skipped",
                        Input::File(path.clone())
                    ),
                );
                found.unreadable += 1;
            }
            Kind::File => {
                if layout::delivery_time(&name).is_some_and(|t| !window.may_hold_delivery_time(t)) {
                    found.files_skipped_by_time += 1;
                    continue;
                }
                found.inputs.push(Input::File(path));
            }
        }
    }
}

/// What a folder entry is, links followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    File,
    Folder,
    LinkToFolder,
    /// A named pipe, socket or device: never read when found in a folder.
    Special(&'static str),
}

fn special_kind(t: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a named pipe"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "not a file"
    }
}

/// Open a file found in a folder, refusing anything that is not a regular file. The check is
/// made on the open file, so a file swapped for a pipe after the folder was listed cannot make
/// the run wait: the open itself does not block (O_NONBLOCK), and the kind is read from it.
pub fn open_regular(path: &Path) -> io::Result<Result<(fs::File, u64), &'static str>> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(Err(special_kind(&meta.file_type())));
    }
    Ok(Ok((file, meta.len())))
}

/// `.json`, `.jsonl` or `.ndjson`, each optionally followed by `.gz` (any letter case).
pub fn is_event_file_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let stem = lower.strip_suffix(".gz").unwrap_or(&lower);
    [".json", ".jsonl", ".ndjson"]
        .iter()
        .any(|ext| stem.ends_with(ext))
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
