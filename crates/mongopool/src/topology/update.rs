//! The SDAM update: old topology description + new server description → new topology
//! description + actions. Pure: the spec's "Updating the TopologyDescription".

use std::cmp::Ordering;

use super::action::TopologyAction;
use super::description::{TopologyDescription, TopologyType};
use super::server_description::ServerDescription;
use super::server_type::ServerType;
use super::topology_version::TopologyVersion;
use crate::address::ServerAddress;
use crate::error::{Error, ErrorKind, OperationFailure};

/// The error label with which a server (or the pool) marks overload: such errors
/// change neither the topology nor the pool.
pub const SYSTEM_OVERLOADED_LABEL: &str = "SystemOverloadedError";

impl TopologyDescription {
    /// Applies the outcome of one check (or handshake) of a server: the new
    /// description, and what the runtime must do (start or stop monitors and pools,
    /// clear or ready a pool, check a server now).
    ///
    /// Ignored (no change, no action): a server no longer in the topology, a
    /// load-balanced topology (its one server is never checked), and a description
    /// whose `topologyVersion` is older than the current one.
    pub fn apply(&self, sd: ServerDescription) -> (TopologyDescription, Vec<TopologyAction>) {
        let Some(pos) = self.position(&sd.address) else {
            return (self.clone(), Vec::new());
        };
        if self.topology_type == TopologyType::LoadBalanced {
            return (self.clone(), Vec::new());
        }
        let current = &self.servers[pos];
        if TopologyVersion::compare(
            current.topology_version.as_ref(),
            sd.topology_version.as_ref(),
        ) == Ordering::Greater
        {
            return (self.clone(), Vec::new());
        }
        let address = sd.address.clone();
        let check_error = sd.error.clone();
        let mut next = self.clone();
        next.servers[pos] = sd;
        let mut extra = Vec::new();
        next.dispatch(&address, &mut extra);
        next.refresh_derived_fields();

        let mut actions = membership_changes(self, &next);
        if let Some(server) = next.server(&address) {
            if let Some(error) = check_error {
                if !error.has_label(SYSTEM_OVERLOADED_LABEL) {
                    actions.push(TopologyAction::ClearPool {
                        address: address.clone(),
                        interrupt_in_use: error.is_timeout(),
                        service_id: None,
                    });
                }
            }
            if makes_pool_ready(server.server_type, next.topology_type) {
                actions.push(TopologyAction::ReadyPool(address));
            }
        }
        actions.extend(extra);
        (next, actions)
    }

    /// The TopologyType table: what to do with the server at `address`, which was
    /// just replaced.
    fn dispatch(&mut self, address: &ServerAddress, extra: &mut Vec<TopologyAction>) {
        let Some(server_type) = self.server(address).map(|s| s.server_type) else {
            return;
        };
        use ServerType as S;
        match self.topology_type {
            TopologyType::LoadBalanced => {}
            TopologyType::Single => self.verify_single_set_name(address),
            TopologyType::Unknown => match server_type {
                S::Standalone => self.update_unknown_with_standalone(address),
                S::Mongos => self.topology_type = TopologyType::Sharded,
                S::RsPrimary => {
                    self.topology_type = TopologyType::ReplicaSetWithPrimary;
                    self.update_rs_from_primary(address, extra);
                }
                S::RsSecondary | S::RsArbiter | S::RsOther => {
                    self.topology_type = TopologyType::ReplicaSetNoPrimary;
                    self.update_rs_without_primary(address);
                }
                S::LoadBalancer => self.remove(address),
                S::Unknown | S::PossiblePrimary | S::RsGhost => {}
            },
            TopologyType::Sharded => {
                if !matches!(server_type, S::Unknown | S::PossiblePrimary | S::Mongos) {
                    self.remove(address);
                }
            }
            TopologyType::ReplicaSetNoPrimary => match server_type {
                S::Standalone | S::Mongos | S::LoadBalancer => self.remove(address),
                S::RsPrimary => {
                    self.topology_type = TopologyType::ReplicaSetWithPrimary;
                    self.update_rs_from_primary(address, extra);
                }
                S::RsSecondary | S::RsArbiter | S::RsOther => {
                    self.update_rs_without_primary(address)
                }
                S::Unknown | S::PossiblePrimary | S::RsGhost => {}
            },
            TopologyType::ReplicaSetWithPrimary => match server_type {
                S::Standalone | S::Mongos | S::LoadBalancer => {
                    self.remove(address);
                    self.check_if_has_primary();
                }
                S::RsPrimary => self.update_rs_from_primary(address, extra),
                S::RsSecondary | S::RsArbiter | S::RsOther => {
                    self.update_rs_with_primary_from_member(address)
                }
                S::Unknown | S::PossiblePrimary | S::RsGhost => self.check_if_has_primary(),
            },
        }
    }

