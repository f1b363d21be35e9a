//! What the pool knows, behind its one `std::sync::Mutex`: phase, generation, the
//! available connections, the counts, and the registry of connections that are pending
//! or in use (so a clear can interrupt them).
//!
//! Everything here is synchronous and quick; the lock is never held across an `.await`.
//! Events are queued here, in the order the state changes, and delivered after the lock
//! is released (see `event_sink`).
//!
//! The hot path (take an available connection, give it back) touches only the deque of
//! available connections and the counts: the registry is keyed by id and written only
//! when a connection is created, established or closed.

mod check_in;
mod closing;
mod registry;

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use bson::oid::ObjectId;
use tokio::time::Instant;

use super::event_sink::EventSink;
use super::interrupt::InterruptSignal;
use super::purpose::CheckoutPurpose;
use super::slots::SlotQueue;
use super::stats::ClosedCounts;
use super::Poolable;
use crate::error::Error;
use crate::events::{
    CmapEvent, ConnectionClosedEvent, ConnectionClosedReason, ConnectionCreatedEvent,
};
use registry::{Live, Registry, Service};

/// The pool's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Initial state and state after a clear: checkouts fail, nothing is created.
    Paused,
    /// Serving checkouts and keeping `min_pool_size`.
    Ready,
    /// Final.
    Closed,
}

/// Why the pool refuses a checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Closed,
    Cleared,
}

/// The pool's counts when it refused a checkout for want of room in the wait queue.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Overload {
    pub(crate) waiters: u32,
    pub(crate) in_use: u32,
    pub(crate) pending: u32,
}

/// What travels with a connection for its whole life in the pool.
#[derive(Debug, Clone)]
pub(crate) struct ConnMeta {
    pub(crate) id: u64,
    /// The pool's generation, or in load-balanced mode its service's (once established).
    pub(crate) generation: u32,
    /// What a checked-out connection is used for; `Operation` whenever it is not
    /// checked out. Here rather than in the guard: it fills this struct's padding,
    /// so the guard (moved through every future of a checkout) has no loose byte,
    /// whose copy compilers split into overlapping moves that stall.
    pub(crate) purpose: CheckoutPurpose,
    pub(crate) interrupt: InterruptSignal,
}

/// A connection that was created and is about to be established.
#[derive(Debug)]
pub(crate) struct NewConnection {
    pub(crate) meta: ConnMeta,
    pub(crate) created_at: Instant,
    /// Established for the pool itself (`min_pool_size`), not for a checkout.
    pub(crate) populate: bool,
}

/// An available connection.
pub(crate) struct IdleConnection<T> {
    pub(crate) conn: Box<T>,
    pub(crate) meta: ConnMeta,
    /// When it became available; only kept when the pool has a `max_idle_time`.
    since: Option<Instant>,
}

/// The limits a checkout or a background run must respect.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_pool_size: u32,
    pub(crate) max_connecting: u32,
    pub(crate) max_idle_time: Option<Duration>,
}

/// What a checkout that holds a slot gets from [`PoolState::enter`].
pub(crate) enum Entry<T> {
    /// Nobody was at the head of the wait queue, so it searched at once: an available
    /// connection, now in use.
    Found(IdleConnection<T>),
    /// As for [`Search::Create`].
    Create(NewConnection),
    /// As for [`Search::Refused`].
    Refused(Refusal),
    /// It must wait at the head of the wait queue: it now counts in `head_claims`, and
    /// was admitted under this generation.
    Queued(u32),
}

/// What the head of the wait queue found.
pub(crate) enum Search<T> {
    /// An available connection, now in use.
    Found(IdleConnection<T>),
    /// A new connection to establish (the pool had room and a free pending slot).
    Create(NewConnection),
    /// Nothing yet: wait until a connection is available or a pending slot frees.
    Wait,
    /// The pool was closed, paused or cleared.
    Refused(Refusal),
}

