//! Printing the rounds and their means.

use crate::contender::{Contender, Load};
use crate::window::Sample;

/// One phase's result.
pub struct Measured {
    /// Which round (1-based).
    pub round: usize,
    /// Who ran.
    pub contender: Contender,
    /// What it measured.
    pub sample: Sample,
}

/// Prints one phase as soon as it ends.
pub fn print_phase(label: &str, m: &Measured) {
    println!(
        "{label:<10} round {}  {:<17} {:>9.0} ops/s   mean {:>8.1} us   p50 {:>8.1} us   p99 {:>8.1} us   cpu/op client {} server {} us   ({} ops)",
        m.round,
        m.contender.name(),
        m.sample.ops_per_sec(),
        m.sample.mean_latency_us(),
        m.sample.latency_us(0.50),
        m.sample.latency_us(0.99),
        optional(m.sample.client_cpu_us_per_op()),
        optional(m.sample.server_cpu_us_per_op()),
        m.sample.ops,
    );
}

/// Prints the tail of one phase's latencies.
pub fn print_tail(m: &Measured) {
    println!(
        "{:>36} p90 {:.1} us   p99.9 {:.1} us   max {:.1} us",
        "",
        m.sample.latency_us(0.90),
        m.sample.latency_us(0.999),
        m.sample.latency_us(1.0),
    );
}

/// Prints the mean over rounds of each contender, and ours / each official one.
pub fn print_summary(label: &str, load: Load, contenders: &[Contender], results: &[Measured]) {
    println!();
    println!(
        "== {label}: {} task(s), pool of {}: mean of the rounds (ops/s of each round in brackets)",
        load.tasks, load.pool_size
    );
    let mut throughputs = Vec::new();
    for &c in contenders {
        let rounds: Vec<&Sample> = results
            .iter()
            .filter(|m| m.contender == c)
            .map(|m| &m.sample)
            .collect();
        let of = |metric: &dyn Fn(&Sample) -> f64| -> Vec<f64> {
            rounds.iter().map(|s| metric(s)).collect()
        };
        let ops = of(&|s| s.ops_per_sec());
        let cpu_client = rounds
            .iter()
            .map(|s| s.client_cpu_us_per_op())
            .collect::<Option<Vec<f64>>>();
        let cpu_server = rounds
            .iter()
            .map(|s| s.server_cpu_us_per_op())
            .collect::<Option<Vec<f64>>>();
        println!(
            "{:<17} {:>9.0} ops/s {:<20} p50 {:>8.1} us   p99 {:>8.1} us   cpu/op client {} server {} us",
            c.name(),
            mean(&ops),
            list(&ops, 0),
            mean(&of(&|s| s.latency_us(0.50))),
            mean(&of(&|s| s.latency_us(0.99))),
            optional(cpu_client.map(|v| mean(&v))),
            optional(cpu_server.map(|v| mean(&v))),
        );
        throughputs.push((c, ops));
    }
    let Some((_, ours)) = throughputs.iter().find(|(c, _)| *c == Contender::Ours) else {
        return;
    };
    for (c, theirs) in throughputs.iter().filter(|(c, _)| *c != Contender::Ours) {
        let per_round: Vec<f64> = ours.iter().zip(theirs).map(|(o, t)| o / t).collect();
        println!(
            "throughput ratio ours / {:<17} {:.2}x  (per round {})",
            c.name(),
            mean(ours) / mean(theirs),
            list(&per_round, 2)
        );
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

fn list(values: &[f64], decimals: usize) -> String {
    let items: Vec<String> = values.iter().map(|v| format!("{v:.decimals$}")).collect();
    format!("[{}]", items.join(", "))
}

fn optional(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| format!("{v:>5.1}"))
}
