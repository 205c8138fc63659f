//! The benchmark's S3 server: the tests' own server (`tests/it/faults.rs`: s3s-fs behind the
//! fault and latency layer) as a program, for `bench/run.sh` and for trying ctq by hand against
//! an S3 that answers as a distant region does.
//!
//! ```text
//! cargo run --release --example s3_server -- ROOT [--port N] [--latency-ms MS] [--jitter F]
//!     [--bandwidth BYTES_PER_SECOND] [--slow-down SHARE] [--from-disk]
//! ```
//!
//! Objects are read into memory when it starts, and GETs are answered from there: s3s-fs opens
//! the file, reads two side files and hashes the object on every GET, about 200 µs of CPU on
//! the same 2 cores as the client, which a real S3 does not take. `--from-disk` serves them as
//! the tests' server does.
//!
//! `--latency-ms` delays every answer (±`--jitter`, 0.5 by default, of it); `--bandwidth` sends
//! each response body at most that fast; `--slow-down 0.05` answers 5% of requests with 503
//! SlowDown.
//!
//! ROOT holds a folder per bucket. It prints `endpoint http://127.0.0.1:PORT` and the
//! credentials to use, serves until its standard input closes, then prints how many listings
//! and GETs it answered and the most GETs answered at once
//! (`requests listings=N gets=M peak_gets=P slowed=S`), which a benchmark checks (a cached run
//! makes none).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a tool that talks to the benchmark script"
)]

#[allow(dead_code, reason = "the tests use the rest of it")]
#[path = "../tests/it/faults.rs"]
mod faults;

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

const ACCESS_KEY: &str = "AKIACTQBENCH0000001";
const SECRET_KEY: &str = "ctq-bench-secret-key";

/// Every signed request is allowed.
struct AllowAll;

impl s3s::access::S3Access for AllowAll {}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: s3_server ROOT [--port N] [--latency-ms MS] [--jitter F] [--bandwidth B/S] [--slow-down SHARE] [--from-disk]";
    let Some(root) = args.first().filter(|a| !a.starts_with("--")) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let option = |name: &str| -> Option<f64> {
        let at = args.iter().position(|a| a == name)?;
        let value = args.get(at + 1).and_then(|v| v.parse::<f64>().ok());
        if value.is_none() {
            eprintln!("{name} needs a number; {usage}");
            std::process::exit(2);
        }
        value
    };
    let port = option("--port").unwrap_or(0.0) as u16;
    let faults = Arc::new(faults::Faults::default());
    if let Some(ms) = option("--latency-ms").filter(|ms| *ms > 0.0) {
        faults.set_latency(Some(faults::Latency {
            first_byte: Duration::from_secs_f64(ms / 1000.0),
            jitter: option("--jitter").unwrap_or(0.5),
        }));
    }
    faults.set_bandwidth(option("--bandwidth").map(|b| b as u64));
    faults.set_slow_down(option("--slow-down").unwrap_or(0.0));
    if args.iter().any(|a| a == "--from-disk") {
        eprintln!("serving objects from disk (s3s-fs) on every GET");
    } else if let Err(e) = faults.serve_from_memory(std::path::Path::new(root)) {
        eprintln!("cannot read {root} into memory: {e}");
        std::process::exit(1);
    }
    let auth = s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY);
    let (endpoint, runtime) = faults::serve(
        std::path::Path::new(root),
        port,
        Arc::clone(&faults),
        auth,
        AllowAll,
    );
    println!("endpoint {endpoint}");
    println!("AWS_ACCESS_KEY_ID={ACCESS_KEY} AWS_SECRET_ACCESS_KEY={SECRET_KEY}");
    // Serve until whoever started us closes our standard input.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    let (listings, gets) = faults.requests();
    println!(
        "requests listings={listings} gets={gets} peak_gets={} slowed={}",
        faults.peak_gets(),
        faults.slowed()
    );
    drop(runtime);
}
