//! The script: what a test does to the deployment while clients use it.
//!
//! Every change of the view bumps every node's `topologyVersion` counter and wakes
//! every waiting awaitable hello, as a reconfig or an election changes what every
//! member of a real set says.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bson::oid::ObjectId;

use super::node::{NodeRuntime, NodeState};
use super::view::{Deployment, Member, MemberSpec, Role, Shape};
use super::Simulator;

/// A script step that does not fit the deployment (no such node, no primary to step
/// down, an election in a sharded cluster, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    message: String,
}

impl ScriptError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        ScriptError {
            message: message.into(),
        }
    }
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ScriptError {}

impl Simulator {
    /// Changes the view with `step`, then bumps every topologyVersion and wakes every
    /// awaitable hello. Nothing changes when `step` fails.
    fn change(
        &self,
        step: impl FnOnce(&mut Deployment) -> Result<(), ScriptError>,
    ) -> Result<(), ScriptError> {
        {
            let mut deployment = self.shared.deployment();
            let mut next = deployment.clone();
            step(&mut next)?;
            next.bump_all();
            *deployment = next;
        }
        for node in self.nodes().iter() {
            node.state.counters.view_changed();
        }
        self.shared.changes.send_modify(|n| *n = n.wrapping_add(1));
        self.shared.note_activity();
        Ok(())
    }

    /// The primary `index` steps down and becomes a secondary; the set has no
    /// primary until [`Simulator::elect`].
    pub async fn step_down(&self, index: usize) -> Result<(), ScriptError> {
        self.change(|d| {
            let member = in_set(d, index)?;
            if member.spec.role != Role::Primary {
                return Err(ScriptError::new(format!("node {index} is not primary")));
            }
            member.spec.role = Role::Secondary;
            Ok(())
        })
    }

    /// Member `index` wins an election: any other primary becomes a secondary, the
    /// election id (term) and `setVersion` go up.
    pub async fn elect(&self, index: usize) -> Result<(), ScriptError> {
        self.change(|d| {
            let member = in_set(d, index)?;
            if !member.in_config || member.spec.role == Role::Arbiter {
                return Err(ScriptError::new(format!("node {index} cannot be elected")));
            }
            member.spec.role = Role::Primary;
            for (i, other) in d.members.iter_mut().enumerate() {
                if i != index && other.spec.role == Role::Primary {
                    other.spec.role = Role::Secondary;
                }
            }
            d.term += 1;
            d.set_version += 1;
            Ok(())
        })
    }

    /// Starts a new node and adds it to the set's config (`setVersion` goes up);
    /// returns its index. For a sharded cluster, adds a router (`spec` is ignored
    /// but for its lag and tags).
    pub async fn add_member(&self, spec: MemberSpec) -> Result<usize, ScriptError> {
        let listener = NodeRuntime::bind_any()
            .await
            .map_err(|e| ScriptError::new(format!("binding a port: {e}")))?;
        let address = listener
            .local_addr()
            .map_err(|e| ScriptError::new(format!("binding a port: {e}")))?;
        let mut nodes = self.nodes();
        let index = nodes.len();
        {
            let mut deployment = self.shared.deployment();
            let mut spec = spec;
            if deployment.shape == Shape::Sharded {
                spec.role = Role::Mongos;
            } else if spec.role == Role::Mongos {
                return Err(ScriptError::new("a replica set cannot hold a mongos"));
            }
            if spec.role == Role::Primary && deployment.members.iter().any(is_primary) {
                return Err(ScriptError::new("the set already has a primary"));
            }
            deployment.members.push(Member {
                host: address.to_string(),
                spec,
                in_config: false,
                process_id: ObjectId::new(),
                counter: 0,
            });
        }
        let state = Arc::new(NodeState::new(index, self.shared.clone()));
        let node = Arc::new(NodeRuntime::new(state, address));
        node.serve(listener);
        nodes.push(node);
        drop(nodes);
        self.change(|d| {
            let member = d.members.get_mut(index).ok_or_else(|| no_node(index))?;
            member.in_config = true;
            d.set_version += 1;
            Ok(())
        })?;
        Ok(index)
    }

