//! The event types, one struct per CMAP event, and the enum that carries them.

use std::time::Duration;

use bson::oid::ObjectId;

use crate::address::ServerAddress;
use crate::error::Error;

/// One CMAP event.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CmapEvent {
    /// A pool was created.
    PoolCreated(PoolCreatedEvent),
    /// A pool was marked ready.
    PoolReady(PoolReadyEvent),
    /// A pool was cleared.
    PoolCleared(PoolClearedEvent),
    /// A pool was closed.
    PoolClosed(PoolClosedEvent),
    /// A connection was created (not yet established).
    ConnectionCreated(ConnectionCreatedEvent),
    /// A connection finished its handshake and authentication.
    ConnectionReady(ConnectionReadyEvent),
    /// A connection was closed.
    ConnectionClosed(ConnectionClosedEvent),
    /// A checkout started.
    ConnectionCheckOutStarted(ConnectionCheckOutStartedEvent),
    /// A checkout failed.
    ConnectionCheckOutFailed(ConnectionCheckOutFailedEvent),
    /// A checkout succeeded.
    ConnectionCheckedOut(ConnectionCheckedOutEvent),
    /// A connection was checked back in.
    ConnectionCheckedIn(ConnectionCheckedInEvent),
}

impl CmapEvent {
    /// The event's name as the CMAP test format spells it (`ConnectionPoolCreated`,
    /// `ConnectionCheckedOut`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            CmapEvent::PoolCreated(_) => "ConnectionPoolCreated",
            CmapEvent::PoolReady(_) => "ConnectionPoolReady",
            CmapEvent::PoolCleared(_) => "ConnectionPoolCleared",
            CmapEvent::PoolClosed(_) => "ConnectionPoolClosed",
            CmapEvent::ConnectionCreated(_) => "ConnectionCreated",
            CmapEvent::ConnectionReady(_) => "ConnectionReady",
            CmapEvent::ConnectionClosed(_) => "ConnectionClosed",
            CmapEvent::ConnectionCheckOutStarted(_) => "ConnectionCheckOutStarted",
            CmapEvent::ConnectionCheckOutFailed(_) => "ConnectionCheckOutFailed",
            CmapEvent::ConnectionCheckedOut(_) => "ConnectionCheckedOut",
            CmapEvent::ConnectionCheckedIn(_) => "ConnectionCheckedIn",
        }
    }

    /// The address of the pool that emitted the event.
    pub fn address(&self) -> &ServerAddress {
        match self {
            CmapEvent::PoolCreated(e) => &e.address,
            CmapEvent::PoolReady(e) => &e.address,
            CmapEvent::PoolCleared(e) => &e.address,
            CmapEvent::PoolClosed(e) => &e.address,
            CmapEvent::ConnectionCreated(e) => &e.address,
            CmapEvent::ConnectionReady(e) => &e.address,
            CmapEvent::ConnectionClosed(e) => &e.address,
            CmapEvent::ConnectionCheckOutStarted(e) => &e.address,
            CmapEvent::ConnectionCheckOutFailed(e) => &e.address,
            CmapEvent::ConnectionCheckedOut(e) => &e.address,
            CmapEvent::ConnectionCheckedIn(e) => &e.address,
        }
    }

    /// The id of the connection the event is about, for connection events.
    pub fn connection_id(&self) -> Option<u64> {
        match self {
            CmapEvent::ConnectionCreated(e) => Some(e.connection_id),
            CmapEvent::ConnectionReady(e) => Some(e.connection_id),
            CmapEvent::ConnectionClosed(e) => Some(e.connection_id),
            CmapEvent::ConnectionCheckedOut(e) => Some(e.connection_id),
            CmapEvent::ConnectionCheckedIn(e) => Some(e.connection_id),
            _ => None,
        }
    }
}

/// The CMAP options a pool was created with (the effective values).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolCreatedOptions {
    /// `maxPoolSize` (0 = unbounded).
    pub max_pool_size: u32,
    /// `minPoolSize`.
    pub min_pool_size: u32,
    /// `maxIdleTimeMS` (`None` = no limit).
    pub max_idle_time: Option<Duration>,
    /// `maxConnecting`.
    pub max_connecting: u32,
    /// `waitQueueTimeoutMS` (`None` = wait forever).
    pub wait_queue_timeout: Option<Duration>,
}

/// Emitted when a pool is created.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PoolCreatedEvent {
    /// The server the pool is for.
    pub address: ServerAddress,
    /// The pool's options.
    pub options: PoolCreatedOptions,
}

/// Emitted when a pool is marked ready.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PoolReadyEvent {
    /// The server the pool is for.
    pub address: ServerAddress,
}

/// Emitted when a ready pool is cleared (clearing a paused pool emits nothing).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PoolClearedEvent {
    /// The server the pool is for.
    pub address: ServerAddress,
    /// The service the pool was cleared for, in load balanced mode. Always `None` for
    /// now: this pool does not implement load balanced mode.
    pub service_id: Option<ObjectId>,
    /// Whether in-use connections were interrupted as part of the clear.
    pub interrupt_in_use_connections: bool,
}

/// Emitted when a pool is closed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PoolClosedEvent {
    /// The server the pool is for.
    pub address: ServerAddress,
}

/// Emitted when the pool creates a connection, before it is established.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectionCreatedEvent {
    /// The server the pool is for.
    pub address: ServerAddress,
    /// The connection's id.
    pub connection_id: u64,
}

