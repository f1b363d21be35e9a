//! How the [`Client`](super::Client) retries commands a server sheds under load
//! (client backpressure spec), and the event it emits for every retry.

use std::sync::Arc;
use std::time::Duration;

use crate::address::ServerAddress;
use crate::connection_string::ConnectionString;
use crate::error::Error;

/// The client's overload retry settings. Read from the URI by
/// [`OverloadRetryOptions::from_connection_string`] (`retryReads`, `retryWrites`,
/// `maxAdaptiveRetries`, `enableOverloadRetargeting`).
#[derive(Clone)]
#[non_exhaustive]
pub struct OverloadRetryOptions {
    /// `retryReads`. With `retry_writes`, it allows retrying a command run through
    /// [`Client::command`](super::Client::command). Defaults to true.
    pub retry_reads: bool,
    /// `retryWrites`. Defaults to true.
    pub retry_writes: bool,
    /// `maxAdaptiveRetries`: how often an operation is retried once an overload error
    /// was seen (0 turns overload retries off). Defaults to 2.
    pub max_adaptive_retries: u32,
    /// `enableOverloadRetargeting`: after an overload error, the retry avoids the
    /// server that shed it when another suits the operation (in a sharded cluster a
    /// retry always avoids the mongos it came from). Defaults to false, as the spec
    /// says: with `primaryPreferred` it sends reads to secondaries more often.
    pub enable_overload_retargeting: bool,
    /// A token bucket of this many retries shared by the client's operations
    /// ([`RetryBudget`](super::RetryBudget)). Defaults to none (no budget), as in
    /// the spec since it turned token buckets off.
    pub retry_budget: Option<u32>,
    /// Receives an [`OverloadRetryEvent`] before each retry. Defaults to none.
    pub event_handler: Option<Arc<dyn RetryEventHandler>>,
}

impl Default for OverloadRetryOptions {
    fn default() -> Self {
        OverloadRetryOptions {
            retry_reads: true,
            retry_writes: true,
            max_adaptive_retries: 2,
            enable_overload_retargeting: false,
            retry_budget: None,
            event_handler: None,
        }
    }
}

impl std::fmt::Debug for OverloadRetryOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OverloadRetryOptions")
            .field("retry_reads", &self.retry_reads)
            .field("retry_writes", &self.retry_writes)
            .field("max_adaptive_retries", &self.max_adaptive_retries)
            .field(
                "enable_overload_retargeting",
                &self.enable_overload_retargeting,
            )
            .field("retry_budget", &self.retry_budget)
            .field("event_handler", &self.event_handler.is_some())
            .finish()
    }
}

impl OverloadRetryOptions {
    /// The defaults, with what the connection string sets.
    pub fn from_connection_string(cs: &ConnectionString) -> Self {
        let uri = cs.options();
        let d = OverloadRetryOptions::default();
        OverloadRetryOptions {
            retry_reads: uri.retry_reads.unwrap_or(d.retry_reads),
            retry_writes: uri.retry_writes.unwrap_or(d.retry_writes),
            max_adaptive_retries: uri.max_adaptive_retries.unwrap_or(d.max_adaptive_retries),
            enable_overload_retargeting: uri
                .enable_overload_retargeting
                .unwrap_or(d.enable_overload_retargeting),
            ..d
        }
    }
}

/// Emitted before each retry of an operation: which server failed it, with what,
/// and when the next attempt starts.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OverloadRetryEvent {
    /// The server the failed attempt ran on (none when no server was selected).
    pub address: Option<ServerAddress>,
    /// The retry about to happen: 1 for the first.
    pub attempt: u32,
    /// The backoff before it (zero when the error was not an overload error).
    pub delay: Duration,
    /// Whether the error was an overload error (`SystemOverloadedError`).
    pub overload: bool,
    /// The servers the next selection avoids when it can.
    pub deprioritized: Vec<ServerAddress>,
    /// The error of the failed attempt.
    pub error: Error,
}

/// Receives [`OverloadRetryEvent`]s, synchronously: keep it quick.
pub trait RetryEventHandler: Send + Sync {
    /// Called before the backoff of each retry.
    fn handle(&self, event: OverloadRetryEvent);
}

impl<F: Fn(OverloadRetryEvent) + Send + Sync> RetryEventHandler for F {
    fn handle(&self, event: OverloadRetryEvent) {
        self(event)
    }
}