pub(crate) struct PoolState<T> {
    pub(crate) phase: Phase,
    pub(crate) generation: u32,
    /// Why the pool was last cleared, for the errors of refused checkouts.
    pub(crate) clear_cause: Option<String>,
    next_id: u64,
    /// Most recently used at the back.
    idle: VecDeque<IdleConnection<T>>,
    /// Every open connection: pending, available or in use.
    live: Registry,
    /// Load-balanced mode only: the services with connections, each with its own
    /// generation (`generation` above then stays 0, since the pool is never cleared as a
    /// whole).
    services: Option<HashMap<ObjectId, Service>>,
    /// The wait queue's slots, and the checkouts queued for one.
    pub(crate) slots: SlotQueue<IdleConnection<T>>,
    /// Checkouts at the head of the wait queue or queued for it. While there are any,
    /// a checkout that gets a slot queues behind them instead of taking a connection.
    pub(crate) head_claims: u32,
    pub(crate) pending: u32,
    /// Of `pending`, the establishments for the pool itself (`min_pool_size`).
    pending_populate: u32,
    pub(crate) in_use: u32,
    pub(crate) created: u64,
    /// Checkouts that found a connection at once, counted here on the fast path since
    /// it holds the lock anyway (the others are counted in the pool's `Counters`).
    pub(crate) found_at_once: u64,
    pub(crate) closed: ClosedCounts,
    /// Connections closed under the lock; dropped once it is released.
    pub(crate) graveyard: Vec<Box<T>>,
    /// A change that may let the head of the wait queue proceed.
    pub(crate) availability_changed: bool,
    /// A connection was closed (the background task may need to replace it).
    pub(crate) connection_closed: bool,
}

impl<T: Poolable> PoolState<T> {
    pub(crate) fn new(max_pool_size: u32, load_balanced: bool) -> Self {
        PoolState {
            services: load_balanced.then(HashMap::new),
            slots: SlotQueue::new(max_pool_size),
            phase: Phase::Paused,
            generation: 0,
            clear_cause: None,
            next_id: 1,
            idle: VecDeque::new(),
            live: Registry::default(),
            head_claims: 0,
            pending: 0,
            pending_populate: 0,
            in_use: 0,
            created: 0,
            found_at_once: 0,
            closed: ClosedCounts::default(),
            graveyard: Vec::new(),
            availability_changed: false,
            connection_closed: false,
        }
    }

    pub(crate) fn idle_count(&self) -> usize {
        self.idle.len()
    }

    /// Pending + available + in use.
    pub(crate) fn total(&self) -> usize {
        self.idle.len() + self.pending as usize + self.in_use as usize
    }

    /// The counts for a checkout refused while `waiters` checkouts wait.
    pub(crate) fn overload(&self, waiters: u32) -> Overload {
        Overload {
            waiters,
            in_use: self.in_use,
            pending: self.pending,
        }
    }

    /// Whether a checkout may start: the generation it is admitted under.
    pub(crate) fn admission(&self) -> Result<u32, Refusal> {
        match self.phase {
            Phase::Ready => Ok(self.generation),
            Phase::Paused => Err(Refusal::Cleared),
            Phase::Closed => Err(Refusal::Closed),
        }
    }

    /// Room for one more connection, and a free pending slot.
    pub(crate) fn can_create(&self, limits: &Limits) -> bool {
        let room = limits.max_pool_size == 0 || self.total() < limits.max_pool_size as usize;
        room && self.pending < limits.max_connecting
    }

    /// A checkout that was admitted under `admitted` and now holds a slot arrives. If
    /// nobody is at the head of the wait queue or queued for it, it is the head: it
    /// searches at once, and queues (claims the head) only if it must wait. Otherwise it
    /// queues behind them.
    pub(crate) fn enter(
        &mut self,
        admitted: u32,
        limits: &Limits,
        now: Option<Instant>,
        ev: &EventSink,
    ) -> Entry<T> {
        if self.head_claims == 0 {
            match self.search(admitted, limits, now, ev) {
                Search::Found(c) => return Entry::Found(c),
                Search::Create(new) => return Entry::Create(new),
                Search::Refused(refusal) => return Entry::Refused(refusal),
                Search::Wait => {}
            }
        }
        self.head_claims += 1;
        Entry::Queued(admitted)
    }

