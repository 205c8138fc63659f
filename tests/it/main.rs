//! ctq's integration tests: one binary, running the built `ctq` on the bundled fixtures, on files
//! written in temporary folders, and side by side with an independent reference implementation.

#![allow(
    clippy::print_stderr,
    reason = "a test may say on stderr what it skipped"
)]

mod aggregated;
mod architecture;
pub mod athena;
mod athena_detect;
mod aws;
mod cache;
mod cases;
mod cli;
mod correlate;
mod detect;
mod detect_view;
mod faults;
mod field_filters;
mod fuzz;
pub mod fuzz_check;
mod golden;
pub mod hostile;
mod hostile_output;
mod inputs;
mod investigations;
mod layout;
mod messages;
mod output;
mod profile;
mod reference;
mod s3;
mod s3_direct;
mod s3_load;
mod skim;
mod sources;
mod time_input;
mod trace;
mod util;
mod verify;
mod verify_s3;
