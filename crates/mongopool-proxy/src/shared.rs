//! What every client task of one proxy shares: the deployment's client, what the server
//! said, the limits, and the pinned state.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use mongopool::Client;
use mongopool_wire::Compressor;
use tokio::sync::Semaphore;

use crate::cursors::CursorRegistry;
use crate::replies::ServerFacts;
use crate::stats::{Counters, ProxyStats};
use crate::transactions::TransactionPins;

pub(crate) struct Shared {
    /// The deployment behind the proxy: its topology selects a server per request.
    pub(crate) client: Client,
    /// Limits and wire versions clients are told (from the first server reached).
    pub(crate) facts: ServerFacts,
    /// How long a request waits for a server connection.
    pub(crate) wait_queue_timeout: Duration,
    pub(crate) compressors: Vec<Compressor>,
    /// Users clients log in as; empty: no login.
    pub(crate) users: crate::client_auth::ClientUsers,
    pub(crate) max_cursors_per_client: usize,
    pub(crate) transaction_idle_timeout: Duration,
    /// Permits for requests waiting for a server connection or in flight.
    pub(crate) pending: Semaphore,
    pub(crate) max_pending: usize,
    pub(crate) cursors: Mutex<CursorRegistry>,
    pub(crate) transactions: Mutex<TransactionPins>,
    pub(crate) counters: Counters,
}

impl Shared {
    /// The cursor table. A panic elsewhere while it was held leaves it consistent
    /// (every method finishes its update before returning), so poison is ignored.
    pub(crate) fn cursors(&self) -> MutexGuard<'_, CursorRegistry> {
        self.cursors.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The transaction table (poison ignored, as for the cursors).
    pub(crate) fn transactions(&self) -> MutexGuard<'_, TransactionPins> {
        self.transactions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the pinned-state gauges (`metrics` feature).
    pub(crate) fn record_pinned(&self) {
        let cursors = self.cursors().len();
        let transactions = self.transactions().len();
        crate::telemetry::pinned(cursors, transactions);
    }

    pub(crate) fn stats(&self) -> ProxyStats {
        let cursors = self.cursors().len();
        let transactions = self.transactions().len();
        self.counters.snapshot(cursors, transactions)
    }
}

/// Returns once the proxy is shutting down (at once if it already is). The watch
/// guard is dropped inside, so callers' futures stay `Send`.
pub(crate) async fn stopping(
    shutdown: &mut tokio::sync::watch::Receiver<Option<tokio::time::Instant>>,
) {
    let _ = shutdown.wait_for(Option::is_some).await.map(drop);
}
