//! Connections coming back from use: the spec's check-in, the hand-over of a checked-in
//! connection to the checkout queued for a slot, and the returns of connections whose
//! checkout gave up.

use tokio::time::Instant;

use super::{ConnMeta, IdleConnection, Phase, PoolState};
use crate::events::{CmapEvent, ConnectionCheckedInEvent, ConnectionClosedReason};
use crate::pool::event_sink::EventSink;
use crate::pool::slots::Grant;
use crate::pool::Poolable;

impl<T: Poolable> PoolState<T> {
    /// A connection handed to a checkout comes back without a check-in event (its
    /// checkout was dropped before it received it).
    pub(crate) fn orphan_returned(
        &mut self,
        conn: Box<T>,
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
        conn: Box<T>,
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

    pub(super) fn return_in_use(
        &mut self,
        conn: Box<T>,
        meta: ConnMeta,
        now: Option<Instant>,
        ev: &EventSink,
    ) {
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
    pub(super) fn close_reason(&self, conn: &T, meta: &ConnMeta) -> Option<ConnectionClosedReason> {
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

    pub(super) fn make_available(
        &mut self,
        conn: Box<T>,
        meta: ConnMeta,
        now: Option<Instant>,
        ev: &EventSink,
    ) {
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
}
