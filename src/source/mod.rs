//! Where events come from: local files and folders, standard input, and S3.

pub mod layout;
pub mod local;
pub mod s3;

use std::fmt;
use std::path::PathBuf;

/// One source as the user named it with `--source`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    Path(PathBuf),
    Stdin,
    S3 { bucket: String, prefix: String },
}

impl SourceSpec {
    pub fn parse(s: &str) -> Result<SourceSpec, String> {
        if s == "-" {
            return Ok(SourceSpec::Stdin);
        }
        if let Some(rest) = s.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!(
                    "'{s}' has no bucket name: use s3://BUCKET[/PREFIX]"
                ));
            }
            return Ok(SourceSpec::S3 {
                bucket: bucket.into(),
                prefix: prefix.into(),
            });
        }
        if s.is_empty() {
            return Err("an empty --source: give a folder, a file, - for standard input, or s3://BUCKET[/PREFIX]".into());
        }
        Ok(SourceSpec::Path(PathBuf::from(s)))
    }
}

/// One unit of work for the scanner: a file, or standard input.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Input {
    /// A file found in a folder: read only if it is a regular file.
    File(PathBuf),
    /// A path named on the command line: read whatever it is (a pipe from `<(…)`, a device).
    Named(PathBuf),
    Stdin,
}

impl Input {
    /// Account and region from the trail layout of the path, if it has one.
    pub fn origin(&self) -> Option<crate::scan::Origin> {
        match self {
            Input::File(p) | Input::Named(p) => p.to_str().and_then(layout::origin),
            Input::Stdin => None,
        }
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Input::File(p) | Input::Named(p) => write_path(f, p),
            Input::Stdin => f.write_str("<stdin>"),
        }
    }
}

/// A path as messages show it: bytes that are not UTF-8 as `\xNN` (control characters are
/// escaped later, with the rest of the message).
pub fn write_path(f: &mut impl fmt::Write, p: &std::path::Path) -> fmt::Result {
    use std::os::unix::ffi::OsStrExt;
    for chunk in p.as_os_str().as_bytes().utf8_chunks() {
        f.write_str(chunk.valid())?;
        for b in chunk.invalid() {
            write!(f, "\\x{b:02x}")?;
        }
    }
    Ok(())
}

/// What finding the local inputs produced.
#[derive(Debug, Default)]
pub struct Found {
    pub inputs: Vec<Input>,
    /// Trail files left unread because their name says they were delivered before the window.
    pub files_skipped_by_time: u64,
    /// Year, month and day folders left unread because the window rules them out.
    pub folders_skipped_by_time: u64,
    /// Folders that could not be listed (already reported on stderr).
    pub unreadable: u64,
}
