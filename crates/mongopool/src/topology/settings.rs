//! What a topology is told at the start: seeds and the options SDAM and selection use.

use std::time::Duration;

use crate::address::ServerAddress;
use crate::connection_string::{ConnectionString, ServerMonitoringMode};
use crate::error::{Error, Result};

/// The default `heartbeatFrequencyMS`: 10 seconds.
pub const DEFAULT_HEARTBEAT_FREQUENCY: Duration = Duration::from_secs(10);
/// `minHeartbeatFrequencyMS`: 500 ms, not configurable (the spec's "no knobs").
pub const MIN_HEARTBEAT_FREQUENCY: Duration = Duration::from_millis(500);
/// The default `localThresholdMS`: 15 ms.
pub const DEFAULT_LOCAL_THRESHOLD: Duration = Duration::from_millis(15);
/// The default `serverSelectionTimeoutMS`: 30 seconds.
pub const DEFAULT_SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// The topology's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct TopologySettings {
    /// The seed list (hosts lower-cased). For `mongodb+srv://`, the resolved hosts.
    pub seeds: Vec<ServerAddress>,
    /// `replicaSet`: the required set name. Defaults to none.
    pub replica_set: Option<String>,
    /// `directConnection`. Defaults to unset (behaves as false).
    pub direct_connection: Option<bool>,
    /// `loadBalanced`. Defaults to false.
    pub load_balanced: bool,
    /// The seeds came from an SRV lookup (`mongodb+srv://`). Defaults to false.
    pub srv: bool,
    /// `srvMaxHosts`: at most this many hosts from SRV records (0 or unset: all).
    pub srv_max_hosts: Option<u32>,
    /// `srvServiceName`. Defaults to `mongodb`.
    pub srv_service_name: String,
    /// `heartbeatFrequencyMS`. Defaults to 10 s.
    pub heartbeat_frequency: Duration,
    /// `minHeartbeatFrequencyMS`. 500 ms.
    pub min_heartbeat_frequency: Duration,
    /// `localThresholdMS`. Defaults to 15 ms.
    pub local_threshold: Duration,
    /// `serverSelectionTimeoutMS`. Defaults to 30 s.
    pub server_selection_timeout: Duration,
    /// `serverMonitoringMode`. Defaults to auto.
    pub server_monitoring_mode: ServerMonitoringMode,
}

impl Default for TopologySettings {
    fn default() -> Self {
        TopologySettings {
            seeds: vec![ServerAddress::tcp(
                "localhost",
                crate::address::DEFAULT_PORT,
            )],
            replica_set: None,
            direct_connection: None,
            load_balanced: false,
            srv: false,
            srv_max_hosts: None,
            srv_service_name: "mongodb".into(),
            heartbeat_frequency: DEFAULT_HEARTBEAT_FREQUENCY,
            min_heartbeat_frequency: MIN_HEARTBEAT_FREQUENCY,
            local_threshold: DEFAULT_LOCAL_THRESHOLD,
            server_selection_timeout: DEFAULT_SERVER_SELECTION_TIMEOUT,
            server_monitoring_mode: ServerMonitoringMode::Auto,
        }
    }
}

impl TopologySettings {
    /// The settings a connection string asks for. A `mongodb+srv://` string must be
    /// resolved first (its hosts are the seeds).
    pub fn from_connection_string(cs: &ConnectionString) -> Result<Self> {
        if cs.needs_resolution() {
            return Err(Error::configuration(
                "resolve the mongodb+srv:// connection string before making a topology",
            ));
        }
        let o = cs.options();
        let settings = TopologySettings {
            seeds: cs.hosts().to_vec(),
            replica_set: o.replica_set.clone(),
            direct_connection: o.direct_connection,
            load_balanced: o.load_balanced.unwrap_or(false),
            srv: cs.is_srv(),
            srv_max_hosts: o.srv_max_hosts,
            srv_service_name: o
                .srv_service_name
                .clone()
                .unwrap_or_else(|| "mongodb".into()),
            heartbeat_frequency: o.heartbeat_frequency.unwrap_or(DEFAULT_HEARTBEAT_FREQUENCY),
            min_heartbeat_frequency: MIN_HEARTBEAT_FREQUENCY,
            local_threshold: o.local_threshold.unwrap_or(DEFAULT_LOCAL_THRESHOLD),
            server_selection_timeout: o
                .server_selection_timeout
                .unwrap_or(DEFAULT_SERVER_SELECTION_TIMEOUT),
            server_monitoring_mode: o
                .server_monitoring_mode
                .unwrap_or(ServerMonitoringMode::Auto),
        };
        settings.validate()?;
        Ok(settings)
    }

    /// The spec's "allowed configuration combinations".
    pub fn validate(&self) -> Result<()> {
        if self.seeds.is_empty() {
            return Err(Error::configuration("a topology needs at least one seed"));
        }
        if self.direct_connection == Some(true) && self.seeds.len() > 1 {
            return Err(Error::configuration(
                "directConnection=true cannot be used with more than one host",
            ));
        }
        if self.load_balanced {
            if self.direct_connection == Some(true) {
                return Err(Error::configuration(
                    "loadBalanced=true cannot be used with directConnection=true",
                ));
            }
            if self.replica_set.is_some() {
                return Err(Error::configuration(
                    "loadBalanced=true cannot be used with replicaSet",
                ));
            }
            if self.seeds.len() > 1 {
                return Err(Error::configuration(
                    "loadBalanced=true cannot be used with more than one host",
                ));
            }
        }
        Ok(())
    }
}
