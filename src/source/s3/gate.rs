//! How many downloads are in flight at once: a number that adapts to what S3 and the network
//! give, and a cap on the bytes in flight whatever that number.
//!
//! A download waits for the `Gate` before its GET and holds a `Permit` until its body is handed
//! to the workers. The gate admits one more while fewer than `Control::limit` are in flight and
//! their bytes (each counts its listed size, up to the `decode::WHOLE` bytes a body may hold in
//! memory) stay within `--max-inflight-bytes`; a single larger object is always let through
//! alone, so nothing waits for ever.
//!
//! `Control` sets the limit as a TCP sender sets its window. It starts at `START`, high enough
//! for S3's 20–100 ms to the first byte, and measures the bytes per second of each window of
//! completed downloads (at least twice the limit, or one second). While a window is faster
//! than the best so far by a tenth, the limit doubles; when it is not, the limit goes back to
//! the one that gave the best, and holds. Every few windows it probes a quarter higher, in case
//! the network or the workers have more to give. An answer asking to slow down (503 SlowDown,
//! 429, 500) or a download that broke off cuts the limit to 70%, at most once a window.
//! `--concurrency N` pins it at N.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::decode::WHOLE;

/// Where an adaptive limit starts: at 30 ms a GET, 64 in flight ask about 2,000 objects a
/// second.
pub const START: usize = 64;
/// The most an adaptive limit reaches: each download in flight holds a connection (a file
/// descriptor) and a task.
pub const MAX: usize = 512;
/// The least an adaptive limit backs off to.
pub const MIN: usize = 4;
/// `--max-inflight-bytes` by default.
pub const DEFAULT_MAX_BYTES: u64 = 256 << 20;

/// A window ends after this many completions per unit of limit, or after `WINDOW_TIME`.
const WINDOW_ROUNDS: u64 = 2;
const WINDOW_TIME: Duration = Duration::from_secs(1);
/// A window must be this much faster than the best to count as a gain.
const GAIN: f64 = 1.10;
/// Windows held before a probe upwards.
const HOLD_WINDOWS: u32 = 6;

/// What the downloads of a run share: their limit, and what is in flight.
pub struct Gate {
    state: Mutex<State>,
    freed: Notify,
    max_bytes: u64,
    /// Counts answers that asked to slow down; read at each completion.
    overloaded: fn() -> u64,
}

struct State {
    in_flight: usize,
    bytes: u64,
    peak_in_flight: usize,
    control: Control,
}

/// Leave to have one download in flight; given back when dropped.
pub struct Permit {
    gate: Arc<Gate>,
    bytes: u64,
}

impl Gate {
    /// `pinned`: `--concurrency N`; None adapts. `overloaded` counts the answers so far that
    /// asked to slow down (`aws::debug::overloaded`).
    pub fn new(pinned: Option<usize>, max_bytes: u64, overloaded: fn() -> u64) -> Arc<Gate> {
        Arc::new(Gate {
            state: Mutex::new(State {
                in_flight: 0,
                bytes: 0,
                peak_in_flight: 0,
                control: Control::new(pinned, Instant::now(), overloaded()),
            }),
            freed: Notify::new(),
            max_bytes: max_bytes.max(1),
            overloaded,
        })
    }

    /// Wait until one more download of `size` bytes may start.
    pub async fn acquire(self: &Arc<Self>, size: u64) -> Permit {
        let bytes = size.min(WHOLE as u64);
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            // Registered before the check, so a permit given back in between is not missed.
            freed.as_mut().enable();
            if let Some(permit) = self.try_acquire(bytes) {
                return permit;
            }
            freed.await;
        }
    }

    fn try_acquire(self: &Arc<Self>, bytes: u64) -> Option<Permit> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let fits = s.in_flight == 0 || s.bytes.saturating_add(bytes) <= self.max_bytes;
        if s.in_flight >= s.control.limit || !fits {
            return None;
        }
        s.in_flight += 1;
        s.bytes += bytes;
        s.peak_in_flight = s.peak_in_flight.max(s.in_flight);
        Some(Permit {
            gate: Arc::clone(self),
            bytes,
        })
    }

    /// The limit now, the highest it reached, the most downloads that were in flight at once,
    /// and whether it was pinned.
    pub fn report(&self) -> GateReport {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        GateReport {
            pinned: s.control.pinned,
            limit: s.control.limit,
            peak_limit: s.control.peak,
            peak_in_flight: s.peak_in_flight,
            back_offs: s.control.back_offs,
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let gate = &self.gate;
        {
            let mut s = gate.state.lock().unwrap_or_else(|p| p.into_inner());
            s.in_flight -= 1;
            s.bytes -= self.bytes;
            let overloaded = (gate.overloaded)();
            s.control.completed(self.bytes, Instant::now(), overloaded);
        }
        gate.freed.notify_waiters();
    }
}

