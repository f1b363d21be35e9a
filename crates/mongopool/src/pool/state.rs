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

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Duration;

use bson::oid::ObjectId;
use tokio::time::Instant;

use super::event_sink::EventSink;
use super::interrupt::InterruptSignal;
use super::slots::{Grant, SlotQueue};
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
    /// When it became available; only kept when the pool has a `max_idle_time`.
    since: Option<Instant>,
}

/// An open connection, as the registry knows it.
struct Live {
    interrupt: InterruptSignal,
    /// Established (available or in use), not pending.
    established: bool,
    /// Counted in that service's connections (load-balanced mode).
    service_id: Option<ObjectId>,
}

/// A service behind the load balancer, while the pool has connections to it: the
/// spec's (generation, connection count).
#[derive(Debug, Clone, Copy, Default)]
struct Service {
    generation: u32,
    connections: usize,
}

/// Hashes connection ids (distinct `u64`s, handed out in sequence) with one multiply:
/// SipHash's protection against chosen keys buys nothing for keys the pool makes itself.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, id: u64) {
        self.0 = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type Registry = HashMap<u64, Live, BuildHasherDefault<IdHasher>>;

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
    pub(crate) graveyard: Vec<T>,
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
        conn: T,
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
        conn: Option<T>,
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

    /// A connection handed to a checkout comes back without a check-in event (its
    /// checkout was dropped before it received it).
    pub(crate) fn orphan_returned(
        &mut self,
        conn: T,
        meta: ConnMeta,
        now: Option<Instant>,
        ev: &EventSink,
    ) {
        self.return_in_use(conn, meta, now, ev);
    }

    /// The spec's check-in: emits `ConnectionCheckedIn`, then makes the connection
    /// available or closes it, and gives back the slot it held. When a checkout is
    /// queued for a slot and nobody is at the head of the queue, a connection that may
    /// be reused goes to that checkout with the slot: it would have found this one
    /// first (the most recently used), and so it need not look.
    pub(crate) fn check_in(
        &mut self,
        conn: T,
        meta: ConnMeta,
        now: Option<Instant>,
        ev: &EventSink,
    ) {
        let id = meta.id;
        ev.emit(|address| {
            CmapEvent::ConnectionCheckedIn(ConnectionCheckedInEvent {
                address,
                connection_id: id,
            })
        });
        let mut conn = conn;
        let meta = if self.head_claims == 0
            && self.slots.has_queued()
            && !meta.interrupt.is_interrupted()
            && self.close_reason(&conn, &meta).is_none()
            && !conn.is_peer_closed()
        {
            let gift = IdleConnection {
                conn,
                meta,
                since: now,
            };
            match self.slots.hand_over(gift) {
                // It stays in use, by the checkout it went to.
                Ok(()) => return,
                Err(gift) => {
                    conn = gift.conn;
                    gift.meta
                }
            }
        } else {
            meta
        };
        self.return_in_use(conn, meta, now, ev);
        // After the connection is available: the checkout this slot goes to finds it.
        self.slots.release();
    }

    /// A connection handed over with a slot comes back unused (its checkout gave up,
    /// or the pool was cleared before the checkout received it).
    pub(crate) fn give_back(&mut self, c: IdleConnection<T>, now: Option<Instant>, ev: &EventSink) {
        self.return_in_use(c.conn, c.meta, now, ev);
    }

    /// A grant whose checkout gave up before it was sent: the connection (if any) and
    /// the slot go back, the slot to the next in line.
    pub(crate) fn undeliverable(
        &mut self,
        grant: Grant<IdleConnection<T>>,
        now: Option<Instant>,
        ev: &EventSink,
    ) {
        if let Grant::With(c) = grant {
            self.give_back(c, now, ev);
        }
        self.slots.release();
    }

    fn return_in_use(&mut self, conn: T, meta: ConnMeta, now: Option<Instant>, ev: &EventSink) {
        // An interrupting clear fires the signal before it closes the connections in
        // use, so a connection whose signal has not fired is still open (and the
        // registry need not be looked at).
        if meta.interrupt.is_interrupted() && !self.live.contains_key(&meta.id) {
            // Closed by an interrupting clear while in use: already counted and
            // reported as closed.
            self.graveyard.push(conn);
            return;
        }
        self.in_use -= 1;
        self.make_available(conn, meta, now, ev);
    }

    /// Why a connection coming back from use must be closed, if it must.
    fn close_reason(&self, conn: &T, meta: &ConnMeta) -> Option<ConnectionClosedReason> {
        if !conn.is_usable() {
            Some(ConnectionClosedReason::Error)
        } else if meta.generation != self.generation_of(meta) {
            Some(ConnectionClosedReason::Stale)
        } else if self.phase == Phase::Closed {
            Some(ConnectionClosedReason::PoolClosed)
        } else {
            None
        }
    }

    fn make_available(&mut self, conn: T, meta: ConnMeta, now: Option<Instant>, ev: &EventSink) {
        match self.close_reason(&conn, &meta) {
            Some(reason) => {
                self.graveyard.push(conn);
                self.forget(meta.id);
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
        now: Option<Instant>,
        max_idle_time: Option<Duration>,
    ) -> Option<ConnectionClosedReason> {
        let idle_too_long = match (max_idle_time, now, c.since) {
            (Some(max), Some(now), Some(since)) => now.saturating_duration_since(since) > max,
            _ => false,
        };
        if c.meta.generation != self.generation_of(&c.meta) {
            Some(ConnectionClosedReason::Stale)
        } else if idle_too_long {
            Some(ConnectionClosedReason::Idle)
        } else if c.conn.is_peer_closed() || !c.conn.is_usable() {
            Some(ConnectionClosedReason::Error)
        } else {
            None
        }
    }

    fn close_idle(&mut self, c: IdleConnection<T>, reason: ConnectionClosedReason, ev: &EventSink) {
        self.graveyard.push(c.conn);
        self.forget(c.meta.id);
        self.closed_event(c.meta.id, reason, None, ev);
    }

    /// Closes every perished available connection (a background run).
    pub(crate) fn prune(
        &mut self,
        now: Option<Instant>,
        max_idle_time: Option<Duration>,
        ev: &EventSink,
    ) {
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
        let available: HashSet<u64> = self.idle.iter().map(|c| c.meta.id).collect();
        let mut closed = Vec::new();
        for (&id, live) in &self.live {
            if available.contains(&id) {
                continue;
            }
            live.interrupt.interrupt();
            if live.established {
                closed.push(id);
            }
        }
        closed.sort_unstable();
        for id in closed {
            self.forget(id);
            self.in_use -= 1;
            self.closed_event(id, ConnectionClosedReason::Stale, None, ev);
        }
    }

    /// The generation a connection must have to be current: its service's in
    /// load-balanced mode, else the pool's. (The service is looked up in the registry
    /// rather than carried with the connection: that keeps the pool's hot path, which
    /// moves `ConnMeta`s around, as small when not load-balanced.)
    #[inline]
    fn generation_of(&self, meta: &ConnMeta) -> u32 {
        match &self.services {
            None => self.generation,
            Some(services) => self.service_generation(services, meta),
        }
    }

    #[cold]
    #[inline(never)]
    fn service_generation(&self, services: &HashMap<ObjectId, Service>, meta: &ConnMeta) -> u32 {
        match self.live.get(&meta.id).and_then(|l| l.service_id) {
            Some(id) => services.get(&id).map_or(0, |s| s.generation),
            None => self.generation,
        }
    }

    /// In load-balanced mode, a connection just established joins the service it reached:
    /// it takes that service's generation and counts among its connections. Called under
    /// the same lock as the establishment is recorded, so a clear of the service cannot
    /// fall in between.
    pub(crate) fn join_service(&mut self, meta: &mut ConnMeta, service_id: Option<ObjectId>) {
        let (Some(services), Some(service_id)) = (&mut self.services, service_id) else {
            return;
        };
        let service = services.entry(service_id).or_default();
        service.connections += 1;
        meta.generation = service.generation;
        if let Some(live) = self.live.get_mut(&meta.id) {
            live.service_id = Some(service_id);
        }
    }

    /// Load-balanced mode: a new generation for one service (its connections are stale
    /// from now on). A service the pool has no connection to has nothing to clear.
    pub(crate) fn clear_service(&mut self, service_id: ObjectId) {
        if let Some(service) = self.services.as_mut().and_then(|s| s.get_mut(&service_id)) {
            service.generation = service.generation.wrapping_add(1);
        }
    }

    /// Load-balanced mode: the services the pool has connections to.
    pub(crate) fn service_ids(&self) -> Vec<ObjectId> {
        let mut ids: Vec<ObjectId> = self
            .services
            .iter()
            .flat_map(|s| s.keys())
            .copied()
            .collect();
        ids.sort_unstable();
        ids
    }

    /// A connection is closed: it leaves the registry and its service's count (the
    /// service is forgotten with its last connection, as the spec says).
    fn forget(&mut self, id: u64) {
        let Some(live) = self.live.remove(&id) else {
            return;
        };
        if let (Some(services), Some(service_id)) = (&mut self.services, live.service_id) {
            if let Some(service) = services.get_mut(&service_id) {
                service.connections -= 1;
                if service.connections == 0 {
                    services.remove(&service_id);
                }
            }
        }
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
