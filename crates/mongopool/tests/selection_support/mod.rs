//! The runner of the server-selection and max-staleness spec files (the same format):
//! selection logic files, `in_window` frequency files and `rtt` average files, told
//! apart by their keys.

mod logic;
mod topology;

use std::path::Path;
use std::time::Duration;

use mongopool::topology::SelectionCriteria;
use mongopool::topology::{average_round_trip_time, select_server};
use mongopool::{ReadPreference, ReadPreferenceMode};
use serde_json::Value;

use crate::spec_support::{object, only_keys, read_json, Outcome};

/// Runs one file of any of the three kinds.
pub fn run_file(path: &Path) -> Result<Outcome, String> {
    let file = read_json(path)?;
    let file = object(&file, "the file")?;
    if file.contains_key("new_rtt_ms") {
        rtt(file)
    } else if file.contains_key("mocked_topology_state") {
        in_window(file)
    } else {
        logic::run(file)
    }
}

/// `{avg_rtt_ms, new_rtt_ms, new_avg_rtt}`: the weighted average.
fn rtt(file: &serde_json::Map<String, Value>) -> Result<Outcome, String> {
    only_keys(
        file,
        &["avg_rtt_ms", "new_rtt_ms", "new_avg_rtt"],
        "an rtt file",
    )?;
    let ms = |k: &str| file.get(k).and_then(Value::as_f64).ok_or(format!("no {k}"));
    let previous = match file.get("avg_rtt_ms") {
        Some(Value::String(s)) if s == "NULL" => None,
        _ => Some(Duration::from_secs_f64(ms("avg_rtt_ms")? / 1000.0)),
    };
    let sample = Duration::from_secs_f64(ms("new_rtt_ms")? / 1000.0);
    let found = average_round_trip_time(previous, sample).as_secs_f64() * 1000.0;
    let wanted = ms("new_avg_rtt")?;
    // The files give averages to two decimals.
    match (found - wanted).abs() < 0.005 {
        true => Ok(Outcome::Passed(format!("{found:.3} ms"))),
        false => Err(format!("average: expected {wanted} ms, found {found} ms")),
    }
}

/// Select `iterations` times with "nearest" and the given operation counts; each
/// server's frequency must be within the tolerance (exact for 0 and 1).
fn in_window(file: &serde_json::Map<String, Value>) -> Result<Outcome, String> {
    only_keys(
        file,
        &[
            "description",
            "topology_description",
            "mocked_topology_state",
            "iterations",
            "outcome",
        ],
        "an in_window file",
    )?;
    let td = topology::description(
        file.get("topology_description")
            .ok_or("no topology_description")?,
        None,
    )?;
    let mut counts = Vec::new();
    for s in file["mocked_topology_state"]
        .as_array()
        .ok_or("bad mocked_topology_state")?
    {
        let s = object(s, "a mocked state")?;
        only_keys(s, &["address", "operation_count"], "a mocked state")?;
        let address = topology::address(s.get("address").ok_or("no address")?)?;
        let count = s
            .get("operation_count")
            .and_then(Value::as_u64)
            .and_then(|c| u32::try_from(c).ok())
            .ok_or("bad operation_count")?;
        counts.push((address, count));
    }
    let iterations = file
        .get("iterations")
        .and_then(Value::as_u64)
        .ok_or("no iterations")?;
    let outcome = object(file.get("outcome").ok_or("no outcome")?, "outcome")?;
    only_keys(outcome, &["tolerance", "expected_frequencies"], "outcome")?;
    let tolerance = outcome
        .get("tolerance")
        .and_then(Value::as_f64)
        .ok_or("no tolerance")?;
    let expected = object(
        outcome
            .get("expected_frequencies")
            .ok_or("no expected_frequencies")?,
        "expected_frequencies",
    )?;
    let criteria = SelectionCriteria::Read(ReadPreference::with_mode(ReadPreferenceMode::Nearest));
    let count_of =
        |a: &mongopool::ServerAddress| counts.iter().find(|(c, _)| c == a).map_or(0, |(_, n)| *n);
    let mut rng = rand::rng();
    let mut chosen: Vec<(String, u64)> = Vec::new();
    for _ in 0..iterations {
        let s = select_server(
            &td,
            &criteria,
            Duration::from_millis(15),
            &[],
            count_of,
            &mut rng,
        )
        .map_err(|e| e.to_string())?
        .ok_or("nothing selected")?;
        let name = s.address.to_string();
        match chosen.iter_mut().find(|(n, _)| *n == name) {
            Some((_, c)) => *c += 1,
            None => chosen.push((name, 1)),
        }
    }
    let mut report = Vec::new();
    for (key, freq) in expected {
        let name = topology::address(&Value::from(key.as_str()))?.to_string();
        let wanted = freq.as_f64().ok_or("a frequency is not a number")?;
        let got = chosen
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, c)| *c) as f64
            / iterations as f64;
        let ok = match wanted {
            w if w == 0.0 || w == 1.0 => got == w,
            w => (got - w).abs() <= tolerance,
        };
        if !ok {
            return Err(format!(
                "{name}: selected with frequency {got}, expected {wanted} ± {tolerance}"
            ));
        }
        report.push(format!("{name} {got:.3}"));
    }
    if let Some((n, _)) = chosen.iter().find(|(n, _)| {
        !expected
            .keys()
            .any(|k| topology::address(&Value::from(k.as_str())).is_ok_and(|a| a.to_string() == *n))
    }) {
        return Err(format!("{n} was selected but has no expected frequency"));
    }
    Ok(Outcome::Passed(report.join(", ")))
}
