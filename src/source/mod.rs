//! Where events come from: local files and folders, standard input, and S3 objects, and what
//! each source hands the scanner.
//!
//! `local` walks folders, `s3` lists and downloads objects, and `layout` reads what CloudTrail's
//! `AWSLogs/…` layout says about a path or key, such as the account and region it holds
//! (`Origin`). A local source gives `Input`s for the scanner to open; S3 gives `Fetched`
//! bodies, already downloaded.

pub mod layout;
pub mod local;
pub mod s3;

use std::fmt;
use std::io;
use std::path::PathBuf;

use layout::Origin;

/// One source as the user named it with `--source`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    Path(PathBuf),
    Stdin,
    S3 { bucket: String, prefix: String },
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            SourceSpec::Path(p) => write_path(f, p),
            SourceSpec::Stdin => f.write_str("<stdin>"),
            SourceSpec::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            SourceSpec::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
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

/// What to tell someone who ran `-s -` at a terminal, where ctq would otherwise wait without a
/// word for events to be pasted or typed. Said once, before the wait; not with `--quiet`, which
/// asks for a silent stderr; and never when standard input is a pipe or a file, as in a script,
/// which needs no hint and whose stderr should hold only what went wrong.
pub fn stdin_hint(stdin_is_terminal: bool, quiet: bool) -> Option<&'static str> {
    (stdin_is_terminal && !quiet).then_some("reading events from standard input (Ctrl-D to end)")
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
    pub fn origin(&self) -> Option<Origin> {
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

/// An object downloaded by a source that does its own I/O, or the reason it could not be.
pub struct Fetched {
    /// How messages name it: `s3://bucket/key`.
    pub name: String,
    pub origin: Option<Origin>,
    pub body: Result<Body, String>,
    /// Download the object again: a body that fails gzip or JSON may have been damaged on the
    /// way, so it is fetched once more before it is skipped.
    pub refetch: Option<Refetch>,
}

/// A downloaded body: in memory, or, past `decode::WHOLE` bytes, in an unnamed temporary file,
/// so that a large object costs disk, not memory.
pub enum Body {
    Memory(Vec<u8>),
    Spooled(std::fs::File, u64),
}

impl Body {
    pub fn size(&self) -> u64 {
        match self {
            Body::Memory(v) => v.len() as u64,
            Body::Spooled(_, n) => *n,
        }
    }
}

/// Fetch an object's body once more (blocks the calling worker until it has arrived).
pub type Refetch = Box<dyn FnOnce() -> Result<Body, String> + Send>;

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
    /// The first and last delivery day (days since the epoch) of those folders.
    pub days_skipped: Option<(i64, i64)>,
    /// Folders that could not be listed (already reported on stderr).
    pub unreadable: u64,
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
    fn the_stdin_hint_is_for_a_terminal_only() {
        assert_eq!(
            stdin_hint(true, false),
            Some("reading events from standard input (Ctrl-D to end)")
        );
        assert_eq!(stdin_hint(true, true), None, "--quiet");
        assert_eq!(stdin_hint(false, false), None, "a pipe or a file");
        assert_eq!(stdin_hint(false, true), None);
    }
}
