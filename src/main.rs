//! The ctq binary: parse the command line, run, and turn the result into an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match ctq::cli::parse::parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        // Help and version (exit 0) or a usage error (exit 2), printed as clap prints them.
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(ctq::exit::USAGE));
        }
    };
    ctq::exit::code(ctq::run(cli), ctq::cli::parse::usage_error)
}
