//! The rules that tie options to the hosts and the scheme: `directConnection`,
//! `loadBalanced`, `srvServiceName` and `srvMaxHosts` (URI options, load balancer and
//! initial DNS seedlist discovery specs).
//!
//! For `mongodb+srv://`, the host count is only known once DNS answered, so
//! [`check_topology`] runs again after resolution.

use super::ConnectionString;
use crate::error::{Error, Result};

/// Checks the topology options against the scheme and the hosts known so far.
pub(super) fn check_topology(cs: &ConnectionString) -> Result<()> {
    let o = &cs.options;
    let srv = cs.is_srv();
    let several_hosts = cs.hosts.len() > 1;
    let srv_max_hosts = o.srv_max_hosts.filter(|&n| n > 0);
    if o.direct_connection == Some(true) {
        if srv {
            return Err(Error::configuration(
                "directConnection=true cannot be used with mongodb+srv://, which may name several hosts",
            ));
        }
        if several_hosts {
            return Err(Error::configuration(
                "directConnection=true requires exactly one host",
            ));
        }
    }
    if !srv {
        for (given, name) in [
            (o.srv_service_name.is_some(), "srvServiceName"),
            (o.srv_max_hosts.is_some(), "srvMaxHosts"),
        ] {
            if given {
                return Err(Error::configuration(format!(
                    "{name} is only allowed with mongodb+srv://"
                )));
            }
        }
    }
    if srv_max_hosts.is_some() && o.replica_set.is_some() {
        return Err(Error::configuration(
            "srvMaxHosts cannot be combined with replicaSet",
        ));
    }
    if o.load_balanced == Some(true) {
        let conflict = if several_hosts {
            Some("more than one host")
        } else if o.replica_set.is_some() {
            Some("replicaSet")
        } else if o.direct_connection == Some(true) {
            Some("directConnection=true")
        } else if srv_max_hosts.is_some() {
            Some("a positive srvMaxHosts")
        } else {
            None
        };
        if let Some(what) = conflict {
            return Err(Error::configuration(format!(
                "loadBalanced=true cannot be combined with {what}"
            )));
        }
    }
    Ok(())
}
