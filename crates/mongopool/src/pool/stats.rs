//! A snapshot of a pool's counts, and the atomic counters behind the checkout ones.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::purpose::PurposeCounts;
use crate::events::{CheckoutFailedReason, ConnectionClosedReason};

/// What a pool holds and has done, at one instant. Serializes (serde) with the field
/// names below, e.g. to JSON for a status endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct PoolStats {
    /// Connections pending, available or in use.
    pub total: usize,
    /// Available connections.
    pub idle: usize,
    /// Connections checked out (not counting ones an interrupting clear already closed).
    pub in_use: usize,
    /// Connections being established.
    pub pending: usize,
    /// Checkouts waiting in the wait queue (for a slot, for the head of the queue, or
    /// for a connection or a pending slot).
    pub waiters: usize,
    /// The pool's generation (bumped by every clear).
    pub generation: u32,
    /// Connections created since the pool was.
    pub created: u64,
    /// Connections closed since the pool was created, by reason.
    pub closed_by_reason: ClosedCounts,
    /// Checkouts that got a connection without waiting in the wait queue.
    pub checkouts_immediate: u64,
    /// Checkouts that got a connection after waiting in the wait queue.
    pub checkouts_after_wait: u64,
    /// Checkouts that failed, by reason.
    pub checkout_failures: CheckoutFailureCounts,
    /// Connections in use that are pinned to a cursor
    /// ([`PooledConnection::set_purpose`](super::PooledConnection::set_purpose)).
    pub in_use_by_cursors: usize,
    /// Connections in use that are pinned to a transaction.
    pub in_use_by_transactions: usize,
}

/// Closed connections by [`ConnectionClosedReason`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ClosedCounts {
    /// Closed because the pool was cleared after they were created.
    pub stale: u64,
    /// Closed after sitting available longer than `max_idle_time`.
    pub idle: u64,
    /// Closed because they broke, were abandoned mid-command, or failed to establish.
    pub error: u64,
    /// Closed because the pool was closed.
    pub pool_closed: u64,
}

impl ClosedCounts {
    pub(crate) fn count(&mut self, reason: ConnectionClosedReason) {
        match reason {
            ConnectionClosedReason::Stale => self.stale += 1,
            ConnectionClosedReason::Idle => self.idle += 1,
            ConnectionClosedReason::Error => self.error += 1,
            ConnectionClosedReason::PoolClosed => self.pool_closed += 1,
        }
    }

    /// All closed connections.
    pub fn total(&self) -> u64 {
        self.stale + self.idle + self.error + self.pool_closed
    }
}

/// Failed checkouts by [`CheckoutFailedReason`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct CheckoutFailureCounts {
    /// The pool was closed.
    pub pool_closed: u64,
    /// The wait queue timeout elapsed.
    pub timeout: u64,
    /// Establishment failed, or the pool was paused or cleared.
    pub connection_error: u64,
    /// The caller dropped the checkout.
    pub cancelled: u64,
    /// Refused at once: the wait queue was full (`max_waiters`).
    pub exceeded_max_waiters: u64,
}

impl CheckoutFailureCounts {
    /// All failed checkouts.
    pub fn total(&self) -> u64 {
        self.pool_closed
            + self.timeout
            + self.connection_error
            + self.cancelled
            + self.exceeded_max_waiters
    }
}

/// The checkout counts, kept outside the state lock.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Checkouts waiting (see `waiters`).
    pub(crate) waiters: AtomicUsize,
    immediate: AtomicU64,
    after_wait: AtomicU64,
    failed_pool_closed: AtomicU64,
    failed_timeout: AtomicU64,
    failed_connection_error: AtomicU64,
    failed_cancelled: AtomicU64,
    failed_exceeded_max_waiters: AtomicU64,
    pub(crate) purposes: PurposeCounts,
}

impl Counters {
    pub(crate) fn checked_out(&self, waited: bool) {
        let counter = if waited {
            &self.after_wait
        } else {
            &self.immediate
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn failed(&self, reason: CheckoutFailedReason) {
        let counter = match reason {
            CheckoutFailedReason::PoolClosed => &self.failed_pool_closed,
            CheckoutFailedReason::Timeout => &self.failed_timeout,
            CheckoutFailedReason::ConnectionError => &self.failed_connection_error,
            CheckoutFailedReason::Cancelled => &self.failed_cancelled,
            CheckoutFailedReason::ExceededMaxWaiters => &self.failed_exceeded_max_waiters,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Fills the checkout fields of `stats` (adding to the immediate checkouts counted
    /// under the state lock).
    pub(crate) fn fill(&self, stats: &mut PoolStats) {
        stats.waiters = self.waiters.load(Ordering::Relaxed);
        stats.checkouts_immediate += self.immediate.load(Ordering::Relaxed);
        stats.checkouts_after_wait = self.after_wait.load(Ordering::Relaxed);
        stats.checkout_failures = CheckoutFailureCounts {
            pool_closed: self.failed_pool_closed.load(Ordering::Relaxed),
            timeout: self.failed_timeout.load(Ordering::Relaxed),
            connection_error: self.failed_connection_error.load(Ordering::Relaxed),
            cancelled: self.failed_cancelled.load(Ordering::Relaxed),
            exceeded_max_waiters: self.failed_exceeded_max_waiters.load(Ordering::Relaxed),
        };
        let pinned = self.purposes.breakdown(stats.in_use, 0);
        stats.in_use_by_cursors = pinned.cursors;
        stats.in_use_by_transactions = pinned.transactions;
    }
}
