//! The slots of the wait queue: `max_pool_size` of them, handed out in FIFO order.
//!
//! A slot is held by every checkout from the moment it enters the pool until its
//! connection is checked in (or the checkout fails). Available connections hold no slot,
//! so a check-in hands the slot to the oldest queued checkout; when nobody is at the
//! head of the queue, the connection goes with it (that checkout would have found it
//! first: it is the most recently used).
//!
//! This is a fair semaphore kept under the pool's state lock rather than a
//! `tokio::sync::Semaphore` beside it: taking a slot and looking for a connection is one
//! lock, and a check-in grants the slot (and the connection) in its own lock. Each
//! queued checkout waits on a oneshot channel, so receiving its grant takes no lock at
//! all, and a clear or close fails every queued checkout by dropping their senders.
//! A checkout that gives up just drops its receiver: its entry is skipped when its turn
//! comes (and swept out now and then), so leaving the queue takes no lock either.

use std::collections::VecDeque;

use tokio::sync::oneshot;

/// What a queued checkout receives: a slot, or a slot and a connection handed over with
/// it (counted in use already).
#[derive(Debug)]
pub(crate) enum Grant<G> {
    Slot,
    With(G),
}

/// The sending half of a queued checkout's channel.
pub(crate) type GrantSender<G> = oneshot::Sender<Grant<G>>;

pub(crate) struct SlotQueue<G> {
    /// `None` for an unbounded pool.
    max: Option<usize>,
    /// Slots held, including the ones granted and not received yet.
    held: usize,
    /// Oldest first; includes checkouts that gave up (their receiver is gone).
    queue: VecDeque<GrantSender<G>>,
    /// The queue's length after the last sweep of checkouts that gave up.
    swept_len: usize,
    /// Grants to send once the lock is released.
    outbox: Outbox<G>,
}

/// Grants to send once the pool's lock is released. A check-in sends one, so the first
/// needs no allocation.
pub(crate) struct Outbox<G> {
    first: Option<(GrantSender<G>, Grant<G>)>,
    rest: Vec<(GrantSender<G>, Grant<G>)>,
}

impl<G> Default for Outbox<G> {
    fn default() -> Self {
        Outbox {
            first: None,
            rest: Vec::new(),
        }
    }
}

impl<G> Outbox<G> {
    fn push(&mut self, tx: GrantSender<G>, grant: Grant<G>) {
        if self.first.is_none() {
            self.first = Some((tx, grant));
        } else {
            self.rest.push((tx, grant));
        }
    }

    /// Sends every grant; hands the ones whose checkout gave up meanwhile to
    /// `undeliverable` (which gives them back).
    pub(crate) fn send(self, mut undeliverable: impl FnMut(Grant<G>)) {
        let Some((tx, grant)) = self.first else {
            return;
        };
        for (tx, grant) in std::iter::once((tx, grant)).chain(self.rest) {
            if let Err(grant) = tx.send(grant) {
                undeliverable(grant);
            }
        }
    }
}

