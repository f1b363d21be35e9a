//! What the pool knows, behind its one `std::sync::Mutex`: phase, generation, the
//! available connections, the counts, and the registry of connections that are pending
//! or in use (so a clear can interrupt them).
//!
//! Everything here is synchronous and quick; the lock is never held across an `.await`.
//! Events are queued here, in the order the state changes, and delivered after the lock
//! is released (see `event_sink`).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

use super::event_sink::EventSink;
use super::interrupt::InterruptSignal;
use super::stats::ClosedCounts;
use super::Poolable;
use crate::error::Error;
use crate::events::{
    CmapEvent, ConnectionCheckedInEvent, ConnectionClosedEvent, ConnectionClosedReason,
    ConnectionCreatedEvent,
};

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

/// What travels with a connection for its whole life in the pool.
#[derive(Debug, Clone)]
pub(crate) struct ConnMeta {
    pub(crate) id: u32,
    pub(crate) generation: u32,
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
    pub(crate) conn: T,
    pub(crate) meta: ConnMeta,
    since: Instant,
}

/// A connection that is pending or in use.
struct Live {
    interrupt: InterruptSignal,
    in_use: bool,
}

/// The limits a checkout or a background run must respect.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_pool_size: u32,
    pub(crate) max_connecting: u32,
    pub(crate) max_idle_time: Option<Duration>,
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
    next_id: u32,
    /// Most recently used at the back.
    idle: VecDeque<IdleConnection<T>>,
    live: HashMap<u32, Live>,
    pub(crate) pending: u32,
    /// Of `pending`, the establishments for the pool itself (`min_pool_size`).
    pending_populate: u32,
    pub(crate) in_use: u32,
    pub(crate) created: u64,
    pub(crate) closed: ClosedCounts,
    /// Connections closed under the lock; dropped once it is released.
    pub(crate) graveyard: Vec<T>,
    /// A change that may let the head of the wait queue proceed.
    pub(crate) availability_changed: bool,
    /// A connection was closed (the background task may need to replace it).
    pub(crate) connection_closed: bool,
}

impl<T: Poolable> PoolState<T> {
    pub(crate) fn new() -> Self {
        PoolState {
            phase: Phase::Paused,
            generation: 0,
            clear_cause: None,
            next_id: 1,
            idle: VecDeque::new(),
            live: HashMap::new(),
            pending: 0,
            pending_populate: 0,
            in_use: 0,
            created: 0,
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

    /// The spec's checkout loop body, for the checkout at the head of the wait queue.
    pub(crate) fn search(
        &mut self,
        admitted: u32,
        limits: &Limits,
        now: Instant,
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
                    self.live.insert(
                        candidate.meta.id,
                        Live {
                            interrupt: candidate.meta.interrupt.clone(),
                            in_use: true,
                        },
                    );
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
                in_use: false,
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
                interrupt,
            },
            created_at: Instant::now(),
            populate,
        }
    }

    /// A pending connection finished establishing and goes to its checkout.
    pub(crate) fn pending_to_in_use(&mut self, id: u32) {
        self.pending -= 1;
        self.in_use += 1;
        if let Some(live) = self.live.get_mut(&id) {
            live.in_use = true;
        }
        self.availability_changed = true;
    }

    /// A pending connection finished establishing for the pool itself: make it
    /// available, or close it.
    pub(crate) fn pending_to_available(
        &mut self,
        conn: T,
        meta: ConnMeta,
        now: Instant,
        ev: &EventSink,
    ) {
        self.pending -= 1;
        self.pending_populate -= 1;
        self.live.remove(&meta.id);
        self.make_available(conn, meta, now, ev);
    }

    /// A pending connection will never be established.
    pub(crate) fn pending_failed(
        &mut self,
        conn: Option<T>,
        meta: &ConnMeta,
        populate: bool,
        reason: ConnectionClosedReason,
        error: Option<Error>,
        ev: &EventSink,
    ) {
        self.pending -= 1;
        self.pending_populate -= u32::from(populate);
        self.live.remove(&meta.id);
        self.graveyard.extend(conn);
        self.closed_event(meta.id, reason, error, ev);
    }

