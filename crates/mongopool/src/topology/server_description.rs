//! One server as the topology sees it: what its last hello said, or why it failed.

use std::collections::BTreeMap;
use std::time::Duration;

use bson::oid::ObjectId;
use bson::{RawDocument, RawDocumentBuf};

use super::hello_fields;
use super::server_type::ServerType;
use super::topology_version::TopologyVersion;
use crate::address::ServerAddress;
use crate::error::Error;

/// The client's view of one server, from its most recent check.
///
/// Times are plain numbers so this stays pure: `last_update_time` is milliseconds on
/// the caller's monotonic clock, `last_write_date` is the server's BSON datetime in
/// milliseconds since the Unix epoch.
#[derive(Debug, Clone)]
pub struct ServerDescription {
    /// The address the client connects to (not `me`).
    pub address: ServerAddress,
    /// What the server is.
    pub server_type: ServerType,
    /// Why the server is Unknown, when a check or an operation failed.
    pub error: Option<Error>,
    /// The average round trip time of checks; `None` while Unknown.
    pub round_trip_time: Option<Duration>,
    /// The smallest recent round trip time (the monitor's window), if known.
    pub min_round_trip_time: Option<Duration>,
    /// `lastWrite.lastWriteDate`, in milliseconds since the Unix epoch.
    pub last_write_date: Option<i64>,
    /// `lastWrite.opTime`, opaque.
    pub op_time: Option<RawDocumentBuf>,
    /// When this description was made, in milliseconds on the caller's monotonic
    /// clock; `None` means "never" (infinitely long ago).
    pub last_update_time: Option<i64>,
    /// `minWireVersion`; `None` when the server did not say (Unknown, load balancer).
    pub min_wire_version: Option<i32>,
    /// `maxWireVersion`; `None` when the server did not say.
    pub max_wire_version: Option<i32>,
    /// `me`: the address the member is configured with in the replica set.
    pub me: Option<ServerAddress>,
    /// `hosts`, lower-cased.
    pub hosts: Vec<ServerAddress>,
    /// `passives`, lower-cased.
    pub passives: Vec<ServerAddress>,
    /// `arbiters`, lower-cased.
    pub arbiters: Vec<ServerAddress>,
    /// `tags`.
    pub tags: BTreeMap<String, String>,
    /// `setName`.
    pub set_name: Option<String>,
    /// `setVersion`.
    pub set_version: Option<i64>,
    /// `electionId`.
    pub election_id: Option<ObjectId>,
    /// `primary`: who this member thinks is primary.
    pub primary: Option<ServerAddress>,
    /// `logicalSessionTimeoutMinutes`.
    pub logical_session_timeout_minutes: Option<i64>,
    /// `topologyVersion` of the hello or of the state change error.
    pub topology_version: Option<TopologyVersion>,
    /// `helloOk`: the server accepts the `hello` command name.
    pub hello_ok: bool,
    /// `serviceId` (behind a load balancer).
    pub service_id: Option<ObjectId>,
    /// `iscryptd`: the server is a mongocryptd.
    pub is_cryptd: bool,
}

impl ServerDescription {
    /// A server not checked yet.
    pub fn unknown(address: ServerAddress) -> Self {
        ServerDescription {
            address,
            server_type: ServerType::Unknown,
            error: None,
            round_trip_time: None,
            min_round_trip_time: None,
            last_write_date: None,
            op_time: None,
            last_update_time: None,
            min_wire_version: None,
            max_wire_version: None,
            me: None,
            hosts: Vec::new(),
            passives: Vec::new(),
            arbiters: Vec::new(),
            tags: BTreeMap::new(),
            set_name: None,
            set_version: None,
            election_id: None,
            primary: None,
            logical_session_timeout_minutes: None,
            topology_version: None,
            hello_ok: false,
            service_id: None,
            is_cryptd: false,
        }
    }

    /// The load balancer of a `loadBalanced=true` topology: never checked, always
    /// a LoadBalancer.
    pub fn load_balancer(address: ServerAddress) -> Self {
        ServerDescription {
            server_type: ServerType::LoadBalancer,
            ..ServerDescription::unknown(address)
        }
    }

    /// A server whose check (or operation) failed with `error`. `topology_version`
    /// is the one a state change error carried, if any.
    pub fn from_error(
        address: ServerAddress,
        error: Error,
        topology_version: Option<TopologyVersion>,
    ) -> Self {
        ServerDescription {
            error: Some(error),
            topology_version,
            ..ServerDescription::unknown(address)
        }
    }

    /// The description a successful hello reply gives. `rtt` is the server's average
    /// round trip time including this check, `now_ms` the caller's monotonic clock in
    /// milliseconds. A reply that is not `ok: 1`, or has a field of the wrong type,
    /// gives an Unknown server whose error says what was wrong.
    pub fn from_hello(
        address: ServerAddress,
        hello: &RawDocument,
        rtt: Duration,
        now_ms: i64,
    ) -> Self {
        let mut sd = ServerDescription::unknown(address);
        sd.last_update_time = Some(now_ms);
        match hello_fields::read(&mut sd, hello) {
            Ok(()) => {
                sd.round_trip_time = Some(rtt);
                sd
            }
            Err(error) => {
                let mut unknown = ServerDescription::from_error(sd.address, error, None);
                unknown.last_update_time = Some(now_ms);
                unknown
            }
        }
    }

    /// Sets the minimum round trip time (the monitor's window).
    pub fn with_min_round_trip_time(mut self, min: Option<Duration>) -> Self {
        self.min_round_trip_time = min;
        self
    }

    /// Every member this server reports: hosts, passives and arbiters.
    pub fn members(&self) -> impl Iterator<Item = &ServerAddress> {
        self.hosts
            .iter()
            .chain(self.passives.iter())
            .chain(self.arbiters.iter())
    }

    /// The spec's "Server Description Equality": the fields marked (=) are equal.
    /// Round trip time and update time do not count, so an unchanged server publishes
    /// no event.
    pub fn same_as(&self, other: &ServerDescription) -> bool {
        fn set(v: &[ServerAddress]) -> Vec<String> {
            let mut s: Vec<String> = v.iter().map(ToString::to_string).collect();
            s.sort();
            s.dedup();
            s
        }
        self.address == other.address
            && self.server_type == other.server_type
            && self.error.as_ref().map(ToString::to_string)
                == other.error.as_ref().map(ToString::to_string)
            && self.min_wire_version == other.min_wire_version
            && self.max_wire_version == other.max_wire_version
            && self.me == other.me
            && set(&self.hosts) == set(&other.hosts)
            && set(&self.passives) == set(&other.passives)
            && set(&self.arbiters) == set(&other.arbiters)
            && self.tags == other.tags
            && self.set_name == other.set_name
            && self.set_version == other.set_version
            && self.election_id == other.election_id
            && self.primary == other.primary
            && self.logical_session_timeout_minutes == other.logical_session_timeout_minutes
            && self.topology_version == other.topology_version
            && self.is_cryptd == other.is_cryptd
    }

    /// Whether this server's tags contain every pair of `tag_set`.
    pub fn matches_tag_set(&self, tag_set: &RawDocument) -> bool {
        tag_set.into_iter().all(|e| match e {
            Ok((k, v)) => match v.as_str() {
                Some(v) => self.tags.get(k.as_str()).map(String::as_str) == Some(v),
                None => false,
            },
            Err(_) => false,
        })
    }
}
