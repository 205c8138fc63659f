//! The one place that prints fatal errors and warnings and chooses the exit code.

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::escape::escape_control;

/// Exit codes, as documented in `--help` and the README.
pub const OK: u8 = 0;
pub const FATAL: u8 = 1;
pub const USAGE: u8 = 2;
pub const SKIPPED: u8 = 3;
pub const EMPTY: u8 = 4;
/// `detect --fail-on LEVEL`: a rule at or above LEVEL matched (the same code as `EMPTY`: what
/// the user asked to fail on).
pub const ALERT: u8 = 4;

pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  the report was printed and every input was read (an empty report too, unless --fail-on-empty)
  1  fatal error: nothing useful could be read (for example a source that does not exist)
  2  usage error
  3  the report was printed, but some inputs were skipped (each is named on stderr)
  4  --fail-on-empty, and the report has no rows (every input was read); detect --fail-on LEVEL,
     and a rule at or above LEVEL matched; verify or --verify, and a log file or digest is
     missing, changed or unlisted, a signature is bad or the chain broken (even if some inputs
     were skipped)";

/// What a finished run tells `main`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Outcome {
    pub skipped_inputs: u64,
    /// `--fail-on-empty` was given and the report has no rows.
    pub failed_empty: bool,
    /// `detect --fail-on`: a rule at or above the level matched.
    pub alert: bool,
}

/// An error in the arguments found after clap has parsed them (exit code 2).
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Print a warning about one input on stderr. A closed or failing stderr is ignored: the report on
/// stdout matters more than a message about it.
///
/// Messages quote file names, S3 keys and JSON keys from the input, so the whole line goes
/// through the escaping of table cells (our own text has no control characters to lose).
pub fn warn(message: &str) {
    crate::progress::clear();
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "ctq: {}", escape_control(message));
}

/// Warnings that one run can repeat for thousands of inputs: each kind prints at most
/// `WARN_CAP` lines, then one line saying how many more there were (`capped_notes`), unless
/// `--stats` asked for all of them (`warn_all`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeated {
    /// An input skipped: unreadable, not CloudTrail, too big, corrupt.
    SkippedInput,
    /// A path a folder walk could not read or follow.
    UnreadablePath,
    /// A file of several JSON documents, all read.
    ManyDocuments,
    /// A detection rule (or rule file) that cannot be run.
    SkippedRule,
    /// A problem `--verify` found.
    Integrity,
}

impl Repeated {
    const ALL: [Repeated; 5] = [
        Repeated::SkippedInput,
        Repeated::UnreadablePath,
        Repeated::ManyDocuments,
        Repeated::SkippedRule,
        Repeated::Integrity,
    ];

    fn name(self) -> &'static str {
        match self {
            Repeated::SkippedInput => "skipped inputs",
            Repeated::UnreadablePath => "unreadable paths",
            Repeated::ManyDocuments => "files of several JSON documents",
            Repeated::SkippedRule => "skipped rules",
            Repeated::Integrity => "integrity problems",
        }
    }
}

/// The most lines one kind of repeated warning prints.
pub const WARN_CAP: u64 = 20;

static REPEATS: [AtomicU64; Repeated::ALL.len()] =
    [const { AtomicU64::new(0) }; Repeated::ALL.len()];
static UNCAPPED: AtomicBool = AtomicBool::new(false);

/// `--stats`: every repeated warning is printed.
pub fn warn_all() {
    UNCAPPED.store(true, Ordering::Relaxed);
}

/// A warning of a kind that can repeat: printed while fewer than `WARN_CAP` of its kind were.
pub fn warn_repeated(kind: Repeated, message: &str) {
    let before = REPEATS[kind as usize].fetch_add(1, Ordering::Relaxed);
    if before < WARN_CAP || UNCAPPED.load(Ordering::Relaxed) {
        warn(message);
    }
}

/// The lines that say how many repeated warnings were not printed, one per kind.
pub fn capped_notes() -> Vec<String> {
    if UNCAPPED.load(Ordering::Relaxed) {
        return Vec::new();
    }
    Repeated::ALL
        .iter()
        .filter_map(|&k| {
            let n = REPEATS[k as usize].load(Ordering::Relaxed);
            (n > WARN_CAP).then(|| {
                format!(
                    "and {} more {} not shown ({n} in all; --stats shows every one)",
                    n - WARN_CAP,
                    k.name()
                )
            })
        })
        .collect()
}

/// Map the result of a run to the process exit code, printing fatal errors; `usage_error` prints
/// a usage error as clap prints its own.
pub fn code(result: anyhow::Result<Outcome>, usage_error: impl FnOnce(&str)) -> ExitCode {
    match result {
        // A match found stands even on a partial read: the alert comes first.
        Ok(o) if o.alert => ExitCode::from(ALERT),
        // Then skipped inputs: an empty report of a partial read proves nothing.
        Ok(o) if o.skipped_inputs > 0 => ExitCode::from(SKIPPED),
        Ok(o) if o.failed_empty => ExitCode::from(EMPTY),
        Ok(_) => ExitCode::from(OK),
        // `ctq … | head -1`: the reader has what it wanted; that is success.
        Err(e) if is_broken_pipe(&e) => ExitCode::from(OK),
        Err(e) if e.downcast_ref::<UsageError>().is_some() => {
            crate::progress::clear();
            usage_error(&format!("{e:#}"));
            ExitCode::from(USAGE)
        }
        Err(e) => {
            // Through `warn`, so escaped: an error's context names files and S3 keys.
            warn(&format!("{e:#}"));
            ExitCode::from(FATAL)
        }
    }
}

pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
