//! The wait queue: a FIFO queue for `max_pool_size` slots (`slots`, under the pool's
//! state lock), then a fair "head of the queue" lock, each raced against the wait queue
//! deadline and against the pool being cleared or closed.
//!
//! The head lock is the spec's "only one thread at the top of the queue":
//! the slot holder that holds it looks for an available connection or creates one; when
//! `max_connecting` (or `max_pool_size`, with background establishments in flight) stops
//! it, it waits for a connection to become available or a pending slot to free, and
//! younger checkouts queue behind it instead of overtaking it.

use std::future::Future;
use std::pin::Pin;

use tokio::sync::futures::Notified;
use tokio::sync::{Mutex, MutexGuard};
use tokio::time::Instant;

/// Why a wait ended without its goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interruption {
    /// The wait queue timeout elapsed.
    Timeout,
    /// The pool was cleared or closed.
    Lifecycle,
}

/// The head of the queue; the slots live in the pool's state (see `slots`).
pub(crate) struct WaitQueue {
    head: Mutex<()>,
}

impl WaitQueue {
    pub(crate) fn new() -> Self {
        WaitQueue {
            head: Mutex::new(()),
        }
    }

    pub(crate) fn try_head(&self) -> Option<MutexGuard<'_, ()>> {
        self.head.try_lock().ok()
    }

    pub(crate) async fn head(&self) -> MutexGuard<'_, ()> {
        self.head.lock().await
    }
}

/// Runs `fut` until it completes, the deadline passes, or `lifecycle` fires (checked
/// first, so a clear wins over a connection that became available at the same instant).
pub(crate) async fn race<F: Future>(
    fut: F,
    deadline: Option<Instant>,
    lifecycle: Pin<&mut Notified<'_>>,
) -> Result<F::Output, Interruption> {
    let timeout = async {
        match deadline {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        biased;
        () = lifecycle => Err(Interruption::Lifecycle),
        out = fut => Ok(out),
        () = timeout => Err(Interruption::Timeout),
    }
}

/// Runs `fut` until it completes or the deadline passes (for a wait that learns of a
/// clear or close by itself).
pub(crate) async fn until_deadline<F: Future>(
    fut: F,
    deadline: Option<Instant>,
) -> Result<F::Output, Interruption> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, fut)
            .await
            .map_err(|_| Interruption::Timeout),
        None => Ok(fut.await),
    }
}
