//! The spec's log messages, written with `tracing` at debug level.

use std::borrow::Cow;
use std::time::Duration;

use super::{CmapEvent, LOG_TARGET};
use crate::address::ServerAddress;

/// Whether a debug `tracing` subscriber listens to the pool's target.
pub(crate) fn log_enabled() -> bool {
    tracing::enabled!(target: LOG_TARGET, tracing::Level::DEBUG)
}

fn host_and_port(address: &ServerAddress) -> (Cow<'_, str>, Option<u16>) {
    match address {
        ServerAddress::Tcp { host, port } => (Cow::Borrowed(host), Some(*port)),
        ServerAddress::Unix { path } => (path.to_string_lossy(), None),
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn millis_int(d: Option<Duration>) -> Option<u64> {
    d.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Writes the log message of `event`. Field names are the spec's (camelCase on purpose).
pub(crate) fn log_event(event: &CmapEvent) {
    if !log_enabled() {
        return;
    }
    let (host, port) = host_and_port(event.address());
    let host: &str = &host;
    match event {
        CmapEvent::PoolCreated(e) => tracing::debug!(
            target: LOG_TARGET,
            serverHost = host,
            serverPort = port,
            maxIdleTimeMS = millis_int(e.options.max_idle_time),
            minPoolSize = e.options.min_pool_size,
            maxPoolSize = e.options.max_pool_size,
            maxConnecting = e.options.max_connecting,
            waitQueueTimeoutMS = millis_int(e.options.wait_queue_timeout),
            "Connection pool created"
        ),
        CmapEvent::PoolReady(_) => tracing::debug!(
            target: LOG_TARGET,
            serverHost = host,
            serverPort = port,
            "Connection pool ready"
        ),
        CmapEvent::PoolCleared(e) => tracing::debug!(
            target: LOG_TARGET,
            serverHost = host,
            serverPort = port,
            serviceId = e.service_id.map(|id| tracing::field::display(id.to_hex())),
            interruptInUseConnections = e.interrupt_in_use_connections,
            "Connection pool cleared"
        ),
        CmapEvent::PoolClosed(_) => tracing::debug!(
            target: LOG_TARGET,
            serverHost = host,
            serverPort = port,
            "Connection pool closed"
        ),
        CmapEvent::ConnectionCreated(e) => tracing::debug!(
            target: LOG_TARGET,
            serverHost = host,
            serverPort = port,
            driverConnectionId = e.connection_id,
            "Connection created"
        ),
        CmapEvent::ConnectionReady(e) => tracing::debug!(
            target: LOG_TARGET,
            serverHost = host,
            serverPort = port,
            driverConnectionId = e.connection_id,
            durationMS = millis(e.duration),
            "Connection ready"
        ),
        CmapEvent::ConnectionClosed(e) => tracing::debug!(
            target: LOG_TARGET,
            serverHost = host,
            serverPort = port,
            driverConnectionId = e.connection_id,
            reason = e.reason.log_message(),
            error = e.error.as_ref().map(tracing::field::display),
            "Connection closed"
        ),
        CmapEvent::ConnectionCheckOutStarted(_) => tracing::debug!(
            target: LOG_TARGET,
            serverHost = host,
            serverPort = port,
            "Connection checkout started"
        ),
        CmapEvent::ConnectionCheckOutFailed(e) => tracing::debug!(
            target: LOG_TARGET,
            serverHost = host,
            serverPort = port,
            reason = e.reason.log_message(),
            error = e.error.as_ref().map(tracing::field::display),
            durationMS = millis(e.duration),
            "Connection checkout failed"
        ),
        CmapEvent::ConnectionCheckedOut(e) => tracing::debug!(
            target: LOG_TARGET,
            serverHost = host,
            serverPort = port,
            driverConnectionId = e.connection_id,
            durationMS = millis(e.duration),
            "Connection checked out"
        ),
        CmapEvent::ConnectionCheckedIn(e) => tracing::debug!(
            target: LOG_TARGET,
            serverHost = host,
            serverPort = port,
            driverConnectionId = e.connection_id,
            "Connection checked in"
        ),
    }
}
