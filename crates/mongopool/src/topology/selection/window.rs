//! The latency window: the suitable servers within localThresholdMS of the fastest.

use std::time::Duration;

use crate::topology::server_description::ServerDescription;

/// The servers of `suitable` whose average round trip time is at most
/// `local_threshold` more than the smallest. A server with no RTT yet counts as 0.
pub fn in_latency_window(
    suitable: Vec<&ServerDescription>,
    local_threshold: Duration,
) -> Vec<&ServerDescription> {
    let rtt = |s: &ServerDescription| s.round_trip_time.unwrap_or(Duration::ZERO);
    let Some(fastest) = suitable.iter().map(|s| rtt(s)).min() else {
        return suitable;
    };
    let limit = fastest.saturating_add(local_threshold);
    suitable.into_iter().filter(|s| rtt(s) <= limit).collect()
}
