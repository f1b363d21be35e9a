//! Reads the `key=value` pairs of a connection string through the option table, handles
//! repeated keys, and applies the cross-option rules that need no hosts (TLS conflicts,
//! the proxy, read preference, write concern, pool sizes).
//!
//! As the connection string spec says, an unknown key or an invalid value is ignored
//! with a warning. Errors are kept for what the specs call errors, and for values that
//! would silently weaken security or authentication if ignored (an unknown
//! `authMechanism`, an empty `authSource`).

use std::collections::HashMap;
use std::time::Duration;

use bson::{Document, RawDocumentBuf};

use super::acknowledgment::Acknowledgment;
use super::option_table::{self, Repeated};
use super::socks5_proxy::{Socks5Proxy, DEFAULT_PROXY_PORT};
use super::uri_options::UriOptions;
use super::value_parsers::warn;
use super::warning::UriWarning;
use crate::credential::AuthMechanism;
use crate::error::{Error, Result};
use crate::read_preference::{ReadPreference, ReadPreferenceMode};

/// Collects options one `key=value` at a time; [`OptionParser::finish`] checks them
/// together. The option table's entries write into its fields.
#[derive(Default)]
pub(super) struct OptionParser {
    pub(super) options: UriOptions,
    pub(super) warnings: Vec<UriWarning>,
    pub(super) auth_mechanism: Option<AuthMechanism>,
    pub(super) auth_mechanism_properties: Option<Document>,
    counts: HashMap<&'static str, usize>,
    /// Every valid value of `tls` and `ssl`, which must all agree.
    pub(super) tls_values: Vec<bool>,
    pub(super) read_preference_mode: Option<ReadPreferenceMode>,
    pub(super) tag_sets: Option<Vec<RawDocumentBuf>>,
    /// `Some(None)` for `maxStalenessSeconds=-1` (no bound).
    pub(super) max_staleness: Option<Option<Duration>>,
    pub(super) proxy_host: Option<String>,
    pub(super) proxy_port: Option<u16>,
    pub(super) proxy_username: Option<String>,
    pub(super) proxy_password: Option<String>,
}

/// What the options say, once checked together.
#[derive(Debug)]
pub(super) struct ParsedOptions {
    pub options: UriOptions,
    pub warnings: Vec<UriWarning>,
    pub auth_mechanism: Option<AuthMechanism>,
    pub auth_mechanism_properties: Option<Document>,
}

impl OptionParser {
    /// Interprets one option. `key` and `value` are percent-decoded.
    pub fn apply(&mut self, key: &str, value: &str) -> Result<()> {
        let Some(entry) = option_table::find(key) else {
            // The value is not quoted: nothing says what an unknown option holds.
            warn(
                &mut self.warnings,
                key,
                format!("unsupported option {key:?} ignored"),
            );
            return Ok(());
        };
        let seen = self.counts.entry(entry.name).or_default();
        *seen += 1;
        if *seen > 1 {
            self.repeated(entry.name, entry.repeated)?;
        }
        (entry.apply)(self, value)
    }

    fn repeated(&mut self, name: &'static str, rule: Repeated) -> Result<()> {
        match rule {
            Repeated::Collects => Ok(()),
            Repeated::Fails => Err(Error::configuration(format!(
                "{name} is given more than once"
            ))),
            Repeated::LastValidWins => {
                warn(
                    &mut self.warnings,
                    name,
                    format!("{name} is given more than once; the last valid value is used"),
                );
                Ok(())
            }
        }
    }
    /// Checks the options together and hands them over.
    pub fn finish(mut self) -> Result<ParsedOptions> {
        if self.tls_values.windows(2).any(|p| p[0] != p[1]) {
            return Err(Error::configuration(
                "tls and ssl disagree: every tls and ssl option must have the same value",
            ));
        }
        self.options.tls = self.tls_values.first().copied();
        check_tls_conflicts(&self.options)?;
        self.options.proxy = self.proxy()?;
        self.options.read_preference = self.read_preference()?;
        let o = &self.options;
        if o.w == Some(Acknowledgment::Nodes(0)) && o.journal == Some(true) {
            return Err(Error::configuration(
                "w=0 (unacknowledged) cannot be combined with journal=true",
            ));
        }
        if let (Some(min), Some(max)) = (o.min_pool_size, o.max_pool_size) {
            if max > 0 && min > max {
                return Err(Error::configuration(format!(
                    "minPoolSize ({min}) is larger than maxPoolSize ({max})"
                )));
            }
        }
        Ok(ParsedOptions {
            options: self.options,
            warnings: self.warnings,
            auth_mechanism: self.auth_mechanism,
            auth_mechanism_properties: self.auth_mechanism_properties,
        })
    }

    fn proxy(&mut self) -> Result<Option<Socks5Proxy>> {
        let has_port = self.proxy_port.is_some();
        let has_user = self.proxy_username.is_some();
        let has_password = self.proxy_password.is_some();
        let Some(host) = self.proxy_host.take() else {
            if has_port || has_user || has_password {
                return Err(Error::configuration(
                    "proxyPort, proxyUsername and proxyPassword require proxyHost",
                ));
            }
            return Ok(None);
        };
        if has_user != has_password {
            return Err(Error::configuration(
                "proxyUsername and proxyPassword must be given together",
            ));
        }
        Ok(Some(Socks5Proxy {
            host,
            port: self.proxy_port.unwrap_or(DEFAULT_PROXY_PORT),
            username: self.proxy_username.take(),
            password: self.proxy_password.take(),
        }))
    }

