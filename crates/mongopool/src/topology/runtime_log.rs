//! The SDAM logging spec's messages, written with `tracing` at debug level under
//! [`LOG_TARGET`]; field names are the spec's (camelCase on purpose).

use std::borrow::Cow;

use bson::oid::ObjectId;

use super::events::SdamEvent;
use crate::address::ServerAddress;

/// The `tracing` target of topology log messages.
pub const LOG_TARGET: &str = "mongopool::topology";

/// The `topologyId` of log messages: one per topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopologyId(ObjectId);

impl TopologyId {
    pub(crate) fn new() -> Self {
        TopologyId(ObjectId::new())
    }
}

impl std::fmt::Display for TopologyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_hex())
    }
}

fn host_and_port(address: &ServerAddress) -> (Cow<'_, str>, Option<u16>) {
    match address {
        ServerAddress::Tcp { host, port } => (Cow::Borrowed(host), Some(*port)),
        ServerAddress::Unix { path } => (path.to_string_lossy(), None),
    }
}

/// Writes the log message of `event`, if a subscriber listens.
pub(crate) fn log_event(id: TopologyId, event: &SdamEvent) {
    if !tracing::enabled!(target: LOG_TARGET, tracing::Level::DEBUG) {
        return;
    }
    let topology_id = tracing::field::display(id);
    match event {
        SdamEvent::TopologyOpening => tracing::debug!(
            target: LOG_TARGET,
            topologyId = topology_id,
            "Starting topology monitoring"
        ),
        SdamEvent::TopologyClosed => tracing::debug!(
            target: LOG_TARGET,
            topologyId = topology_id,
            "Stopped topology monitoring"
        ),
        SdamEvent::TopologyDescriptionChanged { previous, new } => tracing::debug!(
            target: LOG_TARGET,
            topologyId = topology_id,
            previousDescription = tracing::field::debug(summary(previous)),
            newDescription = tracing::field::debug(summary(new)),
            "Topology description changed"
        ),
        SdamEvent::ServerOpening { address } => {
            let (host, port) = host_and_port(address);
            tracing::debug!(
                target: LOG_TARGET,
                topologyId = topology_id,
                serverHost = &*host,
                serverPort = port,
                "Starting server monitoring"
            )
        }
        SdamEvent::ServerClosed { address } => {
            let (host, port) = host_and_port(address);
            tracing::debug!(
                target: LOG_TARGET,
                topologyId = topology_id,
                serverHost = &*host,
                serverPort = port,
                "Stopped server monitoring"
            )
        }
        SdamEvent::ServerDescriptionChanged { .. } => {}
        SdamEvent::ServerHeartbeatStarted { address, awaited } => {
            let (host, port) = host_and_port(address);
            tracing::debug!(
                target: LOG_TARGET,
                topologyId = topology_id,
                serverHost = &*host,
                serverPort = port,
                awaited = awaited,
                "Server heartbeat started"
            )
        }
        SdamEvent::ServerHeartbeatSucceeded {
            address,
            awaited,
            duration,
            reply,
        } => {
            let (host, port) = host_and_port(address);
            let reply = bson::Document::try_from(reply.as_ref())
                .map(|d| d.to_string())
                .unwrap_or_default();
            tracing::debug!(
                target: LOG_TARGET,
                topologyId = topology_id,
                serverHost = &*host,
                serverPort = port,
                awaited = awaited,
                durationMS = duration.as_secs_f64() * 1000.0,
                reply = reply,
                "Server heartbeat succeeded"
            )
        }
        SdamEvent::ServerHeartbeatFailed {
            address,
            awaited,
            duration,
            error,
        } => {
            let (host, port) = host_and_port(address);
            tracing::debug!(
                target: LOG_TARGET,
                topologyId = topology_id,
                serverHost = &*host,
                serverPort = port,
                awaited = awaited,
                durationMS = duration.as_secs_f64() * 1000.0,
                failure = tracing::field::display(error),
                "Server heartbeat failed"
            )
        }
    }
}

/// A short form of a description for logs: type and each server's type.
fn summary(d: &super::description::TopologyDescription) -> String {
    let servers: Vec<String> = d
        .servers()
        .map(|s| format!("{} ({})", s.address, s.server_type.name()))
        .collect();
    format!("{} [{}]", d.topology_type().name(), servers.join(", "))
}
