//! A selection logic file: the suitable servers and the latency window, or an error.

use std::time::Duration;

use mongopool::topology::{eligible_servers, in_latency_window, unique_primary_choice};
use mongopool::topology::{SelectionCriteria, ServerDescription};
use serde_json::{Map, Value};

use super::topology;
use crate::spec_support::{only_keys, Outcome};

/// The latency window the files assume: the default localThresholdMS.
const LOCAL_THRESHOLD: Duration = Duration::from_millis(15);

pub fn run(file: &Map<String, Value>) -> Result<Outcome, String> {
    only_keys(
        file,
        &[
            "description",
            "heartbeatFrequencyMS",
            "topology_description",
            "operation",
            "read_preference",
            "deprioritized_servers",
            "suitable_servers",
            "in_latency_window",
            "error",
        ],
        "a selection file",
    )?;
    let heartbeat = match file.get("heartbeatFrequencyMS") {
        None => None,
        Some(v) => Some(Duration::from_millis(
            v.as_u64().ok_or("heartbeatFrequencyMS is not a count")?,
        )),
    };
    let td = topology::description(
        file.get("topology_description")
            .ok_or("no topology_description")?,
        heartbeat,
    )?;
    let rp = topology::read_preference(file.get("read_preference"))?;
    let criteria = match file.get("operation").and_then(Value::as_str) {
        None | Some("read") => SelectionCriteria::Read(rp),
        Some("write") => SelectionCriteria::Write,
        Some(other) => return Err(format!("unknown operation {other}")),
    };
    let mut deprioritized = Vec::new();
    if let Some(list) = file.get("deprioritized_servers") {
        for s in list
            .as_array()
            .ok_or("deprioritized_servers is not an array")?
        {
            deprioritized.push(topology::server(s)?.address);
        }
    }
    let result = eligible_servers(&td, &criteria, &deprioritized);
    // The topology's shortcut for writes and plain primary reads must give what the
    // file expects of the full selection: the one server of the window, or nothing.
    let shortcut = (criteria.is_primary_only() && deprioritized.is_empty())
        .then(|| unique_primary_choice(&td, LOCAL_THRESHOLD));
    if file.get("error").and_then(Value::as_bool) == Some(true) {
        if let Some(Some(i)) = shortcut {
            return Err(format!(
                "expected an error, the shortcut selected server {i}"
            ));
        }
        return match result {
            Err(e) => Ok(Outcome::Passed(format!("error: {e}"))),
            Ok(s) => Err(format!("expected an error, selected {:?}", names(&s))),
        };
    }
    let suitable = result.map_err(|e| format!("unexpected error: {e}"))?;
    same("suitable_servers", file, &suitable)?;
    let window = in_latency_window(suitable, LOCAL_THRESHOLD);
    same("in_latency_window", file, &window)?;
    if let Some(shortcut) = shortcut {
        let servers: Vec<&ServerDescription> = td.servers().collect();
        let expected = match window[..] {
            [only] => servers.iter().position(|s| std::ptr::eq(*s, only)),
            _ => None,
        };
        if shortcut != expected {
            return Err(format!(
                "the primary shortcut chose {:?}, the window holds {:?}",
                shortcut.map(|i| &servers[i].address),
                names(&window)
            ));
        }
        return Ok(Outcome::Passed(format!(
            "shortcut: {}",
            shortcut.map_or("none".to_owned(), |i| servers[i].address.to_string())
        )));
    }
    Ok(Outcome::Passed(String::new()))
}

fn names(servers: &[&ServerDescription]) -> Vec<String> {
    let mut n: Vec<String> = servers.iter().map(|s| s.address.to_string()).collect();
    n.sort();
    n
}

/// The servers of `key` (compared by address) must be exactly `found`.
fn same(key: &str, file: &Map<String, Value>, found: &[&ServerDescription]) -> Result<(), String> {
    let list = file
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("no {key}"))?;
    let mut wanted = Vec::new();
    for s in list {
        wanted.push(topology::server(s)?.address.to_string());
    }
    wanted.sort();
    let found = names(found);
    match wanted == found {
        true => Ok(()),
        false => Err(format!("{key}: expected {wanted:?}, found {found:?}")),
    }
}
