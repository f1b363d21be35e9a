//! The typed values of connection string options that are neither numbers, strings,
//! booleans nor durations: compressors, the write concern's `w`, the server monitoring
//! mode, and the SOCKS5 proxy.

use std::fmt;

use crate::credential::Redacted;

/// The SOCKS5 proxy port used when `proxyHost` is given without `proxyPort`.
pub const DEFAULT_PROXY_PORT: u16 = 1080;

/// A wire protocol compressor named in `compressors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compressor {
    /// Snappy (`snappy`, OP_COMPRESSED id 1).
    Snappy,
    /// zlib (`zlib`, id 2), at `zlibCompressionLevel`.
    Zlib,
    /// Zstandard (`zstd`, id 3).
    Zstd,
}

impl Compressor {
    /// The name used in `compressors` and in the hello handshake.
    pub fn name(self) -> &'static str {
        match self {
            Compressor::Snappy => "snappy",
            Compressor::Zlib => "zlib",
            Compressor::Zstd => "zstd",
        }
    }

    /// The compressor of this name (ASCII case ignored), if it is one we know.
    pub fn from_name(name: &str) -> Option<Self> {
        [Compressor::Snappy, Compressor::Zlib, Compressor::Zstd]
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Compressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The `w` of the default write concern: how many members must acknowledge a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acknowledgment {
    /// This many members (`w=0` means unacknowledged).
    Nodes(u32),
    /// A majority of voting members (`w=majority`).
    Majority,
    /// A custom write concern defined by replica set tags (any other string).
    Tag(String),
}

impl fmt::Display for Acknowledgment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Acknowledgment::Nodes(n) => write!(f, "{n}"),
            Acknowledgment::Majority => f.write_str("majority"),
            Acknowledgment::Tag(t) => f.write_str(t),
        }
    }
}

/// How servers are monitored (`serverMonitoringMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerMonitoringMode {
    /// Use the streaming protocol when the server supports it.
    Stream,
    /// Always poll.
    Poll,
    /// Stream, except on FaaS platforms where polling is used. The spec's default.
    Auto,
}

impl ServerMonitoringMode {
    /// The option's value for this mode.
    pub fn name(self) -> &'static str {
        match self {
            ServerMonitoringMode::Stream => "stream",
            ServerMonitoringMode::Poll => "poll",
            ServerMonitoringMode::Auto => "auto",
        }
    }

    /// The mode of this exact (lowercase) name.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            ServerMonitoringMode::Stream,
            ServerMonitoringMode::Poll,
            ServerMonitoringMode::Auto,
        ]
        .into_iter()
        .find(|m| m.name() == name)
    }
}

/// A SOCKS5 proxy (`proxyHost`, `proxyPort`, `proxyUsername`, `proxyPassword`).
///
/// mongopool cannot connect through a proxy yet:
/// [`crate::ConnectionString::check_supported`] fails when one is configured, so that
/// connections never silently bypass it.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    /// Host name or IP address of the proxy.
    pub host: String,
    /// Port of the proxy. Defaults to 1080.
    pub port: u16,
    /// User name for the proxy's username/password authentication.
    pub username: Option<String>,
    /// Password for the proxy's username/password authentication. Never printed.
    pub password: Option<String>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| Redacted))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(Compressor::from_name("ZSTD"), Some(Compressor::Zstd));
        assert_eq!(Compressor::from_name("lz4"), None);
        assert_eq!(
            ServerMonitoringMode::from_name("poll"),
            Some(ServerMonitoringMode::Poll)
        );
        assert_eq!(Acknowledgment::Nodes(2).to_string(), "2");
    }

    #[test]
    fn proxy_password_is_redacted() {
        let p = Proxy {
            host: "h".into(),
            port: DEFAULT_PROXY_PORT,
            username: Some("u".into()),
            password: Some("hunter2".into()),
        };
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
