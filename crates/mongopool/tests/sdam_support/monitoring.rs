//! Checks the SDAM events of a monitoring phase, in order.

use mongopool::topology::{SdamEvent, ServerDescription, TopologyDescription};
use serde_json::{Map, Value};

use super::client::address;
use crate::spec_support::{object, only_keys};

/// The events must be exactly these, in this order.
pub fn check_events(expected: &[Value], found: &[SdamEvent]) -> Result<(), String> {
    let names: Vec<&str> = found.iter().map(name).collect();
    if expected.len() != found.len() {
        return Err(format!(
            "expected {} events, found {}: {names:?}",
            expected.len(),
            found.len()
        ));
    }
    for (i, (e, f)) in expected.iter().zip(found).enumerate() {
        check_event(e, f).map_err(|why| format!("event {}: {why} (all: {names:?})", i + 1))?;
    }
    Ok(())
}

fn name(e: &SdamEvent) -> &'static str {
    match e {
        SdamEvent::TopologyOpening => "topology_opening_event",
        SdamEvent::TopologyClosed => "topology_closed_event",
        SdamEvent::TopologyDescriptionChanged { .. } => "topology_description_changed_event",
        SdamEvent::ServerOpening { .. } => "server_opening_event",
        SdamEvent::ServerClosed { .. } => "server_closed_event",
        SdamEvent::ServerDescriptionChanged { .. } => "server_description_changed_event",
        SdamEvent::ServerHeartbeatStarted { .. } => "server_heartbeat_started_event",
        SdamEvent::ServerHeartbeatSucceeded { .. } => "server_heartbeat_succeeded_event",
        SdamEvent::ServerHeartbeatFailed { .. } => "server_heartbeat_failed_event",
    }
}

fn check_event(expected: &Value, found: &SdamEvent) -> Result<(), String> {
    let expected = object(expected, "an event")?;
    let (kind, body) = match expected.iter().next() {
        Some(kv) if expected.len() == 1 => kv,
        _ => return Err("an expected event is not a one-key object".into()),
    };
    if kind != name(found) {
        return Err(format!("expected {kind}, found {}", name(found)));
    }
    let body = object(body, kind)?;
    // topologyId is the runtime's; the pure layer has none to compare.
    match found {
        SdamEvent::TopologyOpening | SdamEvent::TopologyClosed => {
            only_keys(body, &["topologyId"], kind)
        }
        SdamEvent::ServerOpening { address: a } | SdamEvent::ServerClosed { address: a } => {
            only_keys(body, &["topologyId", "address"], kind)?;
            same_address(body, a)
        }
        SdamEvent::ServerDescriptionChanged {
            address: a,
            previous,
            new,
        } => {
            only_keys(
                body,
                &[
                    "topologyId",
                    "address",
                    "previousDescription",
                    "newDescription",
                ],
                kind,
            )?;
            same_address(body, a)?;
            check_server(field(body, "previousDescription")?, previous)
                .map_err(|w| format!("previousDescription: {w}"))?;
            check_server(field(body, "newDescription")?, new)
                .map_err(|w| format!("newDescription: {w}"))
        }
        SdamEvent::TopologyDescriptionChanged { previous, new } => {
            only_keys(
                body,
                &["topologyId", "previousDescription", "newDescription"],
                kind,
            )?;
            check_topology(field(body, "previousDescription")?, previous)
                .map_err(|w| format!("previousDescription: {w}"))?;
            check_topology(field(body, "newDescription")?, new)
                .map_err(|w| format!("newDescription: {w}"))
        }
        _ => Err(format!("{kind} is not expected in these tests")),
    }
}

fn field<'a>(body: &'a Map<String, Value>, key: &str) -> Result<&'a Map<String, Value>, String> {
    object(body.get(key).ok_or_else(|| format!("no {key}"))?, key)
}

fn same_address(body: &Map<String, Value>, found: &mongopool::ServerAddress) -> Result<(), String> {
    let wanted = address(body.get("address").ok_or("no address")?)?;
    match &wanted == found {
        true => Ok(()),
        false => Err(format!("address: expected {wanted}, found {found}")),
    }
}

fn check_topology(expected: &Map<String, Value>, td: &TopologyDescription) -> Result<(), String> {
    only_keys(
        expected,
        &["topologyType", "servers", "setName"],
        "a topology description",
    )?;
    let t = expected.get("topologyType").and_then(Value::as_str);
    if t != Some(td.topology_type().name()) {
        return Err(format!(
            "topologyType: expected {t:?}, found {}",
            td.topology_type()
        ));
    }
    if let Some(v) = expected.get("setName") {
        if v.as_str() != td.set_name() {
            return Err(format!("setName: expected {v}, found {:?}", td.set_name()));
        }
    }
    let servers = expected
        .get("servers")
        .and_then(Value::as_array)
        .ok_or("no servers")?;
    if servers.len() != td.servers().len() {
        return Err(format!(
            "expected {} servers, found {}",
            servers.len(),
            td.servers().len()
        ));
    }
    for s in servers {
        let s = object(s, "a server")?;
        let a = address(s.get("address").ok_or("a server has no address")?)?;
        let sd = td.server(&a).ok_or_else(|| format!("no server {a}"))?;
        check_server(s, sd).map_err(|w| format!("{a}: {w}"))?;
    }
    Ok(())
}

fn check_server(expected: &Map<String, Value>, sd: &ServerDescription) -> Result<(), String> {
    only_keys(
        expected,
        &[
            "address", "arbiters", "hosts", "passives", "primary", "setName", "type",
        ],
        "a server description",
    )?;
    let a = address(expected.get("address").ok_or("no address")?)?;
    if a != sd.address {
        return Err(format!("address: expected {a}, found {}", sd.address));
    }
    let t = expected.get("type").and_then(Value::as_str);
    if t != Some(sd.server_type.name()) {
        return Err(format!("type: expected {t:?}, found {}", sd.server_type));
    }
    for (key, list) in [
        ("hosts", &sd.hosts),
        ("passives", &sd.passives),
        ("arbiters", &sd.arbiters),
    ] {
        let Some(v) = expected.get(key) else { continue };
        let mut wanted: Vec<String> = v
            .as_array()
            .ok_or_else(|| format!("{key} is not an array"))?
            .iter()
            .map(|h| address(h).map(|a| a.to_string()))
            .collect::<Result<_, _>>()?;
        let mut found: Vec<String> = list.iter().map(ToString::to_string).collect();
        wanted.sort();
        found.sort();
        if wanted != found {
            return Err(format!("{key}: expected {wanted:?}, found {found:?}"));
        }
    }
    if let Some(v) = expected.get("primary") {
        let wanted = match v {
            Value::Null => None,
            v => Some(address(v)?),
        };
        if wanted != sd.primary {
            return Err(format!(
                "primary: expected {wanted:?}, found {:?}",
                sd.primary
            ));
        }
    }
    if let Some(v) = expected.get("setName") {
        if v.as_str() != sd.set_name.as_deref() {
            return Err(format!("setName: expected {v}, found {:?}", sd.set_name));
        }
    }
    Ok(())
}
