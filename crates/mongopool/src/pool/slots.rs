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
//! queued checkout waits on a [`GrantCell`] of its own, so receiving its grant takes no
//! pool lock, and a clear or close fails every queued checkout through their cells. A
//! checkout that gives up marks its cell abandoned: its entry is skipped when its turn
//! comes (and swept out now and then), so leaving the queue takes no pool lock either.
//! Cells are reused (one spare per thread), so queueing allocates nothing once warm.

use std::any::Any;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::lock;
use super::model_hooks::sync_point;

/// What a queued checkout receives: a slot, or a slot and a connection handed over with
/// it (counted in use already).
#[derive(Debug)]
pub(crate) enum Grant<G> {
    Slot,
    With(G),
}

/// Why a queued checkout left the queue without a slot: the pool was cleared or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Interrupted;

thread_local! {
    /// A cell the last checkout on this thread is done with, for the next one to reuse.
    static SPARE_CELL: RefCell<Option<Arc<dyn Any + Send + Sync>>> = const { RefCell::new(None) };
}

/// Where one queued checkout receives its grant (or learns the queue was interrupted):
/// a oneshot channel that can be reused.
pub(crate) struct GrantCell<G> {
    state: Mutex<CellState<G>>,
    /// Set (also under the lock) when the checkout gives up; read without the lock to
    /// skip its entry.
    abandoned: AtomicBool,
}

struct CellState<G> {
    grant: Option<Grant<G>>,
    interrupted: bool,
    abandoned: bool,
    waker: Option<Waker>,
}

impl<G: Send + 'static> GrantCell<G> {
    /// A fresh cell: this thread's spare if it has one of this type, else a new one.
    pub(crate) fn spare_or_new() -> Arc<Self> {
        // `try_with`: during thread teardown there is no spare, and no panic either.
        SPARE_CELL
            .try_with(|spare| spare.borrow_mut().take())
            .ok()
            .flatten()
            .and_then(|cell| cell.downcast::<Self>().ok())
            .unwrap_or_else(|| {
                Arc::new(GrantCell {
                    state: Mutex::new(CellState {
                        grant: None,
                        interrupted: false,
                        abandoned: false,
                        waker: None,
                    }),
                    abandoned: AtomicBool::new(false),
                })
            })
    }

    /// The receiving checkout is done with the cell: keep it as this thread's spare if
    /// nothing else refers to it any more (the queue and the granter let go of it).
    pub(crate) fn recycle(self: Arc<Self>) {
        if Arc::strong_count(&self) != 1 {
            return;
        }
        {
            sync_point();
            let mut st = lock(&self.state);
            st.grant = None;
            st.interrupted = false;
            st.abandoned = false;
            st.waker = None;
        }
        self.abandoned.store(false, Ordering::Relaxed);
        let _ = SPARE_CELL.try_with(|spare| *spare.borrow_mut() = Some(self));
    }
}

