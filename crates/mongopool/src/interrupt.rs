//! The signal a pool uses to interrupt a connection that is in use or being established.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// Lets the pool interrupt a connection: `Pool::clear(.., interrupt_in_use = true)` fires
/// the signal of every connection that is in use or being established. A connection
/// races its I/O against [`InterruptSignal::interrupted`] and fails the operation when it
/// fires. Cheap to clone; all clones share one state. Once fired it stays fired.
#[derive(Clone, Default)]
pub struct InterruptSignal {
    inner: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    fired: AtomicBool,
    notify: Notify,
}

impl InterruptSignal {
    /// A signal that has not fired.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fires the signal, waking every task waiting in [`InterruptSignal::interrupted`].
    pub fn interrupt(&self) {
        if !self.inner.fired.swap(true, Ordering::AcqRel) {
            self.inner.notify.notify_waiters();
        }
    }

    /// Whether the signal has fired.
    pub fn is_interrupted(&self) -> bool {
        self.inner.fired.load(Ordering::Acquire)
    }

    /// Completes once the signal has fired (at once if it already has).
    pub async fn interrupted(&self) {
        loop {
            // Created before the check: `notify_waiters` wakes futures that exist when
            // it is called, so a fire between the check and the await is not lost.
            let notified = self.inner.notify.notified();
            if self.is_interrupted() {
                return;
            }
            notified.await;
        }
    }
}

impl fmt::Debug for InterruptSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InterruptSignal")
            .field("interrupted", &self.is_interrupted())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wakes_waiters_and_stays_fired() {
        let signal = InterruptSignal::new();
        assert!(!signal.is_interrupted());
        let clone = signal.clone();
        let waiter = tokio::spawn(async move { clone.interrupted().await });
        tokio::task::yield_now().await;
        signal.interrupt();
        waiter.await.unwrap();
        assert!(signal.is_interrupted());
        // Already fired: completes at once.
        signal.interrupted().await;
    }
}
