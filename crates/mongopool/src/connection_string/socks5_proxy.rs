//! The SOCKS5 proxy options (`proxyHost`, `proxyPort`, `proxyUsername`,
//! `proxyPassword`).

use std::fmt;

use crate::credential::Redacted;

/// The SOCKS5 proxy port used when `proxyHost` is given without `proxyPort`.
pub const DEFAULT_PROXY_PORT: u16 = 1080;

/// A SOCKS5 proxy (`proxyHost`, `proxyPort`, `proxyUsername`, `proxyPassword`).
///
/// mongopool cannot connect through a proxy yet:
/// [`crate::ConnectionString::check_supported`] fails when one is configured, so that
/// connections never silently bypass it.
#[derive(Clone, PartialEq, Eq)]
pub struct Socks5Proxy {
    /// Host name or IP address of the proxy.
    pub host: String,
    /// Port of the proxy. Defaults to 1080.
    pub port: u16,
    /// User name for the proxy's username/password authentication.
    pub username: Option<String>,
    /// Password for the proxy's username/password authentication. Never printed.
    pub password: Option<String>,
}

impl fmt::Debug for Socks5Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socks5Proxy")
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
    fn proxy_password_is_redacted() {
        let p = Socks5Proxy {
            host: "h".into(),
            port: DEFAULT_PROXY_PORT,
            username: Some("u".into()),
            password: Some("hunter2".into()),
        };
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
