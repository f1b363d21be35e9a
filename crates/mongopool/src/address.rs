//! Where a server is: a host and port, or a Unix domain socket.

use std::fmt;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// The port MongoDB listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 27017;

/// The address of one server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerAddress {
    /// A TCP host (name, IPv4 or IPv6 literal without brackets) and port.
    Tcp {
        /// Host name or IP literal. IPv6 literals are kept without brackets.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// A Unix domain socket at this path.
    Unix {
        /// Path of the socket file.
        path: PathBuf,
    },
}

impl ServerAddress {
    /// A TCP address.
    pub fn tcp(host: impl Into<String>, port: u16) -> Self {
        ServerAddress::Tcp {
            host: host.into(),
            port,
        }
    }

    /// Parses `host`, `host:port`, `[v6]`, `[v6]:port`, or an absolute path ending in
    /// `.sock` (a Unix domain socket). No percent-decoding happens here; the connection
    /// string parser decodes before calling this.
    pub fn parse(s: &str) -> Result<Self> {
        if s.is_empty() {
            return Err(Error::configuration("empty server address"));
        }
        if s.starts_with('/') && s.ends_with(".sock") {
            return Ok(ServerAddress::Unix { path: s.into() });
        }
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let end = rest.find(']').ok_or_else(|| {
                Error::configuration(format!("IPv6 address {s:?} lacks its closing ']'"))
            })?;
            let host = &rest[..end];
            let after = &rest[end + 1..];
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| {
                    Error::configuration(format!("unexpected {after:?} after IPv6 address"))
                })?),
            };
            (host, port)
        } else {
            match s.rsplit_once(':') {
                Some((h, _)) if h.contains(':') => {
                    return Err(Error::configuration(format!(
                        "IPv6 address {s:?} must be written in brackets, as [{s}]"
                    )))
                }
                Some((h, p)) => (h, Some(p)),
                None => (s, None),
            }
        };
        if host.is_empty() {
            return Err(Error::configuration(format!("empty host in {s:?}")));
        }
        let port = match port {
            None => DEFAULT_PORT,
            Some(p) => match p.parse::<u16>() {
                Ok(0) | Err(_) => {
                    return Err(Error::configuration(format!(
                        "invalid port {p:?} in {s:?}: expected 1 to 65535"
                    )))
                }
                Ok(p) => p,
            },
        };
        Ok(ServerAddress::Tcp {
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// The host name for TLS verification and SNI (`None` for Unix sockets).
    pub fn host(&self) -> Option<&str> {
        match self {
            ServerAddress::Tcp { host, .. } => Some(host),
            ServerAddress::Unix { .. } => None,
        }
    }

    /// The port (`None` for Unix sockets).
    pub fn port(&self) -> Option<u16> {
        match self {
            ServerAddress::Tcp { port, .. } => Some(*port),
            ServerAddress::Unix { .. } => None,
        }
    }
}

impl fmt::Display for ServerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerAddress::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            ServerAddress::Tcp { host, port } => write!(f, "{host}:{port}"),
            ServerAddress::Unix { path } => write!(f, "{}", path.display()),
        }
    }
}

impl std::str::FromStr for ServerAddress {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        ServerAddress::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!(
            ServerAddress::parse("Example.com").unwrap(),
            ServerAddress::tcp("example.com", 27017)
        );
        assert_eq!(
            ServerAddress::parse("h:1234").unwrap(),
            ServerAddress::tcp("h", 1234)
        );
        assert_eq!(
            ServerAddress::parse("[::1]:5").unwrap(),
            ServerAddress::tcp("::1", 5)
        );
        assert_eq!(
            ServerAddress::parse("[::1]").unwrap(),
            ServerAddress::tcp("::1", 27017)
        );
        assert_eq!(
            ServerAddress::parse("/tmp/m.sock").unwrap(),
            ServerAddress::Unix {
                path: "/tmp/m.sock".into()
            }
        );
        assert_eq!(ServerAddress::tcp("::1", 5).to_string(), "[::1]:5");
    }

    #[test]
    fn refuses_bad_addresses() {
        for bad in [
            "", "h:0", "h:70000", "h:x", "::1", "[::1", "[::1]x", ":27017",
        ] {
            let err = ServerAddress::parse(bad).unwrap_err();
            assert!(err.is_configuration(), "{bad}: {err}");
        }
    }
}
