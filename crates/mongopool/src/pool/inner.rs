//! The shared core of a pool (`Pool` is an `Arc` of this) and its synchronous
//! operations: ready, clear, close, check-in, stats, and one background run.

use std::mem;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bson::oid::ObjectId;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::establish::{self, Purpose};
use super::event_sink::EventSink;
use super::maintenance::MaintenanceWake;
use super::model_hooks::sync_point;
use super::pooled::ReturnToPool;
use super::purpose::{CheckoutPurpose, InUseByPurpose};
use super::slots::Grant;
use super::state::{ConnMeta, IdleConnection, Limits, Phase, PoolState, Refusal};
use super::stats::{Counters, PoolStats};
use super::wait_queue::WaitQueue;
use super::{lock, Connector, PoolOptions};
use crate::address::ServerAddress;
use crate::error::{Error, ErrorKind};
use crate::events::{
    CmapEvent, PoolClearedEvent, PoolClosedEvent, PoolCreatedEvent, PoolReadyEvent,
};

pub(crate) struct PoolInner<C: Connector> {
    pub(crate) address: ServerAddress,
    pub(crate) options: PoolOptions,
    pub(crate) limits: Limits,
    pub(crate) connector: C,
    pub(crate) events: EventSink,
    pub(crate) state: Mutex<PoolState<C::Connection>>,
    pub(crate) wait_queue: WaitQueue,
    /// Wakes the head of the wait queue: a connection became available, a pending slot
    /// freed, or a connection was closed.
    pub(crate) availability: Notify,
    /// Wakes every waiting checkout: the pool was cleared or closed.
    pub(crate) lifecycle: Notify,
    pub(crate) maintenance: Arc<MaintenanceWake>,
    maintenance_started: AtomicBool,
    /// The phase and generation, as [`mirror`] encodes them; written under the state
    /// lock whenever they change.
    lifecycle_mirror: AtomicU64,
    pub(crate) counters: Counters,
}

impl<C: Connector> PoolInner<C> {
    pub(crate) fn new(address: ServerAddress, options: PoolOptions, connector: C) -> Arc<Self> {
        let options = options.normalized();
        let limits = Limits {
            max_pool_size: options.max_pool_size,
            max_connecting: options.max_connecting,
            max_idle_time: options.max_idle_time,
        };
        let load_balanced = options.load_balanced;
        let inner = Arc::new(PoolInner {
            events: EventSink::new(address.clone(), options.event_handler.clone()),
            address,
            limits,
            wait_queue: WaitQueue::new(),
            options,
            connector,
            state: Mutex::new(PoolState::new(limits.max_pool_size, load_balanced)),
            availability: Notify::new(),
            lifecycle: Notify::new(),
            maintenance: Arc::new(MaintenanceWake::default()),
            maintenance_started: AtomicBool::new(false),
            lifecycle_mirror: AtomicU64::new(mirror(Phase::Paused, 0)),
            counters: Counters::default(),
        });
        let created = inner.options.created_options();
        inner.with_state(|_, ev| {
            ev.emit(|address| {
                CmapEvent::PoolCreated(PoolCreatedEvent {
                    address,
                    options: created,
                })
            })
        });
        inner.ensure_maintenance();
        inner
    }

    /// Locks the state, runs `f`, unlocks, then drops the connections `f` closed, wakes
    /// the head of the wait queue if `f` changed what it may be waiting for (only the
    /// checkouts counted in `head_claims` ever wait for that), delivers the events `f`
    /// queued, and sends the grants `f` made to queued checkouts.
    pub(crate) fn with_state<R>(
        &self,
        f: impl FnOnce(&mut PoolState<C::Connection>, &EventSink) -> R,
    ) -> R {
        sync_point();
        let (result, dead, changed, closed, outbox) = {
            let mut st = lock(&self.state);
            let result = f(&mut st, &self.events);
            (
                result,
                mem::take(&mut st.graveyard),
                mem::replace(&mut st.availability_changed, false) && st.head_claims > 0,
                mem::replace(&mut st.connection_closed, false),
                st.slots.take_outbox(),
            )
        };
        drop(dead);
        if changed {
            self.availability.notify_waiters();
        }
        if closed && self.options.min_pool_size > 0 {
            self.maintenance.wake();
        }
        self.events.flush();
        let mut undeliverable = Vec::new();
        outbox.send(|grant| undeliverable.push(grant));
        if !undeliverable.is_empty() {
            self.regrant(undeliverable);
        }
        result
    }

    /// Gives back grants whose checkout gave up before they were sent.
    fn regrant(&self, grants: Vec<Grant<IdleConnection<C::Connection>>>) {
        let now = self.idle_clock();
        self.with_state(|st, ev| {
            for grant in grants {
                st.undeliverable(grant, now, ev);
            }
        });
    }

