//! What the async runtime must do after a pure update: the side effects SDAM asks for.

use bson::oid::ObjectId;

use crate::address::ServerAddress;

/// One side effect of a topology update, in the order they must be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopologyAction {
    /// A new server: start its monitor and create its pool (paused).
    AddServer(ServerAddress),
    /// The server left the topology: stop its monitor and close its pool.
    RemoveServer(ServerAddress),
    /// Clear the server's pool (its generation goes up).
    ClearPool {
        /// The server.
        address: ServerAddress,
        /// Also interrupt connections in use (after a monitor's network timeout).
        interrupt_in_use: bool,
        /// In load-balanced mode, only this service's connections.
        service_id: Option<ObjectId>,
    },
    /// A check succeeded: mark the server's pool ready.
    ReadyPool(ServerAddress),
    /// Ask the server's monitor to check it now.
    RequestImmediateCheck(ServerAddress),
    /// Cancel the monitor's check in progress (a network error on an application
    /// connection made the server Unknown).
    CancelMonitorCheck(ServerAddress),
}
