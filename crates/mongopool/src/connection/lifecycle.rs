//! Whether a connection may carry another operation, and the one wrapper every
//! operation on the wire runs in: mark it abandoned, let the pool interrupt it, settle
//! the outcome.

use std::fmt;
use std::future::Future;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::interrupt::InterruptSignal;

/// Why a connection may not be used again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    /// A network error or timeout happened on it.
    Network,
    /// The peer broke the wire protocol.
    Protocol,
    /// A request was sent (or partly sent) and its reply was never read: the future
    /// doing it was dropped. The reply may still arrive.
    Abandoned,
    /// The pool interrupted it (clear with `interrupt_in_use`).
    Interrupted,
    /// It was closed on purpose (e.g. a `logout` the server refused).
    Closed,
}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Broken::Network => "a network error happened on it",
            Broken::Protocol => "the server broke the wire protocol on it",
            Broken::Abandoned => "an operation on it was abandoned mid-flight",
            Broken::Interrupted => "its pool interrupted it",
            Broken::Closed => "it was closed",
        })
    }
}

/// The state an operation on the wire changes.
#[derive(Debug)]
pub(super) struct Lifecycle {
    pub(super) broken: Option<Broken>,
    pub(super) last_used: Instant,
    /// Fired by the pool on `clear(interrupt_in_use)`: operations fail at once.
    pub(super) interrupt: Option<InterruptSignal>,
}

impl Lifecycle {
    pub(super) fn new(now: Instant) -> Self {
        Lifecycle {
            broken: None,
            last_used: now,
            interrupt: None,
        }
    }

    pub(super) fn is_interrupted(&self) -> bool {
        self.interrupt.as_ref().is_some_and(|s| s.is_interrupted())
    }

    /// Runs `io`, an operation on the wire, the only way one runs: until it is done
    /// the connection counts as abandoned (dropping the future leaves it so: its
    /// reply may still come), the pool's interrupt ends it at once, and its outcome
    /// then says whether the connection is still usable.
    pub(super) async fn guarded<T>(&mut self, io: impl Future<Output = Result<T>>) -> Result<T> {
        self.broken = Some(Broken::Abandoned);
        let result = match &self.interrupt {
            None => io.await,
            Some(signal) => tokio::select! {
                biased;
                result = io => result,
                _ = signal.interrupted() => Err(Error::connection(
                    "the operation was interrupted: the connection's pool was cleared",
                )),
            },
        };
        self.settle(result)
    }

    /// Records the outcome of an operation: errors that break the connection mark it.
    fn settle<T>(&mut self, result: Result<T>) -> Result<T> {
        match &result {
            Ok(_) => {
                self.broken = None;
                self.last_used = Instant::now();
            }
            Err(e) if e.is_protocol() => self.broken = Some(Broken::Protocol),
            Err(e) if e.is_network() => {
                self.broken = Some(if self.is_interrupted() {
                    Broken::Interrupted
                } else {
                    Broken::Network
                });
            }
            // The operation itself failed (ok: 0, write error...): the connection is
            // in a clean state again.
            Err(_) => {
                self.broken = None;
                self.last_used = Instant::now();
            }
        }
        result
    }
}
