//! One entry per connection string option: its name as the URI options spec spells it,
//! the parser of its value (from `value_parsers`), and where the value goes (a field of
//! [`UriOptions`](super::UriOptions), or of the parser when the option is checked with
//! others once all are read). Adding an option is adding a line here.

use super::option_parser::OptionParser;
use super::value_parsers::{self as parse, I32_MAX};
use crate::client_metadata::MAX_APP_NAME_BYTES;
use crate::error::{Error, Result};

/// One option.
pub(super) struct OptionEntry {
    /// The canonical name; keys are matched to it ignoring ASCII case.
    pub name: &'static str,
    /// Parses a percent-decoded value and stores it. Invalid values are ignored with a
    /// warning; `Err` only for what the specs call errors.
    pub apply: fn(&mut OptionParser, &str) -> Result<()>,
    /// What a second occurrence of the key means.
    pub repeated: Repeated,
}

/// What a second occurrence of a key means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Repeated {
    /// The last valid value is used, with a warning.
    LastValidWins,
    /// Every value counts (`readPreferenceTags` lists tag sets in order).
    Collects,
    /// A configuration error (the SOCKS5 spec's tests say so for the proxy options).
    Fails,
}

/// An entry whose parsed value is stored in `UriOptions::$field` (last valid wins), or in
/// the parser's own `$field` when it is checked with other options in `finish`.
macro_rules! entry {
    ($name:literal, $parse:expr => options.$field:ident) => {
        OptionEntry {
            name: $name,
            repeated: Repeated::LastValidWins,
            apply: |p, value| {
                if let Some(v) = $parse(&mut p.warnings, $name, value) {
                    p.options.$field = Some(v);
                }
                Ok(())
            },
        }
    };
    ($name:literal, $parse:expr => parser.$field:ident, $repeated:expr) => {
        OptionEntry {
            name: $name,
            repeated: $repeated,
            apply: |p, value| {
                if let Some(v) = $parse(&mut p.warnings, $name, value) {
                    p.$field = Some(v);
                }
                Ok(())
            },
        }
    };
}

use Repeated::{Fails, LastValidWins};

