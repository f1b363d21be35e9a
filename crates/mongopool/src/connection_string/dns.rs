//! The DNS half of `mongodb+srv://`: SRV and TXT lookups with hickory-resolver (cargo
//! feature `dns-srv`, on by default). What the lookups return goes through
//! [`ConnectionString::apply_srv_lookup`], which holds every rule.

use std::net::SocketAddr;

use hickory_resolver::config::{NameServerConfig, NameServerConfigGroup, ResolverConfig};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{ResolveError, TokioResolver};

use super::srv::{srv_query_name, SrvLookup, DEFAULT_SRV_SERVICE_NAME};
use super::ConnectionString;
use crate::error::{Error, ErrorKind, Result};

/// A DNS resolver for SRV and TXT records.
#[derive(Clone)]
pub struct SrvResolver {
    resolver: TokioResolver,
}

impl std::fmt::Debug for SrvResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrvResolver")
            .field("name_servers", &self.resolver.config().name_servers())
            .finish()
    }
}

impl SrvResolver {
    /// The system's resolver configuration (`/etc/resolv.conf` on Unix).
    pub fn system() -> Result<Self> {
        let builder = TokioResolver::builder_tokio().map_err(|e| {
            Error::with_source(
                ErrorKind::Configuration {
                    message: "cannot read the system's DNS configuration".into(),
                },
                e,
            )
        })?;
        Ok(SrvResolver {
            resolver: builder.build(),
        })
    }

    /// A resolver that asks these name servers only (over UDP, and TCP for truncated
    /// answers), e.g. a private DNS server.
    pub fn with_name_servers(servers: &[SocketAddr]) -> Self {
        let configs: Vec<NameServerConfig> = servers
            .iter()
            .flat_map(|&addr| {
                [
                    NameServerConfig::new(addr, Protocol::Udp),
                    NameServerConfig::new(addr, Protocol::Tcp),
                ]
            })
            .collect();
        let config = ResolverConfig::from_parts(None, vec![], NameServerConfigGroup::from(configs));
        SrvResolver {
            resolver: TokioResolver::builder_with_config(
                config,
                TokioConnectionProvider::default(),
            )
            .build(),
        }
    }

    /// Looks up the SRV records of `_<service_name>._tcp.<srv_host>` and the TXT
    /// records of `<srv_host>`. No SRV record is an error; no TXT record is not.
    pub async fn lookup(&self, srv_host: &str, service_name: &str) -> Result<SrvLookup> {
        // Fully qualified, so that search domains are never appended.
        let query = format!("{}.", srv_query_name(srv_host, service_name));
        let srv = self
            .resolver
            .srv_lookup(query.as_str())
            .await
            .map_err(|e| lookup_error("SRV", &query, e))?;
        let targets = srv
            .iter()
            .map(|r| (r.target().to_utf8(), r.port()))
            .collect();
        let txt_name = format!("{srv_host}.");
        let txt_records = match self.resolver.txt_lookup(txt_name.as_str()).await {
            Ok(txt) => txt
                .iter()
                .map(|record| {
                    let bytes: Vec<u8> = record
                        .txt_data()
                        .iter()
                        .flat_map(|s| s.iter().copied())
                        .collect();
                    String::from_utf8(bytes).map_err(|_| {
                        Error::configuration(format!("the TXT record of {srv_host} is not UTF-8"))
                    })
                })
                .collect::<Result<Vec<_>>>()?,
            Err(e) if e.is_no_records_found() => Vec::new(),
            Err(e) => return Err(lookup_error("TXT", &txt_name, e)),
        };
        Ok(SrvLookup {
            targets,
            txt_records,
        })
    }
}

fn lookup_error(kind: &str, name: &str, e: ResolveError) -> Error {
    if e.is_no_records_found() {
        Error::with_source(
            ErrorKind::Configuration {
                message: format!("DNS has no {kind} records for {name}"),
            },
            e,
        )
    } else {
        Error::with_source(
            ErrorKind::ConnectionFailure {
                message: format!("looking up the {kind} records of {name}"),
            },
            e,
        )
    }
}

impl ConnectionString {
    /// Resolves a `mongodb+srv://` string with the system's DNS configuration: the SRV
    /// records become [`ConnectionString::hosts`], the TXT record adds options (see
    /// [`ConnectionString::apply_srv_lookup`]). A `mongodb://` string is returned as
    /// is.
    pub async fn resolve(self) -> Result<ConnectionString> {
        if !self.needs_resolution() {
            return Ok(self);
        }
        self.resolve_with(&SrvResolver::system()?).await
    }

