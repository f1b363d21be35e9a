//! Checking out a connection: the spec's checkout algorithm, cancellation-safe.
//!
//! Every `.await` below is covered by something that owns what is half-done:
//! - the [`Attempt`] reports the checkout as failed (`Cancelled`) if it is dropped
//!   before it finishes, so every `ConnectionCheckOutStarted` has exactly one outcome;
//! - the [`Slot`](super::wait_queue::Slot), the [`HeadClaim`] and the head guard release
//!   themselves;
//! - the pending connection is owned by its establishment task, and the [`Handoff`]
//!   takes back a connection that was delivered to a checkout that no longer listens.
//!
//! The fast path: a free slot (the semaphore has no queue then) and nobody at the head
//! of the wait queue or queued for it ([`PoolState::enter`](super::state::PoolState::enter))
//! means this checkout is the head; it searches at once, under one lock, without
//! awaiting anything. A checkout that finds someone there queues behind them, so the
//! fast path never overtakes a waiter.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::establish::{self, Established, Purpose};
use super::inner::PoolInner;
use super::pooled::PooledConnection;
use super::state::{ConnMeta, Entry, NewConnection, Refusal, Search};
use super::wait_queue::{race, Interruption, Slot};
use super::Connector;
use crate::error::{Error, ErrorKind, Result};
use crate::events::{
    CheckoutFailedReason, CmapEvent, ConnectionCheckOutFailedEvent, ConnectionCheckOutStartedEvent,
    ConnectionCheckedOutEvent,
};

/// One checkout, from `ConnectionCheckOutStarted` to its single outcome event.
struct Attempt<'a, C: Connector> {
    inner: &'a Arc<PoolInner<C>>,
    /// When the checkout started. The clock is read at once only if someone listens to
    /// events (their durations); otherwise when the checkout first has to wait (for the
    /// wait queue deadline), with no await in between, so at the same instant.
    started: Option<Instant>,
    /// Whether the checkout had to wait in the wait queue.
    waited: bool,
    finished: bool,
}

impl<C: Connector> Attempt<'_, C> {
    fn started(&mut self) -> Instant {
        *self.started.get_or_insert_with(Instant::now)
    }

    /// The wait queue deadline; called before every wait.
    fn deadline(&mut self) -> Option<Instant> {
        let timeout = self.inner.options.wait_queue_timeout?;
        Some(self.started() + timeout)
    }

    fn elapsed(started: Option<Instant>) -> Duration {
        started.map_or(Duration::ZERO, |s| s.elapsed())
    }

    fn fail(&mut self, reason: CheckoutFailedReason, error: Option<Error>) {
        self.finished = true;
        self.inner.counters.failed(reason);
        let started = self.started;
        let events = &self.inner.events;
        events.emit(|address| {
            CmapEvent::ConnectionCheckOutFailed(ConnectionCheckOutFailedEvent {
                address,
                reason,
                error,
                duration: Self::elapsed(started),
            })
        });
        events.flush();
    }

    fn refused(&mut self, refusal: Refusal) -> Error {
        let error = self.inner.refusal_error(refusal);
        let reason = match refusal {
            Refusal::Closed => CheckoutFailedReason::PoolClosed,
            Refusal::Cleared => CheckoutFailedReason::ConnectionError,
        };
        self.fail(reason, Some(error.clone()));
        error
    }

    fn interrupted(&mut self, why: Interruption) -> Error {
        match why {
            Interruption::Lifecycle => self.refused(self.inner.current_refusal()),
            Interruption::Timeout => {
                let waited = self.started().elapsed();
                let error = Error::new(ErrorKind::WaitQueueTimeout {
                    address: self.inner.address.to_string(),
                    waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                });
                self.fail(CheckoutFailedReason::Timeout, Some(error.clone()));
                error
            }
        }
    }

    fn connection_error(&mut self, error: Error) -> Error {
        self.fail(CheckoutFailedReason::ConnectionError, Some(error.clone()));
        error
    }

    /// The `ConnectionCheckedOut` event; for available connections it is emitted under
    /// the state lock, together with taking the connection.
    fn checked_out_event(&self, id: u32) -> impl FnOnce(crate::ServerAddress) -> CmapEvent {
        let started = self.started;
        move |address| {
            CmapEvent::ConnectionCheckedOut(ConnectionCheckedOutEvent {
                address,
                connection_id: id,
                duration: Self::elapsed(started),
            })
        }
    }

    fn succeed(
        &mut self,
        conn: C::Connection,
        meta: ConnMeta,
        slot: Slot<'_>,
    ) -> PooledConnection<C::Connection> {
        self.finished = true;
        self.inner.counters.checked_out(self.waited);
        let holds_slot = slot.detach();
        PooledConnection::new(conn, meta, self.inner.clone(), holds_slot)
    }
}

impl<C: Connector> Drop for Attempt<'_, C> {
    fn drop(&mut self) {
        if !self.finished {
            self.fail(CheckoutFailedReason::Cancelled, None);
        }
    }
}

/// Counts the checkout in `head_claims` while it is at the head of the wait queue or
/// queued for it. Taken back under the lock when the checkout's search ends (then
/// [`HeadClaim::disarm`]ed), or on drop if the checkout gives up or is dropped.
struct HeadClaim<'a, C: Connector> {
    inner: &'a PoolInner<C>,
    held: bool,
}

impl<C: Connector> HeadClaim<'_, C> {
    fn disarm(&mut self) {
        self.held = false;
    }
}

impl<C: Connector> Drop for HeadClaim<'_, C> {
    fn drop(&mut self) {
        if self.held {
            self.inner.with_state(|st, _| st.release_head_claim());
        }
    }
}

