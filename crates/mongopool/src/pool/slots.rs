//! The slots of the wait queue: `max_pool_size` of them, handed out in FIFO order.
//!
//! A slot is held by every checkout from the moment it enters the pool until its
//! connection is checked in (or the checkout fails). Available connections hold no slot,
//! so a check-in (push the connection, then release the slot, under one lock) hands the
//! connection to the oldest queued checkout.
//!
//! This is a fair semaphore kept under the pool's state lock rather than a
//! `tokio::sync::Semaphore` beside it: taking a slot, looking for a connection, queueing
//! and, on check-in, handing the slot to the next in line each cost no lock beyond the
//! one the pool takes anyway, and a clear or close fails every queued checkout in the
//! same lock, without each of them also registering with a second wake-up signal.

use std::collections::VecDeque;
use std::task::{Poll, Waker};

/// Where a queued checkout stands in the queue (see [`SlotQueue::enqueue`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    key: u64,
    /// The queue's epoch when the checkout queued: a clear or close bumps it.
    epoch: u64,
}

/// Why a queued checkout left the queue without a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Interrupted;

struct Waiter {
    key: u64,
    waker: Waker,
}

pub(crate) struct SlotQueue {
    /// `None` for an unbounded pool.
    max: Option<usize>,
    /// Slots held, including the ones granted to queued checkouts not yet picked up.
    held: usize,
    /// Oldest first, so sorted by key.
    queue: VecDeque<Waiter>,
    /// Tickets that were granted a slot and have not picked it up yet.
    granted: Vec<u64>,
    next_key: u64,
    epoch: u64,
    /// Queued checkouts to wake once the lock is released.
    to_wake: Wakeups,
}

/// Wakers to call once the pool's lock is released. A check-in wakes one checkout, so
/// the first needs no allocation.
#[derive(Default)]
pub(crate) struct Wakeups {
    first: Option<Waker>,
    rest: Vec<Waker>,
}

