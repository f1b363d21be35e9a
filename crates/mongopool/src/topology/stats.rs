//! A snapshot of the topology for people: each server's type, round trip times,
//! last error and pool counts.

use std::time::Duration;

use super::description::{TopologyDescription, TopologyType};
use super::server_type::ServerType;
use crate::address::ServerAddress;
use crate::mongo_pool::MongoPool;
use crate::pool::PoolStats;

/// A server's pool and round trip times (average, minimum), as the runtime holds them.
pub(crate) type ServerRuntime = (
    ServerAddress,
    MongoPool,
    Option<(Option<Duration>, Duration)>,
);

/// The topology at one moment ([`Topology::stats`](super::Topology::stats)).
#[derive(Debug, Clone)]
pub struct TopologyStats {
    /// The topology type.
    pub topology_type: TopologyType,
    /// The replica set name, if known.
    pub set_name: Option<String>,
    /// Every known server, in the description's order.
    pub servers: Vec<ServerStats>,
}

/// One server of [`TopologyStats`].
#[derive(Debug, Clone)]
pub struct ServerStats {
    /// The server.
    pub address: ServerAddress,
    /// Its type.
    pub server_type: ServerType,
    /// The weighted average round trip time, once measured.
    pub round_trip_time: Option<Duration>,
    /// The smallest of the last ten round trips (zero before two samples).
    pub min_round_trip_time: Option<Duration>,
    /// The error of its last failed check (or of the operation that made it Unknown).
    pub last_error: Option<String>,
    /// Its pool's counts; `None` if it has no pool (it is being removed).
    pub pool: Option<PoolStats>,
}

impl TopologyStats {
    pub(crate) fn collect(
        description: &TopologyDescription,
        runtime: Vec<ServerRuntime>,
    ) -> TopologyStats {
        let servers = description
            .servers()
            .map(|s| {
                let found = runtime.iter().find(|(a, _, _)| a == &s.address);
                ServerStats {
                    address: s.address.clone(),
                    server_type: s.server_type,
                    round_trip_time: s.round_trip_time,
                    min_round_trip_time: s
                        .min_round_trip_time
                        .or_else(|| found.and_then(|(_, _, rtt)| rtt.map(|r| r.1))),
                    last_error: s.error.as_ref().map(ToString::to_string),
                    pool: found.map(|(_, pool, _)| pool.stats()),
                }
            })
            .collect();
        TopologyStats {
            topology_type: description.topology_type(),
            set_name: description.set_name().map(str::to_owned),
            servers,
        }
    }
}

impl std::fmt::Display for TopologyStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.topology_type.name())?;
        if let Some(set) = &self.set_name {
            write!(f, " (set {set:?})")?;
        }
        for s in &self.servers {
            write!(f, "\n  {} {}", s.address, s.server_type.name())?;
            if let Some(rtt) = s.round_trip_time {
                write!(f, " rtt {:.1} ms", rtt.as_secs_f64() * 1000.0)?;
            }
            if let Some(p) = &s.pool {
                write!(
                    f,
                    " pool idle {} in use {} pending {} generation {}",
                    p.idle, p.in_use, p.pending, p.generation
                )?;
            }
            if let Some(e) = &s.last_error {
                write!(f, " error: {e}")?;
            }
        }
        Ok(())
    }
}