    /// The current generation (read without the lock).
    pub(crate) fn generation(&self) -> u32 {
        u32::try_from(self.lifecycle_mirror.load(Ordering::Acquire) >> 2).unwrap_or(u32::MAX)
    }

    /// Whether the pool is ready and still at `generation` (read without the lock: a
    /// checkout that received a connection checks that no clear overtook it).
    pub(crate) fn still_current(&self, generation: u32) -> bool {
        self.lifecycle_mirror.load(Ordering::Acquire) == mirror(Phase::Ready, generation)
    }

    /// Starts the background task if the options ask for one and a runtime is at hand
    /// (a pool created outside a runtime starts it at its first `ready` or checkout).
    pub(crate) fn ensure_maintenance(self: &Arc<Self>) {
        if self.maintenance_started.load(Ordering::Acquire) {
            return;
        }
        if super::maintenance::start(self) {
            self.maintenance_started.store(true, Ordering::Release);
        }
    }

    pub(crate) fn ready(self: &Arc<Self>) {
        self.ensure_maintenance();
        let became_ready = self.with_state(|st, ev| {
            if st.phase != Phase::Paused {
                return false;
            }
            st.phase = Phase::Ready;
            self.lifecycle_mirror
                .store(mirror(st.phase, st.generation), Ordering::Release);
            ev.emit(|address| CmapEvent::PoolReady(PoolReadyEvent { address }));
            true
        });
        if became_ready {
            self.maintenance.wake();
        }
    }

    pub(crate) fn clear(&self, cause: Option<String>, interrupt_in_use: bool) {
        if self.options.load_balanced {
            return self.clear_every_service(interrupt_in_use);
        }
        let cleared = self.with_state(|st, ev| {
            if st.phase == Phase::Closed {
                return false;
            }
            st.generation = st.generation.wrapping_add(1);
            st.clear_cause = cause;
            if st.phase == Phase::Ready {
                st.phase = Phase::Paused;
                ev.emit(|address| {
                    CmapEvent::PoolCleared(PoolClearedEvent {
                        address,
                        service_id: None,
                        interrupt_in_use_connections: interrupt_in_use,
                    })
                });
            }
            if interrupt_in_use {
                st.interrupt_live(ev);
            }
            st.slots.interrupt();
            self.lifecycle_mirror
                .store(mirror(st.phase, st.generation), Ordering::Release);
            true
        });
        if cleared {
            self.lifecycle.notify_waiters();
            self.maintenance.wake();
        }
    }

    /// Load-balanced mode: a new generation for `service_id` (emits `PoolCleared` with
    /// it). The pool is not paused and waiting checkouts go on waiting, as the spec says.
    pub(crate) fn clear_service(&self, service_id: ObjectId) {
        let cleared = self.with_state(|st, ev| {
            if st.phase == Phase::Closed {
                return false;
            }
            st.clear_service(service_id);
            ev.emit(|address| {
                CmapEvent::PoolCleared(PoolClearedEvent {
                    address,
                    service_id: Some(service_id),
                    interrupt_in_use_connections: false,
                })
            });
            true
        });
        if cleared {
            // Its available connections are stale now: close them soon.
            self.maintenance.wake();
        }
    }

    /// Load-balanced mode, a clear of the whole pool: every service the pool has
    /// connections to is cleared as by [`PoolInner::clear_service`] (one `PoolCleared`
    /// each); nothing is paused.
    fn clear_every_service(&self, interrupt_in_use: bool) {
        let cleared = self.with_state(|st, ev| {
            if st.phase == Phase::Closed {
                return false;
            }
            for service_id in st.service_ids() {
                st.clear_service(service_id);
                ev.emit(|address| {
                    CmapEvent::PoolCleared(PoolClearedEvent {
                        address,
                        service_id: Some(service_id),
                        interrupt_in_use_connections: interrupt_in_use,
                    })
                });
            }
            if interrupt_in_use {
                st.interrupt_live(ev);
            }
            true
        });
        if cleared {
            self.maintenance.wake();
        }
    }

    pub(crate) fn close(&self) {
        let closed = self.with_state(|st, ev| {
            if st.phase == Phase::Closed {
                return false;
            }
            st.phase = Phase::Closed;
            st.slots.interrupt();
            self.lifecycle_mirror
                .store(mirror(st.phase, st.generation), Ordering::Release);
            st.close_all_idle(ev);
            ev.emit(|address| CmapEvent::PoolClosed(PoolClosedEvent { address }));
            true
        });
        if closed {
            self.lifecycle.notify_waiters();
            self.maintenance.wake();
        }
    }

