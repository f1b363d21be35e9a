//! Server selection, pure: which servers suit an operation, the latency window, and
//! the "power of two random choices" among them (the server-selection and
//! max-staleness specs).

mod average_rtt;
mod criteria;
mod failure;
mod staleness;
mod suitable;
mod window;

pub use average_rtt::average_round_trip_time;
pub use criteria::SelectionCriteria;
pub use failure::{selection_error, selection_failure_message};
pub use staleness::{validate_max_staleness, IDLE_WRITE_PERIOD, SMALLEST_MAX_STALENESS};
pub use suitable::suitable_servers;
pub use window::in_latency_window;

use std::time::Duration;

use rand::Rng;

use super::description::TopologyDescription;
use super::server_description::ServerDescription;
use crate::address::ServerAddress;
use crate::error::{Error, ErrorKind, Result};

/// The suitable servers, before the latency window: the topology is checked for
/// compatibility and `maxStalenessSeconds` validated, then deprioritized servers are
/// left out unless that leaves nothing.
pub fn eligible_servers<'a>(
    desc: &'a TopologyDescription,
    criteria: &SelectionCriteria,
    deprioritized: &[ServerAddress],
) -> Result<Vec<&'a ServerDescription>> {
    if let Some(e) = desc.compatibility_error() {
        return Err(Error::new(ErrorKind::ServerSelection {
            message: e.to_string(),
        }));
    }
    if let SelectionCriteria::Read(rp) = criteria {
        validate_max_staleness(rp, desc)?;
    }
    let suitable = suitable_servers(desc, criteria, deprioritized);
    if suitable.is_empty() && !deprioritized.is_empty() {
        return Ok(suitable_servers(desc, criteria, &[]));
    }
    Ok(suitable)
}

/// The index (in `desc.servers()`) of the server that every write, and every read
/// with mode primary and neither tags nor `maxStalenessSeconds`, selects in `desc`,
/// when that choice takes no random draw: the one suitable server in the latency
/// window. `None` when no server or several suit (mongos routers, where the draw
/// decides), or the topology is incompatible.
///
/// Worked out once per description by the full selection below, so that the
/// common selection (the primary) is a lookup rather than a pass over the servers.
pub fn unique_primary_choice(
    desc: &TopologyDescription,
    local_threshold: Duration,
) -> Option<usize> {
    let only = |criteria: &SelectionCriteria| {
        let window =
            in_latency_window(eligible_servers(desc, criteria, &[]).ok()?, local_threshold);
        match window[..] {
            [server] => Some(server),
            _ => None,
        }
    };
    let write = only(&SelectionCriteria::Write)?;
    let read = only(&SelectionCriteria::Read(
        crate::read_preference::ReadPreference::primary(),
    ))?;
    if !std::ptr::eq(write, read) {
        return None;
    }
    desc.servers().position(|s| std::ptr::eq(s, write))
}

/// Selects a server for `criteria`, or `Ok(None)` when none suits now (the caller
/// then requests checks and waits for the topology to change).
///
/// Deprioritized servers (by address) are left out unless nothing else suits. Among
/// the suitable servers within `local_threshold` of the fastest, two are drawn at
/// random and the one with fewer operations in progress (`operation_count`) wins.
///
/// Errors: the topology is incompatible with this client's wire versions
/// ([`ErrorKind::ServerSelection`]), or `maxStalenessSeconds` is invalid for it
/// ([`ErrorKind::Configuration`]).
pub fn select_server<'a>(
    desc: &'a TopologyDescription,
    criteria: &SelectionCriteria,
    local_threshold: Duration,
    deprioritized: &[ServerAddress],
    operation_count: impl Fn(&ServerAddress) -> u32,
    rng: &mut impl Rng,
) -> Result<Option<&'a ServerDescription>> {
    let window = in_latency_window(
        eligible_servers(desc, criteria, deprioritized)?,
        local_threshold,
    );
    Ok(match window.len() {
        0 => None,
        1 => Some(window[0]),
        n => {
            let first = rng.random_range(0..n);
            let mut second = rng.random_range(0..n - 1);
            if second >= first {
                second += 1;
            }
            let (a, b) = (window[first], window[second]);
            if operation_count(&b.address) < operation_count(&a.address) {
                Some(b)
            } else {
                Some(a)
            }
        }
    })
}
