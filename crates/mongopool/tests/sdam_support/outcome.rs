//! Checks a phase's outcome against the simulated client's topology description.

use bson::Bson;
use mongopool::topology::{ServerDescription, TopologyVersion};
use serde_json::{Map, Value};

use super::client::{address, SimulatedClient};
use crate::spec_support::{object, only_keys, to_bson};

/// Every key the outcome gives must match.
pub fn check(outcome: &Map<String, Value>, client: &SimulatedClient) -> Result<(), String> {
    only_keys(
        outcome,
        &[
            "topologyType",
            "setName",
            "servers",
            "logicalSessionTimeoutMinutes",
            "maxSetVersion",
            "maxElectionId",
            "compatible",
        ],
        "an outcome",
    )?;
    let td = &client.topology;
    if let Some(t) = outcome.get("topologyType") {
        same("topologyType", t, &Value::from(td.topology_type().name()))?;
    }
    if let Some(v) = outcome.get("setName") {
        same("setName", v, &opt_str(td.set_name()))?;
    }
    if let Some(v) = outcome.get("logicalSessionTimeoutMinutes") {
        same_int(
            "logicalSessionTimeoutMinutes",
            v,
            td.logical_session_timeout_minutes(),
        )?;
    }
    if let Some(v) = outcome.get("maxSetVersion") {
        same_int("maxSetVersion", v, td.max_set_version())?;
    }
    if let Some(v) = outcome.get("maxElectionId") {
        same_bson("maxElectionId", v, td.max_election_id().map(Bson::ObjectId))?;
    }
    if let Some(v) = outcome.get("compatible") {
        let compatible = td.compatibility_error().is_none();
        if v.as_bool() != Some(compatible) {
            return Err(format!(
                "compatible: expected {v}, found {compatible} ({:?})",
                td.compatibility_error().map(ToString::to_string)
            ));
        }
    }
    let servers = object(
        outcome.get("servers").ok_or("an outcome has no servers")?,
        "servers",
    )?;
    let mut found: Vec<String> = td.servers().map(|s| s.address.to_string()).collect();
    let mut wanted: Vec<String> = Vec::new();
    for key in servers.keys() {
        wanted.push(address(&Value::from(key.as_str()))?.to_string());
    }
    found.sort();
    wanted.sort();
    if found != wanted {
        return Err(format!("servers: expected {wanted:?}, found {found:?}"));
    }
    for (key, expected) in servers {
        let addr = address(&Value::from(key.as_str()))?;
        let sd = td.server(&addr).ok_or("vanished")?;
        let generation = client.generations.get(&addr).copied().unwrap_or(0);
        check_server(object(expected, key)?, sd, generation)
            .map_err(|why| format!("{key}: {why}"))?;
    }
    Ok(())
}

fn check_server(
    expected: &Map<String, Value>,
    sd: &ServerDescription,
    generation: u32,
) -> Result<(), String> {
    only_keys(
        expected,
        &[
            "type",
            "setName",
            "setVersion",
            "electionId",
            "logicalSessionTimeoutMinutes",
            "minWireVersion",
            "maxWireVersion",
            "topologyVersion",
            "pool",
            "error",
        ],
        "a server outcome",
    )?;
    if let Some(t) = expected.get("type") {
        same("type", t, &Value::from(sd.server_type.name()))?;
    }
    if let Some(v) = expected.get("setName") {
        same("setName", v, &opt_str(sd.set_name.as_deref()))?;
    }
    if let Some(v) = expected.get("setVersion") {
        same_int("setVersion", v, sd.set_version)?;
    }
    if let Some(v) = expected.get("electionId") {
        same_bson("electionId", v, sd.election_id.map(Bson::ObjectId))?;
    }
    if let Some(v) = expected.get("logicalSessionTimeoutMinutes") {
        same_int(
            "logicalSessionTimeoutMinutes",
            v,
            sd.logical_session_timeout_minutes,
        )?;
    }
    if let Some(v) = expected.get("minWireVersion") {
        same_int("minWireVersion", v, sd.min_wire_version.map(i64::from))?;
    }
    if let Some(v) = expected.get("maxWireVersion") {
        same_int("maxWireVersion", v, sd.max_wire_version.map(i64::from))?;
    }
    if let Some(v) = expected.get("topologyVersion") {
        let wanted = match v {
            Value::Null => None,
            v => match to_bson(v)? {
                Bson::Document(d) => Some(
                    TopologyVersion::from_document(
                        &bson::RawDocumentBuf::try_from(&d).map_err(|e| e.to_string())?,
                    )
                    .map_err(|e| e.to_string())?,
                ),
                other => return Err(format!("topologyVersion {other} is not a document")),
            },
        };
        if wanted != sd.topology_version {
            return Err(format!(
                "topologyVersion: expected {wanted:?}, found {:?}",
                sd.topology_version
            ));
        }
    }
    if let Some(pool) = expected.get("pool") {
        let pool = object(pool, "pool")?;
        only_keys(pool, &["generation"], "pool")?;
        let wanted = pool.get("generation").and_then(Value::as_u64);
        if wanted != Some(u64::from(generation)) {
            return Err(format!(
                "pool generation: expected {wanted:?}, found {generation}"
            ));
        }
    }
    if let Some(v) = expected.get("error") {
        let needle = v.as_str().ok_or("error is not a string")?;
        let message = sd
            .error
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        if !message.contains(needle) {
            return Err(format!("error: expected {needle:?} in {message:?}"));
        }
    }
    Ok(())
}

fn opt_str(s: Option<&str>) -> Value {
    s.map_or(Value::Null, Value::from)
}

fn same(what: &str, expected: &Value, found: &Value) -> Result<(), String> {
    match expected == found {
        true => Ok(()),
        false => Err(format!("{what}: expected {expected}, found {found}")),
    }
}

fn same_int(what: &str, expected: &Value, found: Option<i64>) -> Result<(), String> {
    let wanted = match to_bson(expected)? {
        Bson::Null => None,
        Bson::Int32(n) => Some(i64::from(n)),
        Bson::Int64(n) => Some(n),
        other => return Err(format!("{what}: expected value {other} is not an integer")),
    };
    match wanted == found {
        true => Ok(()),
        false => Err(format!("{what}: expected {wanted:?}, found {found:?}")),
    }
}

fn same_bson(what: &str, expected: &Value, found: Option<Bson>) -> Result<(), String> {
    let wanted = match to_bson(expected)? {
        Bson::Null => None,
        b => Some(b),
    };
    match wanted == found {
        true => Ok(()),
        false => Err(format!("{what}: expected {wanted:?}, found {found:?}")),
    }
}