    /// Free slots of the wait queue (`None` for an unbounded pool).
    pub(crate) fn free_slots(&self) -> Option<usize> {
        sync_point();
        lock(&self.state).slots.free()
    }

    pub(crate) fn stats(&self) -> PoolStats {
        sync_point();
        let mut stats = {
            let st = lock(&self.state);
            PoolStats {
                total: st.total(),
                idle: st.idle_count(),
                in_use: st.in_use as usize,
                pending: st.pending as usize,
                generation: st.generation,
                created: st.created,
                closed_by_reason: st.closed,
                checkouts_immediate: st.found_at_once,
                ..PoolStats::default()
            }
        };
        self.counters.fill(&mut stats);
        stats
    }

    /// One background run: close perished available connections, then (when ready)
    /// start establishing connections up to `min_pool_size`, within `max_pool_size` and
    /// `max_connecting`. Never waits. Returns `false` once the pool is closed.
    pub(crate) fn run_maintenance(self: &Arc<Self>) -> bool {
        let now = self.idle_clock();
        let min = self.options.min_pool_size as usize;
        let (open, starts) = self.with_state(|st, ev| {
            if st.phase == Phase::Closed {
                return (false, Vec::new());
            }
            st.prune(now, self.limits.max_idle_time, ev);
            let mut starts = Vec::new();
            if st.phase == Phase::Ready {
                while st.total() < min && st.can_create(&self.limits) {
                    starts.push(st.create(true, ev));
                }
            }
            (true, starts)
        });
        for new in starts {
            establish::spawn(self.clone(), new, Purpose::Populate);
        }
        open
    }

    /// The time to stamp available connections with and judge them by: only needed to
    /// enforce `max_idle_time` (reading the clock is not free on the hot path).
    pub(crate) fn idle_clock(&self) -> Option<Instant> {
        self.limits.max_idle_time.map(|_| Instant::now())
    }

    /// Checkouts under way or done and not yet checked in (see [`Pool::operation_count`]).
    ///
    /// [`Pool::operation_count`]: super::Pool::operation_count
    pub(crate) fn operation_count(&self) -> u32 {
        sync_point();
        let (in_use, pending) = {
            let st = lock(&self.state);
            (st.in_use, st.pending)
        };
        let waiters = self.counters.waiters.load(Ordering::Relaxed);
        (in_use + pending).saturating_add(u32::try_from(waiters).unwrap_or(u32::MAX))
    }

    /// The connections in use by purpose, for a load-balanced pool's wait queue timeout.
    pub(crate) fn in_use_by_purpose(&self) -> InUseByPurpose {
        let in_use = lock(&self.state).in_use as usize;
        self.counters
            .purposes
            .breakdown(in_use, self.options.max_pool_size)
    }

    /// The error a refused checkout returns.
    pub(crate) fn refusal_error(&self, refusal: Refusal) -> Error {
        match refusal {
            Refusal::Closed => Error::new(ErrorKind::PoolClosed {
                address: self.address.to_string(),
            }),
            Refusal::Cleared => {
                sync_point();
                let state = lock(&self.state);
                // Paused since it was created: say so, not "cleared".
                let never_ready = state.phase == super::state::Phase::Paused
                    && state.generation == 0
                    && state.clear_cause.is_none();
                Error::new(ErrorKind::PoolCleared {
                    address: self.address.to_string(),
                    cause: match never_ready {
                        true => Some(crate::error::POOL_NEVER_READIED.to_owned()),
                        false => state.clear_cause.clone(),
                    },
                })
            }
        }
    }

    /// Why the pool stopped a waiting checkout (it was woken by a clear or a close).
    pub(crate) fn current_refusal(&self) -> Refusal {
        sync_point();
        if lock(&self.state).phase == Phase::Closed {
            Refusal::Closed
        } else {
            Refusal::Cleared
        }
    }
}

impl<C: Connector> ReturnToPool<C::Connection> for PoolInner<C> {
    fn check_in(&self, conn: Box<C::Connection>, meta: ConnMeta) {
        let now = self.idle_clock();
        self.with_state(|st, ev| st.check_in(conn, meta, now, ev));
    }

    fn purpose_changed(&self, from: CheckoutPurpose, to: CheckoutPurpose) {
        self.counters.purposes.changed(from, to);
    }
}

/// A phase and a generation in one word, for [`PoolInner::still_current`].
fn mirror(phase: Phase, generation: u32) -> u64 {
    let phase = match phase {
        Phase::Paused => 0,
        Phase::Ready => 1,
        Phase::Closed => 2,
    };
    (u64::from(generation) << 2) | phase
}

impl<C: Connector> Drop for PoolInner<C> {
    fn drop(&mut self) {
        // Lets the background task (which holds only a weak reference) notice and end.
        self.maintenance.wake();
    }
}
