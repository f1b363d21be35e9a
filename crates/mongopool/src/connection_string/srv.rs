//! `mongodb+srv://`: the offline half of initial DNS seedlist discovery. What DNS
//! answered ([`SrvLookup`]) is turned into hosts and options here, by pure functions,
//! so every rule is testable without a DNS server; the lookups themselves are in the
//! `dns` module.

use rand::seq::SliceRandom;

use super::split::decode;
use super::warning::UriWarning;
use super::{validate, ConnectionString};
use crate::address::ServerAddress;
use crate::error::{Error, Result};

/// The service of the SRV query unless `srvServiceName` says otherwise.
pub const DEFAULT_SRV_SERVICE_NAME: &str = "mongodb";

/// The options a TXT record may set.
const TXT_OPTIONS: &[&str] = &["authSource", "replicaSet", "loadBalanced"];

/// What DNS answered for a `mongodb+srv://` host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SrvLookup {
    /// The SRV records' targets and ports, in DNS order. Priority and weight are
    /// ignored, as the spec says.
    pub targets: Vec<(String, u16)>,
    /// One string per TXT record of the host, its character-strings concatenated in
    /// order. More than one record is an error.
    pub txt_records: Vec<String>,
}

/// Checks the host part of a `mongodb+srv://` string: exactly one host name, no port,
/// no IP literal, no socket path. Returns it lowercased.
pub(super) fn check_srv_host(hosts: &[String]) -> Result<String> {
    let [host] = hosts else {
        return Err(Error::configuration(
            "a mongodb+srv:// connection string names exactly one host",
        ));
    };
    if host.starts_with('[') {
        return Err(Error::configuration(
            "a mongodb+srv:// host must be a host name, not an IP literal",
        ));
    }
    if host.contains(':') {
        return Err(Error::configuration(
            "a mongodb+srv:// host takes no port (DNS gives the ports)",
        ));
    }
    if host.contains('/') {
        return Err(Error::configuration(
            "a mongodb+srv:// host must be a host name, not a socket path",
        ));
    }
    let host = normalize_name(host);
    if host.is_empty() || host.split('.').any(str::is_empty) {
        return Err(Error::configuration(format!(
            "{host:?} is not a valid host name for mongodb+srv://"
        )));
    }
    Ok(host)
}

/// The name to query for SRV records: `_<service>._tcp.<host>`.
pub fn srv_query_name(srv_host: &str, service_name: &str) -> String {
    format!("_{service_name}._tcp.{srv_host}")
}

/// The spec's rule for the hosts an SRV record may name: they must share the parent
/// domain of `srv_host` (its name without the first label), separated by a '.'. When
/// `srv_host` has fewer than three labels, its whole name is the domain, so a target
/// needs at least one more label than it, and may not be `srv_host` itself.
///
/// Both names are compared ASCII-case-insensitively, ignoring a trailing '.'.
pub fn check_srv_target(srv_host: &str, target: &str) -> Result<()> {
    let srv_host = normalize_name(srv_host);
    let target = normalize_name(target);
    let labels = srv_host.split('.').count();
    let domain = match srv_host.split_once('.') {
        Some((_, parent)) if labels >= 3 => parent,
        _ => srv_host.as_str(),
    };
    let shares_domain = target
        .strip_suffix(domain)
        .is_some_and(|head| head.len() > 1 && head.ends_with('.'));
    if shares_domain {
        Ok(())
    } else {
        Err(Error::configuration(format!(
            "the SRV record of {srv_host} names {target:?}, which is not in its domain {domain:?}"
        )))
    }
}