    /// [`ConnectionString::resolve`] with a given resolver.
    pub async fn resolve_with(self, resolver: &SrvResolver) -> Result<ConnectionString> {
        let Some(host) = self.srv_host() else {
            return Ok(self);
        };
        if !self.needs_resolution() {
            return Ok(self);
        }
        let service = self
            .options
            .srv_service_name
            .as_deref()
            .unwrap_or(DEFAULT_SRV_SERVICE_NAME);
        let lookup = resolver.lookup(host, service).await?;
        self.apply_srv_lookup(lookup)
    }
}

#[cfg(test)]
mod tests {
    //! Resolution end to end against a fake DNS server on 127.0.0.1: no test reaches a
    //! real DNS server.

    use std::net::SocketAddr;

    use hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
    use hickory_resolver::proto::rr::rdata::{SRV, TXT};
    use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
    use tokio::net::UdpSocket;

    use super::*;
    use crate::address::ServerAddress;

    /// Answers SRV queries for `_mongodb._tcp.cluster0.example.test.` and TXT queries
    /// for `cluster0.example.test.`; everything else gets an empty answer.
    async fn fake_dns(srv: Vec<(&'static str, u16)>, txt: Vec<Vec<&'static str>>) -> SocketAddr {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                    return;
                };
                let Ok(request) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let mut response = Message::new();
                response
                    .set_id(request.id())
                    .set_message_type(MessageType::Response)
                    .set_op_code(request.op_code())
                    .set_recursion_desired(request.recursion_desired())
                    .set_recursion_available(true)
                    .set_response_code(ResponseCode::NoError);
                for query in request.queries() {
                    response.add_query(query.clone());
                    let name = query.name().to_ascii();
                    match query.query_type() {
                        RecordType::SRV if name == "_mongodb._tcp.cluster0.example.test." => {
                            for (target, port) in &srv {
                                let target = Name::from_ascii(target).unwrap();
                                response.add_answer(Record::from_rdata(
                                    query.name().clone(),
                                    60,
                                    RData::SRV(SRV::new(0, 0, *port, target)),
                                ));
                            }
                        }
                        RecordType::TXT if name == "cluster0.example.test." => {
                            for strings in &txt {
                                let strings = strings.iter().map(|s| s.to_string()).collect();
                                response.add_answer(Record::from_rdata(
                                    query.name().clone(),
                                    60,
                                    RData::TXT(TXT::new(strings)),
                                ));
                            }
                        }
                        _ => {}
                    }
                }
                let _ = socket.send_to(&response.to_vec().unwrap(), peer).await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn resolves_srv_and_txt_records() {
        let dns = fake_dns(
            vec![
                ("Shard-a.example.test.", 27017),
                ("shard-b.example.test.", 27018),
            ],
            vec![vec!["authSource=thesource&", "replicaSet=rs0"]],
        )
        .await;
        let resolver = SrvResolver::with_name_servers(&[dns]);
        let cs = ConnectionString::parse("mongodb+srv://u:p@cluster0.example.test/")
            .unwrap()
            .resolve_with(&resolver)
            .await
            .unwrap();
        let mut hosts = cs.hosts().to_vec();
        hosts.sort_by_key(|h| h.to_string());
        assert_eq!(
            hosts,
            [
                ServerAddress::tcp("shard-a.example.test", 27017),
                ServerAddress::tcp("shard-b.example.test", 27018)
            ]
        );
        assert_eq!(cs.options().replica_set.as_deref(), Some("rs0"));
        assert_eq!(cs.credential().unwrap().resolved_source(), "thesource");
        assert!(cs.tls_enabled());
        // Resolving again is a no-op, and so is resolving a mongodb:// string.
        let again = cs.clone().resolve_with(&resolver).await.unwrap();
        assert_eq!(again, cs);
        let plain = ConnectionString::parse("mongodb://h").unwrap();
        assert_eq!(plain.clone().resolve().await.unwrap(), plain);
    }

    #[tokio::test]
    async fn refuses_bad_answers() {
        let dns = fake_dns(vec![("evil.example.org.", 27017)], vec![]).await;
        let resolver = SrvResolver::with_name_servers(&[dns]);
        let err = ConnectionString::parse("mongodb+srv://cluster0.example.test/")
            .unwrap()
            .resolve_with(&resolver)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not in its domain"), "{err}");

        let dns = fake_dns(vec![], vec![]).await;
        let resolver = SrvResolver::with_name_servers(&[dns]);
        let err = ConnectionString::parse("mongodb+srv://cluster0.example.test/")
            .unwrap()
            .resolve_with(&resolver)
            .await
            .unwrap_err();
        assert!(err.is_configuration(), "{err}");

        let dns = fake_dns(
            vec![("a.example.test.", 27017)],
            vec![vec!["replicaSet=a"], vec!["replicaSet=b"]],
        )
        .await;
        let resolver = SrvResolver::with_name_servers(&[dns]);
        let err = ConnectionString::parse("mongodb+srv://cluster0.example.test/")
            .unwrap()
            .resolve_with(&resolver)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("TXT records"), "{err}");
    }
}
