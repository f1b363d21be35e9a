//! maxStalenessSeconds: its validation and the staleness estimate of a secondary.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::read_preference::{ReadPreference, ReadPreferenceMode};
use crate::topology::description::TopologyDescription;
use crate::topology::server_description::ServerDescription;
use crate::topology::server_type::ServerType;

/// How often an idle primary writes a no-op (the max-staleness spec): 10 s.
pub const IDLE_WRITE_PERIOD: Duration = Duration::from_secs(10);
/// The smallest maxStalenessSeconds a replica set accepts: 90 s.
pub const SMALLEST_MAX_STALENESS: Duration = Duration::from_secs(90);

/// Checks `maxStalenessSeconds` against the mode and, for a replica set, against
/// `heartbeatFrequencyMS + idleWritePeriodMS` and 90 seconds.
pub fn validate_max_staleness(rp: &ReadPreference, desc: &TopologyDescription) -> Result<()> {
    let Some(max) = rp.max_staleness else {
        return Ok(());
    };
    if rp.mode == ReadPreferenceMode::Primary {
        return Err(Error::configuration(
            "maxStalenessSeconds cannot be used with read preference primary",
        ));
    }
    if desc.topology_type().is_replica_set() {
        let heartbeat = desc.settings().heartbeat_frequency;
        let floor = (heartbeat + IDLE_WRITE_PERIOD).max(SMALLEST_MAX_STALENESS);
        if max < floor {
            return Err(Error::configuration(format!(
                "maxStalenessSeconds is {} s; it must be at least {} s (90 s, and \
                 heartbeatFrequencyMS {} ms plus the idle write period of 10 s)",
                max.as_secs_f64(),
                floor.as_secs_f64(),
                heartbeat.as_millis()
            )));
        }
    }
    Ok(())
}

/// The estimated staleness of `server` in milliseconds: zero for all but
/// secondaries; against the primary when there is one, else against the freshest
/// secondary.
pub(super) fn staleness_ms(server: &ServerDescription, desc: &TopologyDescription) -> i64 {
    if server.server_type != ServerType::RsSecondary {
        return 0;
    }
    let heartbeat =
        i64::try_from(desc.settings().heartbeat_frequency.as_millis()).unwrap_or(i64::MAX);
    let lwd = |s: &ServerDescription| s.last_write_date.unwrap_or(0);
    let lut = |s: &ServerDescription| s.last_update_time.unwrap_or(0);
    match desc.primary() {
        Some(p) => (lut(server) - lwd(server)) - (lut(p) - lwd(p)) + heartbeat,
        None => {
            let freshest = desc
                .servers()
                .filter(|s| s.server_type == ServerType::RsSecondary)
                .map(lwd)
                .max()
                .unwrap_or(0);
            freshest - lwd(server) + heartbeat
        }
    }
}