    /// A connection handed to a checkout comes back without a check-in event (its
    /// checkout was dropped before it received it).
    pub(crate) fn orphan_returned(
        &mut self,
        conn: T,
        meta: ConnMeta,
        now: Instant,
        ev: &EventSink,
    ) {
        self.return_in_use(conn, meta, now, ev);
    }

    /// The spec's check-in: emits `ConnectionCheckedIn`, then makes the connection
    /// available or closes it.
    pub(crate) fn check_in(&mut self, conn: T, meta: ConnMeta, now: Instant, ev: &EventSink) {
        let id = meta.id;
        ev.emit(|address| {
            CmapEvent::ConnectionCheckedIn(ConnectionCheckedInEvent {
                address,
                connection_id: id,
            })
        });
        self.return_in_use(conn, meta, now, ev);
    }

    fn return_in_use(&mut self, conn: T, meta: ConnMeta, now: Instant, ev: &EventSink) {
        if self.live.remove(&meta.id).is_none() {
            // Closed by an interrupting clear while in use: already counted and
            // reported as closed.
            self.graveyard.push(conn);
            return;
        }
        self.in_use -= 1;
        self.make_available(conn, meta, now, ev);
    }

    fn make_available(&mut self, conn: T, meta: ConnMeta, now: Instant, ev: &EventSink) {
        let reason = if !conn.is_usable() {
            Some(ConnectionClosedReason::Error)
        } else if meta.generation != self.generation {
            Some(ConnectionClosedReason::Stale)
        } else if self.phase == Phase::Closed {
            Some(ConnectionClosedReason::PoolClosed)
        } else {
            None
        };
        match reason {
            Some(reason) => {
                self.graveyard.push(conn);
                self.closed_event(meta.id, reason, None, ev);
            }
            None => {
                self.idle.push_back(IdleConnection {
                    conn,
                    meta,
                    since: now,
                });
                self.availability_changed = true;
            }
        }
    }

    fn perished(
        &self,
        c: &mut IdleConnection<T>,
        now: Instant,
        max_idle_time: Option<Duration>,
    ) -> Option<ConnectionClosedReason> {
        if c.meta.generation != self.generation {
            Some(ConnectionClosedReason::Stale)
        } else if max_idle_time.is_some_and(|max| now.saturating_duration_since(c.since) > max) {
            Some(ConnectionClosedReason::Idle)
        } else if c.conn.is_peer_closed() || !c.conn.is_usable() {
            Some(ConnectionClosedReason::Error)
        } else {
            None
        }
    }

    fn close_idle(&mut self, c: IdleConnection<T>, reason: ConnectionClosedReason, ev: &EventSink) {
        self.graveyard.push(c.conn);
        self.closed_event(c.meta.id, reason, None, ev);
    }

    /// Closes every perished available connection (a background run).
    pub(crate) fn prune(&mut self, now: Instant, max_idle_time: Option<Duration>, ev: &EventSink) {
        let mut keep = VecDeque::with_capacity(self.idle.len());
        while let Some(mut c) = self.idle.pop_front() {
            match self.perished(&mut c, now, max_idle_time) {
                Some(reason) => self.close_idle(c, reason, ev),
                None => keep.push_back(c),
            }
        }
        self.idle = keep;
    }

    /// Closes every available connection (the pool is closing).
    pub(crate) fn close_all_idle(&mut self, ev: &EventSink) {
        while let Some(c) = self.idle.pop_front() {
            self.close_idle(c, ConnectionClosedReason::PoolClosed, ev);
        }
    }

    /// Fires the interrupt signal of every pending and in-use connection (all of them
    /// belong to the generation being cleared or an older one). In-use connections are
    /// closed now: they leave the counts, and their check-in later only reports the
    /// check-in. Pending ones are closed when their establishment returns.
    pub(crate) fn interrupt_live(&mut self, ev: &EventSink) {
        let mut closed = Vec::new();
        for (&id, live) in &self.live {
            live.interrupt.interrupt();
            if live.in_use {
                closed.push(id);
            }
        }
        closed.sort_unstable();
        for id in closed {
            self.live.remove(&id);
            self.in_use -= 1;
            self.closed_event(id, ConnectionClosedReason::Stale, None, ev);
        }
    }

    fn closed_event(
        &mut self,
        id: u32,
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
