//! The client's view of the whole deployment: the topology type, every server, and the
//! replica set bookkeeping. Immutable: each update makes a new one (see `update.rs`).

use std::sync::Arc;

use bson::oid::ObjectId;

use super::action::TopologyAction;
use super::compatibility;
use super::server_description::ServerDescription;
use super::server_type::ServerType;
use super::settings::TopologySettings;
use crate::address::ServerAddress;
use crate::error::Error;

/// The kinds of deployment SDAM tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TopologyType {
    /// One server, used whatever it is (`directConnection=true`, or one standalone seed).
    Single,
    /// A replica set with no known primary.
    ReplicaSetNoPrimary,
    /// A replica set with a known primary.
    ReplicaSetWithPrimary,
    /// One or more mongos routers.
    Sharded,
    /// A load balancer in front of mongos routers.
    LoadBalanced,
    /// Not known yet.
    Unknown,
}

impl TopologyType {
    /// The spec's name (`"ReplicaSetWithPrimary"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            TopologyType::Single => "Single",
            TopologyType::ReplicaSetNoPrimary => "ReplicaSetNoPrimary",
            TopologyType::ReplicaSetWithPrimary => "ReplicaSetWithPrimary",
            TopologyType::Sharded => "Sharded",
            TopologyType::LoadBalanced => "LoadBalanced",
            TopologyType::Unknown => "Unknown",
        }
    }

    /// The type of this spec name, if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            TopologyType::Single,
            TopologyType::ReplicaSetNoPrimary,
            TopologyType::ReplicaSetWithPrimary,
            TopologyType::Sharded,
            TopologyType::LoadBalanced,
            TopologyType::Unknown,
        ]
        .into_iter()
        .find(|t| t.name() == name)
    }

    /// A replica set, with or without a primary.
    pub fn is_replica_set(self) -> bool {
        matches!(
            self,
            TopologyType::ReplicaSetNoPrimary | TopologyType::ReplicaSetWithPrimary
        )
    }
}

impl std::fmt::Display for TopologyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything the client knows about the deployment.
#[derive(Debug, Clone)]
pub struct TopologyDescription {
    pub(super) topology_type: TopologyType,
    pub(super) set_name: Option<String>,
    pub(super) max_set_version: Option<i64>,
    pub(super) max_election_id: Option<ObjectId>,
    /// In the order servers were added (seeds first).
    pub(super) servers: Vec<ServerDescription>,
    pub(super) compatibility_error: Option<Error>,
    pub(super) logical_session_timeout_minutes: Option<i64>,
    pub(super) settings: Arc<TopologySettings>,
}

impl TopologyDescription {
    /// The initial description for `settings` (the spec's "Initial TopologyType"), and
    /// the servers to start: one `AddServer` per seed. In load-balanced mode the one
    /// server is a LoadBalancer at once and its pool is ready.
    pub fn new(settings: &TopologySettings) -> (Self, Vec<TopologyAction>) {
        let topology_type = if settings.load_balanced {
            TopologyType::LoadBalanced
        } else if settings.direct_connection == Some(true) {
            TopologyType::Single
        } else if settings.replica_set.is_some() {
            TopologyType::ReplicaSetNoPrimary
        } else {
            TopologyType::Unknown
        };
        let mut servers: Vec<ServerDescription> = Vec::new();
        for seed in &settings.seeds {
            if servers.iter().all(|s| &s.address != seed) {
                servers.push(match topology_type {
                    TopologyType::LoadBalanced => ServerDescription::load_balancer(seed.clone()),
                    _ => ServerDescription::unknown(seed.clone()),
                });
            }
        }
        let mut actions: Vec<TopologyAction> = servers
            .iter()
            .map(|s| TopologyAction::AddServer(s.address.clone()))
            .collect();
        if topology_type == TopologyType::LoadBalanced {
            actions.extend(
                servers
                    .iter()
                    .map(|s| TopologyAction::ReadyPool(s.address.clone())),
            );
        }
        let description = TopologyDescription {
            topology_type,
            set_name: settings.replica_set.clone(),
            max_set_version: None,
            max_election_id: None,
            servers,
            compatibility_error: None,
            logical_session_timeout_minutes: None,
            settings: Arc::new(settings.clone()),
        };
        (description, actions)
    }

