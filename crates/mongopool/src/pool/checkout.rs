//! Checking out a connection: the spec's checkout algorithm, cancellation-safe.
//!
//! Every `.await` below is covered by something that owns what is half-done:
//! - the [`Attempt`] reports the checkout as failed (`Cancelled`) if it is dropped
//!   before it finishes, so every `ConnectionCheckOutStarted` has exactly one outcome;
//! - the [`Queued`] place in the slot queue (it gives back a grant that arrives too
//!   late), the [`Slot`], the [`HeadClaim`] and the head guard give themselves back;
//! - the pending connection is owned by its establishment task, and the [`Handoff`]
//!   takes back a connection that was delivered to a checkout that no longer listens.
//!
//! The fast path: a free slot (there is no queue for slots then) and nobody at the head
//! of the wait queue or queued for it ([`PoolState::enter`](super::state::PoolState::enter))
//! means this checkout is the head; it searches at once, in the same lock as it takes
//! the slot, without awaiting anything. A checkout that finds someone there queues
//! behind them, so the fast path never overtakes a waiter. A queued checkout receives
//! its slot in a cell of its own, usually with the connection checked in to free it,
//! and then takes no pool lock at all; granted a slot alone, it searches as the fast
//! path does.

use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::establish::{self, Established, Purpose};
use super::inner::PoolInner;
use super::pooled::PooledConnection;
use super::slots::{Grant, GrantCell, Interrupted};
use super::state::{ConnMeta, Entry, IdleConnection, NewConnection, Overload, Refusal, Search};
use super::wait_queue::{race, until_deadline, Interruption};
use super::waiters::WaiterTicket;
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
    /// Whether its success is counted already (under the state lock).
    counted: bool,
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

    fn overloaded(&mut self, counts: Overload) -> Error {
        let error = Error::new(ErrorKind::ExceededMaxWaiters {
            address: self.inner.address.to_string(),
            max_waiters: self.inner.options.max_waiters.unwrap_or(u32::MAX),
            waiters: counts.waiters,
            max_pool_size: self.inner.options.max_pool_size,
            in_use: counts.in_use,
            pending: counts.pending,
        });
        self.fail(
            CheckoutFailedReason::ExceededMaxWaiters,
            Some(error.clone()),
        );
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
                    // The load balancer spec's detailed message.
                    in_use: self
                        .inner
                        .options
                        .load_balanced
                        .then(|| self.inner.in_use_by_purpose()),
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
    fn checked_out_event(&self, id: u64) -> impl FnOnce(crate::ServerAddress) -> CmapEvent {
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
        conn: Box<C::Connection>,
        meta: ConnMeta,
        slot: Slot<'_, C>,
    ) -> PooledConnection<C::Connection> {
        self.finished = true;
        if !self.counted {
            self.inner.counters.checked_out(self.waited);
        }
        // The connection holds the slot now; its check-in releases it.
        slot.hand_over();
        PooledConnection::new(conn, meta, self.inner.clone())
    }
}

impl<C: Connector> Drop for Attempt<'_, C> {
    fn drop(&mut self) {
        if !self.finished {
            self.fail(CheckoutFailedReason::Cancelled, None);
        }
    }
}

/// A slot of the wait queue this checkout holds (once `held`, set in the same lock that
/// takes the slot, or as soon as a granted one is received): released on drop, unless
/// handed over to the checked-out connection. Made before the lock is taken, so that it
/// is released even if delivering the events that follow panics.
struct Slot<'a, C: Connector> {
    inner: &'a PoolInner<C>,
    held: bool,
}

impl<C: Connector> Slot<'_, C> {
    fn hand_over(mut self) {
        self.held = false;
    }
}

impl<C: Connector> Drop for Slot<'_, C> {
    fn drop(&mut self) {
        if self.held {
            self.inner.with_state(|st, _| st.slots.release());
        }
    }
}

/// This checkout's place in the queue for a slot: the cell its grant arrives in, until
/// it is received. Dropping it before that leaves the queue (the entry is skipped when
/// its turn comes); a grant delivered meanwhile is given back.
struct Queued<'a, C: Connector> {
    inner: &'a PoolInner<C>,
    cell: Option<Arc<GrantCell<IdleConnection<C::Connection>>>>,
}

impl<C: Connector> Queued<'_, C> {
    fn poll(
        &self,
        cx: &Context<'_>,
    ) -> Poll<Result<Grant<IdleConnection<C::Connection>>, Interrupted>> {
        match &self.cell {
            Some(cell) => cell.poll(cx),
            None => Poll::Ready(Err(Interrupted)),
        }
    }

    /// The grant is received: the cell goes back to be reused.
    fn received(&mut self) {
        if let Some(cell) = self.cell.take() {
            cell.recycle();
        }
    }
}

impl<C: Connector> Drop for Queued<'_, C> {
    fn drop(&mut self) {
        let Some(cell) = &self.cell else {
            return;
        };
        // Once abandoned, a grant is either here already or fails to be delivered (and
        // the granter gives it back itself).
        if let Some(grant) = cell.abandon() {
            let now = self.inner.idle_clock();
            self.inner
                .with_state(|st, ev| st.undeliverable(grant, now, ev));
        }
    }
}

