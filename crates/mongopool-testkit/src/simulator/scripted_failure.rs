//! A node that answers a given command with a given error, a number of times (like
//! `failCommand`, in front of any backend): e.g. the ingress rate limiter's overload
//! error from one member only, so a test can see a retry move to another member.

use std::sync::Mutex;

use bson::{doc, Document};

use super::node::NodeState;
use super::script::ScriptError;
use super::Simulator;

/// The error a node answers instead of forwarding.
#[derive(Debug, Clone)]
pub(crate) struct ScriptedFailure {
    /// The command's name, lowercased.
    command: String,
    remaining: u32,
    reply: Document,
}

/// The scripted failure of one node (at most one at a time).
#[derive(Debug, Default)]
pub(crate) struct FailureSlot(Mutex<Option<ScriptedFailure>>);

impl FailureSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<ScriptedFailure>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The error to answer `command` with, if one is scripted and not used up.
    pub(crate) fn take(&self, command: &str) -> Option<Document> {
        let mut slot = self.lock();
        let failure = slot.as_mut()?;
        if failure.remaining == 0 || !failure.command.eq_ignore_ascii_case(command) {
            return None;
        }
        failure.remaining -= 1;
        Some(failure.reply.clone())
    }

    fn remaining(&self) -> u32 {
        self.lock().as_ref().map_or(0, |f| f.remaining)
    }
}

/// The ingress request rate limiter's answer (MongoDB 8.2), as the client
/// backpressure spec shows it.
pub fn overload_error() -> Document {
    doc! {
        "ok": 0.0,
        "errmsg": "Rate limiter 'ingressRequestRateLimiter' rate exceeded",
        "code": 462,
        "codeName": "IngressRequestRateLimitExceeded",
        "errorLabels": ["SystemOverloadedError", "RetryableError"],
    }
}

impl Simulator {
    /// Node `index` answers its next `times` `command`s (by name, any case) with
    /// `reply` instead of forwarding them; replaces what was scripted before.
    pub async fn fail_command(
        &self,
        index: usize,
        command: &str,
        times: u32,
        reply: Document,
    ) -> Result<(), ScriptError> {
        let node = self.node(index)?;
        *node.state.failure.lock() = Some(ScriptedFailure {
            command: command.to_ascii_lowercase(),
            remaining: times,
            reply,
        });
        Ok(())
    }

    /// How many scripted failures node `index` has left to answer.
    pub fn failures_left(&self, index: usize) -> u32 {
        self.node(index).map_or(0, |n| n.state.failure.remaining())
    }
}

/// The scripted error for `request`'s command on `node`, if any.
pub(crate) fn scripted_error(node: &NodeState, command: Option<&str>) -> Option<Document> {
    node.failure.take(command?)
}
