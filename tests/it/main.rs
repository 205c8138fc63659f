//! ctq's integration tests: one binary, running the built `ctq` on the bundled fixtures and on
//! files written in temporary folders.

mod cli;
mod inputs;
mod output;
mod util;
