//! The error of a selection that found nothing: what was asked, and every known server
//! with its type, round trip time and last error.

use std::fmt::Write;
use std::time::Duration;

use super::criteria::SelectionCriteria;
use crate::error::{Error, ErrorKind};
use crate::topology::description::TopologyDescription;

/// Describes the topology for a failed selection, e.g.
/// `no server suitable for a write; topology ReplicaSetNoPrimary (set "rs"): a:27017
/// (RSSecondary, rtt 1.2 ms), b:27017 (Unknown, error: connection refused)`.
pub fn selection_failure_message(
    desc: &TopologyDescription,
    criteria: &SelectionCriteria,
) -> String {
    let mut m = format!(
        "no server suitable for {criteria}; topology {}",
        desc.topology_type()
    );
    if let Some(set) = desc.set_name() {
        let _ = write!(m, " (set {set:?})");
    }
    if let Some(e) = desc.compatibility_error() {
        let _ = write!(m, ", incompatible: {e}");
    }
    if desc.servers().len() == 0 {
        m.push_str(": no known servers");
        return m;
    }
    m.push(':');
    for (i, s) in desc.servers().enumerate() {
        let sep = if i == 0 { " " } else { ", " };
        let _ = write!(m, "{sep}{} ({}", s.address, s.server_type);
        if let Some(rtt) = s.round_trip_time {
            let _ = write!(m, ", rtt {:.1} ms", rtt.as_secs_f64() * 1000.0);
        }
        if let Some(e) = &s.error {
            let _ = write!(m, ", error: {e}");
        }
        m.push(')');
    }
    m
}

/// The [`ErrorKind::ServerSelection`] error after waiting `waited` in vain.
pub fn selection_error(
    desc: &TopologyDescription,
    criteria: &SelectionCriteria,
    waited: Duration,
) -> Error {
    Error::new(ErrorKind::ServerSelection {
        message: format!(
            "timed out after {} ms: {}",
            waited.as_millis(),
            selection_failure_message(desc, criteria)
        ),
    })
}