/// Receives the connection established for this checkout; if dropped after the
/// connection was sent but before it was received, gives it back to the pool.
struct Handoff<'a, C: Connector> {
    inner: &'a PoolInner<C>,
    rx: oneshot::Receiver<Result<Established<C::Connection>>>,
}

impl<C: Connector> Drop for Handoff<'_, C> {
    fn drop(&mut self) {
        // After `close`, the sender either already sent (we take it here) or will find
        // the channel closed and return the connection itself.
        self.rx.close();
        if let Ok(Ok(orphan)) = self.rx.try_recv() {
            self.inner.return_orphan(orphan);
        }
    }
}

impl<C: Connector> PoolInner<C> {
    pub(crate) async fn checkout(self: &Arc<Self>) -> Result<PooledConnection<C::Connection>> {
        self.ensure_maintenance();
        let started = self.events.enabled().then(Instant::now);
        self.events.emit(|address| {
            CmapEvent::ConnectionCheckOutStarted(ConnectionCheckOutStartedEvent { address })
        });
        self.events.flush();
        let mut attempt = Attempt {
            inner: self,
            started,
            waited: false,
            finished: false,
        };

        // Created before the admission check: a clear or close after it wakes us.
        let lifecycle = self.lifecycle.notified();
        tokio::pin!(lifecycle);

        let (slot, admitted) = match self.wait_queue.try_slot() {
            Some(slot) => (slot, None),
            None => {
                // A paused or closed pool refuses at once rather than after the wait.
                let admitted = match self.with_state(|st, _| st.admission()) {
                    Ok(generation) => generation,
                    Err(refusal) => return Err(attempt.refused(refusal)),
                };
                attempt.waited = true;
                let deadline = attempt.deadline();
                let _waiting = self.counters.waiting();
                match race(self.wait_queue.slot(), deadline, lifecycle.as_mut()).await {
                    Ok(Some(slot)) => (slot, Some(admitted)),
                    Ok(None) => return Err(attempt.refused(Refusal::Closed)),
                    Err(why) => return Err(attempt.interrupted(why)),
                }
            }
        };

        let now = self.idle_clock();
        let entry = self.with_state(|st, ev| {
            let entry = st.enter(admitted, &self.limits, now, ev);
            if let Entry::Found(c) = &entry {
                ev.emit(attempt.checked_out_event(c.meta.id));
            }
            entry
        });
        let admitted = match entry {
            Entry::Found(c) => return Ok(attempt.succeed(c.conn, c.meta, slot)),
            Entry::Create(new) => return self.establish_for(attempt, new, slot).await,
            Entry::Refused(refusal) => return Err(attempt.refused(refusal)),
            Entry::Queued(admitted) => admitted,
        };
        let mut claim = HeadClaim {
            inner: self,
            held: true,
        };

        let head = match self.wait_queue.try_head() {
            Some(head) => head,
            None => {
                attempt.waited = true;
                let deadline = attempt.deadline();
                let _waiting = self.counters.waiting();
                match race(self.wait_queue.head(), deadline, lifecycle.as_mut()).await {
                    Ok(head) => head,
                    Err(why) => return Err(attempt.interrupted(why)),
                }
            }
        };

        let new = loop {
            // Created before the search: a change right after it wakes us.
            let available = self.availability.notified();
            let now = self.idle_clock();
            let found = self.with_state(|st, ev| {
                let found = st.search(admitted, &self.limits, now, ev);
                match &found {
                    Search::Wait => {}
                    Search::Found(c) => {
                        ev.emit(attempt.checked_out_event(c.meta.id));
                        st.release_head_claim();
                    }
                    Search::Create(_) | Search::Refused(_) => st.release_head_claim(),
                }
                found
            });
            if !matches!(found, Search::Wait) {
                claim.disarm();
            }
            match found {
                Search::Found(c) => {
                    drop(head);
                    return Ok(attempt.succeed(c.conn, c.meta, slot));
                }
                Search::Create(new) => break new,
                Search::Refused(refusal) => return Err(attempt.refused(refusal)),
                Search::Wait => {
                    attempt.waited = true;
                    let deadline = attempt.deadline();
                    let _waiting = self.counters.waiting();
                    if let Err(why) = race(available, deadline, lifecycle.as_mut()).await {
                        return Err(attempt.interrupted(why));
                    }
                }
            }
        };
        // Establishing is not waiting in the queue: let the next checkout look.
        drop(head);
        self.establish_for(attempt, new, slot).await
    }

    /// Establishes `new` on a task of its own and hands it to this checkout.
    async fn establish_for(
        self: &Arc<Self>,
        mut attempt: Attempt<'_, C>,
        new: NewConnection,
        slot: Slot<'_>,
    ) -> Result<PooledConnection<C::Connection>> {
        let (tx, rx) = oneshot::channel();
        establish::spawn(self.clone(), new, Purpose::Checkout(tx));
        let mut handoff = Handoff { inner: self, rx };
        match (&mut handoff.rx).await {
            Ok(Ok(established)) if established.meta.interrupt.is_interrupted() => {
                // Interrupted by a clear between its establishment and now.
                self.return_orphan(established);
                Err(attempt.connection_error(establish::interrupted_error(self)))
            }
            Ok(Ok(Established { conn, meta })) => {
                self.events.emit(attempt.checked_out_event(meta.id));
                self.events.flush();
                Ok(attempt.succeed(conn, meta, slot))
            }
            Ok(Err(error)) => Err(attempt.connection_error(error)),
            Err(_) => Err(attempt.connection_error(Error::connection(format!(
                "establishing a connection to {} ended without a result",
                self.address
            )))),
        }
    }
}
