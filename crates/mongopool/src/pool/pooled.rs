//! The checked-out connection: a guard that checks the connection back in when dropped.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use super::interrupt::InterruptSignal;
use super::purpose::CheckoutPurpose;
use super::state::ConnMeta;
use super::Poolable;

/// Where a checked-out connection goes back to (the pool, whatever its connector type).
pub(crate) trait ReturnToPool<T>: Send + Sync {
    /// Checks `conn` in and releases the wait queue slot it holds.
    fn check_in(&self, conn: Box<T>, meta: ConnMeta);
    /// A checked-out connection is now used for `to` instead of `from`.
    fn purpose_changed(&self, from: CheckoutPurpose, to: CheckoutPurpose);
}

/// A connection checked out of a [`Pool`](super::Pool). Derefs to the connection.
///
/// Dropping the guard checks the connection in, synchronously: it is closed if it is no
/// longer usable ([`Poolable::is_usable`]), if the pool was cleared since it was created
/// (stale), or if the pool is closed; otherwise it becomes available to the next
/// checkout.
#[must_use = "dropping the guard checks the connection back in at once"]
pub struct PooledConnection<T: Poolable> {
    /// Taken out only by `drop`, so the check-in can move the metadata too.
    held: Option<Held<T>>,
    pool: Arc<dyn ReturnToPool<T>>,
}

struct Held<T> {
    conn: Box<T>,
    meta: ConnMeta,
}

impl<T: Poolable> PooledConnection<T> {
    pub(crate) fn new(conn: Box<T>, meta: ConnMeta, pool: Arc<dyn ReturnToPool<T>>) -> Self {
        PooledConnection {
            held: Some(Held { conn, meta }),
            pool,
        }
    }

    fn held(&self) -> &Held<T> {
        self.held
            .as_ref()
            .expect("the connection is only taken out in drop")
    }

    fn held_mut(&mut self) -> &mut Held<T> {
        self.held
            .as_mut()
            .expect("the connection is only taken out in drop")
    }

    /// The connection's id in its pool (1, 2, ... in creation order).
    pub fn id(&self) -> u64 {
        self.held().meta.id
    }

    /// The pool's generation when the connection was created.
    pub fn generation(&self) -> u32 {
        self.held().meta.generation
    }

    /// The signal the pool fires to interrupt this connection (the same one its
    /// connector was given).
    pub fn interrupt_signal(&self) -> &InterruptSignal {
        &self.held().meta.interrupt
    }

    /// What the connection is used for (by default [`CheckoutPurpose::Operation`]).
    pub fn purpose(&self) -> CheckoutPurpose {
        self.held().meta.purpose
    }

    /// Kept out of `drop`, which runs on every check-in: few connections have a purpose.
    #[cold]
    #[inline(never)]
    fn give_up_purpose(&self, meta: &mut ConnMeta) {
        self.pool
            .purpose_changed(meta.purpose, CheckoutPurpose::Operation);
        meta.purpose = CheckoutPurpose::Operation;
    }

    /// Says what the connection is used for from now on: a cursor or a transaction
    /// pinned to it (load-balanced mode pins them), until it is checked in. The pool
    /// counts the connections each purpose holds ([`PoolStats`](super::PoolStats)), and
    /// a load-balanced pool's wait queue timeout reports them.
    pub fn set_purpose(&mut self, purpose: CheckoutPurpose) {
        self.pool.purpose_changed(self.purpose(), purpose);
        self.held_mut().meta.purpose = purpose;
    }
}

impl<T: Poolable> Deref for PooledConnection<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.held().conn
    }
}

impl<T: Poolable> DerefMut for PooledConnection<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.held_mut().conn
    }
}

impl<T: Poolable> Drop for PooledConnection<T> {
    fn drop(&mut self) {
        if let Some(Held { conn, mut meta }) = self.held.take() {
            if meta.purpose != CheckoutPurpose::Operation {
                self.give_up_purpose(&mut meta);
            }
            self.pool.check_in(conn, meta);
        }
    }
}

impl<T: Poolable> fmt::Debug for PooledConnection<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledConnection")
            .field("id", &self.id())
            .field("generation", &self.generation())
            .finish_non_exhaustive()
    }
}