    /// A checkout leaves the head of the wait queue (or its queue).
    pub(crate) fn release_head_claim(&mut self) {
        self.head_claims -= 1;
    }

    /// The spec's checkout loop body, for the checkout at the head of the wait queue.
    /// `now` is needed only when the pool has a `max_idle_time`.
    pub(crate) fn search(
        &mut self,
        admitted: u32,
        limits: &Limits,
        now: Option<Instant>,
        ev: &EventSink,
    ) -> Search<T> {
        match self.phase {
            Phase::Closed => return Search::Refused(Refusal::Closed),
            Phase::Paused => return Search::Refused(Refusal::Cleared),
            Phase::Ready if self.generation != admitted => {
                return Search::Refused(Refusal::Cleared)
            }
            Phase::Ready => {}
        }
        while let Some(mut candidate) = self.idle.pop_back() {
            match self.perished(&mut candidate, now, limits.max_idle_time) {
                Some(reason) => self.close_idle(candidate, reason, ev),
                None => {
                    self.in_use += 1;
                    return Search::Found(candidate);
                }
            }
        }
        if self.pending_populate > 0 {
            // A background establishment is under way and nobody else may take what it
            // yields before this checkout (it holds the head of the queue): wait for it
            // rather than start another. This is the hand-over of the spec test
            // "threads blocked by maxConnecting check out minPoolSize connections".
            Search::Wait
        } else if self.can_create(limits) {
            Search::Create(self.create(false, ev))
        } else {
            Search::Wait
        }
    }

    /// Creates a pending connection (for the pool itself if `populate`) and emits
    /// `ConnectionCreated`.
    pub(crate) fn create(&mut self, populate: bool, ev: &EventSink) -> NewConnection {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.pending += 1;
        self.pending_populate += u32::from(populate);
        self.created += 1;
        let interrupt = InterruptSignal::new();
        self.live.insert(
            id,
            Live {
                interrupt: interrupt.clone(),
                established: false,
                service_id: None,
            },
        );
        ev.emit(|address| {
            CmapEvent::ConnectionCreated(ConnectionCreatedEvent {
                address,
                connection_id: id,
            })
        });
        NewConnection {
            meta: ConnMeta {
                id,
                generation: self.generation,
                purpose: CheckoutPurpose::Operation,
                interrupt,
            },
            created_at: Instant::now(),
            populate,
        }
    }

    /// A pending connection finished establishing and goes to its checkout.
    pub(crate) fn pending_to_in_use(&mut self, id: u64) {
        self.pending -= 1;
        self.in_use += 1;
        if let Some(live) = self.live.get_mut(&id) {
            live.established = true;
        }
        self.availability_changed = true;
    }

    /// A pending connection finished establishing for the pool itself: make it
    /// available, or close it.
    pub(crate) fn pending_to_available(
        &mut self,
        conn: Box<T>,
        meta: ConnMeta,
        now: Option<Instant>,
        ev: &EventSink,
    ) {
        self.pending -= 1;
        self.pending_populate -= 1;
        if let Some(live) = self.live.get_mut(&meta.id) {
            live.established = true;
        }
        self.make_available(conn, meta, now, ev);
    }

    /// A pending connection will never be established.
    pub(crate) fn pending_failed(
        &mut self,
        conn: Option<Box<T>>,
        meta: &ConnMeta,
        populate: bool,
        reason: ConnectionClosedReason,
        error: Option<Error>,
        ev: &EventSink,
    ) {
        self.pending -= 1;
        self.pending_populate -= u32::from(populate);
        self.forget(meta.id);
        self.graveyard.extend(conn);
        self.closed_event(meta.id, reason, error, ev);
    }

    fn closed_event(
        &mut self,
        id: u64,
        reason: ConnectionClosedReason,
        error: Option<Error>,
        ev: &EventSink,
    ) {
        self.closed.count(reason);
        self.availability_changed = true;
        self.connection_closed = true;
        ev.emit(|address| {
            CmapEvent::ConnectionClosed(ConnectionClosedEvent {
                address,
                connection_id: id,
                reason,
                error,
            })
        });
    }
}
