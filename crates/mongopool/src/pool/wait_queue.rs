//! The wait queue: a fair semaphore of `max_pool_size` slots, then a fair "head of the
//! queue" lock, each raced against the wait queue deadline and against the pool being
//! cleared or closed.
//!
//! A slot is held by every checkout from the moment it leaves the semaphore until its
//! connection is checked in (or the checkout fails). Available connections hold no slot,
//! so a check-in (push the connection, then release the slot) hands the connection to the
//! oldest waiter. The head lock is the spec's "only one thread at the top of the queue":
//! the slot holder that holds it looks for an available connection or creates one; when
//! `max_connecting` (or `max_pool_size`, with background establishments in flight) stops
//! it, it waits for a connection to become available or a pending slot to free, and
//! younger checkouts queue behind it instead of overtaking it.

use std::future::Future;
use std::pin::Pin;

use tokio::sync::futures::Notified;
use tokio::sync::{Mutex, MutexGuard, Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// Why a wait ended without its goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interruption {
    /// The wait queue timeout elapsed.
    Timeout,
    /// The pool was cleared or closed.
    Lifecycle,
}

pub(crate) struct WaitQueue {
    /// `None` for an unbounded pool.
    slots: Option<Semaphore>,
    head: Mutex<()>,
}

/// A slot in the pool (nothing for an unbounded pool). Released on drop.
pub(crate) struct Slot<'a>(Option<SemaphorePermit<'a>>);

impl Slot<'_> {
    /// Hands the slot to a checked-out connection: it is released by
    /// [`WaitQueue::release_detached`] when the connection is checked in. Returns
    /// whether there was a slot to release.
    pub(crate) fn detach(self) -> bool {
        match self.0 {
            Some(permit) => {
                permit.forget();
                true
            }
            None => false,
        }
    }
}

impl WaitQueue {
    pub(crate) fn new(max_pool_size: u32) -> Self {
        let slots = (max_pool_size != 0)
            .then(|| Semaphore::new((max_pool_size as usize).min(Semaphore::MAX_PERMITS)));
        WaitQueue {
            slots,
            head: Mutex::new(()),
        }
    }

    /// A slot, if one is free and nobody is queued for one.
    pub(crate) fn try_slot(&self) -> Option<Slot<'_>> {
        match &self.slots {
            None => Some(Slot(None)),
            Some(s) => s.try_acquire().ok().map(|p| Slot(Some(p))),
        }
    }

    /// Waits (in FIFO order) for a slot. `None` only if the semaphore was closed, which
    /// this pool never does.
    pub(crate) async fn slot(&self) -> Option<Slot<'_>> {
        match &self.slots {
            None => Some(Slot(None)),
            Some(s) => s.acquire().await.ok().map(|p| Slot(Some(p))),
        }
    }

    pub(crate) fn try_head(&self) -> Option<MutexGuard<'_, ()>> {
        self.head.try_lock().ok()
    }

    pub(crate) async fn head(&self) -> MutexGuard<'_, ()> {
        self.head.lock().await
    }

    /// Gives back the slot of a checked-in connection.
    pub(crate) fn release_detached(&self) {
        if let Some(s) = &self.slots {
            s.add_permits(1);
        }
    }

    /// Free slots (for tests and stats): `None` for an unbounded pool.
    pub(crate) fn free_slots(&self) -> Option<usize> {
        self.slots.as_ref().map(Semaphore::available_permits)
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
