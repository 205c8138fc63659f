//! The ctq binary: parse the command line, run, and turn the result into an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = ctq::cli::Cli::parse();
    ctq::exit::code(ctq::run(cli))
}
