//! The pool's numbers through the [`metrics`](https://docs.rs/metrics) facade (feature
//! `metrics`): a [`CmapEventHandler`] that turns CMAP events into counters, gauges and a
//! histogram, labelled with the pool's server address. Install any `metrics` recorder
//! (Prometheus, StatsD, ...) and pass the handler to the pool:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use mongopool::{metrics::PoolMetrics, PoolOptions};
//! let options = PoolOptions::builder()
//!     .event_handler(Arc::new(PoolMetrics::new()))
//!     .build()?;
//! # Ok::<(), mongopool::Error>(())
//! ```
//!
//! | name | kind | labels |
//! | --- | --- | --- |
//! | `mongopool_connections` | gauge | `server`, `state` = `pending`, `idle`, `in_use` |
//! | `mongopool_connections_created_total` | counter | `server` |
//! | `mongopool_connections_closed_total` | counter | `server`, `reason` |
//! | `mongopool_checkouts_total` | counter | `server` |
//! | `mongopool_checkout_failures_total` | counter | `server`, `reason` |
//! | `mongopool_wait_queue_timeouts_total` | counter | `server` |
//! | `mongopool_checkout_wait_seconds` | histogram | `server` |
//! | `mongopool_pool_clears_total` | counter | `server` |
//!
//! The topology's numbers come from [`TopologyMetrics`], an SDAM event handler
//! (`TopologyOptions::sdam_event_handler`):
//!
//! | name | kind | labels |
//! | --- | --- | --- |
//! | `mongopool_servers` | gauge | `type` = every server type (`RSPrimary`, `Unknown`, ...) |
//! | `mongopool_topology_changes_total` | counter | |
//! | `mongopool_heartbeat_failures_total` | counter | `server` |

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use crate::events::{CheckoutFailedReason, CmapEvent, CmapEventHandler};
use crate::topology::{SdamEvent, SdamEventHandler, ServerType};

/// Which connections of one pool are in which state, kept by connection id so that a
/// connection closed while pending or in use leaves its state exactly once.
#[derive(Default)]
struct States {
    open: HashSet<u64>,
    pending: HashSet<u64>,
    in_use: HashSet<u64>,
}

/// A [`CmapEventHandler`] that records the pool's numbers through the `metrics` facade.
/// One handler may serve several pools: the numbers are kept per server address.
#[derive(Default)]
pub struct PoolMetrics {
    states: Mutex<HashMap<String, States>>,
}

impl PoolMetrics {
    /// A handler recording into whatever `metrics` recorder is installed.
    pub fn new() -> Self {
        PoolMetrics::default()
    }
}

impl std::fmt::Debug for PoolMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolMetrics").finish_non_exhaustive()
    }
}

impl CmapEventHandler for PoolMetrics {
    fn handle(&self, event: CmapEvent) {
        let server = event.address().to_string();
        match &event {
            CmapEvent::ConnectionCheckedOut(e) => {
                ::metrics::counter!("mongopool_checkouts_total", "server" => server.clone())
                    .increment(1);
                ::metrics::histogram!("mongopool_checkout_wait_seconds", "server" => server.clone())
                    .record(e.duration.as_secs_f64());
            }
            CmapEvent::ConnectionCheckOutFailed(e) => {
                ::metrics::counter!(
                    "mongopool_checkout_failures_total",
                    "server" => server.clone(),
                    "reason" => e.reason.as_str()
                )
                .increment(1);
                if e.reason == CheckoutFailedReason::Timeout {
                    ::metrics::counter!("mongopool_wait_queue_timeouts_total", "server" => server.clone())
                        .increment(1);
                }
            }
            CmapEvent::ConnectionCreated(_) => {
                ::metrics::counter!("mongopool_connections_created_total", "server" => server.clone())
                    .increment(1);
            }
            CmapEvent::ConnectionClosed(e) => {
                ::metrics::counter!(
                    "mongopool_connections_closed_total",
                    "server" => server.clone(),
                    "reason" => e.reason.as_str()
                )
                .increment(1);
            }
            CmapEvent::PoolCleared(_) => {
                ::metrics::counter!("mongopool_pool_clears_total", "server" => server.clone())
                    .increment(1);
            }
            _ => {}
        }
        let Some(id) = event.connection_id() else {
            return;
        };
        let mut all = self
            .states
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let s = all.entry(server.clone()).or_default();
        match &event {
            CmapEvent::ConnectionCreated(_) => {
                s.open.insert(id);
                s.pending.insert(id);
            }
            CmapEvent::ConnectionReady(_) => {
                s.pending.remove(&id);
            }
            CmapEvent::ConnectionCheckedOut(_) => {
                s.in_use.insert(id);
            }
            CmapEvent::ConnectionCheckedIn(_) => {
                s.in_use.remove(&id);
            }
            CmapEvent::ConnectionClosed(_) => {
                s.open.remove(&id);
                s.pending.remove(&id);
                s.in_use.remove(&id);
            }
            _ => {}
        }
        let idle = s
            .open
            .len()
            .saturating_sub(s.pending.len() + s.in_use.len());
        for (state, n) in [
            ("pending", s.pending.len()),
            ("idle", idle),
            ("in_use", s.in_use.len()),
        ] {
            ::metrics::gauge!("mongopool_connections", "server" => server.clone(), "state" => state)
                .set(n as f64);
        }
    }
}

/// Every server type, so that a type with no server left reads 0, not its last count.
const SERVER_TYPES: [ServerType; 10] = [
    ServerType::Standalone,
    ServerType::Mongos,
    ServerType::PossiblePrimary,
    ServerType::RsPrimary,
    ServerType::RsSecondary,
    ServerType::RsArbiter,
    ServerType::RsOther,
    ServerType::RsGhost,
    ServerType::LoadBalancer,
    ServerType::Unknown,
];

/// An [`SdamEventHandler`] that records the topology's numbers through the `metrics`
/// facade: servers by type, description changes, heartbeat failures.
#[derive(Debug, Default)]
pub struct TopologyMetrics {
    _private: (),
}

impl TopologyMetrics {
    /// A handler recording into whatever `metrics` recorder is installed.
    pub fn new() -> Self {
        TopologyMetrics::default()
    }
}

impl SdamEventHandler for TopologyMetrics {
    fn handle(&self, event: SdamEvent) {
        match event {
            SdamEvent::TopologyDescriptionChanged { new, .. } => {
                ::metrics::counter!("mongopool_topology_changes_total").increment(1);
                for server_type in SERVER_TYPES {
                    let n = new
                        .servers()
                        .filter(|s| s.server_type == server_type)
                        .count();
                    ::metrics::gauge!("mongopool_servers", "type" => server_type.name())
                        .set(n as f64);
                }
            }
            SdamEvent::ServerHeartbeatFailed { address, .. } => {
                ::metrics::counter!(
                    "mongopool_heartbeat_failures_total",
                    "server" => address.to_string()
                )
                .increment(1);
            }
            _ => {}
        }
    }
}
