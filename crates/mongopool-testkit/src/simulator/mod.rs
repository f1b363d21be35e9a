//! A deployment simulator: a replica set or a few mongos routers on loopback, in
//! front of one real server.
//!
//! SecantusDB is a one-node server. The simulator runs N front nodes on
//! `127.0.0.1` (ephemeral ports), each answering `hello` / `isMaster` (OP_MSG and
//! legacy OP_QUERY) from a scripted view, and forwarding every other command, byte
//! for byte, to the real server behind them (one shared server: a perfectly
//! replicated set).
//!
//! - The view: primary, secondaries, arbiters, hidden and passive members, tags,
//!   `setVersion`, `electionId`, `topologyVersion` (a `processId` per node run),
//!   `lastWrite` (with a per-member lag for staleness); or mongos routers.
//! - Awaitable hello: a hello with `topologyVersion` and `maxAwaitTimeMS` is answered
//!   when the view changes or after `maxAwaitTimeMS`; with `exhaustAllowed` the node
//!   streams replies with moreToCome, as mongod does for streaming monitors.
//! - A member that is not primary refuses writes with 10107 NotWritablePrimary
//!   ("not primary") and reads without secondaryOk with 13435, as mongod does, and
//!   counts them ([`NodeStats`]).
//! - The script ([`Simulator`]'s async methods): step down, elect, add or remove a
//!   member, restart (new `processId`, same port), black-hole, kill, add delay,
//!   answer a command with a scripted error N times ([`Simulator::fail_command`]).
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use mongopool_testkit::simulator::{MemberSpec, Simulator};
//! use mongopool_testkit::TestServer;
//!
//! let backend = TestServer::start()?;
//! let sim = Simulator::replica_set("rs0")
//!     .member(MemberSpec::primary())
//!     .member(MemberSpec::secondary().tag("dc", "east"))
//!     .member(MemberSpec::secondary())
//!     .start(backend.address())
//!     .await?;
//! println!("connect to {}", sim.uri());
//! sim.step_down(0).await?;
//! sim.elect(1).await?;
//! assert_eq!(sim.stats(0).writes_accepted, 0);
//! # Ok(()) }
//! ```

mod builder;
mod command_kind;
mod forward;
mod hello_answer;
mod node;
mod script;
mod scripted_failure;
mod session;
mod stats;
mod view;
mod wire_client;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use bson::oid::ObjectId;
use bson::Document;

pub use builder::SimulatorBuilder;
pub use script::ScriptError;
pub use scripted_failure::overload_error;
pub use stats::NodeStats;
pub use view::{MemberSpec, Role};
pub use wire_client::{WireClient, WireReply};

use node::{NodeRuntime, SimShared};
use view::Shape;

/// A running simulated deployment. Its tasks run on the runtime that started it;
/// dropping it (or [`Simulator::shutdown`]) closes every listener and connection.
/// The methods take `&self`, so tests can share it (`Arc`) with the tasks that load it.
#[derive(Debug)]
pub struct Simulator {
    shared: Arc<SimShared>,
    nodes: Mutex<Vec<Arc<NodeRuntime>>>,
}

impl Simulator {
    /// A replica set named `name`; add members with [`SimulatorBuilder::member`].
    pub fn replica_set(name: &str) -> SimulatorBuilder {
        SimulatorBuilder::new(Shape::ReplicaSet {
            name: name.to_owned(),
        })
    }

    /// `count` mongos routers.
    pub fn mongos(count: usize) -> SimulatorBuilder {
        let mut builder = SimulatorBuilder::new(Shape::Sharded);
        for _ in 0..count {
            builder = builder.router();
        }
        builder
    }

    fn nodes(&self) -> MutexGuard<'_, Vec<Arc<NodeRuntime>>> {
        self.nodes.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn node(&self, index: usize) -> Result<Arc<NodeRuntime>, ScriptError> {
        self.nodes()
            .get(index)
            .cloned()
            .ok_or_else(|| ScriptError::new(format!("there is no node {index}")))
    }