impl Wakeups {
    fn push(&mut self, waker: Waker) {
        if self.first.is_none() {
            self.first = Some(waker);
        } else {
            self.rest.push(waker);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    pub(crate) fn wake(self) {
        self.first.into_iter().chain(self.rest).for_each(Waker::wake);
    }
}

impl SlotQueue {
    pub(crate) fn new(max_pool_size: u32) -> Self {
        SlotQueue {
            max: (max_pool_size != 0).then_some(max_pool_size as usize),
            held: 0,
            queue: VecDeque::new(),
            granted: Vec::new(),
            next_key: 0,
            epoch: 0,
            to_wake: Wakeups::default(),
        }
    }

    /// Takes a slot if one is free and nobody is queued for one.
    pub(crate) fn try_take(&mut self) -> bool {
        let free = self.max.is_none_or(|max| self.held < max);
        if free && self.queue.is_empty() {
            self.held += 1;
            true
        } else {
            false
        }
    }

    /// Queues a checkout for a slot; `waker` wakes it when it is granted one or the
    /// queue is interrupted.
    pub(crate) fn enqueue(&mut self, waker: &Waker) -> Ticket {
        let key = self.next_key;
        self.next_key += 1;
        self.queue.push_back(Waiter {
            key,
            waker: waker.clone(),
        });
        Ticket {
            key,
            epoch: self.epoch,
        }
    }

    /// Picks up the slot granted to `ticket` (it is then held by the checkout), fails if
    /// the queue was interrupted since the checkout queued, or waits (with `waker`).
    pub(crate) fn poll(&mut self, ticket: Ticket, waker: &Waker) -> Poll<Result<(), Interrupted>> {
        if let Some(i) = self.granted.iter().position(|&k| k == ticket.key) {
            self.granted.swap_remove(i);
            return Poll::Ready(Ok(()));
        }
        if self.epoch != ticket.epoch {
            return Poll::Ready(Err(Interrupted));
        }
        if let Ok(i) = self.queue.binary_search_by_key(&ticket.key, |w| w.key) {
            let w = &mut self.queue[i];
            if !w.waker.will_wake(waker) {
                w.waker = waker.clone();
            }
        }
        Poll::Pending
    }

    /// A queued checkout gives up: it leaves the queue, or gives back the slot it was
    /// granted and did not pick up.
    pub(crate) fn cancel(&mut self, ticket: Ticket) {
        if let Some(i) = self.granted.iter().position(|&k| k == ticket.key) {
            self.granted.swap_remove(i);
            self.release();
        } else if let Ok(i) = self.queue.binary_search_by_key(&ticket.key, |w| w.key) {
            self.queue.remove(i);
        }
    }

    /// Gives back a slot: to the oldest queued checkout if there is one.
    pub(crate) fn release(&mut self) {
        match self.queue.pop_front() {
            Some(next) => {
                self.granted.push(next.key);
                self.to_wake.push(next.waker);
            }
            None => self.held -= 1,
        }
    }

    /// Fails every queued checkout (the pool was cleared or closed).
    pub(crate) fn interrupt(&mut self) {
        self.epoch += 1;
        for waiter in self.queue.drain(..) {
            self.to_wake.push(waiter.waker);
        }
    }

    /// The checkouts to wake, once the lock is released.
    pub(crate) fn take_wakeups(&mut self) -> Wakeups {
        std::mem::take(&mut self.to_wake)
    }

    /// Free slots: `None` for an unbounded pool.
    pub(crate) fn free(&self) -> Option<usize> {
        self.max.map(|max| max.saturating_sub(self.held))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<Counter>, Waker) {
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        (counter.clone(), Waker::from(counter))
    }

    #[test]
    fn grants_in_fifo_order_and_newcomers_queue_behind() {
        let mut q = SlotQueue::new(1);
        let (_, w) = waker();
        assert!(q.try_take());
        assert!(!q.try_take());
        let first = q.enqueue(&w);
        let second = q.enqueue(&w);
        q.release();
        assert_eq!(q.take_wakeups().len(), 1);
        // The slot went to `first`: a newcomer may not take it, `second` still waits.
        assert!(!q.try_take());
        assert_eq!(q.poll(second, &w), Poll::Pending);
        assert_eq!(q.poll(first, &w), Poll::Ready(Ok(())));
        assert_eq!(q.free(), Some(0));
        q.release();
        assert_eq!(q.poll(second, &w), Poll::Ready(Ok(())));
        q.release();
        assert_eq!(q.free(), Some(1));
    }

    #[test]
    fn a_cancelled_grant_goes_to_the_next_in_line() {
        let mut q = SlotQueue::new(1);
        let (_, w) = waker();
        assert!(q.try_take());
        let first = q.enqueue(&w);
        let second = q.enqueue(&w);
        q.release();
        q.cancel(first);
        assert_eq!(q.poll(second, &w), Poll::Ready(Ok(())));
        q.cancel(second); // already picked up: nothing to give back twice
        q.release();
        assert_eq!(q.free(), Some(1));
    }

    #[test]
    fn interrupt_fails_every_queued_checkout_and_wakes_them() {
        let mut q = SlotQueue::new(1);
        let (counter, w) = waker();
        assert!(q.try_take());
        let a = q.enqueue(&w);
        let b = q.enqueue(&w);
        q.interrupt();
        q.take_wakeups().wake();
        assert_eq!(counter.0.load(Ordering::SeqCst), 2);
        assert_eq!(q.poll(a, &w), Poll::Ready(Err(Interrupted)));
        assert_eq!(q.poll(b, &w), Poll::Ready(Err(Interrupted)));
        // The queue is empty again: the slot, once released, is free for anyone.
        q.release();
        assert!(q.try_take());
    }

    #[test]
    fn unbounded_never_queues() {
        let mut q = SlotQueue::new(0);
        for _ in 0..1000 {
            assert!(q.try_take());
        }
        assert_eq!(q.free(), None);
    }
}
