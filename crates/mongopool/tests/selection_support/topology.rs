//! Builds the topology description and read preference a selection file describes.

use std::time::Duration;

use bson::{Bson, RawDocumentBuf};
use mongopool::topology::{
    ServerDescription, ServerType, TopologyDescription, TopologySettings, TopologyType,
    CLIENT_MAX_WIRE_VERSION,
};
use mongopool::{ReadPreference, ReadPreferenceMode, ServerAddress};
use serde_json::Value;

use crate::spec_support::{object, only_keys, to_bson, to_document};

pub fn address(v: &Value) -> Result<ServerAddress, String> {
    let s = v.as_str().ok_or("an address is not a string")?;
    ServerAddress::parse(s).map_err(|e| format!("address {s}: {e}"))
}

/// The `topology_description` of a file, with `heartbeatFrequencyMS` if it gives one.
pub fn description(
    v: &Value,
    heartbeat_frequency: Option<Duration>,
) -> Result<TopologyDescription, String> {
    let v = object(v, "topology_description")?;
    only_keys(v, &["type", "servers"], "topology_description")?;
    let t = v.get("type").and_then(Value::as_str).ok_or("no type")?;
    let topology_type = TopologyType::from_name(t).ok_or(format!("unknown topology type {t}"))?;
    let servers = v
        .get("servers")
        .and_then(Value::as_array)
        .ok_or("no servers")?
        .iter()
        .map(server)
        .collect::<Result<Vec<_>, _>>()?;
    let mut settings = TopologySettings {
        seeds: servers.iter().map(|s| s.address.clone()).collect(),
        ..TopologySettings::default()
    };
    if let Some(h) = heartbeat_frequency {
        settings.heartbeat_frequency = h;
    }
    Ok(TopologyDescription::from_servers(
        &settings,
        topology_type,
        None,
        servers,
    ))
}

/// One server of a file.
pub fn server(v: &Value) -> Result<ServerDescription, String> {
    let v = object(v, "a server")?;
    only_keys(
        v,
        &[
            "address",
            "type",
            "avg_rtt_ms",
            "tags",
            "maxWireVersion",
            "lastWrite",
            "lastUpdateTime",
        ],
        "a server",
    )?;
    let mut sd = ServerDescription::unknown(address(v.get("address").ok_or("no address")?)?);
    let t = v.get("type").and_then(Value::as_str).ok_or("no type")?;
    sd.server_type = ServerType::from_name(t).ok_or(format!("unknown server type {t}"))?;
    if let Some(ms) = v.get("avg_rtt_ms") {
        let ms = ms.as_f64().ok_or("avg_rtt_ms is not a number")?;
        sd.round_trip_time = Some(Duration::from_secs_f64(ms / 1000.0));
    }
    if let Some(tags) = v.get("tags") {
        for (k, val) in object(tags, "tags")? {
            let val = val.as_str().ok_or("a tag is not a string")?;
            sd.tags.insert(k.clone(), val.to_owned());
        }
    }
    // The files describe servers the client can talk to; only some give a wire version.
    sd.min_wire_version = Some(0);
    sd.max_wire_version = Some(match v.get("maxWireVersion") {
        Some(w) => w
            .as_i64()
            .and_then(|w| i32::try_from(w).ok())
            .ok_or("bad maxWireVersion")?,
        None => CLIENT_MAX_WIRE_VERSION,
    });
    if let Some(lw) = v.get("lastWrite") {
        let lw = to_document(lw)?;
        sd.last_write_date = match lw.get("lastWriteDate") {
            Some(Bson::Int64(n)) => Some(*n),
            Some(Bson::Int32(n)) => Some(i64::from(*n)),
            other => return Err(format!("bad lastWriteDate {other:?}")),
        };
    }
    if let Some(t) = v.get("lastUpdateTime") {
        sd.last_update_time = match to_bson(t)? {
            Bson::Int32(n) => Some(i64::from(n)),
            Bson::Int64(n) => Some(n),
            other => return Err(format!("bad lastUpdateTime {other}")),
        };
    }
    Ok(sd)
}

/// A file's `read_preference` (absent or empty: primary).
pub fn read_preference(v: Option<&Value>) -> Result<ReadPreference, String> {
    let Some(v) = v else {
        return Ok(ReadPreference::primary());
    };
    let v = object(v, "read_preference")?;
    only_keys(
        v,
        &["mode", "tag_sets", "maxStalenessSeconds"],
        "read_preference",
    )?;
    let mut rp = ReadPreference::primary();
    if let Some(m) = v.get("mode") {
        let m = m.as_str().ok_or("mode is not a string")?;
        rp.mode = ReadPreferenceMode::parse(m).map_err(|e| e.to_string())?;
    }
    if let Some(sets) = v.get("tag_sets") {
        for set in sets.as_array().ok_or("tag_sets is not an array")? {
            let doc = to_document(set)?;
            rp.tag_sets
                .push(RawDocumentBuf::try_from(&doc).map_err(|e| e.to_string())?);
        }
    }
    if let Some(s) = v.get("maxStalenessSeconds") {
        let s = s.as_i64().ok_or("maxStalenessSeconds is not an integer")?;
        // -1 means "no maximum".
        rp.max_staleness = match s {
            -1 => None,
            s => Some(Duration::from_secs(
                u64::try_from(s).map_err(|_| format!("maxStalenessSeconds {s}"))?,
            )),
        };
    }
    Ok(rp)
}
