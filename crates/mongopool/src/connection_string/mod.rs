//! Connection strings (`mongodb://` and `mongodb+srv://`), parsed as the connection
//! string, URI options and authentication specs say.
//!
//! ```
//! use mongopool::ConnectionString;
//!
//! let cs = ConnectionString::parse(
//!     "mongodb://alice:s3cret@db1.example.com,db2.example.com:27018/app?replicaSet=rs0&maxPoolSize=20",
//! )?;
//! assert_eq!(cs.hosts().len(), 2);
//! assert_eq!(cs.default_database(), Some("app"));
//! assert_eq!(cs.options().max_pool_size, Some(20));
//! assert_eq!(cs.credential().unwrap().resolved_source(), "app");
//! assert!(!format!("{cs:?}").contains("s3cret"));
//! # Ok::<(), mongopool::Error>(())
//! ```
//!
//! Unknown options and invalid values are ignored with a [`UriWarning`] (and a WARN log),
//! as the spec says; what the specs call errors (conflicting TLS options, bad user
//! info, invalid credentials, ...) fail with [`crate::ErrorKind::Configuration`].
//! Neither errors nor warnings nor `Debug` output ever contain a password.

mod acknowledgment;
mod monitoring_mode;
mod option_parser;
mod option_table;
mod socks5_proxy;
mod split;
mod srv;
mod uri_options;
mod validate;
mod value_parsers;
mod warning;

#[cfg(feature = "dns-srv")]
mod dns;

use std::fmt;
use std::str::FromStr;

use bson::Bson;

pub use self::acknowledgment::Acknowledgment;
#[cfg(feature = "dns-srv")]
pub use self::dns::SrvResolver;
pub use self::monitoring_mode::ServerMonitoringMode;
pub use self::socks5_proxy::{Socks5Proxy, DEFAULT_PROXY_PORT};
pub use self::srv::{check_srv_target, srv_query_name, SrvLookup, DEFAULT_SRV_SERVICE_NAME};
pub use self::uri_options::UriOptions;
pub use self::warning::UriWarning;

use self::option_parser::{OptionParser, ParsedOptions};
use self::split::{RawParts, UserInfo};
use crate::address::ServerAddress;
use crate::credential::{AuthMechanism, Credential, DEFAULT_GSSAPI_SERVICE_NAME};
use crate::error::{Error, Result};

/// A parsed, validated connection string.
#[derive(Clone, PartialEq)]
pub struct ConnectionString {
    /// The host of a `mongodb+srv://` string, lowercased.
    srv_host: Option<String>,
    hosts: Vec<ServerAddress>,
    default_database: Option<String>,
    credential: Option<Credential>,
    options: UriOptions,
    warnings: Vec<UriWarning>,
}

impl ConnectionString {
    /// Parses and validates `uri`. A `mongodb+srv://` string is checked offline; its
    /// hosts come from [`ConnectionString::resolve`] (or
    /// [`ConnectionString::apply_srv_lookup`]).
    ///
    /// The password of a SCRAM, MONGODB-CR or PLAIN user may be left out of the string
    /// (for the application to supply); [`Credential::validate`] requires it.
    pub fn parse(uri: &str) -> Result<Self> {
        let raw = split::split(uri)?;
        let mut parser = OptionParser::default();
        for (key, value) in &raw.options {
            parser.apply(key, value)?;
        }
        let parsed = parser.finish()?;
        let (srv_host, hosts) = parse_hosts(&raw)?;
        let RawParts { user, database, .. } = raw;
        let ParsedOptions {
            options,
            warnings,
            auth_mechanism,
            auth_mechanism_properties,
        } = parsed;
        let credential = build_credential(
            user,
            database.clone(),
            &options,
            auth_mechanism,
            auth_mechanism_properties,
        )?;
        let cs = ConnectionString {
            srv_host,
            hosts,
            default_database: database,
            credential,
            options,
            warnings,
        };
        validate::check_topology(&cs)?;
        Ok(cs)
    }

    /// Whether this is a `mongodb+srv://` string.
    pub fn is_srv(&self) -> bool {
        self.srv_host.is_some()
    }

    /// The host name of a `mongodb+srv://` string, lowercased.
    pub fn srv_host(&self) -> Option<&str> {
        self.srv_host.as_deref()
    }

    /// Whether this is a `mongodb+srv://` string whose hosts DNS has not given yet.
    pub fn needs_resolution(&self) -> bool {
        self.is_srv() && self.hosts.is_empty()
    }

    /// The seed list: the hosts of a `mongodb://` string in order, or the resolved
    /// hosts of a `mongodb+srv://` string (empty until it is resolved). Hosts are
    /// lowercased; Unix domain sockets are [`ServerAddress::Unix`].
    pub fn hosts(&self) -> &[ServerAddress] {
        &self.hosts
    }

    /// The database of the path (`/app` in `mongodb://h/app`), percent-decoded. It is
    /// the default authentication source of SCRAM and PLAIN; it does not by itself ask
    /// for authentication.
    pub fn default_database(&self) -> Option<&str> {
        self.default_database.as_deref()
    }

