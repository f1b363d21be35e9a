//! SDAM monitoring events, computed from old and new descriptions so that the pure
//! layer decides what happened and the runtime only delivers them.

use std::time::Duration;

use bson::RawDocumentBuf;

use super::description::{TopologyDescription, TopologyType};
use super::server_description::ServerDescription;
use crate::address::ServerAddress;
use crate::error::Error;

/// One SDAM event.
#[derive(Debug, Clone)]
pub enum SdamEvent {
    /// The topology was created.
    TopologyOpening,
    /// The topology was closed.
    TopologyClosed,
    /// The topology description changed (only when it differs by the spec's equality).
    TopologyDescriptionChanged {
        /// Before.
        previous: Box<TopologyDescription>,
        /// After.
        new: Box<TopologyDescription>,
    },
    /// A server joined the topology.
    ServerOpening {
        /// The server.
        address: ServerAddress,
    },
    /// A server left the topology.
    ServerClosed {
        /// The server.
        address: ServerAddress,
    },
    /// A server's description changed (only when it differs by the spec's equality).
    ServerDescriptionChanged {
        /// The server.
        address: ServerAddress,
        /// Before.
        previous: Box<ServerDescription>,
        /// After.
        new: Box<ServerDescription>,
    },
    /// A monitor sent a hello.
    ServerHeartbeatStarted {
        /// The server.
        address: ServerAddress,
        /// Whether it is an awaitable (streaming) hello.
        awaited: bool,
    },
    /// A monitor's hello succeeded.
    ServerHeartbeatSucceeded {
        /// The server.
        address: ServerAddress,
        /// Whether it was an awaitable (streaming) hello.
        awaited: bool,
        /// How long it took.
        duration: Duration,
        /// The reply.
        reply: RawDocumentBuf,
    },
    /// A monitor's hello failed.
    ServerHeartbeatFailed {
        /// The server.
        address: ServerAddress,
        /// Whether it was an awaitable (streaming) hello.
        awaited: bool,
        /// How long it took.
        duration: Duration,
        /// Why.
        error: Error,
    },
}

/// Receives SDAM events. Called synchronously: keep it quick.
pub trait SdamEventHandler: Send + Sync + 'static {
    /// Called once per event.
    fn handle(&self, event: SdamEvent);
}

impl<F> SdamEventHandler for F
where
    F: Fn(SdamEvent) + Send + Sync + 'static,
{
    fn handle(&self, event: SdamEvent) {
        self(event)
    }
}

impl TopologyDescription {
    /// The same topology with no servers and type Unknown: what comes before the
    /// first description and after closing.
    pub fn empty_like(&self) -> TopologyDescription {
        let mut empty = self.clone();
        empty.topology_type = TopologyType::Unknown;
        empty.servers.clear();
        empty.set_name = None;
        empty.max_election_id = None;
        empty.max_set_version = None;
        empty.refresh_derived_fields();
        empty
    }
}

/// The events of opening a topology whose first description is `initial`: opening,
/// the change from nothing to the seeds, one ServerOpening per seed, and, in
/// load-balanced mode, the load balancer's description.
pub fn opening_events(initial: &TopologyDescription) -> Vec<SdamEvent> {
    let mut seeds_unknown = initial.clone();
    for s in &mut seeds_unknown.servers {
        *s = ServerDescription::unknown(s.address.clone());
    }
    let mut events = vec![
        SdamEvent::TopologyOpening,
        SdamEvent::TopologyDescriptionChanged {
            previous: Box::new(initial.empty_like()),
            new: Box::new(seeds_unknown.clone()),
        },
    ];
    events.extend(initial.servers().map(|s| SdamEvent::ServerOpening {
        address: s.address.clone(),
    }));
    events.extend(change_events(&seeds_unknown, initial));
    events
}

/// The events between two successive descriptions: a ServerDescriptionChanged for
/// each server whose description changed, ServerOpening and ServerClosed for servers
/// that came and went, then one TopologyDescriptionChanged if anything changed.
pub fn change_events(old: &TopologyDescription, new: &TopologyDescription) -> Vec<SdamEvent> {
    let mut events = Vec::new();
    for s in new.servers() {
        if let Some(before) = old.server(&s.address) {
            if !before.same_as(s) && !only_possible_primary_hint(before, s) {
                events.push(SdamEvent::ServerDescriptionChanged {
                    address: s.address.clone(),
                    previous: Box::new(before.clone()),
                    new: Box::new(s.clone()),
                });
            }
        }
    }
    for s in new.servers() {
        if old.server(&s.address).is_none() {
            events.push(SdamEvent::ServerOpening {
                address: s.address.clone(),
            });
        }
    }
    for s in old.servers() {
        if new.server(&s.address).is_none() {
            events.push(SdamEvent::ServerClosed {
                address: s.address.clone(),
            });
        }
    }
    if !old.same_as(new) {
        events.push(SdamEvent::TopologyDescriptionChanged {
            previous: Box::new(old.clone()),
            new: Box::new(new.clone()),
        });
    }
    events
}

/// Unknown → PossiblePrimary is a hint from another member, not news from the server
/// itself: multi-threaded clients treat the two types alike, so no event (the spec's
/// monitoring tests show the hint only inside the topology description).
fn only_possible_primary_hint(before: &ServerDescription, after: &ServerDescription) -> bool {
    use super::server_type::ServerType::{PossiblePrimary, Unknown};
    let mut unhinted = after.clone();
    if matches!(
        (before.server_type, after.server_type),
        (Unknown, PossiblePrimary) | (PossiblePrimary, Unknown)
    ) {
        unhinted.server_type = before.server_type;
        return before.same_as(&unhinted);
    }
    false
}

/// The events of closing a topology: ServerClosed per server, the change to an empty
/// Unknown topology, then TopologyClosed.
pub fn closing_events(last: &TopologyDescription) -> Vec<SdamEvent> {
    let mut events: Vec<SdamEvent> = last
        .servers()
        .map(|s| SdamEvent::ServerClosed {
            address: s.address.clone(),
        })
        .collect();
    events.push(SdamEvent::TopologyDescriptionChanged {
        previous: Box::new(last.clone()),
        new: Box::new(last.empty_like()),
    });
    events.push(SdamEvent::TopologyClosed);
    events
}
