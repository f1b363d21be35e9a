//! The measured window of one phase, and what a task records in it.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::cpu::CpuUse;

/// Latencies above this are clamped (they would mean the machine stalled).
const MAX_LATENCY_NS: u64 = 60_000_000_000;

/// When a phase starts measuring and when it stops: every task warms up until
/// `start`, and no task starts an operation at or after `end`.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    start: Instant,
    end: Instant,
}

impl Window {
    /// A window that opens after `warmup` and stays open for `measure`.
    pub fn after(warmup: Duration, measure: Duration) -> Window {
        let start = Instant::now() + warmup;
        Window {
            start,
            end: start + measure,
        }
    }

    /// When measuring starts.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// When measuring stops.
    pub fn end(&self) -> Instant {
        self.end
    }

    /// The length of the measured part.
    pub fn length(&self) -> Duration {
        self.end - self.start
    }
}

/// One task's operations completed inside the window, with their latencies.
pub struct Recorder {
    window: Window,
    ops: u64,
    latencies_ns: Histogram<u64>,
}

impl Recorder {
    /// An empty recorder for `window`.
    pub fn new(window: Window) -> Recorder {
        Recorder {
            window,
            ops: 0,
            latencies_ns: new_histogram(),
        }
    }

    /// Whether the task should start another operation.
    pub fn keep_going(&self) -> bool {
        Instant::now() < self.window.end
    }

    /// Records an operation that began at `began` and has just completed. Only
    /// operations that complete inside the window count: throughput is completions
    /// per second of window, and each completion contributes its latency.
    pub fn completed(&mut self, began: Instant) {
        let now = Instant::now();
        if now < self.window.start || now > self.window.end {
            return;
        }
        self.ops += 1;
        let ns = u64::try_from((now - began).as_nanos()).unwrap_or(MAX_LATENCY_NS);
        self.latencies_ns
            .saturating_record(ns.clamp(1, MAX_LATENCY_NS));
    }
}

/// What all tasks of a phase recorded together.
pub struct Sample {
    /// Operations completed in the window.
    pub ops: u64,
    /// The window's length in seconds.
    pub seconds: f64,
    /// Their latencies, in nanoseconds.
    pub latencies_ns: Histogram<u64>,
    /// CPU time of the client and of the server in the window.
    pub cpu: CpuUse,
}

impl Sample {
    /// Merges the recorders of every task of a phase.
    pub fn merge(window: Window, recorders: Vec<Recorder>, cpu: CpuUse) -> Sample {
        let mut latencies_ns = new_histogram();
        let mut ops = 0;
        for r in recorders {
            ops += r.ops;
            latencies_ns
                .add(&r.latencies_ns)
                .expect("histograms with the same bounds merge");
        }
        Sample {
            ops,
            seconds: window.length().as_secs_f64(),
            latencies_ns,
            cpu,
        }
    }

    /// Client CPU time per operation, in microseconds.
    pub fn client_cpu_us_per_op(&self) -> Option<f64> {
        self.per_op_us(self.cpu.client)
    }

    /// Server CPU time per operation, in microseconds.
    pub fn server_cpu_us_per_op(&self) -> Option<f64> {
        self.per_op_us(self.cpu.server)
    }

    fn per_op_us(&self, cpu: Option<Duration>) -> Option<f64> {
        (self.ops > 0).then_some(())?;
        Some(cpu?.as_secs_f64() * 1e6 / self.ops as f64)
    }

    /// Completed operations per second.
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.seconds
    }

    /// The mean latency, in microseconds.
    pub fn mean_latency_us(&self) -> f64 {
        self.latencies_ns.mean() / 1000.0
    }

    /// The latency at quantile `q` (0..=1), in microseconds.
    pub fn latency_us(&self, q: f64) -> f64 {
        self.latencies_ns.value_at_quantile(q) as f64 / 1000.0
    }
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3).expect("valid histogram bounds")
}
