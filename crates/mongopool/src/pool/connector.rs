//! How a pool makes connections, and what it asks of them.

use std::future::Future;

use bson::oid::ObjectId;

use super::interrupt::InterruptSignal;
use crate::address::ServerAddress;
use crate::error::Result;

/// Makes connections for a pool.
///
/// The pool calls [`Connector::connect`] on a task of its own, so an establishment
/// finishes (and its connection joins the pool) even when the checkout that asked for it
/// is dropped.
pub trait Connector: Send + Sync + 'static {
    /// The connections this connector makes.
    type Connection: Poolable;

    /// Establishes (connect + handshake + auth) one connection, with the id and
    /// generation the pool assigned. Should give up with an error once
    /// `ctx.interrupt` fires.
    fn connect(&self, ctx: ConnectContext)
        -> impl Future<Output = Result<Self::Connection>> + Send;
}

/// What the pool tells a [`Connector`] about the connection to establish.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectContext {
    /// The server to connect to.
    pub address: ServerAddress,
    /// The id the pool gave the connection (1, 2, ... in creation order).
    pub id: u64,
    /// The pool's generation when the connection was created.
    pub generation: u32,
    /// Fires when the pool is cleared with `interrupt_in_use`; the connection should
    /// keep it and race its I/O against it for its whole life.
    pub interrupt: InterruptSignal,
}

impl ConnectContext {
    /// A context as the pool would make it (for driving a [`Connector`] directly, e.g.
    /// in tests).
    pub fn new(
        address: ServerAddress,
        id: u64,
        generation: u32,
        interrupt: InterruptSignal,
    ) -> Self {
        ConnectContext {
            address,
            id,
            generation,
            interrupt,
        }
    }
}

/// What the pool asks of a connection.
pub trait Poolable: Send + 'static {
    /// `false` once the connection broke, or a command on it was abandoned mid-flight
    /// (its reply may still be in the socket). Checked when it is checked in; an
    /// unusable connection is closed instead of being reused.
    fn is_usable(&self) -> bool;

    /// A cheap, non-blocking check of whether the peer has closed the connection.
    /// Checked before an available connection is handed out, under the pool's lock:
    /// keep it to a flag or one non-blocking system call. Defaults to `false`.
    fn is_peer_closed(&mut self) -> bool {
        false
    }

    /// The service behind a load balancer this connection reached (the `serviceId` of
    /// its hello reply). A load-balanced pool keeps a generation per service, so that a
    /// clear of one service leaves the others' connections alone. The default: none.
    fn service_id(&self) -> Option<ObjectId> {
        None
    }
}
