//! The topology's pure layer: server descriptions from hello replies, the SDAM state
//! machine, error handling, SDAM events and server selection. No I/O and no clock:
//! time comes in as arguments, side effects go out as [`TopologyAction`]s that the
//! async runtime applies (monitors, pools).

mod action;
mod application_error;
mod compatibility;
mod description;
mod events;
mod hello_fields;
mod selection;
mod server_description;
mod server_type;
mod settings;
mod srv_hosts;
mod topology_version;
mod update;

#[cfg(test)]
mod rules_tests;

pub use action::TopologyAction;
pub use application_error::{
    is_not_writable_primary, is_recovering, is_state_change, ApplicationError,
    ApplicationErrorKind, ErrorPhase,
};
pub use compatibility::{CLIENT_MAX_WIRE_VERSION, CLIENT_MIN_WIRE_VERSION};
pub use description::{TopologyDescription, TopologyType};
pub use events::{change_events, closing_events, opening_events, SdamEvent, SdamEventHandler};
pub use selection::{
    average_round_trip_time, eligible_servers, in_latency_window, select_server, selection_error,
    selection_failure_message, suitable_servers, unique_primary_choice, validate_max_staleness,
    SelectionCriteria, IDLE_WRITE_PERIOD, SMALLEST_MAX_STALENESS,
};
pub use server_description::ServerDescription;
pub use server_type::ServerType;
pub use settings::{
    TopologySettings, DEFAULT_HEARTBEAT_FREQUENCY, DEFAULT_LOCAL_THRESHOLD,
    DEFAULT_SERVER_SELECTION_TIMEOUT, MIN_HEARTBEAT_FREQUENCY,
};
pub use topology_version::TopologyVersion;
pub use update::SYSTEM_OVERLOADED_LABEL;

// The async runtime (helper `runtime`): monitors, pools per server, selection that
// waits, SRV polling.
mod monitor;
mod rtt;
mod runtime;
mod runtime_log;
mod srv_poller;
mod stats;
#[allow(clippy::module_inception)]
mod topology;

pub use rtt::{RttTracker, RTT_WINDOW};
pub use runtime_log::{TopologyId, LOG_TARGET};
pub use srv_poller::{SrvSource, SRV_RESCAN_INTERVAL};
pub use stats::{ServerStats, TopologyStats};
pub use topology::{
    SelectedServer, Topology, TopologyOptions, TopologyOptionsBuilder, TopologyWatch,
};