    /// A description made directly from servers, for tests, tools and simulations
    /// (the spec runners of server selection build theirs this way). The replica set
    /// bookkeeping starts empty; compatibility and the session timeout are computed.
    pub fn from_servers(
        settings: &TopologySettings,
        topology_type: TopologyType,
        set_name: Option<String>,
        servers: Vec<ServerDescription>,
    ) -> Self {
        let mut description = TopologyDescription {
            topology_type,
            set_name,
            max_set_version: None,
            max_election_id: None,
            servers,
            compatibility_error: None,
            logical_session_timeout_minutes: None,
            settings: Arc::new(settings.clone()),
        };
        description.refresh_derived_fields();
        description
    }

    /// The topology type.
    pub fn topology_type(&self) -> TopologyType {
        self.topology_type
    }

    /// Every server, seeds first, then in the order they were discovered.
    pub fn servers(&self) -> impl ExactSizeIterator<Item = &ServerDescription> + Clone {
        self.servers.iter()
    }

    /// The server at `address`, if it is part of the topology.
    pub fn server(&self, address: &ServerAddress) -> Option<&ServerDescription> {
        self.servers.iter().find(|s| &s.address == address)
    }

    /// The primary, if one is known.
    pub fn primary(&self) -> Option<&ServerDescription> {
        self.servers
            .iter()
            .find(|s| s.server_type == ServerType::RsPrimary)
    }

    /// The replica set name (given by `replicaSet`, or discovered).
    pub fn set_name(&self) -> Option<&str> {
        self.set_name.as_deref()
    }

    /// The largest `setVersion` a primary reported (see the spec for when it drops).
    pub fn max_set_version(&self) -> Option<i64> {
        self.max_set_version
    }

    /// The largest `electionId` a primary reported.
    pub fn max_election_id(&self) -> Option<ObjectId> {
        self.max_election_id
    }

    /// Why the topology cannot be used, when a server's wire versions do not overlap
    /// the client's (the spec's `compatibilityError`).
    pub fn compatibility_error(&self) -> Option<&Error> {
        self.compatibility_error.as_ref()
    }

    /// The smallest `logicalSessionTimeoutMinutes` of the data-bearing servers; `None`
    /// if one of them has none (or there are none).
    pub fn logical_session_timeout_minutes(&self) -> Option<i64> {
        self.logical_session_timeout_minutes
    }

    /// The settings the topology was made with.
    pub fn settings(&self) -> &TopologySettings {
        &self.settings
    }

    /// The spec's equality for event suppression: same type, set name and servers
    /// (each by [`ServerDescription::same_as`]), in any order.
    pub fn same_as(&self, other: &TopologyDescription) -> bool {
        self.topology_type == other.topology_type
            && self.set_name == other.set_name
            && self.servers.len() == other.servers.len()
            && self
                .servers
                .iter()
                .all(|s| other.server(&s.address).is_some_and(|o| o.same_as(s)))
    }

    pub(super) fn position(&self, address: &ServerAddress) -> Option<usize> {
        self.servers.iter().position(|s| &s.address == address)
    }

    /// Recomputes what depends on all servers: compatibility and the session timeout.
    pub(super) fn refresh_derived_fields(&mut self) {
        self.compatibility_error = self.servers.iter().find_map(compatibility::incompatibility);
        let data_bearing: Vec<Option<i64>> = self
            .servers
            .iter()
            .filter(|s| s.server_type.is_data_bearing())
            .map(|s| s.logical_session_timeout_minutes)
            .collect();
        self.logical_session_timeout_minutes = if data_bearing.iter().any(Option::is_none) {
            None
        } else {
            data_bearing.into_iter().flatten().min()
        };
    }
}