/// What `--stats` says about the downloads' concurrency.
#[derive(Debug, Clone, Copy)]
pub struct GateReport {
    pub pinned: bool,
    pub limit: usize,
    pub peak_limit: usize,
    pub peak_in_flight: usize,
    pub back_offs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Doubling while each window is faster.
    Grow,
    /// Holding the limit that gave the best; counts windows until the next probe.
    Hold(u32),
}

/// The adaptive limit, fed one completed download at a time.
#[derive(Debug)]
struct Control {
    limit: usize,
    pinned: bool,
    phase: Phase,
    /// Bytes per second of the best window since the last change of phase, and its limit.
    best: f64,
    best_limit: usize,
    window_start: Instant,
    window_done: u64,
    window_bytes: u64,
    /// The overload count already acted on, and whether this window backed off already.
    overloaded_seen: u64,
    backed_off: bool,
    peak: usize,
    back_offs: u64,
}

impl Control {
    fn new(pinned: Option<usize>, now: Instant, overloaded: u64) -> Control {
        let limit = pinned.unwrap_or(START).max(1);
        Control {
            limit,
            pinned: pinned.is_some(),
            phase: Phase::Grow,
            best: 0.0,
            best_limit: limit,
            window_start: now,
            window_done: 0,
            window_bytes: 0,
            overloaded_seen: overloaded,
            backed_off: false,
            peak: limit,
            back_offs: 0,
        }
    }

    fn completed(&mut self, bytes: u64, now: Instant, overloaded: u64) {
        if self.pinned {
            return;
        }
        if overloaded > self.overloaded_seen {
            self.overloaded_seen = overloaded;
            if !self.backed_off {
                self.back_off(now);
                return;
            }
        }
        self.window_done += 1;
        self.window_bytes += bytes;
        let elapsed = now.saturating_duration_since(self.window_start);
        let enough = self.window_done >= WINDOW_ROUNDS * self.limit as u64
            || (elapsed >= WINDOW_TIME && self.window_done >= 4);
        if !enough {
            return;
        }
        // Each completion stands for at least a small object: a window of empty ones still
        // measures requests per second.
        let rate =
            (self.window_bytes + self.window_done * 1024) as f64 / elapsed.as_secs_f64().max(1e-3);
        self.end_window(rate);
        self.window_start = now;
        self.window_done = 0;
        self.window_bytes = 0;
        self.backed_off = false;
    }

    fn end_window(&mut self, rate: f64) {
        match self.phase {
            Phase::Grow if rate > self.best * GAIN => {
                self.best = rate;
                self.best_limit = self.limit;
                self.set_limit(self.limit.saturating_mul(2));
            }
            Phase::Grow => {
                // No gain from the last step up: back to the limit that gave the best.
                self.set_limit(self.best_limit.min(self.limit));
                self.phase = Phase::Hold(0);
            }
            Phase::Hold(n) if n + 1 >= HOLD_WINDOWS => {
                // Probe a quarter higher, measured against what this limit gives now.
                self.best = rate;
                self.best_limit = self.limit;
                self.set_limit(self.limit + self.limit.div_ceil(4));
                self.phase = Phase::Grow;
            }
            Phase::Hold(n) => self.phase = Phase::Hold(n + 1),
        }
    }

    fn back_off(&mut self, now: Instant) {
        self.set_limit(self.limit * 7 / 10);
        self.best_limit = self.limit;
        self.phase = Phase::Hold(0);
        self.back_offs += 1;
        self.backed_off = true;
        self.window_start = now;
        self.window_done = 0;
        self.window_bytes = 0;
    }

