//! The one place that prints fatal errors and warnings and chooses the exit code.

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

use crate::escape::escape_control;

/// Exit codes, as documented in `--help` and the README.
pub const OK: u8 = 0;
pub const FATAL: u8 = 1;
pub const USAGE: u8 = 2;
pub const SKIPPED: u8 = 3;

pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  the report was printed and every input was read
  1  fatal error: nothing useful could be read (for example a source that does not exist)
  2  usage error
  3  the report was printed, but some inputs were skipped (each is named on stderr)";

/// What a finished run tells `main`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Outcome {
    pub skipped_inputs: u64,
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

/// Map the result of a run to the process exit code, printing fatal errors.
pub fn code(result: anyhow::Result<Outcome>) -> ExitCode {
    match result {
        Ok(o) if o.skipped_inputs > 0 => ExitCode::from(SKIPPED),
        Ok(_) => ExitCode::from(OK),
        // `ctq … | head -1`: the reader has what it wanted; that is success.
        Err(e) if is_broken_pipe(&e) => ExitCode::from(OK),
        Err(e) => {
            let code = if e.downcast_ref::<UsageError>().is_some() {
                USAGE
            } else {
                FATAL
            };
            // Through `warn`, so escaped: an error's context names files and S3 keys.
            warn(&format!("{e:#}"));
            if code == USAGE {
                let _ = writeln!(io::stderr(), "\nFor more information, try '--help'.");
            }
            ExitCode::from(code)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
