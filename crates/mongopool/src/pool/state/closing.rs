//! Closing connections the pool holds: perished available ones (a checkout's search or
//! a background prune), every available one (close), and the pending and in-use ones
//! an interrupting clear reaches.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

use super::{IdleConnection, PoolState};
use crate::events::ConnectionClosedReason;
use crate::pool::event_sink::EventSink;
use crate::pool::Poolable;

impl<T: Poolable> PoolState<T> {
    pub(super) fn perished(
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

    pub(super) fn close_idle(
        &mut self,
        c: IdleConnection<T>,
        reason: ConnectionClosedReason,
        ev: &EventSink,
    ) {
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
}