impl<G> SlotQueue<G> {
    pub(crate) fn new(max_pool_size: u32) -> Self {
        SlotQueue {
            max: (max_pool_size != 0).then_some(max_pool_size as usize),
            held: 0,
            queue: VecDeque::new(),
            swept_len: 0,
            outbox: Outbox::default(),
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

    /// Queues a checkout for a slot: it will receive its grant on `tx`, or see `tx`
    /// dropped if the queue is interrupted.
    pub(crate) fn enqueue(&mut self, tx: GrantSender<G>) {
        // Checkouts that gave up stay queued until their turn: sweep them out whenever
        // the queue has doubled since the last sweep, so they cannot pile up.
        if self.queue.len() >= 2 * self.swept_len.max(16) {
            self.queue.retain(|tx| !tx.is_closed());
            self.swept_len = self.queue.len();
        }
        self.queue.push_back(tx);
    }

    /// Whether some checkout may be queued (possibly one that gave up).
    pub(crate) fn has_queued(&self) -> bool {
        !self.queue.is_empty()
    }

    /// The oldest queued checkout that still listens.
    fn next_in_line(&mut self) -> Option<GrantSender<G>> {
        while let Some(tx) = self.queue.pop_front() {
            if !tx.is_closed() {
                self.swept_len = self.swept_len.min(self.queue.len());
                return Some(tx);
            }
        }
        self.swept_len = 0;
        None
    }

    /// Gives back a slot: to the oldest queued checkout if there is one.
    pub(crate) fn release(&mut self) {
        match self.next_in_line() {
            Some(tx) => self.outbox.push(tx, Grant::Slot),
            None => self.held -= 1,
        }
    }

    /// Gives back a slot together with `gift`, to the oldest queued checkout; `Err` with
    /// the gift (and the slot still held) if nobody is queued.
    pub(crate) fn hand_over(&mut self, gift: G) -> Result<(), G> {
        match self.next_in_line() {
            Some(tx) => {
                self.outbox.push(tx, Grant::With(gift));
                Ok(())
            }
            None => Err(gift),
        }
    }

    /// Fails every queued checkout (the pool was cleared or closed).
    pub(crate) fn interrupt(&mut self) {
        self.queue.clear();
        self.swept_len = 0;
    }

    /// The grants to send, once the lock is released.
    pub(crate) fn take_outbox(&mut self) -> Outbox<G> {
        std::mem::take(&mut self.outbox)
    }

    /// Free slots: `None` for an unbounded pool.
    pub(crate) fn free(&self) -> Option<usize> {
        self.max.map(|max| max.saturating_sub(self.held))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends the grants made so far; the undeliverable ones.
    fn sent(q: &mut SlotQueue<u32>) -> Vec<Grant<u32>> {
        let mut returned = Vec::new();
        q.take_outbox().send(|g| returned.push(g));
        returned
    }

    fn queued(q: &mut SlotQueue<u32>) -> oneshot::Receiver<Grant<u32>> {
        let (tx, rx) = oneshot::channel();
        q.enqueue(tx);
        rx
    }

    #[test]
    fn grants_in_fifo_order_and_newcomers_queue_behind() {
        let mut q = SlotQueue::new(1);
        assert!(q.try_take());
        assert!(!q.try_take());
        let mut first = queued(&mut q);
        let mut second = queued(&mut q);
        q.release();
        assert!(sent(&mut q).is_empty());
        // The slot went to `first`: a newcomer may not take it, `second` still waits.
        assert!(!q.try_take());
        assert!(matches!(first.try_recv(), Ok(Grant::Slot)));
        assert!(second.try_recv().is_err());
        assert_eq!(q.free(), Some(0));
        assert_eq!(q.hand_over(7), Ok(()));
        assert!(sent(&mut q).is_empty());
        assert!(matches!(second.try_recv(), Ok(Grant::With(7))));
        assert_eq!(q.hand_over(8), Err(8));
        q.release();
        assert_eq!(q.free(), Some(1));
    }

    #[test]
    fn a_checkout_that_gave_up_is_skipped_and_a_late_one_returns_its_grant() {
        let mut q = SlotQueue::new(1);
        assert!(q.try_take());
        drop(queued(&mut q));
        let late = queued(&mut q);
        let mut third = queued(&mut q);
        q.release();
        drop(late); // gives up after it was chosen, before the grant is sent
        let returned = sent(&mut q);
        assert!(matches!(returned.as_slice(), [Grant::Slot]));
        // The caller gives the slot back: it goes to the next in line.
        q.release();
        assert!(sent(&mut q).is_empty());
        assert!(matches!(third.try_recv(), Ok(Grant::Slot)));
        q.release();
        assert_eq!(q.free(), Some(1));
    }

    #[test]
    fn interrupt_fails_every_queued_checkout() {
        let mut q = SlotQueue::new(1);
        assert!(q.try_take());
        let mut a = queued(&mut q);
        let mut b = queued(&mut q);
        q.interrupt();
        assert!(matches!(
            a.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        ));
        assert!(matches!(
            b.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        ));
        // The queue is empty again: the slot, once released, is free for anyone.
        q.release();
        assert!(q.try_take());
    }

    #[test]
    fn checkouts_that_gave_up_do_not_pile_up() {
        let mut q = SlotQueue::new(1);
        assert!(q.try_take());
        for _ in 0..10_000 {
            drop(queued(&mut q));
        }
        assert!(q.queue.len() <= 32, "{} entries left", q.queue.len());
    }

    #[test]
    fn unbounded_never_queues() {
        let mut q = SlotQueue::<u32>::new(0);
        for _ in 0..1000 {
            assert!(q.try_take());
        }
        assert_eq!(q.free(), None);
    }
}