    fn read_preference(&mut self) -> Result<Option<ReadPreference>> {
        if self.read_preference_mode.is_none()
            && self.tag_sets.is_none()
            && self.max_staleness.is_none()
        {
            return Ok(None);
        }
        let rp = ReadPreference {
            mode: self.read_preference_mode.unwrap_or_default(),
            tag_sets: self.tag_sets.take().unwrap_or_default(),
            max_staleness: self.max_staleness.flatten(),
        };
        rp.validate()?;
        Ok(Some(rp))
    }
}

/// The uri-options spec's conflicting TLS options: each pair may not both appear.
fn check_tls_conflicts(o: &UriOptions) -> Result<()> {
    let given = [
        ("tlsInsecure", o.tls_insecure.is_some()),
        (
            "tlsAllowInvalidCertificates",
            o.tls_allow_invalid_certificates.is_some(),
        ),
        (
            "tlsAllowInvalidHostnames",
            o.tls_allow_invalid_hostnames.is_some(),
        ),
        (
            "tlsDisableOCSPEndpointCheck",
            o.tls_disable_ocsp_endpoint_check.is_some(),
        ),
        (
            "tlsDisableCertificateRevocationCheck",
            o.tls_disable_certificate_revocation_check.is_some(),
        ),
    ];
    const CONFLICTS: &[(usize, usize)] = &[(0, 1), (0, 2), (0, 3), (0, 4), (1, 3), (1, 4), (3, 4)];
    for &(a, b) in CONFLICTS {
        if given[a].1 && given[b].1 {
            return Err(Error::configuration(format!(
                "{} and {} cannot be given together",
                given[a].0, given[b].0
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongopool_wire::Compressor;

    fn parse(pairs: &[(&str, &str)]) -> Result<ParsedOptions> {
        let mut p = OptionParser::default();
        for (k, v) in pairs {
            p.apply(k, v)?;
        }
        p.finish()
    }

    #[test]
    fn keys_ignore_case_and_values_are_typed() {
        let p = parse(&[
            ("MAXPOOLSIZE", "5"),
            ("connecttimeoutms", "0"),
            ("w", "majority"),
            ("compressors", "zstd,lz4,zlib,zstd"),
            ("readPreference", "secondary"),
            ("readPreferenceTags", "dc:ny,rack:1"),
            ("readPreferenceTags", ""),
        ])
        .unwrap();
        let o = &p.options;
        assert_eq!(o.max_pool_size, Some(5));
        assert_eq!(o.connect_timeout, Some(Duration::ZERO));
        assert_eq!(o.w, Some(Acknowledgment::Majority));
        assert_eq!(
            o.compressors.as_deref(),
            Some(
                &[
                    Compressor::Zstd { level: None },
                    Compressor::Zlib { level: None }
                ][..]
            )
        );
        let rp = o.read_preference.as_ref().unwrap();
        assert_eq!(rp.mode, ReadPreferenceMode::Secondary);
        assert_eq!(rp.tag_sets.len(), 2);
        assert_eq!(rp.tag_sets[0].get_str("rack").unwrap(), "1");
        assert_eq!(p.warnings.len(), 1, "lz4 is unknown");
        assert_eq!(p.warnings[0].option(), Some("compressors"));
    }

    #[test]
    fn invalid_values_warn_and_keep_earlier_ones() {
        let p = parse(&[("maxPoolSize", "7"), ("maxPoolSize", "-1")]).unwrap();
        assert_eq!(p.options.max_pool_size, Some(7));
        assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
        for bad in [
            ("heartbeatFrequencyMS", "499"),
            ("maxStalenessSeconds", "30"),
            ("zlibCompressionLevel", "10"),
            ("srvServiceName", "-bad"),
            ("w", "-1"),
            ("journal", "yes"),
            ("maxConnecting", "0"),
        ] {
            let p = parse(&[bad]).unwrap();
            assert_eq!(p.warnings.len(), 1, "{bad:?}");
        }
    }

    #[test]
    fn cross_option_errors() {
        for bad in [
            &[("tls", "true"), ("ssl", "false")][..],
            &[
                ("tlsInsecure", "false"),
                ("tlsAllowInvalidHostnames", "true"),
            ],
            &[("readPreferenceTags", "dc:ny")],
            &[
                ("readPreference", "primary"),
                ("maxStalenessSeconds", "120"),
            ],
            &[("w", "0"), ("journal", "true")],
            &[("minPoolSize", "10"), ("maxPoolSize", "5")],
            &[("proxyPort", "1")],
            &[("proxyHost", "h"), ("proxyPassword", "p")],
            &[("proxyHost", "h"), ("proxyHost", "i")],
            &[("authSource", "")],
            &[("authMechanism", "KERBEROS")],
            &[("appName", &"x".repeat(129))],
        ] {
            assert!(parse(bad).unwrap_err().is_configuration(), "{bad:?}");
        }
        let p = parse(&[("minPoolSize", "10"), ("maxPoolSize", "0")]).unwrap();
        assert_eq!(p.options.min_pool_size, Some(10));
        let p = parse(&[("proxyHost", "h")]).unwrap();
        assert_eq!(p.options.proxy.unwrap().port, 1080);
    }
}
