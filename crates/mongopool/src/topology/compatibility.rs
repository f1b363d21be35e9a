//! The wire version check: a server whose range does not overlap the client's makes the
//! topology unusable, with the spec's message.

use super::server_description::ServerDescription;
use super::server_type::ServerType;
use crate::error::Error;

/// The oldest wire version mongopool speaks: 2 (MongoDB 2.6).
pub const CLIENT_MIN_WIRE_VERSION: i32 = 2;
/// The newest wire version mongopool knows: 27 (MongoDB 8.2).
pub const CLIENT_MAX_WIRE_VERSION: i32 = 27;

const DRIVER_NAME: &str = "mongopool";

/// The spec's compatibility error for `server`, if its wire range does not overlap ours.
/// Unknown servers and load balancers (which report no range) are compatible.
pub fn incompatibility(server: &ServerDescription) -> Option<Error> {
    if matches!(
        server.server_type,
        ServerType::Unknown | ServerType::PossiblePrimary | ServerType::LoadBalancer
    ) {
        return None;
    }
    let min = server.min_wire_version.unwrap_or(0);
    let max = server.max_wire_version.unwrap_or(0);
    let address = &server.address;
    if min > CLIENT_MAX_WIRE_VERSION {
        return Some(Error::configuration(format!(
            "Server at {address} requires wire version {min}, but this version of \
             {DRIVER_NAME} only supports up to {CLIENT_MAX_WIRE_VERSION}."
        )));
    }
    if max < CLIENT_MIN_WIRE_VERSION {
        return Some(Error::configuration(format!(
            "Server at {address} reports wire version {max}, but this version of \
             {DRIVER_NAME} requires at least {CLIENT_MIN_WIRE_VERSION} (MongoDB 2.6)."
        )));
    }
    None
}