/// Emitted when a connection is established (connected, handshaken, authenticated).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectionReadyEvent {
    /// The server the pool is for.
    pub address: ServerAddress,
    /// The connection's id.
    pub connection_id: u64,
    /// Time from `ConnectionCreated` to this event.
    pub duration: Duration,
}

/// Why a connection was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionClosedReason {
    /// The pool was cleared after the connection was created.
    Stale,
    /// The connection sat available for longer than `max_idle_time`.
    Idle,
    /// The connection broke, was abandoned mid-command, or could not be established.
    Error,
    /// The pool was closed.
    PoolClosed,
}

impl ConnectionClosedReason {
    /// The spec's name of the reason (`stale`, `idle`, `error`, `poolClosed`).
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionClosedReason::Stale => "stale",
            ConnectionClosedReason::Idle => "idle",
            ConnectionClosedReason::Error => "error",
            ConnectionClosedReason::PoolClosed => "poolClosed",
        }
    }

    /// The reason as the spec's log message spells it.
    pub fn log_message(self) -> &'static str {
        match self {
            ConnectionClosedReason::Stale => "Connection became stale because the pool was cleared",
            ConnectionClosedReason::Idle => {
                "Connection has been available but unused for longer than the configured max idle time"
            }
            ConnectionClosedReason::Error => "An error occurred while using the connection",
            ConnectionClosedReason::PoolClosed => "Connection pool was closed",
        }
    }
}

/// Emitted when the pool closes a connection.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectionClosedEvent {
    /// The server the pool is for.
    pub address: ServerAddress,
    /// The connection's id.
    pub connection_id: u64,
    /// Why it was closed.
    pub reason: ConnectionClosedReason,
    /// The error that closed it, when the reason is [`ConnectionClosedReason::Error`] and
    /// the error is known (a failed establishment).
    pub error: Option<Error>,
}

/// Emitted when a checkout starts.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectionCheckOutStartedEvent {
    /// The server the pool is for.
    pub address: ServerAddress,
}

/// Why a checkout failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CheckoutFailedReason {
    /// The pool is closed.
    PoolClosed,
    /// The checkout waited longer than `wait_queue_timeout`.
    Timeout,
    /// Establishing a new connection failed, or the pool is paused or was cleared while
    /// the checkout waited.
    ConnectionError,
    /// The caller dropped the checkout future before it finished (for example, an outer
    /// `tokio::time::timeout` fired). Not one of the spec's reasons: the spec has no
    /// notion of an abandoned checkout, and reporting one as `timeout` or
    /// `connectionError` would tell the subscriber something that did not happen.
    Cancelled,
    /// The checkout would have had to wait and the wait queue was full
    /// ([`PoolOptions::max_waiters`](crate::pool::PoolOptions::max_waiters)): it failed at
    /// once with [`ErrorKind::ExceededMaxWaiters`](crate::ErrorKind::ExceededMaxWaiters).
    /// Not one of the spec's reasons (the spec's wait queue is unbounded).
    ExceededMaxWaiters,
}

impl CheckoutFailedReason {
    /// The spec's name of the reason (`poolClosed`, `timeout`, `connectionError`), or
    /// `cancelled` for [`CheckoutFailedReason::Cancelled`] and `exceededMaxWaiters` for
    /// [`CheckoutFailedReason::ExceededMaxWaiters`].
    pub fn as_str(self) -> &'static str {
        match self {
            CheckoutFailedReason::PoolClosed => "poolClosed",
            CheckoutFailedReason::Timeout => "timeout",
            CheckoutFailedReason::ConnectionError => "connectionError",
            CheckoutFailedReason::Cancelled => "cancelled",
            CheckoutFailedReason::ExceededMaxWaiters => "exceededMaxWaiters",
        }
    }

    /// The reason as the spec's log message spells it.
    pub fn log_message(self) -> &'static str {
        match self {
            CheckoutFailedReason::PoolClosed => "Connection pool was closed",
            CheckoutFailedReason::Timeout => {
                "Wait queue timeout elapsed without a connection becoming available"
            }
            CheckoutFailedReason::ConnectionError => {
                "An error occurred while trying to establish a new connection"
            }
            CheckoutFailedReason::Cancelled => "The checkout was abandoned by its caller",
            CheckoutFailedReason::ExceededMaxWaiters => {
                "The wait queue was full: too many checkouts were waiting for a connection"
            }
        }
    }
}

/// Emitted when a checkout fails.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectionCheckOutFailedEvent {
    /// The server the pool is for.
    pub address: ServerAddress,
    /// Why it failed.
    pub reason: CheckoutFailedReason,
    /// The error the checkout returned, when there is one (not for
    /// [`CheckoutFailedReason::Cancelled`]).
    pub error: Option<Error>,
    /// Time from `ConnectionCheckOutStarted` to this event.
    pub duration: Duration,
}

/// Emitted when a checkout succeeds.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectionCheckedOutEvent {
    /// The server the pool is for.
    pub address: ServerAddress,
    /// The connection's id.
    pub connection_id: u64,
    /// Time from `ConnectionCheckOutStarted` to this event.
    pub duration: Duration,
}

/// Emitted when a connection is checked back in (before it is made available or closed).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectionCheckedInEvent {
    /// The server the pool is for.
    pub address: ServerAddress,
    /// The connection's id.
    pub connection_id: u64,
}
