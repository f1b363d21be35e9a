//! What the tasks record and the reporter collects: latencies in HDR histograms, one per
//! group of tasks so that a task rarely waits for another, drained at every tick into
//! the point of the timeline and into the whole run's histogram.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Latencies are kept in microseconds, up to this (a longer one means a stalled machine
/// and is clamped).
const MAX_LATENCY_US: u64 = 60_000_000;

/// At most this many histograms (each ~130 KB): tasks beyond share them.
const MAX_SLOTS: usize = 64;

/// A histogram of latencies in microseconds, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

/// When measuring starts and, for a timed run, when it ends.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// The end of the warm-up.
    pub start: Instant,
    /// No operation starts at or after this (a timed run); `None` for a counted run.
    pub end: Option<Instant>,
}

/// The state the tasks share.
pub struct Recorder {
    window: Window,
    slots: Vec<Mutex<Histogram<u64>>>,
    /// Operations of a counted run left to start; unused in a timed run.
    tickets: AtomicU64,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Recorder {
    /// A recorder for `tasks` tasks; `count` operations, or a timed run when `None`.
    pub fn new(window: Window, tasks: usize, count: Option<u64>) -> Recorder {
        Recorder {
            window,
            slots: (0..tasks.clamp(1, MAX_SLOTS))
                .map(|_| Mutex::new(new_histogram()))
                .collect(),
            tickets: AtomicU64::new(count.unwrap_or(0)),
            errors: AtomicU64::new(0),
            first_error: Mutex::new(None),
        }
    }

    /// Whether the task should start another operation, and whether that one is
    /// measured (in a counted run, only the `count` operations started after the
    /// warm-up are).
    pub fn next(&self, now: Instant) -> Option<Measured> {
        if now < self.window.start {
            return Some(Measured::Maybe);
        }
        match self.window.end {
            Some(end) if now >= end => None,
            Some(_) => Some(Measured::Maybe),
            None => {
                let claimed =
                    self.tickets
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                            left.checked_sub(1)
                        });
                claimed.ok().map(|_| Measured::Yes)
            }
        }
    }

    /// Records an operation of task `task` that began at `began` and just ended.
    /// In a timed run an operation counts when it completes inside the window (as in
    /// `bench/vs-official`: throughput is completions per second of window).
    pub fn completed(
        &self,
        task: usize,
        measured: Measured,
        began: Instant,
        result: Result<(), String>,
    ) {
        let now = Instant::now();
        let counts = match measured {
            Measured::Yes => true,
            Measured::Maybe => {
                now >= self.window.start && self.window.end.is_none_or(|end| now <= end)
            }
        };
        if !counts {
            return;
        }
        match result {
            Ok(()) => {
                let us = u64::try_from((now - began).as_micros()).unwrap_or(MAX_LATENCY_US);
                let slot = &self.slots[task % self.slots.len()];
                slot.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .saturating_record(us.clamp(1, MAX_LATENCY_US));
            }
            Err(message) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                let mut first = self
                    .first_error
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                first.get_or_insert(message);
            }
        }
    }

    /// Moves what the tasks recorded since the last call into `into`.
    pub fn drain(&self, into: &mut Histogram<u64>) {
        for slot in &self.slots {
            let mut h = slot.lock().unwrap_or_else(PoisonError::into_inner);
            into.add(&*h)
                .expect("histograms with the same bounds merge");
            h.reset();
        }
    }

    /// Failed operations so far.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// The first failure's message.
    pub fn first_error(&self) -> Option<String> {
        self.first_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Whether an operation is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measured {
    /// Yes (a counted run's ticket).
    Yes,
    /// If it completes inside the window.
    Maybe,
}

/// One tick of the run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Point {
    /// Seconds since measuring started, at the end of the tick.
    pub t_s: f64,
    /// Operations completed in the tick, per second.
    pub ops_per_sec: f64,
    /// Median latency in the tick, microseconds (0 without operations).
    pub p50_us: u64,
    /// 99th percentile latency in the tick, microseconds.
    pub p99_us: u64,
    /// Failed operations in the tick.
    pub errors: u64,
}

/// The whole run, collected tick by tick.
pub struct Collector {
    start: Instant,
    last_tick: Instant,
    last_errors: u64,
    tick: Histogram<u64>,
    /// Every measured latency.
    pub total: Histogram<u64>,
    /// The points of the timeline.
    pub timeline: Vec<Point>,
}

impl Collector {
    /// A collector for a run whose measuring starts at `start`.
    pub fn new(start: Instant) -> Collector {
        Collector {
            start,
            last_tick: start,
            last_errors: 0,
            tick: new_histogram(),
            total: new_histogram(),
            timeline: Vec::new(),
        }
    }

    /// Collects what was recorded since the last tick; returns the new point, or
    /// `None` during the warm-up.
    pub fn tick(&mut self, recorder: &Recorder, now: Instant) -> Option<&Point> {
        recorder.drain(&mut self.tick);
        if now <= self.start {
            self.tick.reset();
            return None;
        }
        let errors = recorder.errors();
        let seconds = (now - self.last_tick).max(Duration::from_micros(1));
        let point = Point {
            t_s: (now - self.start).as_secs_f64(),
            ops_per_sec: self.tick.len() as f64 / seconds.as_secs_f64(),
            p50_us: self.tick.value_at_quantile(0.50),
            p99_us: self.tick.value_at_quantile(0.99),
            errors: errors - self.last_errors,
        };
        self.total
            .add(&self.tick)
            .expect("histograms with the same bounds merge");
        self.tick.reset();
        self.last_tick = now;
        self.last_errors = errors;
        self.timeline.push(point);
        self.timeline.last()
    }
}
