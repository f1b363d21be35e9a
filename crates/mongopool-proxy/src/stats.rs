//! Counters of what the proxy did: cheap atomics on the request path, read as a
//! [`ProxyStats`] snapshot.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the proxy's counters ([`ProxyHandle::stats`](crate::ProxyHandle::stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProxyStats {
    /// Client connections open now.
    pub clients_open: u64,
    /// Client connections accepted since the start.
    pub clients_accepted: u64,
    /// Client connections closed at once because `max_client_connections` were open.
    pub clients_refused: u64,
    /// Client connections closed because they sent bytes that are not a MongoDB message.
    pub clients_broken: u64,
    /// Requests sent to the server.
    pub requests_forwarded: u64,
    /// Requests answered by the proxy itself (hello, logout, auth refusals).
    pub requests_answered: u64,
    /// Requests answered with an error because too many were pending, the wait for a
    /// server connection timed out, or a limit on pinned state was reached.
    pub requests_rejected: u64,
    /// Requests whose server connection failed (the client got an error reply).
    pub server_errors: u64,
    /// Cursors open now.
    pub open_cursors: u64,
    /// Transactions pinned to a server connection now.
    pub pinned_transactions: u64,
    /// Cursors killed and transactions aborted because their client went away or the
    /// transaction idled past its timeout.
    pub cleanups: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) clients_open: AtomicU64,
    pub(crate) clients_accepted: AtomicU64,
    pub(crate) clients_refused: AtomicU64,
    pub(crate) clients_broken: AtomicU64,
    pub(crate) requests_forwarded: AtomicU64,
    pub(crate) requests_answered: AtomicU64,
    pub(crate) requests_rejected: AtomicU64,
    pub(crate) server_errors: AtomicU64,
    pub(crate) cleanups: AtomicU64,
}

/// Adds one.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn snapshot(&self, open_cursors: usize, pinned_transactions: usize) -> ProxyStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ProxyStats {
            clients_open: get(&self.clients_open),
            clients_accepted: get(&self.clients_accepted),
            clients_refused: get(&self.clients_refused),
            clients_broken: get(&self.clients_broken),
            requests_forwarded: get(&self.requests_forwarded),
            requests_answered: get(&self.requests_answered),
            requests_rejected: get(&self.requests_rejected),
            server_errors: get(&self.server_errors),
            open_cursors: open_cursors as u64,
            pinned_transactions: pinned_transactions as u64,
            cleanups: get(&self.cleanups),
        }
    }
}