fn normalize_name(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

impl ConnectionString {
    /// The name this `mongodb+srv://` string queries for SRV records
    /// (`_mongodb._tcp.<host>`, or the `srvServiceName` service); `None` for
    /// `mongodb://`.
    pub fn srv_query_name(&self) -> Option<String> {
        let service = self
            .options
            .srv_service_name
            .as_deref()
            .unwrap_or(DEFAULT_SRV_SERVICE_NAME);
        self.srv_host
            .as_deref()
            .map(|host| srv_query_name(host, service))
    }

    /// Completes a `mongodb+srv://` string with what DNS answered, without any I/O:
    /// checks every SRV target against [`check_srv_target`], keeps at most
    /// `srvMaxHosts` of them (chosen at random, Fisher-Yates), applies the TXT record
    /// (only `authSource`, `replicaSet` and `loadBalanced`; the connection string wins
    /// over it), and checks the options again with the real host count.
    ///
    /// A TXT `authSource` does not override the `$external` source of MONGODB-X509,
    /// GSSAPI, MONGODB-AWS and MONGODB-OIDC credentials.
    pub fn apply_srv_lookup(mut self, lookup: SrvLookup) -> Result<ConnectionString> {
        let Some(srv_host) = self.srv_host.clone() else {
            return Err(Error::configuration(
                "only mongodb+srv:// connection strings are resolved through DNS",
            ));
        };
        if !self.hosts.is_empty() {
            return Err(Error::configuration(format!(
                "mongodb+srv://{srv_host} is already resolved"
            )));
        }
        if lookup.targets.is_empty() {
            return Err(Error::configuration(format!(
                "DNS has no SRV records for {}",
                self.srv_query_name().unwrap_or_default()
            )));
        }
        let mut hosts = Vec::with_capacity(lookup.targets.len());
        for (target, port) in &lookup.targets {
            check_srv_target(&srv_host, target)?;
            if *port == 0 {
                return Err(Error::configuration(format!(
                    "the SRV record of {srv_host} names port 0 for {target:?}"
                )));
            }
            let address = ServerAddress::tcp(normalize_name(target), *port);
            if !hosts.contains(&address) {
                hosts.push(address);
            }
        }
        self.apply_txt(&srv_host, &lookup.txt_records)?;
        if let Some(max) = self.options.srv_max_hosts {
            let max = usize::try_from(max).unwrap_or(usize::MAX);
            if max > 0 && max < hosts.len() {
                hosts.shuffle(&mut rand::rng());
                hosts.truncate(max);
            }
        }
        self.hosts = hosts;
        validate::check_topology(&self)?;
        Ok(self)
    }

    fn apply_txt(&mut self, srv_host: &str, records: &[String]) -> Result<()> {
        let record = match records {
            [] => return Ok(()),
            [record] => record,
            _ => {
                return Err(Error::configuration(format!(
                    "{srv_host} has {} TXT records; at most one is allowed",
                    records.len()
                )))
            }
        };
        for pair in record.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').ok_or_else(|| {
                Error::configuration(format!(
                    "the TXT record of {srv_host} has an option that is not key=value"
                ))
            })?;
            let key = decode(key, || {
                format!("an option name of the TXT record of {srv_host}")
            })?;
            let value = decode(value, || {
                format!("the value of {key} in the TXT record of {srv_host}")
            })?;
            let Some(name) = TXT_OPTIONS.iter().find(|o| o.eq_ignore_ascii_case(&key)) else {
                return Err(Error::configuration(format!(
                    "the TXT record of {srv_host} sets {key:?}; TXT records may only set \
                     authSource, replicaSet and loadBalanced"
                )));
            };
            match *name {
                "authSource" => self.apply_txt_auth_source(value)?,
                "replicaSet" if self.options.replica_set.is_none() && !value.is_empty() => {
                    self.options.replica_set = Some(value)
                }
                "loadBalanced" if self.options.load_balanced.is_none() => {
                    match value.to_ascii_lowercase().as_str() {
                        "true" => self.options.load_balanced = Some(true),
                        "false" => self.options.load_balanced = Some(false),
                        _ => self.warnings.push(UriWarning::new(
                            Some("loadBalanced"),
                            format!(
                                "invalid loadBalanced {value:?} in the TXT record of {srv_host}; ignored"
                            ),
                        )),
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn apply_txt_auth_source(&mut self, value: String) -> Result<()> {
        if value.is_empty() {
            return Err(Error::configuration(
                "the TXT record sets an empty authSource",
            ));
        }
        if self.options.auth_source.is_some() {
            return Ok(());
        }
        match &mut self.credential {
            Some(c) if c.mechanism.is_some_and(|m| m.requires_external_source()) => {}
            Some(c) => {
                c.source = Some(value.clone());
                self.options.auth_source = Some(value);
            }
            None => self.options.auth_source = Some(value),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(targets: &[(&str, u16)], txt: &[&str]) -> SrvLookup {
        SrvLookup {
            targets: targets.iter().map(|(h, p)| (h.to_string(), *p)).collect(),
            txt_records: txt.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn host_matching_follows_the_spec_prose_tests() {
        // Allowed: more labels, same domain.
        for (srv, target) in [
            ("localhost", "test.localhost"),
            ("mongo.local", "test.mongo.local"),
            ("blogs.mongodb.com", "cluster.mongodb.com"),
            ("blogs.mongodb.com", "a.b.mongodb.com"),
            ("Blogs.MongoDB.com.", "shard0.mongodb.COM."),
        ] {
            check_srv_target(srv, target).unwrap_or_else(|e| panic!("{srv} {target}: {e}"));
        }
        // Refused: another domain, the SRV name itself, no '.' before the domain.
        for (srv, target) in [
            ("localhost", "localhost.mongodb"),
            ("mongo.local", "test_1.evil.local"),
            ("blogs.mongodb.com", "blogs.evil.com"),
            ("localhost", "localhost"),
            ("mongo.local", "mongo.local"),
            ("localhost", "test_1.cluster_1localhost"),
            ("mongo.local", "test_1.my_hostmongo.local"),
            ("blogs.mongodb.com", "cluster.testmongodb.com"),
            ("blogs.mongodb.com", "mongodb.com"),
        ] {
            assert!(check_srv_target(srv, target).is_err(), "{srv} {target}");
        }
    }

    #[test]
    fn srv_hosts_are_checked_offline() {
        assert_eq!(
            check_srv_host(&["Cluster0.Example.com".into()]).unwrap(),
            "cluster0.example.com"
        );
        for bad in [
            &["a.b.c".to_string(), "d.e.f".to_string()][..],
            &["a.b.c:27017".into()],
            &["[::1]".into()],
            &["/tmp/x.sock".into()],
            &["a..b".into()],
        ] {
            assert!(check_srv_host(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn lookups_become_hosts_and_options() {
        let cs =
            ConnectionString::parse("mongodb+srv://u:p@cluster0.example.com/db?replicaSet=uri")
                .unwrap();
        assert!(cs.hosts().is_empty() && cs.needs_resolution());
        assert_eq!(
            cs.srv_query_name().as_deref(),
            Some("_mongodb._tcp.cluster0.example.com")
        );
        let cs = cs
            .apply_srv_lookup(lookup(
                &[
                    ("a.example.com.", 27017),
                    ("B.example.com", 27018),
                    ("a.example.com", 27017),
                ],
                &["authSource=thesource&replicaSet=txt&loadBalanced=false"],
            ))
            .unwrap();
        assert!(!cs.needs_resolution());
        assert_eq!(
            cs.hosts(),
            [
                ServerAddress::tcp("a.example.com", 27017),
                ServerAddress::tcp("b.example.com", 27018)
            ]
        );
        assert_eq!(
            cs.options().replica_set.as_deref(),
            Some("uri"),
            "the URI wins"
        );
        assert_eq!(cs.options().load_balanced, Some(false));
        assert_eq!(cs.credential().unwrap().resolved_source(), "thesource");
        assert!(cs.tls_enabled());
    }

    #[test]
    fn txt_rules() {
        let cs = || ConnectionString::parse("mongodb+srv://cluster0.example.com").unwrap();
        let targets = [("a.example.com", 27017), ("b.example.com", 27017)];
        for (txt, why) in [
            (&["ssl=false"][..], "option not allowed in TXT"),
            (&["authSource=a", "replicaSet=b"], "two TXT records"),
            (&["loadBalanced=true"], "loadBalanced with two hosts"),
            (&["authSource="], "empty authSource"),
            (&["authSource"], "not key=value"),
        ] {
            let err = cs().apply_srv_lookup(lookup(&targets, txt)).unwrap_err();
            assert!(err.is_configuration(), "{why}");
        }
        assert!(cs()
            .apply_srv_lookup(lookup(&[("evil.com", 27017)], &[]))
            .is_err());
        assert!(cs().apply_srv_lookup(lookup(&[], &[])).is_err());
        let single = cs()
            .apply_srv_lookup(lookup(
                &targets[..1],
                &["loadBalanced=true&authSource=admin"],
            ))
            .unwrap();
        assert_eq!(single.options().load_balanced, Some(true));
        assert_eq!(single.options().auth_source.as_deref(), Some("admin"));
        assert!(
            single.credential().is_none(),
            "authSource alone is no credential"
        );
        let x509 = ConnectionString::parse(
            "mongodb+srv://cluster0.example.com/?authMechanism=MONGODB-X509",
        )
        .unwrap()
        .apply_srv_lookup(lookup(&targets, &["authSource=admin"]))
        .unwrap();
        assert_eq!(x509.credential().unwrap().resolved_source(), "$external");
    }

    #[test]
    fn srv_max_hosts_picks_a_random_subset() {
        let targets: Vec<(String, u16)> = (0..10)
            .map(|i| (format!("h{i}.example.com"), 27017))
            .collect();
        let all: Vec<ServerAddress> = targets
            .iter()
            .map(|(h, p)| ServerAddress::tcp(h.as_str(), *p))
            .collect();
        let mut seen_orders = std::collections::HashSet::new();
        for _ in 0..20 {
            let cs = ConnectionString::parse("mongodb+srv://cluster0.example.com/?srvMaxHosts=3")
                .unwrap()
                .apply_srv_lookup(SrvLookup {
                    targets: targets.clone(),
                    txt_records: vec![],
                })
                .unwrap();
            assert_eq!(cs.hosts().len(), 3);
            assert!(cs.hosts().iter().all(|h| all.contains(h)));
            let mut dedup = cs.hosts().to_vec();
            dedup.dedup();
            assert_eq!(dedup.len(), 3);
            seen_orders.insert(cs.hosts().to_vec());
        }
        assert!(
            seen_orders.len() > 1,
            "20 draws of 3 of 10 were all the same"
        );
        let lb = ConnectionString::parse("mongodb+srv://cluster0.example.com/?srvMaxHosts=1")
            .unwrap()
            .apply_srv_lookup(lookup(&[("a.example.com", 1)], &["loadBalanced=true"]));
        assert!(lb.is_err(), "loadBalanced from TXT with srvMaxHosts");
    }
}