    /// How many nodes were ever started (removed members included): indexes run
    /// from 0 to this, in the order members were declared or added.
    pub fn len(&self) -> usize {
        self.nodes().len()
    }

    /// Whether there are no nodes at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Node `index`'s address. Panics if there is no such node.
    pub fn address(&self, index: usize) -> SocketAddr {
        self.nodes()[index].address
    }

    /// Node `index` as `127.0.0.1:PORT`, as it names itself in `me` and `hosts`.
    /// Panics if there is no such node.
    pub fn host(&self, index: usize) -> String {
        self.address(index).to_string()
    }

    /// Every node's `host:port`, comma-separated: a connection string's host list.
    pub fn hosts(&self) -> String {
        let nodes = self.nodes();
        let hosts: Vec<String> = nodes.iter().map(|n| n.address.to_string()).collect();
        hosts.join(",")
    }

    /// A connection string naming every node (and the set, for a replica set).
    pub fn uri(&self) -> String {
        match self.set_name() {
            Some(name) => format!("mongodb://{}/?replicaSet={name}", self.hosts()),
            None => format!("mongodb://{}/", self.hosts()),
        }
    }

    /// The replica set's name; `None` for mongos routers.
    pub fn set_name(&self) -> Option<String> {
        match &self.shared.deployment().shape {
            Shape::ReplicaSet { name } => Some(name.clone()),
            Shape::Sharded => None,
        }
    }

    /// The address of the real server behind the nodes.
    pub fn backend(&self) -> SocketAddr {
        self.shared.backend
    }

    /// Node `index`'s role now (`None` if there is no such node).
    pub fn role(&self, index: usize) -> Option<Role> {
        self.shared
            .deployment()
            .members
            .get(index)
            .map(|m| m.spec.role)
    }

    /// The index of the primary in the set's config, if there is one.
    pub fn primary(&self) -> Option<usize> {
        self.shared
            .deployment()
            .members
            .iter()
            .position(|m| m.in_config && m.spec.role == Role::Primary)
    }

    /// Node `index`'s `topologyVersion` now (`processId`, `counter`).
    pub fn topology_version(&self, index: usize) -> Option<Document> {
        self.shared.deployment().topology_version(index)
    }

    /// Node `index`'s `processId` now: a new one after every restart.
    pub fn process_id(&self, index: usize) -> Option<ObjectId> {
        self.shared
            .deployment()
            .members
            .get(index)
            .map(|m| m.process_id)
    }

    /// The set's `setVersion` now.
    pub fn set_version(&self) -> i32 {
        self.shared.deployment().set_version
    }

    /// The `electionId` the primary reports now.
    pub fn election_id(&self) -> ObjectId {
        self.shared.deployment().election_id()
    }

    /// Whether node `index` accepts connections (not killed).
    pub fn is_running(&self, index: usize) -> bool {
        self.node(index).is_ok_and(|n| n.is_running())
    }

    /// Node `index`'s counters now. Panics if there is no such node.
    pub fn stats(&self, index: usize) -> NodeStats {
        self.nodes()[index].state.counters.snapshot()
    }

    /// Waits until `done` says yes; it is asked again after every counted event
    /// (connection, hello, forwarded or refused command) and every script step.
    /// Put a timeout around it: it never gives up by itself.
    pub async fn wait_until(&self, mut done: impl FnMut(&Simulator) -> bool) {
        let mut activity = self.shared.activity.subscribe();
        loop {
            activity.borrow_and_update();
            if done(self) {
                return;
            }
            if activity.changed().await.is_err() {
                return;
            }
        }
    }

    /// Closes every listener and connection and waits until they are closed.
    pub async fn shutdown(&self) {
        let nodes: Vec<_> = self.nodes().clone();
        for node in nodes {
            node.stop().await;
        }
    }
}
