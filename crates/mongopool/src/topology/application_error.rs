//! SDAM "Error handling" for errors of application connections, as a pure function.

use std::cmp::Ordering;

use bson::oid::ObjectId;
use bson::RawDocument;

use super::action::TopologyAction;
use super::description::{TopologyDescription, TopologyType};
use super::server_description::ServerDescription;
use super::topology_version::TopologyVersion;
use super::update::SYSTEM_OVERLOADED_LABEL;
use crate::address::ServerAddress;
use crate::error::{Error, ErrorKind, NODE_RECOVERING_CODES, NOT_PRIMARY_CODES};

/// "Node is shutting down" codes: InterruptedAtShutdown, ShutdownInProgress.
const SHUTDOWN_CODES: &[i32] = &[11600, 91];
/// Wire version of MongoDB 4.2: older servers close connections on a step-down, so
/// their pool is cleared on every state change error.
const WIRE_VERSION_4_2: i32 = 8;

/// Where on an application connection an error happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorPhase {
    /// Connecting or the hello of the handshake.
    BeforeHandshake,
    /// Logging in, after the hello.
    Authentication,
    /// On an established connection (after checkout).
    AfterHandshake,
}

/// What went wrong, as far as SDAM cares.
#[derive(Debug, Clone, PartialEq)]
pub enum ApplicationErrorKind {
    /// A network error other than a timeout.
    Network,
    /// A network timeout.
    Timeout,
    /// The server answered `ok: 0`, or a write concern error.
    Command {
        /// The error code, if the reply had one (the message is only used without).
        code: Option<i32>,
        /// The error message.
        message: String,
        /// The reply's `topologyVersion`, if any.
        topology_version: Option<TopologyVersion>,
    },
    /// Anything else (a protocol error, a refused operation): no SDAM effect after the
    /// handshake, marks the server Unknown before it.
    Other {
        /// What happened.
        message: String,
    },
}

/// An error an application connection ran into, with what SDAM needs to judge it.
#[derive(Debug, Clone)]
pub struct ApplicationError {
    /// The server.
    pub address: ServerAddress,
    /// The pool generation of the connection the error happened on.
    pub generation: u32,
    /// The connection's `maxWireVersion`.
    pub max_wire_version: i32,
    /// Where it happened.
    pub phase: ErrorPhase,
    /// What happened.
    pub kind: ApplicationErrorKind,
    /// The error labels (`SystemOverloadedError` makes the error harmless to SDAM).
    pub labels: Vec<String>,
    /// In load-balanced mode, the connection's service.
    pub service_id: Option<ObjectId>,
    /// The error itself, stored in the server's description when it becomes Unknown.
    pub error: Error,
}

impl ApplicationError {
    /// Classifies a real error of a connection to `address`.
    pub fn from_error(
        error: &Error,
        address: ServerAddress,
        generation: u32,
        max_wire_version: i32,
        phase: ErrorPhase,
        service_id: Option<ObjectId>,
    ) -> Self {
        let kind = match error.kind() {
            ErrorKind::NetworkTimeout { .. } => ApplicationErrorKind::Timeout,
            ErrorKind::ConnectionFailure { .. } => ApplicationErrorKind::Network,
            ErrorKind::OperationFailure(f) | ErrorKind::NotPrimary(f) => {
                command((f.code != 0).then_some(f.code), f.message.clone(), &f.reply)
            }
            ErrorKind::WriteFailure(w) | ErrorKind::DuplicateKey(w) => {
                match &w.write_concern_error {
                    // writeErrors are never checked, only the write concern error.
                    Some(wce) => command(Some(wce.code), wce.message.clone(), &w.reply),
                    None => ApplicationErrorKind::Other {
                        message: error.to_string(),
                    },
                }
            }
            ErrorKind::Authentication { code, message, .. } => ApplicationErrorKind::Command {
                code: *code,
                message: message.clone(),
                topology_version: None,
            },
            _ => ApplicationErrorKind::Other {
                message: error.to_string(),
            },
        };
        ApplicationError {
            address,
            generation,
            max_wire_version,
            phase,
            kind,
            labels: error.labels().to_vec(),
            service_id,
            error: error.clone(),
        }
    }

    fn overloaded(&self) -> bool {
        self.labels.iter().any(|l| l == SYSTEM_OVERLOADED_LABEL)
    }
}

fn command(code: Option<i32>, message: String, reply: &RawDocument) -> ApplicationErrorKind {
    let topology_version = match reply.get_document("topologyVersion") {
        Ok(doc) => TopologyVersion::from_document(doc).ok(),
        Err(_) => None,
    };
    ApplicationErrorKind::Command {
        code,
        message,
        topology_version,
    }
}

