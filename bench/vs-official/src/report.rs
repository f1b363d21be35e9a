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
        "{label:<10} round {}  {:<17} {:>9.0} ops/s   mean {:>8.1} us   p50 {:>8.1} us   p99 {:>8.1} us   ({} ops)",
        m.round,
        m.contender.name(),
        m.sample.ops_per_sec(),
        m.sample.mean_latency_us(),
        m.sample.latency_us(0.50),
        m.sample.latency_us(0.99),
        m.sample.ops,
    );
}

/// Prints the mean over rounds of each contender, and ours / each official one.
pub fn print_summary(label: &str, load: Load, contenders: &[Contender], results: &[Measured]) {
    println!();
    println!(
        "== {label}: {} task(s), pool of {} — mean of the rounds (each round in brackets)",
        load.tasks, load.pool_size
    );
    let mut means = Vec::new();
    for &c in contenders {
        let rounds: Vec<&Sample> = results
            .iter()
            .filter(|m| m.contender == c)
            .map(|m| &m.sample)
            .collect();
        let ops: Vec<f64> = rounds.iter().map(|s| s.ops_per_sec()).collect();
        let p50: Vec<f64> = rounds.iter().map(|s| s.latency_us(0.50)).collect();
        let p99: Vec<f64> = rounds.iter().map(|s| s.latency_us(0.99)).collect();
        println!(
            "{:<17} {:>9.0} ops/s {:<24} p50 {:>8.1} us {:<22} p99 {:>8.1} us {}",
            c.name(),
            mean(&ops),
            list(&ops, 0),
            mean(&p50),
            list(&p50, 1),
            mean(&p99),
            list(&p99, 1),
        );
        means.push((c, mean(&ops), ops));
    }
    let Some((_, ours_mean, ours_rounds)) = means.iter().find(|(c, ..)| *c == Contender::Ours)
    else {
        return;
    };
    for (c, mean_ops, rounds) in means.iter().filter(|(c, ..)| *c != Contender::Ours) {
        let per_round: Vec<f64> = ours_rounds
            .iter()
            .zip(rounds)
            .map(|(ours, theirs)| ours / theirs)
            .collect();
        println!(
            "ratio ours / {:<17} {:.2}x  (per round {})",
            c.name(),
            ours_mean / mean_ops,
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