    /// "Verifying setName with TopologyType Single": a wrong or missing set name
    /// makes the server Unknown.
    fn verify_single_set_name(&mut self, address: &ServerAddress) {
        let (Some(required), Some(pos)) = (self.set_name.clone(), self.position(address)) else {
            return;
        };
        let server = &self.servers[pos];
        if server.server_type != ServerType::Unknown
            && server.set_name.as_deref() != Some(required.as_str())
        {
            let found = server.set_name.clone();
            self.servers[pos] = ServerDescription::from_error(
                address.clone(),
                Error::configuration(format!(
                    "replica set name mismatch: {address} reports {found:?}, replicaSet \
                     requires {required:?}"
                )),
                None,
            );
        }
    }

    fn update_unknown_with_standalone(&mut self, address: &ServerAddress) {
        if self.settings.seeds.len() == 1 {
            self.topology_type = TopologyType::Single;
        } else {
            self.remove(address);
        }
    }

    fn update_rs_without_primary(&mut self, address: &ServerAddress) {
        let Some(sd) = self.server(address).cloned() else {
            return;
        };
        if !self.adopt_set_name(&sd) {
            self.remove(address);
            return;
        }
        self.add_members(&sd);
        if let Some(primary) = &sd.primary {
            if let Some(pos) = self.position(primary) {
                if self.servers[pos].server_type == ServerType::Unknown {
                    self.servers[pos].server_type = ServerType::PossiblePrimary;
                }
            }
        }
        if sd.me.as_ref().is_some_and(|me| me != address) {
            self.remove(address);
        }
    }

    fn update_rs_with_primary_from_member(&mut self, address: &ServerAddress) {
        let Some(sd) = self.server(address).cloned() else {
            return;
        };
        if self.set_name != sd.set_name || sd.me.as_ref().is_some_and(|me| me != address) {
            self.remove(address);
            self.check_if_has_primary();
            return;
        }
        if self.primary().is_none() {
            self.topology_type = TopologyType::ReplicaSetNoPrimary;
            if let Some(primary) = &sd.primary {
                if let Some(pos) = self.position(primary) {
                    if self.servers[pos].server_type == ServerType::Unknown {
                        self.servers[pos].server_type = ServerType::PossiblePrimary;
                    }
                }
            }
        }
    }

    fn update_rs_from_primary(&mut self, address: &ServerAddress, extra: &mut Vec<TopologyAction>) {
        let Some(sd) = self.server(address).cloned() else {
            return;
        };
        if !self.adopt_set_name(&sd) {
            self.remove(address);
            self.check_if_has_primary();
            return;
        }
        if let Some(stale) = self.stale_primary(&sd) {
            self.mark_unknown(address, stale);
            self.check_if_has_primary();
            return;
        }
        let old_primaries: Vec<ServerAddress> = self
            .servers
            .iter()
            .filter(|s| s.server_type == ServerType::RsPrimary && &s.address != address)
            .map(|s| s.address.clone())
            .collect();
        for old in old_primaries {
            self.mark_unknown(
                &old,
                "primary marked stale due to discovery of newer primary".into(),
            );
            extra.push(TopologyAction::RequestImmediateCheck(old));
        }
        self.add_members(&sd);
        let members: Vec<&ServerAddress> = sd.members().collect();
        self.servers.retain(|s| members.contains(&&s.address));
        self.check_if_has_primary();
    }