/// Every option mongopool knows.
pub(super) const OPTIONS: &[OptionEntry] = &[
    OptionEntry {
        name: "appName",
        repeated: LastValidWins,
        apply: |p, value| {
            if value.len() > MAX_APP_NAME_BYTES {
                return Err(Error::configuration(format!(
                    "appName is {} bytes long; the handshake allows at most {MAX_APP_NAME_BYTES}",
                    value.len()
                )));
            }
            if let Some(v) = parse::text(&mut p.warnings, "appName", value) {
                p.options.app_name = Some(v);
            }
            Ok(())
        },
    },
    // An unknown mechanism fails: ignoring it would log in some other way, or not at all.
    OptionEntry {
        name: "authMechanism",
        repeated: LastValidWins,
        apply: |p, value| {
            p.auth_mechanism = Some(value.parse()?);
            Ok(())
        },
    },
    entry!("authMechanismProperties", parse::properties => parser.auth_mechanism_properties, LastValidWins),
    // An empty source fails: ignoring it would authenticate against another database.
    OptionEntry {
        name: "authSource",
        repeated: LastValidWins,
        apply: |p, value| {
            if value.is_empty() {
                return Err(Error::configuration("authSource is empty"));
            }
            p.options.auth_source = Some(value.to_owned());
            Ok(())
        },
    },
    entry!("compressors", parse::compressors => options.compressors),
    entry!("zlibCompressionLevel", parse::zlib_level => options.zlib_compression_level),
    entry!("connectTimeoutMS", parse::millis::<0, I32_MAX> => options.connect_timeout),
    entry!("socketTimeoutMS", parse::millis::<0, I32_MAX> => options.socket_timeout),
    entry!("timeoutMS", parse::millis::<0, I32_MAX> => options.timeout),
    entry!("serverSelectionTimeoutMS", parse::millis::<1, I32_MAX> => options.server_selection_timeout),
    entry!("serverSelectionTryOnce", parse::boolean => options.server_selection_try_once),
    entry!("heartbeatFrequencyMS", parse::millis::<500, I32_MAX> => options.heartbeat_frequency),
    entry!("localThresholdMS", parse::millis::<0, I32_MAX> => options.local_threshold),
    entry!("serverMonitoringMode", parse::monitoring_mode => options.server_monitoring_mode),
    entry!("maxPoolSize", parse::count::<0> => options.max_pool_size),
    entry!("minPoolSize", parse::count::<0> => options.min_pool_size),
    entry!("maxIdleTimeMS", parse::millis::<0, I32_MAX> => options.max_idle_time),
    entry!("maxConnecting", parse::count::<1> => options.max_connecting),
    entry!("waitQueueTimeoutMS", parse::millis::<0, I32_MAX> => options.wait_queue_timeout),
    entry!("waitQueueMultiple", parse::count::<0> => options.wait_queue_multiple),
    entry!("directConnection", parse::boolean => options.direct_connection),
    entry!("loadBalanced", parse::boolean => options.load_balanced),
    entry!("replicaSet", parse::text => options.replica_set),
    entry!("readPreference", parse::read_preference_mode => parser.read_preference_mode, LastValidWins),
    OptionEntry {
        name: "readPreferenceTags",
        repeated: Repeated::Collects,
        apply: |p, value| {
            if let Some(tags) = parse::tag_set(&mut p.warnings, "readPreferenceTags", value) {
                p.tag_sets.get_or_insert_with(Vec::new).push(tags);
            }
            Ok(())
        },
    },
    entry!("maxStalenessSeconds", parse::max_staleness => parser.max_staleness, LastValidWins),
    entry!("readConcernLevel", parse::text => options.read_concern_level),
    entry!("w", parse::acknowledgment => options.w),
    entry!("wTimeoutMS", parse::millis::<0, { i64::MAX }> => options.w_timeout),
    entry!("journal", parse::boolean => options.journal),
    entry!("retryReads", parse::boolean => options.retry_reads),
    entry!("retryWrites", parse::boolean => options.retry_writes),
    entry!("maxAdaptiveRetries", parse::count::<0> => options.max_adaptive_retries),
    entry!("enableOverloadRetargeting", parse::boolean => options.enable_overload_retargeting),
    // `tls` and `ssl` are aliases; every value of either must agree (checked in finish).
    OptionEntry {
        name: "tls",
        repeated: LastValidWins,
        apply: |p, value| {
            p.tls_values
                .extend(parse::boolean(&mut p.warnings, "tls", value));
            Ok(())
        },
    },
    OptionEntry {
        name: "ssl",
        repeated: LastValidWins,
        apply: |p, value| {
            p.tls_values
                .extend(parse::boolean(&mut p.warnings, "ssl", value));
            Ok(())
        },
    },
    entry!("tlsCAFile", parse::path => options.tls_ca_file),
    entry!("tlsCertificateKeyFile", parse::path => options.tls_certificate_key_file),
    entry!("tlsCertificateKeyFilePassword", parse::text => options.tls_certificate_key_file_password),
    entry!("tlsAllowInvalidCertificates", parse::boolean => options.tls_allow_invalid_certificates),
    entry!("tlsAllowInvalidHostnames", parse::boolean => options.tls_allow_invalid_hostnames),
    entry!("tlsInsecure", parse::boolean => options.tls_insecure),
    entry!("tlsDisableOCSPEndpointCheck", parse::ocsp_check_flag => options.tls_disable_ocsp_endpoint_check),
    entry!("tlsDisableCertificateRevocationCheck", parse::revocation_check_flag => options.tls_disable_certificate_revocation_check),
    entry!("srvServiceName", parse::srv_service_name => options.srv_service_name),
    entry!("srvMaxHosts", parse::count::<0> => options.srv_max_hosts),
    entry!("proxyHost", parse::text => parser.proxy_host, Fails),
    entry!("proxyPort", parse::port => parser.proxy_port, Fails),
    entry!("proxyUsername", parse::text => parser.proxy_username, Fails),
    entry!("proxyPassword", parse::text => parser.proxy_password, Fails),
];

/// The entry of `key`, ignoring ASCII case.
pub(super) fn find(key: &str) -> Option<&'static OptionEntry> {
    OPTIONS.iter().find(|e| e.name.eq_ignore_ascii_case(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_ignoring_case() {
        for (i, a) in OPTIONS.iter().enumerate() {
            for b in &OPTIONS[i + 1..] {
                assert!(!a.name.eq_ignore_ascii_case(b.name), "{} twice", a.name);
            }
        }
    }

    #[test]
    fn lookup_ignores_case() {
        assert_eq!(find("MAXPOOLSIZE").map(|e| e.name), Some("maxPoolSize"));
        assert_eq!(find("tlscafile").map(|e| e.name), Some("tlsCAFile"));
        assert!(find("maxPoolSizes").is_none());
    }
}
