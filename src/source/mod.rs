//! Where events come from: local files and folders, standard input (and, later, S3).

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
    File(PathBuf),
    Stdin,
}

impl Input {
    /// Account and region from the trail layout of the path, if it has one.
    pub fn origin(&self) -> Option<crate::scan::Origin> {
        match self {
            Input::File(p) => p.to_str().and_then(layout::origin),
            Input::Stdin => None,
        }
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Input::File(p) => write!(f, "{}", p.display()),
            Input::Stdin => f.write_str("<stdin>"),
        }
    }
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