    /// The (electionId, setVersion) ordering: `Some(message)` when `sd` is a stale
    /// primary, else records its pair as the newest. MongoDB 6.0+ (wire version 17)
    /// orders by electionId first; older servers by setVersion first.
    fn stale_primary(&mut self, sd: &ServerDescription) -> Option<String> {
        let stale = |td: &TopologyDescription| {
            Some(format!(
                "primary marked stale due to electionId/setVersion mismatch, \
                 {} is stale compared to {}",
                pair(sd.election_id, sd.set_version),
                pair(td.max_election_id, td.max_set_version)
            ))
        };
        if sd.max_wire_version.unwrap_or(0) >= 17 {
            // None orders before Some, as the spec asks for null values.
            if (sd.election_id, sd.set_version) >= (self.max_election_id, self.max_set_version) {
                self.max_election_id = sd.election_id;
                self.max_set_version = sd.set_version;
                return None;
            }
            return stale(self);
        }
        if let (Some(set_version), Some(election_id)) = (sd.set_version, sd.election_id) {
            if let (Some(max_sv), Some(max_eid)) = (self.max_set_version, self.max_election_id) {
                if max_sv > set_version || (max_sv == set_version && max_eid > election_id) {
                    return stale(self);
                }
            }
            self.max_election_id = Some(election_id);
        }
        if let Some(set_version) = sd.set_version {
            if self.max_set_version.is_none_or(|max| set_version > max) {
                self.max_set_version = Some(set_version);
            }
        }
        None
    }

    /// Takes the set name of `sd` if none is known; false if it differs.
    fn adopt_set_name(&mut self, sd: &ServerDescription) -> bool {
        match &self.set_name {
            None => {
                self.set_name = sd.set_name.clone();
                true
            }
            Some(name) => sd.set_name.as_deref() == Some(name.as_str()),
        }
    }

    fn add_members(&mut self, sd: &ServerDescription) {
        for member in sd.members() {
            if self.position(member).is_none() {
                self.servers
                    .push(ServerDescription::unknown(member.clone()));
            }
        }
    }

    fn mark_unknown(&mut self, address: &ServerAddress, why: String) {
        if let Some(pos) = self.position(address) {
            let error = Error::new(ErrorKind::NotPrimary(OperationFailure {
                code: 0,
                code_name: None,
                message: why,
                labels: Vec::new(),
                reply: bson::RawDocumentBuf::new(),
            }));
            self.servers[pos] = ServerDescription::from_error(address.clone(), error, None);
        }
    }

    pub(super) fn remove(&mut self, address: &ServerAddress) {
        self.servers.retain(|s| &s.address != address);
    }

    fn check_if_has_primary(&mut self) {
        self.topology_type = match self.primary() {
            Some(_) => TopologyType::ReplicaSetWithPrimary,
            None => TopologyType::ReplicaSetNoPrimary,
        };
    }
}

fn pair(election_id: Option<bson::oid::ObjectId>, set_version: Option<i64>) -> String {
    let e = election_id.map_or("null".to_string(), |e| e.to_hex());
    let v = set_version.map_or("null".to_string(), |v| v.to_string());
    format!("{{electionId: {e}, setVersion: {v}}}")
}

/// The spec's "mark the pool ready" rule, after a successful check.
fn makes_pool_ready(server_type: ServerType, topology_type: TopologyType) -> bool {
    matches!(
        server_type,
        ServerType::Mongos
            | ServerType::RsPrimary
            | ServerType::RsSecondary
            | ServerType::Standalone
            | ServerType::LoadBalancer
    ) || (server_type.is_available() && topology_type == TopologyType::Single)
}

/// `RemoveServer` for servers that left, then `AddServer` for servers that came.
pub(super) fn membership_changes(
    old: &TopologyDescription,
    new: &TopologyDescription,
) -> Vec<TopologyAction> {
    let removed = old
        .servers
        .iter()
        .filter(|s| new.position(&s.address).is_none())
        .map(|s| TopologyAction::RemoveServer(s.address.clone()));
    let added = new
        .servers
        .iter()
        .filter(|s| old.position(&s.address).is_none())
        .map(|s| TopologyAction::AddServer(s.address.clone()));
    removed.chain(added).collect()
}
