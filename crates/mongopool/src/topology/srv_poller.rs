//! SRV polling for mongos discovery (polling-srv spec): while a `mongodb+srv://`
//! topology is Unknown or Sharded, its SRV records are looked up again every 60
//! seconds, and hosts that came or went are added or removed through the pure
//! [`TopologyDescription::apply_srv_hosts`](super::TopologyDescription::apply_srv_hosts).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::description::TopologyType;
use super::runtime::TopologyInner;
use crate::address::ServerAddress;
use crate::connection_string::{check_srv_target, SrvLookup};
use crate::error::Result;

/// The rescan interval while records are found. The spec asks for the smallest TTL
/// of the records but never less than 60 s; the lookup does not expose TTLs, and
/// the spec says to rescan every 60 s then.
pub const SRV_RESCAN_INTERVAL: Duration = Duration::from_secs(60);

/// Where SRV records come from: DNS in production, a fake in tests.
pub trait SrvSource: Send + Sync + 'static {
    /// The SRV (and TXT) records of `srv_host` for `service_name`.
    fn lookup<'a>(
        &'a self,
        srv_host: &'a str,
        service_name: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<SrvLookup>> + Send + 'a>>;
}

#[cfg(feature = "dns-srv")]
impl SrvSource for crate::connection_string::SrvResolver {
    fn lookup<'a>(
        &'a self,
        srv_host: &'a str,
        service_name: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<SrvLookup>> + Send + 'a>> {
        Box::pin(crate::connection_string::SrvResolver::lookup(
            self,
            srv_host,
            service_name,
        ))
    }
}

/// The system's DNS resolver, when the `dns-srv` feature is on and it can be read.
pub(crate) fn system_source() -> Option<Arc<dyn SrvSource>> {
    #[cfg(feature = "dns-srv")]
    {
        match crate::connection_string::SrvResolver::system() {
            Ok(resolver) => return Some(Arc::new(resolver)),
            Err(e) => tracing::warn!(
                target: super::runtime_log::LOG_TARGET,
                error = %e,
                "no SRV polling: the system's DNS configuration cannot be read"
            ),
        }
    }
    None
}

/// The polling task of one topology.
pub(crate) struct SrvPoller {
    srv_host: String,
    service_name: String,
    source: Arc<dyn SrvSource>,
    heartbeat_frequency: Duration,
}

impl SrvPoller {
    pub(crate) fn new(
        srv_host: String,
        service_name: String,
        source: Arc<dyn SrvSource>,
        heartbeat_frequency: Duration,
    ) -> SrvPoller {
        SrvPoller {
            srv_host,
            service_name,
            source,
            heartbeat_frequency,
        }
    }

    /// Rescans until the topology is gone, closed (the task is aborted), or turns
    /// out to be neither Unknown nor Sharded (it never becomes so again).
    pub(crate) async fn run(self, topology: Weak<TopologyInner>) {
        let mut interval = SRV_RESCAN_INTERVAL;
        loop {
            tokio::time::sleep(interval).await;
            {
                let Some(inner) = topology.upgrade() else {
                    return;
                };
                let topology_type = inner.snapshot.borrow().description.topology_type();
                if !matches!(topology_type, TopologyType::Unknown | TopologyType::Sharded) {
                    return;
                }
            }
            let hosts = self.rescan().await;
            let Some(inner) = topology.upgrade() else {
                return;
            };
            if hosts.is_empty() {
                // The spec: no change, and look again after heartbeatFrequencyMS.
                interval = self.heartbeat_frequency;
                continue;
            }
            interval = SRV_RESCAN_INTERVAL;
            inner.update(|d| d.apply_srv_hosts(hosts, &mut rand::rng()));
        }
    }

    /// The valid hosts DNS lists now; empty on any failure (which is logged, never
    /// raised).
    pub(crate) async fn rescan(&self) -> Vec<ServerAddress> {
        let lookup = match self.source.lookup(&self.srv_host, &self.service_name).await {
            Ok(lookup) => lookup,
            Err(e) => {
                tracing::info!(
                    target: super::runtime_log::LOG_TARGET,
                    srvHost = %self.srv_host,
                    error = %e,
                    "SRV rescan failed; the topology is left as it is"
                );
                return Vec::new();
            }
        };
        valid_hosts(&self.srv_host, &lookup)
    }
}

/// The SRV targets that share the SRV host's parent domain, as addresses.
fn valid_hosts(srv_host: &str, lookup: &SrvLookup) -> Vec<ServerAddress> {
    let mut hosts = Vec::new();
    for (target, port) in &lookup.targets {
        match check_srv_target(srv_host, target) {
            Ok(()) => {
                let host = target
                    .strip_suffix('.')
                    .unwrap_or(target)
                    .to_ascii_lowercase();
                let address = ServerAddress::tcp(host, *port);
                if !hosts.contains(&address) {
                    hosts.push(address);
                }
            }
            Err(e) => tracing::info!(
                target: super::runtime_log::LOG_TARGET,
                srvHost = %srv_host,
                host = %target,
                error = %e,
                "SRV rescan: a host outside the SRV host's domain is ignored"
            ),
        }
    }
    hosts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_outside_the_domain_are_left_out() {
        let lookup = SrvLookup {
            targets: vec![
                ("localhost.test.build.10gen.cc.".into(), 27017),
                ("evil.example.com.".into(), 27018),
                ("LOCALHOST.test.build.10gen.cc".into(), 27017),
            ],
            txt_records: Vec::new(),
        };
        assert_eq!(
            valid_hosts("test1.test.build.10gen.cc", &lookup),
            vec![ServerAddress::tcp("localhost.test.build.10gen.cc", 27017)]
        );
    }
}