    /// The credential, when the string asks for authentication: it has user info
    /// (`user@`, even empty), an `authMechanism` or `authMechanismProperties`.
    /// `authSource` or a database alone do not ask for authentication.
    pub fn credential(&self) -> Option<&Credential> {
        self.credential.as_ref()
    }

    /// The options.
    pub fn options(&self) -> &UriOptions {
        &self.options
    }

    /// What was ignored while parsing (unknown options, invalid values, repeated
    /// keys), in order. Each was also logged at WARN level.
    pub fn warnings(&self) -> &[UriWarning] {
        &self.warnings
    }

    /// Whether connections use TLS. An explicit `tls` (or `ssl`) decides. Without
    /// one, TLS is on for `mongodb+srv://` (as the seedlist spec requires) and when
    /// any other `tls…` option is given (`tlsCAFile`, `tlsCertificateKeyFile`,
    /// `tlsInsecure`, ...), since those only make sense with TLS.
    pub fn tls_enabled(&self) -> bool {
        let o = &self.options;
        if let Some(tls) = o.tls {
            return tls;
        }
        self.is_srv()
            || o.tls_ca_file.is_some()
            || o.tls_certificate_key_file.is_some()
            || o.tls_certificate_key_file_password.is_some()
            || o.tls_allow_invalid_certificates.is_some()
            || o.tls_allow_invalid_hostnames.is_some()
            || o.tls_insecure.is_some()
            || o.tls_disable_ocsp_endpoint_check.is_some()
            || o.tls_disable_certificate_revocation_check.is_some()
    }

    /// Fails with a configuration error for what this string asks and mongopool
    /// cannot do: an authentication mechanism it does not implement (see
    /// [`Credential::check_supported`]) or a SOCKS5 proxy. Pool options call this
    /// when they are built, so such a string fails there, never at first use.
    pub fn check_supported(&self) -> Result<()> {
        if let Some(c) = &self.credential {
            c.check_supported()?;
        }
        if self.options.proxy.is_some() {
            return Err(Error::configuration(
                "connecting through a SOCKS5 proxy (proxyHost) is not supported by mongopool",
            ));
        }
        Ok(())
    }
}

impl FromStr for ConnectionString {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        ConnectionString::parse(s)
    }
}

impl fmt::Debug for ConnectionString {
    /// Redacts the password, `tlsCertificateKeyFilePassword`, the proxy password and
    /// secret mechanism properties.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionString")
            .field("srv_host", &self.srv_host)
            .field("hosts", &self.hosts)
            .field("default_database", &self.default_database)
            .field("credential", &self.credential)
            .field("options", &self.options)
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// The hosts of a `mongodb://` string, or the checked host of a `mongodb+srv://` one.
fn parse_hosts(raw: &RawParts) -> Result<(Option<String>, Vec<ServerAddress>)> {
    let result = if raw.srv {
        srv::check_srv_host(&raw.hosts).map(|h| (Some(h), Vec::new()))
    } else {
        raw.hosts
            .iter()
            .map(|h| parse_host(h))
            .collect::<Result<Vec<_>>>()
            .map(|hosts| (None, hosts))
    };
    // When the user info holds an unescaped '/' or '?', the "host" may be a password:
    // do not let the error quote it.
    result.map_err(|e| {
        if raw.misplaced_user_info {
            Error::configuration(
                "invalid host; if the user name or password contains '/', '?' or '@', \
                 percent-encode it",
            )
        } else {
            e
        }
    })
}

/// One decoded host identifier. A '/' makes it a Unix domain socket path, which must
/// end in `.sock`.
fn parse_host(host: &str) -> Result<ServerAddress> {
    if host.contains('/') {
        if !host.ends_with(".sock") {
            return Err(Error::configuration(format!(
                "host {host:?} contains '/' but is not a UNIX domain socket path (those end in .sock)"
            )));
        }
        return Ok(ServerAddress::Unix { path: host.into() });
    }
    ServerAddress::parse(host)
}

/// The credential the string asks for, checked by the auth spec's rules (except that
/// a required password may be missing).
fn build_credential(
    user: Option<UserInfo>,
    database: Option<String>,
    options: &UriOptions,
    mechanism: Option<AuthMechanism>,
    mut properties: Option<bson::Document>,
) -> Result<Option<Credential>> {
    if user.is_none() && mechanism.is_none() && properties.is_none() {
        return Ok(None);
    }
    if mechanism == Some(AuthMechanism::Gssapi) {
        let props = properties.get_or_insert_with(bson::Document::new);
        if !props.keys().any(|k| k.eq_ignore_ascii_case("SERVICE_NAME")) {
            props.insert("SERVICE_NAME", Bson::from(DEFAULT_GSSAPI_SERVICE_NAME));
        }
    }
    let (username, password) = match user {
        Some(u) => (Some(u.username), u.password),
        None => (None, None),
    };
    let credential = Credential {
        username,
        password,
        source: options.auth_source.clone(),
        mechanism,
        mechanism_properties: properties,
        default_database: database,
    };
    credential.check(false)?;
    Ok(Some(credential))
}

#[cfg(test)]
mod tests;
