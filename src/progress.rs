//! The progress line on stderr: objects listed / read / total, bytes, events, elapsed. Shown only
//! on a terminal and without `--quiet`, only after the first half second (short runs stay quiet),
//! and cleared before any warning so the two never share a line.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Whether a progress line may be on screen right now (read by `exit::warn`).
pub static ON_SCREEN: AtomicBool = AtomicBool::new(false);

#[derive(Debug, Default)]
pub struct Progress {
    listed: AtomicU64,
    total: AtomicU64,
    read: AtomicU64,
    failed: AtomicU64,
    bytes: AtomicU64,
    events: AtomicU64,
}

impl Progress {
    pub fn listed(&self, n: u64) {
        self.listed.fetch_add(n, Relaxed);
    }
    pub fn to_read(&self, n: u64) {
        self.total.fetch_add(n, Relaxed);
    }
    pub fn downloaded(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Relaxed);
    }
    pub fn read(&self, events: u64) {
        self.read.fetch_add(1, Relaxed);
        self.events.fetch_add(events, Relaxed);
    }
    pub fn failed(&self) {
        self.failed.fetch_add(1, Relaxed);
    }

    fn line(&self, elapsed: Duration) -> String {
        let failed = self.failed.load(Relaxed);
        format!(
            "ctq: listed {} · read {}/{}{} · {} · {} events · {:.1}s",
            self.listed.load(Relaxed),
            self.read.load(Relaxed),
            self.total.load(Relaxed),
            if failed > 0 {
                format!(" ({failed} failed)")
            } else {
                String::new()
            },
            human_bytes(self.bytes.load(Relaxed)),
            self.events.load(Relaxed),
            elapsed.as_secs_f64()
        )
    }
}

/// `1 event`, `2 events`.
pub fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Draws the line every 200 ms until dropped.
pub struct Ticker {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    /// Start drawing `progress`, or do nothing when `enabled` is false.
    pub fn start(progress: Arc<Progress>, enabled: bool) -> Ticker {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread = enabled.then(|| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let start = Instant::now();
                let (lock, cvar) = &*stop;
                let mut stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
                let mut wait = Duration::from_millis(500);
                loop {
                    let (guard, timeout) = cvar
                        .wait_timeout(stopped, wait)
                        .unwrap_or_else(|e| e.into_inner());
                    stopped = guard;
                    if *stopped {
                        break;
                    }
                    if timeout.timed_out() {
                        let mut err = io::stderr().lock();
                        let _ = write!(err, "\r\x1b[2K{}", progress.line(start.elapsed()));
                        let _ = err.flush();
                        ON_SCREEN.store(true, Relaxed);
                        wait = Duration::from_millis(200);
                    }
                }
                clear();
            })
        });
        Ticker { stop, thread }
    }
}

/// Erase the progress line if one is on screen.
pub fn clear() {
    if ON_SCREEN.swap(false, Relaxed) {
        let mut err = io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        let (lock, cvar) = &*self.stop;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cvar.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_for_people() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500), "1.5 KB");
        assert_eq!(human_bytes(130_000_000), "130.0 MB");
    }
}
