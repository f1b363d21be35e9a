//! The connection pool of the CMAP specification, generic over how a connection is made.
//!
//! ```no_run
//! # use mongopool::{Pool, PoolOptions, Connector, ConnectContext, Poolable};
//! # use mongopool::{Result, ServerAddress};
//! # struct MyConnector;
//! # struct MyConnection;
//! # impl Poolable for MyConnection { fn is_usable(&self) -> bool { true } }
//! # impl Connector for MyConnector {
//! #     type Connection = MyConnection;
//! #     async fn connect(&self, _ctx: ConnectContext) -> Result<MyConnection> { Ok(MyConnection) }
//! # }
//! # async fn demo() -> Result<()> {
//! let options = PoolOptions::builder().max_pool_size(10).build()?;
//! let pool = Pool::new(ServerAddress::tcp("localhost", 27017), options, MyConnector);
//! pool.ready(); // pools start paused; the server monitor marks them ready
//! let conn = pool.checkout().await?;
//! // ... use `conn` (it derefs to `MyConnection`) ...
//! drop(conn); // checked back in
//! # Ok(()) }
//! ```
//!
//! How it works: a checkout takes one of `max_pool_size` slots, handed out in FIFO order
//! (it queues if none is free or others are queued), then, if nobody is at the head of
//! the queue, becomes the head (otherwise it queues for the fair "head of the queue"
//! lock). The head looks for an available connection (most recently used first, closing
//! perished ones on the way) or creates one when the pool has room and fewer than
//! `max_connecting` connections are being established; otherwise it waits, at the head,
//! until a connection is checked in or a pending slot frees. The common case, a free
//! slot and nobody at the head, takes one lock and awaits nothing. A check-in gives its
//! slot to the oldest queued checkout, and the connection with it when nobody is at the
//! head. Every wait is raced against the `wait_queue_timeout` deadline and against a
//! clear or close. A new connection is established on a task of its own.
//! Dropping the guard checks the connection in, synchronously.

mod checkout;
#[cfg(test)]
mod checkout_races;
mod connector;
mod establish;
mod event_sink;
mod inner;
mod maintenance;
#[cfg(all(test, feature = "model-check"))]
mod model_check;
mod model_hooks;
mod options;
mod pooled;
mod slots;
mod state;
mod stats;
mod wait_queue;
mod waiters;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

pub use connector::{ConnectContext, Connector, Poolable};
pub use options::{PoolOptions, PoolOptionsBuilder};
pub use pooled::PooledConnection;
pub use stats::{CheckoutFailureCounts, ClosedCounts, PoolStats};

use crate::address::ServerAddress;
// The interrupt signal and checkout purposes live below both the pool and the
// connection; the pool's files name them through these.
use crate::checkout_purpose as purpose;
use crate::error::{Error, Result};
use crate::interrupt;
use inner::PoolInner;
use purpose::CheckoutPurpose;

/// Locks a mutex, ignoring poisoning: the pool's state is consistent between statements
/// that can panic, and a panicking event handler never holds a lock.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A pool of connections to one server. Cheap to clone: clones share the pool.
///
/// The pool starts paused: checkouts fail with
/// [`ErrorKind::PoolCleared`](crate::ErrorKind::PoolCleared) until [`Pool::ready`].
/// Creating a pool inside a tokio runtime starts its background task there.
pub struct Pool<C: Connector> {
    inner: Arc<PoolInner<C>>,
}

impl<C: Connector> Clone for Pool<C> {
    fn clone(&self) -> Self {
        Pool {
            inner: self.inner.clone(),
        }
    }
}

impl<C: Connector> Pool<C> {
    /// A paused pool for `address`. Emits `PoolCreated`. Never fails: option values that
    /// [`PoolOptionsBuilder::build`] would refuse are clamped to the nearest valid value
    /// (see [`Pool::options`] for what is used).
    pub fn new(address: ServerAddress, options: PoolOptions, connector: C) -> Self {
        Pool {
            inner: PoolInner::new(address, options, connector),
        }
    }

    /// Checks out a connection: an available one, or a new one established for this
    /// checkout.
    ///
    /// Fails with [`ErrorKind::PoolCleared`](crate::ErrorKind::PoolCleared) if the pool
    /// is paused or is cleared while this waits, with
    /// [`ErrorKind::PoolClosed`](crate::ErrorKind::PoolClosed) if it is closed, with
    /// [`ErrorKind::WaitQueueTimeout`](crate::ErrorKind::WaitQueueTimeout) after waiting
    /// longer than `wait_queue_timeout`, at once with
    /// [`ErrorKind::ExceededMaxWaiters`](crate::ErrorKind::ExceededMaxWaiters) if it
    /// would have to wait while [`PoolOptions::max_waiters`] checkouts already do, and with the connector's error if establishing
    /// the new connection fails.
    ///
    /// Cancellation-safe: dropping the future at any point leaks nothing. A connection
    /// being established for it is still established and joins the available ones;
    /// a `ConnectionCheckOutFailed` event with reason
    /// [`Cancelled`](crate::events::CheckoutFailedReason::Cancelled) reports the
    /// abandoned checkout.
    pub async fn checkout(&self) -> Result<PooledConnection<C::Connection>> {
        self.inner.checkout().await
    }

