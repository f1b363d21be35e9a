//! The bound on waiting checkouts (`PoolOptions::max_waiters`, PyMongo's
//! `waitQueueMultiple`).
//!
//! A checkout becomes a waiter, or is refused, in the same state lock that finds it must
//! wait, so the check and the count are one step: every admission happens under that
//! lock, and a waiter leaves (without the lock) by decrementing an atomic, which can
//! only make a later check see more waiters than there are, never fewer. So the bound is
//! never exceeded, and a checkout that leaves frees its place at once.
//!
//! The fast path (a free slot and a connection at hand) never touches any of this.

use std::sync::atomic::{AtomicUsize, Ordering};

/// One checkout's place among the waiters, from its admission (`held`, set under the
/// state lock) until it gets a connection, starts establishing one, or fails: counted in
/// the pool's waiters meanwhile, uncounted on drop.
pub(crate) struct WaiterTicket<'a> {
    count: &'a AtomicUsize,
    held: bool,
}

impl<'a> WaiterTicket<'a> {
    /// A ticket not yet admitted (made before the lock, so that it is released even if
    /// what follows the lock panics).
    pub(crate) fn new(count: &'a AtomicUsize) -> Self {
        WaiterTicket { count, held: false }
    }

    /// Admits the checkout as a waiter unless `max` are waiting; `Err` with the number
    /// waiting. Call under the pool's state lock.
    pub(crate) fn admit(&mut self, max: Option<u32>) -> Result<(), u32> {
        debug_assert!(!self.held, "a checkout is admitted as a waiter once");
        if let Some(max) = max {
            let waiting = self.count.load(Ordering::Relaxed);
            if waiting >= max as usize {
                return Err(u32::try_from(waiting).unwrap_or(u32::MAX));
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.held = true;
        Ok(())
    }
}

impl Drop for WaiterTicket<'_> {
    fn drop(&mut self) {
        if self.held {
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_the_bound_and_a_leaver_frees_a_place() {
        let count = AtomicUsize::new(0);
        let mut first = WaiterTicket::new(&count);
        let mut second = WaiterTicket::new(&count);
        let mut third = WaiterTicket::new(&count);
        assert_eq!(first.admit(Some(2)), Ok(()));
        assert_eq!(second.admit(Some(2)), Ok(()));
        assert_eq!(third.admit(Some(2)), Err(2));
        drop(third); // never admitted: counts nothing
        assert_eq!(count.load(Ordering::Relaxed), 2);
        drop(first);
        let mut fourth = WaiterTicket::new(&count);
        assert_eq!(fourth.admit(Some(2)), Ok(()));
        drop((second, fourth));
        assert_eq!(count.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn unbounded_and_zero() {
        let count = AtomicUsize::new(0);
        let mut tickets: Vec<_> = (0..100).map(|_| WaiterTicket::new(&count)).collect();
        assert!(tickets.iter_mut().all(|t| t.admit(None).is_ok()));
        assert_eq!(count.load(Ordering::Relaxed), 100);
        drop(tickets);
        assert_eq!(WaiterTicket::new(&count).admit(Some(0)), Err(0));
    }
}
