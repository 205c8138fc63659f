//! A mutation fuzzer for the event parser and the shape detection, on stable Rust.
//!
//!   cargo run --release --example fuzz_parse -- SECONDS [OUT_DIR]
//!
//! A test tool, not a test: it lives beside the inputs it kept (`tests/fuzz/corpus/`), and
//! Cargo.toml declares it as an example, so `cargo clippy --all-targets` builds it.
//!
//! Seeds are the bundled fixtures and a few hand-made inputs of every shape. Each round takes a
//! seed or an input kept earlier, applies a few random mutations (bytes flipped, JSON punctuation
//! and CloudTrail keys inserted, ranges deleted or duplicated, deep nesting, truncation, inputs
//! spliced together), and checks the properties of `tests/it/fuzz_check.rs`. An input that breaks
//! one is written to OUT_DIR (default `tests/fuzz/corpus`) at once. So is the first input to reach
//! each new outcome (events found, or the first words of the reason for refusing), which keeps a
//! small, varied corpus that `cargo test` then checks on every run.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool: each broken input and the summary are printed"
)]

#[path = "../it/fuzz_check.rs"]
mod fuzz_check;

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ctq::event::shape::parse_events;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\"",
    b"\\",
    b" ",
    b"\n",
    b"0",
    b"-1",
    b"1e999",
    b"null",
    b"true",
    b"\"Records\"",
    b"\"Records\":[",
    b"\"Events\"",
    b"\"CloudTrailEvent\"",
    b"\"eventName\"",
    b"\"eventTime\"",
    b"\"userIdentity\"",
    b"\"requestParameters\"",
    b"{\"eventName\":\"X\"}",
    b"\\u0000",
    b"\\ud800",
    b"\xEF\xBB\xBF",
    b"\xff",
    b"\x00",
];

fn mutate(rng: &mut Rng, input: &[u8], pool: &[Vec<u8>]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(v.len() + 1);
        match rng.below(9) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 | 2 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                v.splice(at..at, t.iter().copied());
            }
            3 if !v.is_empty() => {
                let end = (at + 1 + rng.below(64)).min(v.len());
                v.drain(at.min(end)..end);
            }
            4 if !v.is_empty() => {
                let start = rng.below(v.len());
                let end = (start + 1 + rng.below(256)).min(v.len());
                let piece = v[start..end].to_vec();
                v.splice(at..at, piece);
            }
            5 => {
                let depth = 1 + rng.below(300);
                let (open, close) = if rng.below(2) == 0 {
                    (b'[', b']')
                } else {
                    (b'{', b'}')
                };
                let mut nest = vec![open; depth];
                if open == b'{' {
                    nest = b"{\"a\":".repeat(depth);
                }
                nest.extend(std::iter::repeat_n(close, depth));
                v.splice(at..at, nest);
            }
            6 => v.truncate(at),
            7 if !pool.is_empty() => {
                let other = &pool[rng.below(pool.len())];
                let cut = rng.below(other.len() + 1);
                v.truncate(at);
                v.extend_from_slice(&other[cut..]);
            }
            _ => {
                let i = rng.below(v.len() + 1);
                v.insert(i, rng.next() as u8);
            }
        }
        if v.len() > 1 << 20 {
            v.truncate(1 << 20);
        }
    }
    v
}

/// What parse_events made of an input, coarsely: for keeping one input per outcome.
fn outcome(text: &[u8]) -> String {
    let mut out = Vec::new();
    match parse_events(text, &mut out, false) {
        Ok(p) => format!("ok {:?} {}", p.shape, out.len().min(3)),
        Err(why) => why
            .split(|c: char| !c.is_alphabetic() && c != ' ')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .take(4)
            .collect::<Vec<_>>()
            .join(" "),
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = [
        &br#"{"Records":[{"eventTime":"2024-09-05T10:00:00Z","eventName":"A","userIdentity":{"type":"Root","arn":"arn:aws:iam::1:root"},"requestParameters":{"bucketName":"b","key":"k"},"resources":[{"ARN":"arn:aws:s3:::b/k"}]}]}"#[..],
        br#"[{"eventName":"A","eventTime":"2024-09-05 10:00:00"},{"eventName":"B"}]"#,
        b"{\"eventName\":\"A\"}\n{\"eventName\":\"B\"}\n",
        br#"{"Events":[{"CloudTrailEvent":"{\"eventName\":\"L\",\"eventTime\":\"2024-09-05T10:00:00Z\"}"}],"NextToken":"x"}"#,
        br#"{"digestStartTime":"x","digestS3Object":"y"}"#,
    ]
    .iter()
    .map(|s| s.to_vec())
    .collect();
    let mut stack = vec![PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures"
    ))];
    while let Some(p) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&p) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(raw) = std::fs::read(&path) {
                let mut text = Vec::new();
                if raw.starts_with(&[0x1f, 0x8b]) {
                    let _ = flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut text);
                } else {
                    text = raw;
                }
                if text.len() < 64 << 10 {
                    out.push(text);
                }
            }
        }
    }
    out
}

fn save(dir: &Path, prefix: &str, input: &[u8]) -> PathBuf {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in input {
        h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
    }
    let path = dir.join(format!("{prefix}-{h:016x}.json"));
    std::fs::write(&path, input).unwrap();
    path
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(60);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "tests/fuzz/corpus".into()));
    std::fs::create_dir_all(&dir).unwrap();
    // The properties catch panics themselves; keep their messages off the screen.
    std::panic::set_hook(Box::new(|_| {}));
    let seeds = seeds();
    let mut pool: Vec<Vec<u8>> = seeds.clone();
    let mut seen: HashSet<String> = pool.iter().map(|s| outcome(s)).collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ u64::from(std::process::id()));
    let (start, deadline) = (Instant::now(), Duration::from_secs(seconds));
    let (mut runs, mut broken, mut kept) = (0u64, 0u64, 0u64);
    while start.elapsed() < deadline {
        let base = &pool[rng.below(pool.len())];
        let input = mutate(&mut rng, base, &pool);
        runs += 1;
        if let Some(why) = fuzz_check::check(&input) {
            broken += 1;
            let path = save(&dir, "broken", &input);
            eprintln!("{}: {why}", path.display());
            continue;
        }
        let o = outcome(&input);
        if seen.insert(o.clone()) {
            kept += 1;
            save(&dir, "outcome", &input);
            pool.push(input);
        } else if pool.len() < 4096 && rng.below(64) == 0 {
            pool.push(input);
        }
    }
    println!(
        "{runs} inputs in {:.0} s ({:.0}/s), {broken} broke a property, {kept} new outcomes kept in {}; {} outcomes seen",
        start.elapsed().as_secs_f64(),
        runs as f64 / start.elapsed().as_secs_f64(),
        dir.display(),
        seen.len()
    );
}