    /// Checks out a connection as [`Pool::checkout`] does, to be used for `purpose`
    /// ([`PooledConnection::set_purpose`]).
    pub async fn checkout_for(
        &self,
        purpose: CheckoutPurpose,
    ) -> Result<PooledConnection<C::Connection>> {
        let mut conn = self.checkout().await?;
        conn.set_purpose(purpose);
        Ok(conn)
    }

    /// Marks the pool ready (emits `PoolReady`): checkouts are served and `min_pool_size`
    /// is kept. Does nothing if the pool is ready or closed.
    pub fn ready(&self) {
        self.inner.ready();
    }

    /// Clears the pool: bumps the generation (every existing connection becomes stale
    /// and is closed when next met), pauses the pool until [`Pool::ready`], and fails
    /// every waiting checkout at once with
    /// [`ErrorKind::PoolCleared`](crate::ErrorKind::PoolCleared) (naming `cause`). Emits
    /// `PoolCleared` unless the pool was already paused. With `interrupt_in_use`, also
    /// fires the [`InterruptSignal`](crate::InterruptSignal) of every connection in use or being established
    /// and closes the in-use ones at once (reason `stale`). Does nothing on a closed pool.
    ///
    /// A load-balanced pool ([`PoolOptions::load_balanced`]) is never cleared that way:
    /// there `clear` clears every service it has connections to, as
    /// [`Pool::clear_service`] does (the pool is not paused, checkouts keep waiting), and
    /// `interrupt_in_use` still interrupts the connections in use.
    pub fn clear(&self, cause: Option<&Error>, interrupt_in_use: bool) {
        let cause = cause.map(|e| format!("another operation failed with: {e}"));
        self.inner.clear(cause, interrupt_in_use);
    }

    /// Load-balanced mode: clears the connections to one service behind the load balancer
    /// (`service_id`, from the hello reply of a connection that failed): bumps that
    /// service's generation, so its connections are closed when next met, and emits
    /// `PoolCleared` with the service id. Unlike [`Pool::clear`] in a pool that is not
    /// load-balanced, it neither pauses the pool nor fails waiting checkouts (the CMAP
    /// spec's "clearing a load balanced pool").
    ///
    /// Fails with a configuration error if the pool is not load-balanced
    /// ([`PoolOptions::load_balanced`]); does nothing on a closed pool.
    pub fn clear_service(&self, service_id: bson::oid::ObjectId) -> Result<()> {
        if !self.inner.options.load_balanced {
            return Err(Error::configuration(
                "clear_service is for load-balanced pools; this pool is not (use clear)",
            ));
        }
        self.inner.clear_service(service_id);
        Ok(())
    }

    /// Closes the pool: closes the available connections, fails waiting checkouts with
    /// [`ErrorKind::PoolClosed`](crate::ErrorKind::PoolClosed), and emits `PoolClosed`.
    /// Later checkouts fail the same way; connections checked in later are closed.
    /// Does nothing if the pool is already closed.
    pub fn close(&self) {
        self.inner.close();
    }

    /// A snapshot of the pool's counts.
    pub fn stats(&self) -> PoolStats {
        self.inner.stats()
    }

    /// The operations in progress on the pool's server, as server selection counts
    /// them (its `operationCount`, for the "power of two choices" among the servers
    /// within the latency window): connections checked out, connections being
    /// established, and checkouts waiting. An operation counts from its checkout to
    /// its check-in, so the count costs the checkout nothing beyond what the pool
    /// keeps anyway. Takes the state lock, like [`Pool::stats`].
    pub fn operation_count(&self) -> u32 {
        self.inner.operation_count()
    }

    /// The generation now: every clear starts a new one. Cheaper than
    /// [`Pool::stats`] (no lock). A checkout that fails while establishing a
    /// connection made it for the generation it was admitted under, which is this
    /// value read just before the checkout started (a clear meanwhile fails the
    /// checkout as cleared instead); SDAM's error handling needs that generation.
    pub fn generation(&self) -> u32 {
        self.inner.generation()
    }

    /// The server the pool is for.
    pub fn address(&self) -> &ServerAddress {
        &self.inner.address
    }

    /// The options the pool uses.
    pub fn options(&self) -> &PoolOptions {
        &self.inner.options
    }

    /// Slots of the wait queue that no checkout holds (`None` for an unbounded pool):
    /// `max_pool_size` minus the checkouts in progress and connections checked out.
    pub fn free_slots(&self) -> Option<usize> {
        self.inner.free_slots()
    }
}

impl<C: Connector> fmt::Debug for Pool<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("address", &self.inner.address)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}