/// "Node is recovering": by code when there is one, else by message.
pub fn is_recovering(code: Option<i32>, message: &str) -> bool {
    match code {
        Some(code) => NODE_RECOVERING_CODES.contains(&code),
        None => {
            message.contains("not master or secondary") || message.contains("node is recovering")
        }
    }
}

/// "Not writable primary": by code when there is one, else by message.
pub fn is_not_writable_primary(code: Option<i32>, message: &str) -> bool {
    match code {
        Some(code) => NOT_PRIMARY_CODES.contains(&code),
        None => !is_recovering(None, message) && message.contains("not master"),
    }
}

/// A "not writable primary" or "node is recovering" error.
pub fn is_state_change(code: Option<i32>, message: &str) -> bool {
    is_recovering(code, message) || is_not_writable_primary(code, message)
}

impl TopologyDescription {
    /// Handles an error of an application connection: the spec's `handleError`.
    /// `current_pool_generation` is the server's pool generation now; an error from an
    /// older generation is stale and ignored. So is an error labelled
    /// `SystemOverloadedError`, and a state change error whose `topologyVersion` is not
    /// newer than the server's.
    pub fn apply_application_error(
        &self,
        err: &ApplicationError,
        current_pool_generation: u32,
    ) -> (TopologyDescription, Vec<TopologyAction>) {
        let unchanged = || (self.clone(), Vec::new());
        let Some(server) = self.server(&err.address) else {
            return unchanged();
        };
        if err.generation < current_pool_generation || err.overloaded() {
            return unchanged();
        }
        let load_balanced = self.topology_type == TopologyType::LoadBalanced;
        let clear = |interrupt_in_use| TopologyAction::ClearPool {
            address: err.address.clone(),
            interrupt_in_use,
            service_id: err.service_id,
        };
        match &err.kind {
            ApplicationErrorKind::Command {
                code,
                message,
                topology_version,
            } if is_state_change(*code, message) => {
                if TopologyVersion::compare(
                    server.topology_version.as_ref(),
                    topology_version.as_ref(),
                ) != Ordering::Less
                {
                    return unchanged();
                }
                let (next, mut actions) = match load_balanced {
                    true => unchanged(),
                    false => self.mark_unknown_after_error(err, *topology_version),
                };
                let shutting_down = code.is_some_and(|c| SHUTDOWN_CODES.contains(&c));
                if shutting_down || err.max_wire_version < WIRE_VERSION_4_2 {
                    actions.push(clear(false));
                }
                actions.push(TopologyAction::RequestImmediateCheck(err.address.clone()));
                (next, actions)
            }
            ApplicationErrorKind::Timeout if err.phase != ErrorPhase::Authentication => unchanged(),
            ApplicationErrorKind::Command { .. } | ApplicationErrorKind::Other { .. }
                if err.phase == ErrorPhase::AfterHandshake =>
            {
                unchanged()
            }
            _ if load_balanced => match err.service_id {
                Some(_) => (self.clone(), vec![clear(false)]),
                None => unchanged(),
            },
            _ => {
                let (next, mut actions) = self.mark_unknown_after_error(err, None);
                actions.push(clear(false));
                actions.push(TopologyAction::CancelMonitorCheck(err.address.clone()));
                (next, actions)
            }
        }
    }

    /// Runs an Unknown description made from `err` through the normal update, without
    /// the pool clearing a failed check would add (the caller decides about that).
    fn mark_unknown_after_error(
        &self,
        err: &ApplicationError,
        topology_version: Option<TopologyVersion>,
    ) -> (TopologyDescription, Vec<TopologyAction>) {
        let mut unknown =
            ServerDescription::from_error(err.address.clone(), err.error.clone(), None);
        unknown.error = Some(err.error.clone());
        unknown.topology_version = topology_version;
        let (next, actions) = self.apply_without_error_clear(unknown);
        (next, actions)
    }

    fn apply_without_error_clear(
        &self,
        sd: ServerDescription,
    ) -> (TopologyDescription, Vec<TopologyAction>) {
        let (next, actions) = self.apply(sd);
        let actions = actions
            .into_iter()
            .filter(|a| !matches!(a, TopologyAction::ClearPool { .. }))
            .collect();
        (next, actions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_win_over_messages() {
        assert!(is_state_change(Some(10107), ""));
        assert!(!is_state_change(Some(1), "not master"));
        assert!(is_recovering(None, "node is recovering"));
        assert!(is_not_writable_primary(None, "not master"));
        assert!(!is_not_writable_primary(None, "not master or secondary"));
        assert!(is_recovering(None, "not master or secondary"));
    }
}