    fn set_limit(&mut self, limit: usize) {
        self.limit = limit.clamp(MIN, MAX);
        self.peak = self.peak.max(self.limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `control` against a model of the far end: each download takes `latency`, and at most
    /// `capacity` bytes per second get through; returns the limit after `rounds` windows.
    fn settle(control: &mut Control, latency: f64, capacity: f64, object: u64, rounds: usize) {
        let mut now = control.window_start;
        for _ in 0..rounds {
            // One round of `limit` downloads takes the latency, or longer when they exceed
            // the capacity.
            let n = control.limit as u64;
            let round = latency.max((n * object) as f64 / capacity);
            let step = Duration::from_secs_f64(round / n as f64);
            for _ in 0..n {
                now += step;
                control.completed(object, now, control.overloaded_seen);
            }
        }
    }

    #[test]
    fn the_limit_grows_while_throughput_rises_then_holds() {
        let mut c = Control::new(None, Instant::now(), 0);
        // 30 ms a GET, 20 KB objects, room for 5,000 objects a second: about 150 in flight
        // fill it.
        settle(&mut c, 0.030, 5_000.0 * 20_000.0, 20_000, 40);
        assert!(c.peak >= 128, "{c:?}");
        assert!((128..=256).contains(&c.limit), "{c:?}");
        // No capacity limit in the model: it grows to the top and stays.
        let mut c = Control::new(None, Instant::now(), 0);
        settle(&mut c, 0.030, f64::INFINITY, 20_000, 60);
        assert_eq!(c.limit, MAX, "{c:?}");
    }

    #[test]
    fn it_does_not_grow_when_more_in_flight_brings_nothing() {
        let mut c = Control::new(None, Instant::now(), 0);
        // The capacity is reached with 10 in flight: the first doubling gains nothing.
        settle(&mut c, 0.030, 10.0 * 20_000.0 / 0.030, 20_000, 30);
        // Back at the start after the failed doubling, or probing a quarter above it.
        assert!((START..=START + START / 4).contains(&c.limit), "{c:?}");
        assert!(c.peak <= 2 * START, "{c:?}");
    }

    #[test]
    fn slow_down_answers_cut_the_limit_once_a_window() {
        let start = Instant::now();
        let mut c = Control::new(None, start, 5);
        // Three answers asking to slow down arrive together: one cut.
        c.completed(1000, start, 6);
        c.completed(1000, start, 8);
        assert_eq!(c.limit, START * 7 / 10);
        assert_eq!(c.back_offs, 1);
        // After a window, the next one cuts again, down to the floor at most.
        for _ in 0..100 {
            let mut now = c.window_start;
            for _ in 0..=WINDOW_ROUNDS * c.limit as u64 {
                now += Duration::from_millis(1);
                c.completed(1000, now, c.overloaded_seen);
            }
            c.completed(1000, now, c.overloaded_seen + 1);
        }
        assert_eq!(c.limit, MIN);
    }

    #[test]
    fn a_pinned_limit_never_moves() {
        let start = Instant::now();
        let mut c = Control::new(Some(32), start, 0);
        settle(&mut c, 0.030, f64::INFINITY, 20_000, 20);
        c.completed(1, start, 99);
        assert_eq!((c.limit, c.peak), (32, 32));
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn the_bytes_in_flight_stay_under_the_cap() {
        block_on(the_bytes_in_flight_stay_under_the_cap_async());
    }

    async fn the_bytes_in_flight_stay_under_the_cap_async() {
        let gate = Gate::new(Some(100), 1000, || 0);
        let a = gate.acquire(600).await;
        // 600 + 600 > 1000: the second waits until the first is given back.
        assert!(gate.try_acquire(600).is_none());
        let small = gate.try_acquire(400).expect("600 + 400 fit");
        drop(a);
        let b = gate.acquire(600).await;
        assert_eq!(gate.state.lock().unwrap().bytes, 1000);
        drop((b, small));
        // One object larger than the cap still goes through, alone.
        let huge = gate.acquire(5000).await;
        assert!(gate.try_acquire(1).is_none());
        drop(huge);
        assert_eq!(gate.report().peak_in_flight, 2);
    }

    #[test]
    fn a_waiting_download_starts_when_one_ends() {
        block_on(a_waiting_download_starts_when_one_ends_async());
    }

    async fn a_waiting_download_starts_when_one_ends_async() {
        let gate = Gate::new(Some(1), u64::MAX, || 0);
        let first = gate.acquire(1).await;
        let g = Arc::clone(&gate);
        let waiter = tokio::spawn(async move { g.acquire(1).await });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .unwrap();
        drop(second);
    }
}
