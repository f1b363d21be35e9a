//! The SDAM runner: a simulated client (topology description, pool generations, event
//! log) driven by a file's phases, then checked against each phase's outcome.

mod client;
mod monitoring;
mod outcome;

use std::path::Path;

use mongopool::topology::TopologySettings;
use mongopool::ConnectionString;
use serde_json::Value;

use crate::spec_support::{object, only_keys, read_json, Outcome};
use client::SimulatedClient;

/// The subfolders of the SDAM test directory this runner runs.
pub const SUBDIRS: &[&str] = &[
    "single",
    "rs",
    "sharded",
    "errors",
    "monitoring",
    "load-balanced",
];

/// Runs one file.
pub fn run_file(path: &Path) -> Result<Outcome, String> {
    let file = read_json(path)?;
    let file = object(&file, "the file")?;
    only_keys(file, &["description", "uri", "phases"], "the file")?;
    let description = file
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("");
    let uri = file
        .get("uri")
        .and_then(Value::as_str)
        .ok_or("the file has no uri")?;
    let cs = ConnectionString::parse(uri).map_err(|e| format!("uri {uri}: {e}"))?;
    let settings =
        TopologySettings::from_connection_string(&cs).map_err(|e| format!("uri {uri}: {e}"))?;
    let phases = file
        .get("phases")
        .and_then(Value::as_array)
        .ok_or("the file has no phases")?;
    let mut client = SimulatedClient::new(&settings);
    for (i, phase) in phases.iter().enumerate() {
        run_phase(&mut client, phase).map_err(|why| {
            let said = phase
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("");
            format!("phase {} {said:?}: {why}\n    ({description})", i + 1)
        })?;
    }
    Ok(Outcome::Passed(format!("{} phases", phases.len())))
}

fn run_phase(client: &mut SimulatedClient, phase: &Value) -> Result<(), String> {
    let phase = object(phase, "a phase")?;
    only_keys(
        phase,
        &["description", "responses", "applicationErrors", "outcome"],
        "a phase",
    )?;
    if let Some(responses) = phase.get("responses") {
        for r in responses.as_array().ok_or("responses is not an array")? {
            client.hello_outcome(r)?;
        }
    }
    if let Some(errors) = phase.get("applicationErrors") {
        for e in errors
            .as_array()
            .ok_or("applicationErrors is not an array")?
        {
            client.application_error(e)?;
        }
    }
    let outcome = object(
        phase.get("outcome").ok_or("a phase has no outcome")?,
        "outcome",
    )?;
    if outcome.contains_key("events") {
        only_keys(outcome, &["events"], "a monitoring outcome")?;
        let expected = outcome["events"]
            .as_array()
            .ok_or("events is not an array")?;
        monitoring::check_events(expected, &client.take_events())
    } else {
        outcome::check(outcome, client)
    }
}