impl<G> GrantCell<G> {
    /// The grant, if it came; `Err` if the queue was interrupted; otherwise waits.
    pub(crate) fn poll(&self, cx: &Context<'_>) -> Poll<Result<Grant<G>, Interrupted>> {
        sync_point();
        let mut st = lock(&self.state);
        if let Some(grant) = st.grant.take() {
            return Poll::Ready(Ok(grant));
        }
        if st.interrupted {
            return Poll::Ready(Err(Interrupted));
        }
        match &st.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => st.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The checkout gives up; returns what was delivered and not received (the caller
    /// gives it back).
    pub(crate) fn abandon(&self) -> Option<Grant<G>> {
        sync_point();
        let mut st = lock(&self.state);
        st.abandoned = true;
        self.abandoned.store(true, Ordering::Relaxed);
        st.waker = None;
        st.grant.take()
    }

    fn is_abandoned(&self) -> bool {
        self.abandoned.load(Ordering::Relaxed)
    }

    /// Delivers `grant` (`Err` with it if the checkout gave up meanwhile); the caller
    /// wakes the checkout with the waker returned, after letting go of the cell, so that
    /// the checkout finds itself its only holder and can reuse it.
    fn deliver(&self, grant: Grant<G>) -> Result<Option<Waker>, Grant<G>> {
        sync_point();
        let mut st = lock(&self.state);
        if st.abandoned {
            return Err(grant);
        }
        st.grant = Some(grant);
        Ok(st.waker.take())
    }

    /// Fails the checkout; wake it as for [`GrantCell::deliver`].
    fn interrupt(&self) -> Option<Waker> {
        sync_point();
        let mut st = lock(&self.state);
        st.interrupted = true;
        st.waker.take()
    }
}

/// A queued checkout's cell.
pub(crate) type GrantSender<G> = Arc<GrantCell<G>>;

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

/// Grants to send (`None`: the queue was interrupted) once the pool's lock is released.
/// A check-in sends one, so the first needs no allocation.
pub(crate) struct Outbox<G> {
    first: Option<(GrantSender<G>, Option<Grant<G>>)>,
    rest: Vec<(GrantSender<G>, Option<Grant<G>>)>,
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
    fn push(&mut self, tx: GrantSender<G>, grant: Option<Grant<G>>) {
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
            let waker = match grant {
                Some(grant) => match tx.deliver(grant) {
                    Ok(waker) => waker,
                    Err(grant) => {
                        undeliverable(grant);
                        None
                    }
                },
                None => tx.interrupt(),
            };
            drop(tx);
            if let Some(waker) = waker {
                waker.wake();
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
            self.queue.retain(|tx| !tx.is_abandoned());
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
            if !tx.is_abandoned() {
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
            Some(tx) => self.outbox.push(tx, Some(Grant::Slot)),
            None => self.held -= 1,
        }
    }

    /// Gives back a slot together with `gift`, to the oldest queued checkout; `Err` with
    /// the gift (and the slot still held) if nobody is queued.
    pub(crate) fn hand_over(&mut self, gift: G) -> Result<(), G> {
        match self.next_in_line() {
            Some(tx) => {
                self.outbox.push(tx, Some(Grant::With(gift)));
                Ok(())
            }
            None => Err(gift),
        }
    }

    /// Fails every queued checkout (the pool was cleared or closed).
    pub(crate) fn interrupt(&mut self) {
        for tx in std::mem::take(&mut self.queue) {
            self.outbox.push(tx, None);
        }
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
    use std::task::Waker;

    fn cx() -> Context<'static> {
        Context::from_waker(Waker::noop())
    }

    /// Sends the grants made so far; the undeliverable ones.
    fn sent(q: &mut SlotQueue<u32>) -> Vec<Grant<u32>> {
        let mut returned = Vec::new();
        q.take_outbox().send(|g| returned.push(g));
        returned
    }

    fn queued(q: &mut SlotQueue<u32>) -> Arc<GrantCell<u32>> {
        let cell = GrantCell::spare_or_new();
        q.enqueue(cell.clone());
        cell
    }

    #[test]
    fn grants_in_fifo_order_and_newcomers_queue_behind() {
        let mut q = SlotQueue::new(1);
        assert!(q.try_take());
        assert!(!q.try_take());
        let first = queued(&mut q);
        let second = queued(&mut q);
        q.release();
        assert!(sent(&mut q).is_empty());
        // The slot went to `first`: a newcomer may not take it, `second` still waits.
        assert!(!q.try_take());
        assert!(matches!(first.poll(&cx()), Poll::Ready(Ok(Grant::Slot))));
        assert!(second.poll(&cx()).is_pending());
        assert_eq!(q.free(), Some(0));
        assert_eq!(q.hand_over(7), Ok(()));
        assert!(sent(&mut q).is_empty());
        assert!(matches!(
            second.poll(&cx()),
            Poll::Ready(Ok(Grant::With(7)))
        ));
        assert_eq!(q.hand_over(8), Err(8));
        q.release();
        assert_eq!(q.free(), Some(1));
    }

    #[test]
    fn a_checkout_that_gave_up_is_skipped_and_a_late_one_returns_its_grant() {
        let mut q = SlotQueue::new(1);
        assert!(q.try_take());
        assert!(queued(&mut q).abandon().is_none());
        let late = queued(&mut q);
        let third = queued(&mut q);
        q.release();
        assert!(late.abandon().is_none()); // gives up after it was chosen, before delivery
        let returned = sent(&mut q);
        assert!(matches!(returned.as_slice(), [Grant::Slot]));
        // The caller gives the slot back: it goes to the next in line.
        q.release();
        assert!(sent(&mut q).is_empty());
        assert!(matches!(third.poll(&cx()), Poll::Ready(Ok(Grant::Slot))));
        q.release();
        assert_eq!(q.free(), Some(1));
    }

    #[test]
    fn a_grant_delivered_before_giving_up_comes_back() {
        let mut q = SlotQueue::new(1);
        assert!(q.try_take());
        let cell = queued(&mut q);
        assert_eq!(q.hand_over(3), Ok(()));
        assert!(sent(&mut q).is_empty());
        assert!(matches!(cell.abandon(), Some(Grant::With(3))));
    }

    #[test]
    fn interrupt_fails_every_queued_checkout() {
        let mut q = SlotQueue::new(1);
        assert!(q.try_take());
        let a = queued(&mut q);
        let b = queued(&mut q);
        q.interrupt();
        assert!(sent(&mut q).is_empty());
        assert!(matches!(a.poll(&cx()), Poll::Ready(Err(Interrupted))));
        assert!(matches!(b.poll(&cx()), Poll::Ready(Err(Interrupted))));
        // The queue is empty again: the slot, once released, is free for anyone.
        q.release();
        assert!(q.try_take());
    }

    #[test]
    fn checkouts_that_gave_up_do_not_pile_up() {
        let mut q = SlotQueue::new(1);
        assert!(q.try_take());
        for _ in 0..10_000 {
            queued(&mut q).abandon();
        }
        assert!(q.queue.len() <= 32, "{} entries left", q.queue.len());
    }

    #[test]
    fn cells_are_reused_once_nothing_else_holds_them() {
        let cell = GrantCell::<u32>::spare_or_new();
        let held = cell.clone();
        let addr = Arc::as_ptr(&cell);
        cell.recycle(); // still held elsewhere: not kept
        assert_ne!(Arc::as_ptr(&GrantCell::<u32>::spare_or_new()), addr);
        assert!(held.abandon().is_none());
        held.recycle();
        let again = GrantCell::<u32>::spare_or_new();
        assert_eq!(Arc::as_ptr(&again), addr);
        // Reset: it waits again.
        assert!(again.poll(&cx()).is_pending());
        assert!(!again.is_abandoned());
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
