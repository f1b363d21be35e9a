//! The simulated client: applies hello outcomes and application errors to the pure
//! topology layer, keeps pool generations the way pools would, and logs SDAM events.

use std::collections::HashMap;
use std::time::Duration;

use bson::{Bson, Document, RawDocumentBuf};
use mongopool::topology::{change_events, opening_events};
use mongopool::topology::{
    ApplicationError, ErrorPhase, SdamEvent, ServerDescription, TopologyAction,
    TopologyDescription, TopologySettings,
};
use mongopool::{Error, ServerAddress};
use mongopool::{ErrorKind, OperationFailure, WriteConcernError, WriteFailure};
use serde_json::Value;

use crate::spec_support::{object, only_keys, to_document};

/// A client with no I/O: its topology description and its pools' generations.
pub struct SimulatedClient {
    pub topology: TopologyDescription,
    pub generations: HashMap<ServerAddress, u32>,
    events: Vec<SdamEvent>,
    /// The fake monotonic clock, in milliseconds: one tick per hello outcome.
    now_ms: i64,
}

impl SimulatedClient {
    pub fn new(settings: &TopologySettings) -> Self {
        let (topology, actions) = TopologyDescription::new(settings);
        let mut client = SimulatedClient {
            events: opening_events(&topology),
            topology,
            generations: HashMap::new(),
            now_ms: 0,
        };
        client.perform(actions);
        client
    }

    pub fn take_events(&mut self) -> Vec<SdamEvent> {
        std::mem::take(&mut self.events)
    }

    /// One `[address, reply]` pair: `{}` is a network error.
    pub fn hello_outcome(&mut self, response: &Value) -> Result<(), String> {
        let pair = response
            .as_array()
            .filter(|a| a.len() == 2)
            .ok_or("a response is not a pair")?;
        let address = address(&pair[0])?;
        let reply = to_document(&pair[1])?;
        self.now_ms += 1;
        let sd = if reply.is_empty() {
            ServerDescription::from_error(
                address,
                Error::connection("simulated network error during the check"),
                None,
            )
        } else {
            let raw = RawDocumentBuf::try_from(&reply).map_err(|e| format!("reply: {e}"))?;
            ServerDescription::from_hello(address, &raw, Duration::ZERO, self.now_ms)
        };
        let (next, actions) = self.topology.apply(sd);
        self.advance(next, actions);
        Ok(())
    }

    /// One `applicationErrors` entry.
    pub fn application_error(&mut self, spec: &Value) -> Result<(), String> {
        let spec = object(spec, "an application error")?;
        only_keys(
            spec,
            &[
                "address",
                "generation",
                "maxWireVersion",
                "when",
                "type",
                "response",
            ],
            "an application error",
        )?;
        let address = address(spec.get("address").ok_or("no address")?)?;
        let current = self.generations.get(&address).copied().unwrap_or(0);
        let generation = match spec.get("generation") {
            None => current,
            Some(g) => g
                .as_u64()
                .and_then(|g| u32::try_from(g).ok())
                .ok_or("bad generation")?,
        };
        let max_wire_version = spec
            .get("maxWireVersion")
            .and_then(Value::as_i64)
            .and_then(|v| i32::try_from(v).ok())
            .ok_or("no maxWireVersion")?;
        let phase = match spec.get("when").and_then(Value::as_str) {
            Some("beforeHandshakeCompletes") => ErrorPhase::BeforeHandshake,
            Some("afterHandshakeCompletes") => ErrorPhase::AfterHandshake,
            other => return Err(format!("unknown when {other:?}")),
        };
        let error = match spec.get("type").and_then(Value::as_str) {
            Some("network") => Error::connection("simulated network error"),
            Some("timeout") => Error::timeout("simulated network timeout"),
            Some("command") => command_error(&to_document(
                spec.get("response")
                    .ok_or("a command error has no response")?,
            )?)?,
            other => return Err(format!("unknown error type {other:?}")),
        };
        let err = ApplicationError::from_error(
            &error,
            address,
            generation,
            max_wire_version,
            phase,
            None,
        );
        let (next, actions) = self.topology.apply_application_error(&err, current);
        self.advance(next, actions);
        Ok(())
    }

    fn advance(&mut self, next: TopologyDescription, actions: Vec<TopologyAction>) {
        self.events.extend(change_events(&self.topology, &next));
        self.topology = next;
        self.perform(actions);
    }

    /// What the runtime would do to the pools.
    fn perform(&mut self, actions: Vec<TopologyAction>) {
        for action in actions {
            match action {
                TopologyAction::AddServer(a) => {
                    self.generations.insert(a, 0);
                }
                TopologyAction::RemoveServer(a) => {
                    self.generations.remove(&a);
                }
                TopologyAction::ClearPool { address, .. } => {
                    *self.generations.entry(address).or_insert(0) += 1;
                }
                TopologyAction::ReadyPool(_)
                | TopologyAction::RequestImmediateCheck(_)
                | TopologyAction::CancelMonitorCheck(_) => {}
            }
        }
    }
}

pub fn address(v: &Value) -> Result<ServerAddress, String> {
    let s = v.as_str().ok_or("an address is not a string")?;
    ServerAddress::parse(s).map_err(|e| format!("address {s}: {e}"))
}

/// The error a connection would report for this reply, built as the connection layer
/// builds them, so that `ApplicationError::from_error` is what gets tested.
fn command_error(reply: &Document) -> Result<Error, String> {
    let raw = RawDocumentBuf::try_from(reply).map_err(|e| format!("response: {e}"))?;
    let labels: Vec<String> = match reply.get_array("errorLabels") {
        Ok(a) => a
            .iter()
            .filter_map(|l| l.as_str().map(str::to_owned))
            .collect(),
        Err(_) => Vec::new(),
    };
    let int = |d: &Document, k: &str| match d.get(k) {
        Some(Bson::Int32(n)) => Some(*n),
        Some(Bson::Int64(n)) => i32::try_from(*n).ok(),
        Some(Bson::Double(f)) => Some(*f as i32),
        _ => None,
    };
    let ok = matches!(
        reply.get("ok"),
        Some(Bson::Int32(1)) | Some(Bson::Double(1.0))
    );
    if !ok {
        return Ok(Error::new(ErrorKind::OperationFailure(OperationFailure {
            code: int(reply, "code").unwrap_or(0),
            code_name: reply.get_str("codeName").ok().map(str::to_owned),
            message: reply.get_str("errmsg").unwrap_or("").to_owned(),
            labels,
            reply: raw,
        })));
    }
    let write_concern_error = match reply.get_document("writeConcernError") {
        Ok(wce) => Some(WriteConcernError {
            code: int(wce, "code").unwrap_or(0),
            code_name: wce.get_str("codeName").ok().map(str::to_owned),
            message: wce.get_str("errmsg").unwrap_or("").to_owned(),
        }),
        Err(_) => None,
    };
    let write_errors = match reply.get_array("writeErrors") {
        Ok(items) => items
            .iter()
            .filter_map(Bson::as_document)
            .map(|w| mongopool::WriteError {
                index: int(w, "index").unwrap_or(0).max(0) as usize,
                code: int(w, "code").unwrap_or(0),
                message: w.get_str("errmsg").unwrap_or("").to_owned(),
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    if write_concern_error.is_none() && write_errors.is_empty() {
        return Err("a command error response that is ok and has no write errors".into());
    }
    Ok(Error::new(ErrorKind::WriteFailure(WriteFailure {
        write_errors,
        write_concern_error,
        labels,
        reply: raw,
    })))
}
