//! The closing table and `--json`.

use std::path::PathBuf;

use hdrhistogram::Histogram;
use mongopool::PoolStats;
use serde::Serialize;

use super::progress::micros;
use super::recorder::Point;

/// Latency percentiles of the whole run, in microseconds.
#[derive(Debug, Serialize)]
pub struct Latencies {
    /// The fastest.
    pub min: u64,
    /// The mean.
    pub mean: f64,
    /// The median.
    pub p50: u64,
    /// The 90th percentile.
    pub p90: u64,
    /// The 99th percentile.
    pub p99: u64,
    /// The 99.9th percentile.
    pub p99_9: u64,
    /// The slowest.
    pub max: u64,
}

impl Latencies {
    /// The percentiles of `h`.
    pub fn of(h: &Histogram<u64>) -> Latencies {
        Latencies {
            min: h.min(),
            mean: h.mean(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p99_9: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

/// What a run measured.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The workload's name.
    pub workload: String,
    /// Concurrent tasks.
    pub tasks: u32,
    /// The pool's maximum size.
    pub pool_size: u32,
    /// The runtime's worker threads.
    pub threads: usize,
    /// The server the pool connected to.
    pub server: String,
    /// Measured seconds.
    pub seconds: f64,
    /// Operations that succeeded in them.
    pub operations: u64,
    /// Operations that failed in them.
    pub errors: u64,
    /// The first failure.
    pub first_error: Option<String>,
    /// Successful operations per second.
    pub ops_per_sec: f64,
    /// Latencies of the successful operations, microseconds.
    pub latency_us: Latencies,
    /// Throughput and latency per tick.
    pub timeline: Vec<Point>,
    /// The pool's counts at the end.
    pub pool: PoolStats,
    /// Where the plot was written.
    pub plot: Option<PathBuf>,
}

impl Report {
    /// The closing table.
    pub fn print_table(&self) {
        let l = &self.latency_us;
        println!(
            "{} on {}: {} tasks, pool of {}, {} threads, {:.2} s measured",
            self.workload, self.server, self.tasks, self.pool_size, self.threads, self.seconds
        );
        println!(
            "  operations {:>10}   errors {:>6}   throughput {:>10.0} ops/s",
            self.operations, self.errors, self.ops_per_sec
        );
        println!("  latency       min       p50       p90       p99     p99.9       max      mean");
        println!(
            "  {:>11} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            micros(l.min),
            micros(l.p50),
            micros(l.p90),
            micros(l.p99),
            micros(l.p99_9),
            micros(l.max),
            micros(l.mean.round() as u64),
        );
        println!(
            "  pool: {} connections created, {} checkouts without waiting, {} after waiting, {} failed",
            self.pool.created,
            self.pool.checkouts_immediate,
            self.pool.checkouts_after_wait,
            self.pool.checkout_failures.total()
        );
        if let Some(e) = &self.first_error {
            println!("  first error: {e}");
        }
        if let Some(p) = &self.plot {
            println!("  plot: {}", p.display());
        }
    }
}