/// How a checkout arrived: refused, with a slot (and, if nobody was at the head of the
/// queue, the outcome of its search), or queued for a slot.
enum Arrival<T> {
    Refused(Refusal),
    /// It would have had to wait, and `max_waiters` checkouts already were.
    Overloaded(Overload),
    Entered(Entry<T>),
    Queued(u32, Arc<GrantCell<IdleConnection<T>>>),
}

/// A checkout that has arrived: how, and its guards. Fields drop in this order, the
/// order in which the checkout's locals holding them drop (the reverse of the order
/// in which they are made).
struct Arrived<'a, C: Connector> {
    arrival: Arrival<C::Connection>,
    waiter: WaiterTicket<'a>,
    claim: HeadClaim<'a, C>,
    slot: Slot<'a, C>,
    lifecycle: tokio::sync::futures::Notified<'a>,
    attempt: Attempt<'a, C>,
}

/// Counts the checkout in `head_claims` while it is at the head of the wait queue or
/// queued for it (`held` is set and cleared in the locks that count and uncount it).
/// Uncounts on drop if the checkout gives up or is dropped while it is counted.
struct HeadClaim<'a, C: Connector> {
    inner: &'a PoolInner<C>,
    held: bool,
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
        let span = tracing::debug_span!(
            target: crate::spans::TARGET,
            "checkout",
            serverHost = tracing::field::Empty,
            serverPort = tracing::field::Empty,
            driverConnectionId = tracing::field::Empty,
            durationMS = tracing::field::Empty,
            outcome = tracing::field::Empty,
            failure = tracing::field::Empty,
        );
        if span.is_disabled() {
            return self.checkout_in_span().await;
        }
        let (host, port) = crate::spans::host_port(&self.address);
        span.record("serverHost", host.as_str());
        span.record("serverPort", port);
        let checkout = async {
            let conn = self.checkout_in_span().await?;
            tracing::Span::current().record("driverConnectionId", conn.id());
            Ok(conn)
        };
        crate::spans::run_in(span, checkout).await
    }

    async fn checkout_in_span(self: &Arc<Self>) -> Result<PooledConnection<C::Connection>> {
        // Boxed: waiting and establishing hold much across their awaits (timers,
        // notifications, a connection being handed over), and a future is copied whole
        // into every future that awaits it. A checkout settled on arrival needs no
        // await, so the common checkout stays a small future.
        let waiting = match self.settle_on_arrival() {
            Ok(settled) => return settled,
            Err(arrived) => Box::pin(self.checkout_waiting(arrived)),
        };
        waiting.await
    }

    /// Arrives, and finishes the checkout if that needs no wait: a connection found
    /// at once, or a refusal. Otherwise hands back the arrived checkout.
    #[allow(clippy::result_large_err)]
    fn settle_on_arrival(
        self: &Arc<Self>,
    ) -> std::result::Result<Result<PooledConnection<C::Connection>>, Arrived<'_, C>> {
        let arrived = self.arrive();
        // Moved out field by field, in the order they were made, so that they drop in
        // the reverse order as before.
        let mut attempt = arrived.attempt;
        let lifecycle = arrived.lifecycle;
        let slot = arrived.slot;
        let claim = arrived.claim;
        let waiter = arrived.waiter;
        match arrived.arrival {
            Arrival::Entered(Entry::Found(c)) => Ok(Ok(attempt.succeed(c.conn, c.meta, slot))),
            Arrival::Refused(refusal) | Arrival::Entered(Entry::Refused(refusal)) => {
                Ok(Err(attempt.refused(refusal)))
            }
            Arrival::Overloaded(counts) => Ok(Err(attempt.overloaded(counts))),
            arrival => Err(Arrived {
                arrival,
                waiter,
                claim,
                slot,
                lifecycle,
                attempt,
            }),
        }
    }

    /// A checkout's arrival: the `ConnectionCheckOutStarted` event, then, in one lock,
    /// admission, a slot (or a place in the queue for one) and, with a slot and nobody
    /// at the head of the wait queue, the search. No await.
    fn arrive(self: &Arc<Self>) -> Arrived<'_, C> {
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
            counted: false,
            finished: false,
        };

        // Created before the admission check: a clear or close after it wakes us (when
        // this checkout waits for the head of the queue or at it; the slot queue learns
        // of a clear or close by itself).
        let lifecycle = self.lifecycle.notified();

        let mut slot = Slot {
            inner: self,
            held: false,
        };
        let mut claim = HeadClaim {
            inner: self,
            held: false,
        };
        // Held from the moment this checkout must wait until it stops waiting.
        let mut waiter = WaiterTicket::new(&self.counters.waiters);
        let max_waiters = self.options.max_waiters;
        let now = self.idle_clock();
        let arrival = self.with_state(|st, ev| {
            let admitted = match st.admission() {
                Ok(generation) => generation,
                Err(refusal) => return Arrival::Refused(refusal),
            };
            if !st.slots.try_take() {
                if let Err(waiters) = waiter.admit(max_waiters) {
                    return Arrival::Overloaded(st.overload(waiters));
                }
                let cell = GrantCell::spare_or_new();
                st.slots.enqueue(cell.clone());
                return Arrival::Queued(admitted, cell);
            }
            slot.held = true;
            let entry = st.enter(admitted, &self.limits, now, ev);
            match &entry {
                Entry::Found(c) => {
                    st.found_at_once += 1;
                    attempt.counted = true;
                    ev.emit(attempt.checked_out_event(c.meta.id));
                }
                Entry::Queued(_) => {
                    if let Err(waiters) = waiter.admit(max_waiters) {
                        // It must not wait: leave the head's queue and the slot (nobody
                        // is queued for it, or this checkout would not have taken it).
                        st.release_head_claim();
                        st.slots.release();
                        slot.held = false;
                        return Arrival::Overloaded(st.overload(waiters));
                    }
                    claim.held = true;
                }
                Entry::Create(_) | Entry::Refused(_) => {}
            }
            Arrival::Entered(entry)
        });
        Arrived {
            attempt,
            lifecycle,
            slot,
            claim,
            waiter,
            arrival,
        }
    }

    /// The rest of a checkout that did not settle on arrival: it waits for a slot, for
    /// the head of the wait queue or for a connection, or establishes one.
    async fn checkout_waiting(
        self: &Arc<Self>,
        arrived: Arrived<'_, C>,
    ) -> Result<PooledConnection<C::Connection>> {
        let mut attempt = arrived.attempt;
        let lifecycle = arrived.lifecycle;
        tokio::pin!(lifecycle);
        let mut slot = arrived.slot;
        let mut claim = arrived.claim;
        let waiter = arrived.waiter;
        let arrival = arrived.arrival;

        let entry = match arrival {
            Arrival::Refused(refusal) => return Err(attempt.refused(refusal)),
            Arrival::Overloaded(counts) => return Err(attempt.overloaded(counts)),
            Arrival::Entered(entry) => entry,
            Arrival::Queued(admitted, cell) => {
                let mut queued = Queued {
                    inner: self,
                    cell: Some(cell),
                };
                attempt.waited = true;
                let deadline = attempt.deadline();
                let received = poll_fn(|cx| queued.poll(cx));
                let grant = match until_deadline(received, deadline).await {
                    Ok(Ok(grant)) => grant,
                    // The pool was cleared or closed: it emptied the queue.
                    Ok(Err(Interrupted)) => {
                        return Err(attempt.interrupted(Interruption::Lifecycle))
                    }
                    Err(why) => return Err(attempt.interrupted(why)),
                };
                queued.received();
                slot.held = true;
                match grant {
                    // The check-in made sure the connection was of this generation and
                    // not interrupted; only a clear since could have interrupted it.
                    Grant::With(c) if self.still_current(admitted) => {
                        self.events.emit(attempt.checked_out_event(c.meta.id));
                        self.events.flush();
                        return Ok(attempt.succeed(c.conn, c.meta, slot));
                    }
                    grant => {
                        // A slot alone, or a connection a clear overtook (it goes back):
                        // look as the fast path does.
                        let now = self.idle_clock();
                        self.with_state(|st, ev| {
                            if let Grant::With(c) = grant {
                                st.give_back(c, now, ev);
                            }
                            let entry = st.enter(admitted, &self.limits, now, ev);
                            match &entry {
                                Entry::Found(c) => ev.emit(attempt.checked_out_event(c.meta.id)),
                                Entry::Queued(_) => claim.held = true,
                                Entry::Create(_) | Entry::Refused(_) => {}
                            }
                            entry
                        })
                    }
                }
            }
        };

        let admitted = match entry {
            Entry::Found(c) => return Ok(attempt.succeed(c.conn, c.meta, slot)),
            Entry::Create(new) => {
                drop(waiter);
                return self.establish_for(attempt, new, slot).await;
            }
            Entry::Refused(refusal) => return Err(attempt.refused(refusal)),
            Entry::Queued(admitted) => admitted,
        };

        let head = match self.wait_queue.try_head() {
            Some(head) => head,
            None => {
                attempt.waited = true;
                let deadline = attempt.deadline();
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
                if !matches!(found, Search::Wait) {
                    st.release_head_claim();
                    claim.held = false;
                }
                if let Search::Found(c) = &found {
                    ev.emit(attempt.checked_out_event(c.meta.id));
                }
                found
            });
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
                    if let Err(why) = race(available, deadline, lifecycle.as_mut()).await {
                        return Err(attempt.interrupted(why));
                    }
                }
            }
        };
        // Establishing is not waiting in the queue: let the next checkout look.
        drop(head);
        drop(waiter);
        self.establish_for(attempt, new, slot).await
    }

    /// Establishes `new` on a task of its own and hands it to this checkout.
    async fn establish_for(
        self: &Arc<Self>,
        mut attempt: Attempt<'_, C>,
        new: NewConnection,
        slot: Slot<'_, C>,
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
