//! The client backpressure spec's retry policy, as a pure state machine: after each
//! failed attempt it decides "retry after this delay, avoiding these servers" or
//! "give up". No clock, no sockets: the caller draws the jitter and sleeps.
//!
//! It is the spec's unified loop (its pseudocode): a retryable overload error
//! (`SystemOverloadedError` + `RetryableError`) may be retried up to
//! [`OverloadRetryOptions::max_adaptive_retries`] times, with a backoff of
//! `jitter * min(10 s, base * 2^attempt)` (base 100 ms, or the server's
//! `baseBackoffMS`), where `attempt` counts every retry so far, this one included.
//! An error that only the retryable reads or writes specs retry gets one retry,
//! without backoff; once an overload error was seen, the overload bound covers
//! every retry of the operation. A `runCommand` is retried only when both
//! `retryReads` and `retryWrites` are on.

use std::time::Duration;

use rand::Rng;

use super::retry_budget::RetryBudget;
use super::retry_options::OverloadRetryOptions;
use crate::address::ServerAddress;
use crate::error::Error;

/// The spec's `BASE_BACKOFF`: 100 ms.
pub const BASE_BACKOFF: Duration = Duration::from_millis(100);
/// The spec's `MAX_BACKOFF`: 10 s.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Error codes after which the retryable reads spec retries a read once.
const RETRYABLE_READ_CODES: &[i32] = &[
    6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436,
];

/// What kind of operation is being retried (it decides which settings allow it).
/// The Client runs only commands today; reads and writes are the policy's, for the
/// operations built on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(test), allow(dead_code))]
pub enum OperationKind {
    /// A read: `retryReads` must be on.
    Read,
    /// A write: `retryWrites` must be on.
    Write,
    /// A generic `runCommand`: both `retryReads` and `retryWrites` must be on (the
    /// driver cannot tell a read from a write), and no other retry policy applies.
    RunCommand,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum RetryDecision {
    /// Wait `delay`, then select a server again (avoiding `deprioritized` unless
    /// nothing else suits) and run the next attempt.
    Retry {
        /// The retry number: 1 for the first retry.
        attempt: u32,
        /// The backoff before it (zero for a retry that is not for overload).
        delay: Duration,
        /// Whether the error was an overload error.
        overload: bool,
    },
    /// Return the error.
    GiveUp(GiveUpReason),
}

/// Why an operation is not retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUpReason {
    /// No retry policy covers this error (or this operation kind).
    NotRetryable,
    /// The operation was retried as often as allowed.
    RetriesExhausted,
    /// The retry budget (token bucket) is empty.
    BudgetExhausted,
}

/// The retry state of one operation.
#[derive(Debug)]
pub struct RetryState<'a> {
    options: &'a OverloadRetryOptions,
    budget: Option<&'a RetryBudget>,
    kind: OperationKind,
    attempt: u32,
    allowed_retries: u32,
    deprioritized: Vec<ServerAddress>,
}

impl<'a> RetryState<'a> {
    /// The state before the first attempt. `budget` is the client's token bucket,
    /// if it has one.
    pub fn new(
        options: &'a OverloadRetryOptions,
        budget: Option<&'a RetryBudget>,
        kind: OperationKind,
    ) -> Self {
        RetryState {
            options,
            budget,
            kind,
            attempt: 0,
            allowed_retries: 1,
            deprioritized: Vec::new(),
        }
    }

    /// Servers the next selection should avoid when it can.
    pub fn deprioritized(&self) -> &[ServerAddress] {
        &self.deprioritized
    }

    /// Retries made so far.
    pub fn retries(&self) -> u32 {
        self.attempt
    }

    /// Decides after an attempt on `server` failed with `error`. `sharded`: the
    /// topology is a sharded cluster, where a retry always goes to another mongos
    /// when there is one. `rng` draws the jitter.
    pub fn on_error(
        &mut self,
        error: &Error,
        server: Option<&ServerAddress>,
        sharded: bool,
        rng: &mut impl Rng,
    ) -> RetryDecision {
        let overload = error.is_overload();
        let retryable = self.allowed_by_settings()
            && (error.is_retryable_overload() || self.retryable_by_other_policy(error));
        if !retryable {
            return RetryDecision::GiveUp(GiveUpReason::NotRetryable);
        }
        self.attempt += 1;
        if overload {
            self.allowed_retries = self.options.max_adaptive_retries;
        }
        if self.attempt > self.allowed_retries {
            return RetryDecision::GiveUp(GiveUpReason::RetriesExhausted);
        }
        if overload {
            if let Some(budget) = self.budget {
                if !budget.try_withdraw() {
                    return RetryDecision::GiveUp(GiveUpReason::BudgetExhausted);
                }
            }
        }
        if let Some(server) = server {
            if (overload && self.options.enable_overload_retargeting) || sharded {
                self.deprioritized.push(server.clone());
            }
        }
        let delay = if overload {
            let base = error
                .base_backoff_ms()
                .map_or(BASE_BACKOFF, Duration::from_millis);
            backoff(base, self.attempt, rng.random::<f64>())
        } else {
            Duration::ZERO
        };
        RetryDecision::Retry {
            attempt: self.attempt,
            delay,
            overload,
        }
    }

    /// Reports that an attempt succeeded: a budget gets tokens back.
    pub fn on_success(&self) {
        if let Some(budget) = self.budget {
            budget.deposit(self.attempt > 0);
        }
    }

    fn allowed_by_settings(&self) -> bool {
        let o = self.options;
        match self.kind {
            OperationKind::Read => o.retry_reads,
            OperationKind::Write => o.retry_writes,
            OperationKind::RunCommand => o.retry_reads && o.retry_writes,
        }
    }

    /// The retryable reads and writes specs' own errors (a `runCommand` has none).
    fn retryable_by_other_policy(&self, error: &Error) -> bool {
        match self.kind {
            OperationKind::RunCommand => false,
            OperationKind::Read => {
                error.is_network()
                    || error
                        .code()
                        .is_some_and(|c| RETRYABLE_READ_CODES.contains(&c))
            }
            OperationKind::Write => {
                error.has_label("RetryableWriteError")
                    || error.is_network()
                    || error.is_not_primary()
            }
        }
    }
}

/// `jitter * min(MAX_BACKOFF, base * 2^attempt)`, with `jitter` in `[0, 1)`.
pub fn backoff(base: Duration, attempt: u32, jitter: f64) -> Duration {
    let factor = 2_u32.checked_pow(attempt).unwrap_or(u32::MAX);
    let uncapped = base.checked_mul(factor).unwrap_or(MAX_BACKOFF);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    uncapped.min(MAX_BACKOFF).mul_f64(jitter)
}

#[cfg(test)]
#[path = "retry_policy_tests.rs"]
mod tests;
