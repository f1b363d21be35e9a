//! Declaring a deployment and starting it.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::AtomicI32;
use std::sync::{Arc, Mutex};

use bson::doc;
use bson::oid::ObjectId;
use tokio::sync::watch;

use super::node::{NodeRuntime, NodeState, SimShared};
use super::view::{Deployment, Member, MemberSpec, Role, Shape};
use super::wire_client::WireClient;
use super::Simulator;

/// First id of the nodes' own replies; far from a client's.
const FIRST_REPLY_ID: i32 = 2_000_000;

/// The wire version reported when the backend's hello does not say (MongoDB 7.0).
const FALLBACK_WIRE_VERSION: i32 = 21;

/// The members of a deployment to start; made by [`Simulator::replica_set`] or
/// [`Simulator::mongos`].
#[derive(Debug, Clone)]
pub struct SimulatorBuilder {
    shape: Shape,
    members: Vec<MemberSpec>,
}

impl SimulatorBuilder {
    pub(crate) fn new(shape: Shape) -> Self {
        SimulatorBuilder {
            shape,
            members: Vec::new(),
        }
    }

    /// Adds a member (node index = the order of the calls, from 0).
    pub fn member(mut self, spec: MemberSpec) -> Self {
        self.members.push(spec);
        self
    }

    pub(crate) fn router(mut self) -> Self {
        let mut spec = MemberSpec::primary();
        spec.role = Role::Mongos;
        self.members.push(spec);
        self
    }

    /// Starts every node on a free loopback port, forwarding to `backend` (a running
    /// server, e.g. [`TestServer::address`](crate::TestServer::address)). Asks the
    /// backend's hello first for its wire version, so a backend that is not there
    /// fails here rather than in the first forwarded command. Must be called within
    /// a tokio runtime.
    pub async fn start(self, backend: SocketAddr) -> io::Result<Simulator> {
        if let Shape::ReplicaSet { .. } = self.shape {
            if self.members.iter().any(|m| m.role == Role::Mongos) {
                return Err(invalid("a replica set cannot hold mongos routers"));
            }
        }
        if self.members.is_empty() {
            return Err(invalid("a deployment needs at least one node"));
        }
        let max_wire_version = backend_wire_version(backend).await?;
        let mut listeners = Vec::new();
        for _ in &self.members {
            listeners.push(NodeRuntime::bind_any().await?);
        }
        let mut members = Vec::new();
        for (spec, listener) in self.members.into_iter().zip(&listeners) {
            members.push(Member {
                host: listener.local_addr()?.to_string(),
                spec,
                in_config: true,
                process_id: ObjectId::new(),
                counter: 0,
            });
        }
        let shared = Arc::new(SimShared {
            deployment: Mutex::new(Deployment::new(self.shape, members)),
            changes: watch::Sender::new(0),
            activity: watch::Sender::new(0),
            backend,
            max_wire_version,
            next_reply_id: AtomicI32::new(FIRST_REPLY_ID),
        });
        let mut nodes = Vec::new();
        for (index, listener) in listeners.into_iter().enumerate() {
            let state = Arc::new(NodeState::new(index, shared.clone()));
            let node = NodeRuntime::new(state, listener.local_addr()?);
            node.serve(listener);
            nodes.push(Arc::new(node));
        }
        Ok(Simulator {
            shared,
            nodes: Mutex::new(nodes),
        })
    }
}

async fn backend_wire_version(backend: SocketAddr) -> io::Result<i32> {
    let mut client = WireClient::connect(backend).await.map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("the backend at {backend} is not there: {e}"),
        )
    })?;
    let hello = client.command("admin", doc! {"hello": 1}).await?;
    Ok(hello
        .document
        .get_i32("maxWireVersion")
        .unwrap_or(FALLBACK_WIRE_VERSION))
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}
