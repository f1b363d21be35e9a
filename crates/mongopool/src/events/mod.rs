//! Connection pool monitoring: the CMAP events a [`Pool`](crate::pool::Pool) emits.
//!
//! Subscribe by giving [`PoolOptions::event_handler`](crate::pool::PoolOptions::event_handler)
//! a [`CmapEventHandler`]. Every event is also written as a `tracing` event at debug level
//! with target [`LOG_TARGET`], using the message strings and field names of the CMAP
//! logging specification (`serverHost`, `serverPort`, `driverConnectionId`, `durationMS`,
//! `reason`, `error`).

mod kinds;
mod log;

pub use kinds::*;
pub(crate) use log::{log_enabled, log_event};

/// The `tracing` target of the pool's log messages (the spec's `connection` component).
pub const LOG_TARGET: &str = "mongopool::connection";

/// Receives the events of a pool.
///
/// `handle` runs synchronously on whichever task caused the event, so it must be cheap
/// (push to a channel, bump a counter): while it runs, other tasks that emit events of
/// the same pool wait for it. A handler sees the events of one pool one at a time, in
/// the order they happened, and an operation's events are delivered before the
/// operation returns. A handler may call back into its own pool (for example
/// [`Pool::stats`](crate::pool::Pool::stats) or [`Pool::clear`](crate::pool::Pool::clear));
/// events caused by such a call are delivered right after the current one returns. It
/// must not call into a second pool whose handler in turn calls into the first.
pub trait CmapEventHandler: Send + Sync + 'static {
    /// Called once per event.
    fn handle(&self, event: CmapEvent);
}

impl<F> CmapEventHandler for F
where
    F: Fn(CmapEvent) + Send + Sync + 'static,
{
    fn handle(&self, event: CmapEvent) {
        self(event)
    }
}
