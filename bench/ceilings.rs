//! Throughput ceilings on the same files, one thread: gunzip alone, parsing alone, and the two
//! together, against which ctq's end-to-end figure is read (BENCHMARKS.md).
//!
//! `cargo run --release --example ceilings -- CORPUS_DIR [MAX_MB]`
//!
//! Loads the corpus's `.json.gz` files into memory first (up to MAX_MB of JSON, default 400), so
//! no figure includes disk or page-cache time, then measures each stage three times and prints
//! the best, in MB/s of uncompressed JSON.

#![allow(
    clippy::print_stdout,
    reason = "a command-line tool: its figures go to stdout"
)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use ctq::decode::{Inflater, decode};
use ctq::event::shape::{parse_events, parse_events_general};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.to_string_lossy().ends_with(".json.gz")
            && !p.to_string_lossy().contains("CloudTrail-Digest")
        {
            out.push(p);
        }
    }
}

fn best(label: &str, json_bytes: usize, mut f: impl FnMut() -> usize) {
    let mut secs = f64::MAX;
    let mut check = 0;
    for _ in 0..3 {
        let t = Instant::now();
        check = f();
        secs = secs.min(t.elapsed().as_secs_f64());
    }
    println!(
        "{label:<44} {:>7.0} MB/s  ({check})",
        json_bytes as f64 / 1e6 / secs
    );
}

/// Each of `fs` in turn, five rounds, so drift on a shared machine hits them alike; the best
/// round of each.
fn side_by_side<const N: usize>(json_bytes: usize, mut fs: [(&str, &mut dyn FnMut() -> usize); N]) {
    let mut secs = [f64::MAX; N];
    let mut checks = [0; N];
    for _ in 0..5 {
        for (k, (_, f)) in fs.iter_mut().enumerate() {
            let t = Instant::now();
            checks[k] = f();
            secs[k] = secs[k].min(t.elapsed().as_secs_f64());
        }
    }
    for (k, (label, _)) in fs.iter().enumerate() {
        println!(
            "{label:<44} {:>7.0} MB/s  ({})",
            json_bytes as f64 / 1e6 / secs[k],
            checks[k]
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(args.get(1).expect("usage: ceilings CORPUS_DIR [MAX_MB]"));
    let max_mb: usize = args.get(2).map_or(400, |s| s.parse().unwrap());
    let mut paths = Vec::new();
    files(dir, &mut paths);
    paths.sort();
    let (mut gz, mut json) = (Vec::new(), Vec::new());
    let mut inflater = Inflater::default();
    let mut total = 0;
    for p in paths {
        let raw = std::fs::read(&p).unwrap();
        let mut text = Vec::new();
        whole(&raw, &mut text, &mut inflater);
        total += text.len();
        gz.push(raw);
        json.push(text);
        if total > max_mb * 1_000_000 {
            break;
        }
    }
    println!(
        "{} files, {:.0} MB of JSON in memory, one thread\n",
        gz.len(),
        total as f64 / 1e6
    );

    // `perf record` the event parser alone: `CEILINGS_PROFILE=1 ceilings DIR`.
    if std::env::var_os("CEILINGS_PROFILE").is_some() {
        let mut n = 0;
        for _ in 0..10 {
            for t in &json {
                let mut evs = Vec::new();
                parse_events(t, &mut evs, false).unwrap();
                n += evs.len();
            }
        }
        println!("{n} events");
        return;
    }
    best("gunzip only (libdeflate, whole buffer)", total, || {
        let mut out = Vec::new();
        gz.iter()
            .map(|g| whole(g, &mut out, &mut inflater).len())
            .sum()
    });
    best("gunzip only (flate2 zlib-rs, streaming)", total, || {
        use std::io::Read;
        let mut out = Vec::new();
        gz.iter()
            .map(|g| {
                out.clear();
                flate2::read::MultiGzDecoder::new(&g[..])
                    .read_to_end(&mut out)
                    .unwrap()
            })
            .sum()
    });
    best("parse only: sonic-rs skipping every value", total, || {
        json.iter()
            .map(|t| {
                let v: serde::de::IgnoredAny = sonic_rs::from_slice(t).unwrap();
                let _ = v;
                1
            })
            .sum()
    });
    side_by_side(
        total,
        [
            ("parse only: ctq's event parser (skim)", &mut || {
                json.iter()
                    .map(|t| {
                        let mut evs = Vec::new();
                        parse_events(t, &mut evs, false).unwrap();
                        evs.len()
                    })
                    .sum()
            }),
            (
                "parse only: general parsers (sonic-rs + serde)",
                &mut || {
                    json.iter()
                        .map(|t| {
                            let mut evs = Vec::new();
                            parse_events_general(t, &mut evs).unwrap();
                            evs.len()
                        })
                        .sum()
                },
            ),
        ],
    );
    best("parse only: serde_json skipping every value", total, || {
        json.iter()
            .map(|t| {
                let v: serde::de::IgnoredAny = serde_json::from_slice(t).unwrap();
                let _ = v;
                1
            })
            .sum()
    });
    // `--verify`: the SHA-256 of every file's decompressed content, the two implementations
    // at hand (RustCrypto's, AWS-LC's; both use the CPU's SHA extensions where it has them).
    side_by_side(
        total,
        [
            ("sha256 only: sha2 (RustCrypto)", &mut || {
                use sha2::Digest;
                json.iter()
                    .map(|t| sha2::Sha256::digest(t)[0] as usize)
                    .sum()
            }),
            ("sha256 only: aws-lc-rs", &mut || {
                json.iter()
                    .map(|t| {
                        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, t).as_ref()[0]
                            as usize
                    })
                    .sum()
            }),
        ],
    );
    best("gunzip + parse (what ctq does per file)", total, || {
        let mut out = Vec::new();
        gz.iter()
            .map(|g| {
                let text = whole(g, &mut out, &mut inflater);
                let mut evs = Vec::new();
                parse_events(text, &mut evs, false).unwrap();
                evs.len()
            })
            .sum()
    });
}

/// The JSON of one trail file, decoded whole as ctq does for files under `decode::WHOLE`.
fn whole<'b>(raw: &'b [u8], out: &'b mut Vec<u8>, inflater: &mut Inflater) -> &'b [u8] {
    match decode(raw, out, inflater, ctq::decode::WHOLE).unwrap() {
        ctq::decode::Decoded::Whole(text) => text,
        ctq::decode::Decoded::TooLarge => panic!("a trail file over 64 MiB of JSON"),
    }
}