    /// Removes member `index` from the set's config (`setVersion` goes up). The node
    /// keeps running and answers as a member without a config (RSGhost); kill it too
    /// for a member that is gone.
    pub async fn remove_member(&self, index: usize) -> Result<(), ScriptError> {
        self.change(|d| {
            let member = in_set(d, index)?;
            if !member.in_config {
                return Err(ScriptError::new(format!("node {index} is already removed")));
            }
            member.in_config = false;
            d.set_version += 1;
            Ok(())
        })
    }

    /// Sets member `index`'s tags (replacing them).
    pub async fn set_tags(&self, index: usize, tags: &[(&str, &str)]) -> Result<(), ScriptError> {
        self.change(|d| {
            let member = d.members.get_mut(index).ok_or_else(|| no_node(index))?;
            member.spec.tags = tags
                .iter()
                .map(|(k, v)| (k.to_string(), (*v).into()))
                .collect();
            Ok(())
        })
    }

    /// Sets how far member `index`'s last write lags behind (its `lastWriteDate`).
    /// Not a change of the view: mongod does not bump `topologyVersion` for it, and
    /// clients see it at their next heartbeat.
    pub async fn set_lag(&self, index: usize, lag: Duration) -> Result<(), ScriptError> {
        let mut deployment = self.shared.deployment();
        let member = deployment
            .members
            .get_mut(index)
            .ok_or_else(|| no_node(index))?;
        member.spec.lag = lag;
        Ok(())
    }

    /// Kills node `index`: its listener and every connection to it close (clients see
    /// connections refused). Its role in the view does not change: the other members
    /// still name it (as primary, if it was) until the script says otherwise.
    /// [`Simulator::restart`] brings it back on the same port.
    pub async fn kill(&self, index: usize) -> Result<(), ScriptError> {
        self.node(index)?.stop().await;
        Ok(())
    }

    /// Restarts node `index` on the same port, killing it first if it runs: every
    /// connection closes, and it comes back with a new `processId` (counter 0) and
    /// no longer black-holed.
    pub async fn restart(&self, index: usize) -> Result<(), ScriptError> {
        let node = self.node(index)?;
        node.stop().await;
        {
            let mut deployment = self.shared.deployment();
            let member = deployment
                .members
                .get_mut(index)
                .ok_or_else(|| no_node(index))?;
            member.process_id = ObjectId::new();
            member.counter = 0;
        }
        node.state.set_black_holed(false);
        let listener = node
            .rebind()
            .await
            .map_err(|e| ScriptError::new(format!("rebinding {}: {e}", node.address)))?;
        node.serve(listener);
        self.shared.note_activity();
        Ok(())
    }

    /// Black-holes node `index`: it keeps accepting connections and reading bytes,
    /// but sends nothing more, on new and open connections alike (also no pending
    /// awaitable hello's reply). [`Simulator::heal`] ends it.
    pub async fn black_hole(&self, index: usize) -> Result<(), ScriptError> {
        self.node(index)?.state.set_black_holed(true);
        self.shared.note_activity();
        Ok(())
    }

    /// Ends a black hole: requests that arrive from now on are answered (the ones
    /// swallowed stay unanswered).
    pub async fn heal(&self, index: usize) -> Result<(), ScriptError> {
        self.node(index)?.state.set_black_holed(false);
        self.shared.note_activity();
        Ok(())
    }

    /// Adds `delay` before every reply node `index` sends (hellos included, so it
    /// shows in the clients' round-trip times). Zero removes it.
    pub async fn set_delay(&self, index: usize, delay: Duration) -> Result<(), ScriptError> {
        self.node(index)?.state.set_delay(delay);
        Ok(())
    }
}

fn is_primary(member: &Member) -> bool {
    member.in_config && member.spec.role == Role::Primary
}

fn no_node(index: usize) -> ScriptError {
    ScriptError::new(format!("there is no node {index}"))
}

/// Member `index` of a replica set.
fn in_set(d: &mut Deployment, index: usize) -> Result<&mut Member, ScriptError> {
    if d.shape == Shape::Sharded {
        return Err(ScriptError::new("mongos routers have no elections"));
    }
    d.members.get_mut(index).ok_or_else(|| no_node(index))
}
