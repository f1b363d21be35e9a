//! Interprets each `key=value` of a connection string: the option's canonical name, its
//! type and range, repeated keys, and the cross-option rules that need no hosts (TLS
//! conflicts, the proxy, read preference, write concern, pool sizes).
//!
//! As the connection string spec says, an unknown key or an invalid value is ignored
//! with a warning. Errors are kept for what the specs call errors, and for values that
//! would silently weaken security or authentication if ignored (an unknown
//! `authMechanism`, an empty `authSource`).

use std::collections::HashMap;
use std::time::Duration;

use bson::raw::CString;
use bson::{Document, RawDocumentBuf};

use super::option_types::{
    Acknowledgment, Compressor, Proxy, ServerMonitoringMode, DEFAULT_PROXY_PORT,
};
use super::options::UriOptions;
use super::warning::Warning;
use crate::client_metadata::MAX_APP_NAME_BYTES;
use crate::credential::AuthMechanism;
use crate::error::{Error, Result};
use crate::read_preference::{ReadPreference, ReadPreferenceMode};

/// Every option mongopool knows, spelled as the URI options spec does. Keys are matched
/// ignoring ASCII case.
const KNOWN_OPTIONS: &[&str] = &[
    "appName",
    "authMechanism",
    "authMechanismProperties",
    "authSource",
    "compressors",
    "zlibCompressionLevel",
    "connectTimeoutMS",
    "socketTimeoutMS",
    "timeoutMS",
    "serverSelectionTimeoutMS",
    "serverSelectionTryOnce",
    "heartbeatFrequencyMS",
    "localThresholdMS",
    "serverMonitoringMode",
    "maxPoolSize",
    "minPoolSize",
    "maxIdleTimeMS",
    "maxConnecting",
    "waitQueueTimeoutMS",
    "waitQueueMultiple",
    "directConnection",
    "loadBalanced",
    "replicaSet",
    "readPreference",
    "readPreferenceTags",
    "maxStalenessSeconds",
    "readConcernLevel",
    "w",
    "wTimeoutMS",
    "journal",
    "retryReads",
    "retryWrites",
    "maxAdaptiveRetries",
    "enableOverloadRetargeting",
    "tls",
    "ssl",
    "tlsCAFile",
    "tlsCertificateKeyFile",
    "tlsCertificateKeyFilePassword",
    "tlsAllowInvalidCertificates",
    "tlsAllowInvalidHostnames",
    "tlsInsecure",
    "tlsDisableOCSPEndpointCheck",
    "tlsDisableCertificateRevocationCheck",
    "srvServiceName",
    "srvMaxHosts",
    "proxyHost",
    "proxyPort",
    "proxyUsername",
    "proxyPassword",
];

/// Mechanism property names of the auth spec, so that `service_name` is stored as
/// `SERVICE_NAME`. Other names are kept as written (and refused by the credential).
const KNOWN_PROPERTIES: &[&str] = &[
    "SERVICE_NAME",
    "CANONICALIZE_HOST_NAME",
    "SERVICE_REALM",
    "SERVICE_HOST",
    "AWS_SESSION_TOKEN",
    "ENVIRONMENT",
    "TOKEN_RESOURCE",
    "ALLOWED_HOSTS",
];

/// The largest value of the spec's 32-bit integer options.
const I32_MAX: i64 = i32::MAX as i64;

/// Collects options one `key=value` at a time; [`OptionParser::finish`] checks them
/// together.
#[derive(Default)]
pub(super) struct OptionParser {
    options: UriOptions,
    warnings: Vec<Warning>,
    auth_mechanism: Option<AuthMechanism>,
    auth_mechanism_properties: Option<Document>,
    counts: HashMap<&'static str, usize>,
    /// Every valid value of `tls` and `ssl`, which must all agree.
    tls_values: Vec<bool>,
    read_preference_mode: Option<ReadPreferenceMode>,
    tag_sets: Option<Vec<RawDocumentBuf>>,
    /// `Some(None)` for `maxStalenessSeconds=-1` (no bound).
    max_staleness: Option<Option<Duration>>,
    proxy_host: Option<String>,
    proxy_port: Option<u16>,
    proxy_username: Option<String>,
    proxy_password: Option<String>,
}

/// What the options say, once checked together.
#[derive(Debug)]
pub(super) struct ParsedOptions {
    pub options: UriOptions,
    pub warnings: Vec<Warning>,
    pub auth_mechanism: Option<AuthMechanism>,
    pub auth_mechanism_properties: Option<Document>,
}

impl OptionParser {
    /// Interprets one option. `key` and `value` are percent-decoded.
    pub fn apply(&mut self, key: &str, value: &str) -> Result<()> {
        let Some(name) = KNOWN_OPTIONS
            .iter()
            .copied()
            .find(|k| k.eq_ignore_ascii_case(key))
        else {
            // The value is not quoted: nothing says what an unknown option holds.
            warn(
                &mut self.warnings,
                key,
                format!("unsupported option {key:?} ignored"),
            );
            return Ok(());
        };
        let seen = self.counts.entry(name).or_default();
        *seen += 1;
        if *seen > 1 {
            self.repeated(name)?;
        }
        let w = &mut self.warnings;
        let o = &mut self.options;
        match name {
            "appName" => {
                if value.len() > MAX_APP_NAME_BYTES {
                    return Err(Error::configuration(format!(
                        "appName is {} bytes long; the handshake allows at most {MAX_APP_NAME_BYTES}",
                        value.len()
                    )));
                }
                set(&mut o.app_name, text(w, name, value));
            }
            "authMechanism" => self.auth_mechanism = Some(value.parse()?),
            "authMechanismProperties" => {
                if value.is_empty() {
                    invalid(w, name, value, "NAME:value pairs");
                } else {
                    self.auth_mechanism_properties = Some(properties(w, value));
                }
            }
            "authSource" => {
                if value.is_empty() {
                    return Err(Error::configuration("authSource is empty"));
                }
                o.auth_source = Some(value.to_owned());
            }
            "compressors" => set(&mut o.compressors, compressors(w, value)),
            "zlibCompressionLevel" => {
                let level = integer(w, name, value, -1, 9, "an integer from -1 to 9");
                set(&mut o.zlib_compression_level, level.map(|l| l as i32));
            }
            "connectTimeoutMS" => set(&mut o.connect_timeout, millis(w, name, value, 0, I32_MAX)),
            "socketTimeoutMS" => set(&mut o.socket_timeout, millis(w, name, value, 0, I32_MAX)),
            "timeoutMS" => set(&mut o.timeout, millis(w, name, value, 0, I32_MAX)),
            "serverSelectionTimeoutMS" => set(
                &mut o.server_selection_timeout,
                millis(w, name, value, 1, I32_MAX),
            ),
            "serverSelectionTryOnce" => {
                set(&mut o.server_selection_try_once, boolean(w, name, value))
            }
            "heartbeatFrequencyMS" => set(
                &mut o.heartbeat_frequency,
                millis(w, name, value, 500, I32_MAX),
            ),
            "localThresholdMS" => set(&mut o.local_threshold, millis(w, name, value, 0, I32_MAX)),
            "serverMonitoringMode" => {
                let mode = ServerMonitoringMode::from_name(value);
                if mode.is_none() {
                    invalid(w, name, value, "stream, poll or auto");
                }
                set(&mut o.server_monitoring_mode, mode);
            }
            "maxPoolSize" => set(&mut o.max_pool_size, count(w, name, value, 0)),
            "minPoolSize" => set(&mut o.min_pool_size, count(w, name, value, 0)),
            "maxIdleTimeMS" => set(&mut o.max_idle_time, millis(w, name, value, 0, I32_MAX)),
            "maxConnecting" => set(&mut o.max_connecting, count(w, name, value, 1)),
            "waitQueueTimeoutMS" => set(
                &mut o.wait_queue_timeout,
                millis(w, name, value, 0, I32_MAX),
            ),
            "waitQueueMultiple" => set(&mut o.wait_queue_multiple, count(w, name, value, 0)),
            "directConnection" => set(&mut o.direct_connection, boolean(w, name, value)),
            "loadBalanced" => set(&mut o.load_balanced, boolean(w, name, value)),
            "replicaSet" => set(&mut o.replica_set, text(w, name, value)),
            "readPreference" => match ReadPreferenceMode::parse(value) {
                Ok(mode) => self.read_preference_mode = Some(mode),
                Err(_) => invalid(
                    w,
                    name,
                    value,
                    "primary, primaryPreferred, secondary, secondaryPreferred or nearest",
                ),
            },
            "readPreferenceTags" => {
                if let Some(tags) = tag_set(w, value) {
                    self.tag_sets.get_or_insert_with(Vec::new).push(tags);
                }
            }
            "maxStalenessSeconds" => {
                match integer(w, name, value, -1, I32_MAX, "-1 or at least 90") {
                    Some(-1) => self.max_staleness = Some(None),
                    Some(s) if s >= 90 => {
                        self.max_staleness = Some(Some(Duration::from_secs(s.unsigned_abs())))
                    }
                    Some(_) => invalid(w, name, value, "-1 or at least 90"),
                    None => {}
                }
            }
            "readConcernLevel" => set(&mut o.read_concern_level, text(w, name, value)),
            "w" => set(&mut o.w, acknowledgment(w, value)),
            "wTimeoutMS" => set(&mut o.w_timeout, millis(w, name, value, 0, i64::MAX)),
            "journal" => set(&mut o.journal, boolean(w, name, value)),
            "retryReads" => set(&mut o.retry_reads, boolean(w, name, value)),
            "retryWrites" => set(&mut o.retry_writes, boolean(w, name, value)),
            "maxAdaptiveRetries" => set(&mut o.max_adaptive_retries, count(w, name, value, 0)),
            "enableOverloadRetargeting" => {
                set(&mut o.enable_overload_retargeting, boolean(w, name, value))
            }
            "tls" | "ssl" => {
                if let Some(b) = boolean(w, name, value) {
                    self.tls_values.push(b);
                }
            }
            "tlsCAFile" => set(&mut o.tls_ca_file, text(w, name, value).map(Into::into)),
            "tlsCertificateKeyFile" => set(
                &mut o.tls_certificate_key_file,
                text(w, name, value).map(Into::into),
            ),
            "tlsCertificateKeyFilePassword" => set(
                &mut o.tls_certificate_key_file_password,
                text(w, name, value),
            ),
            "tlsAllowInvalidCertificates" => set(
                &mut o.tls_allow_invalid_certificates,
                boolean(w, name, value),
            ),
            "tlsAllowInvalidHostnames" => {
                set(&mut o.tls_allow_invalid_hostnames, boolean(w, name, value))
            }
            "tlsInsecure" => set(&mut o.tls_insecure, boolean(w, name, value)),
            "tlsDisableOCSPEndpointCheck" => {
                let b = boolean(w, name, value);
                if b == Some(false) {
                    warn(
                        w,
                        name,
                        "tlsDisableOCSPEndpointCheck=false has no effect: mongopool never \
                         contacts OCSP responders"
                            .to_owned(),
                    );
                }
                set(&mut o.tls_disable_ocsp_endpoint_check, b);
            }
            "tlsDisableCertificateRevocationCheck" => {
                let b = boolean(w, name, value);
                if b == Some(false) {
                    warn(
                        w,
                        name,
                        "tlsDisableCertificateRevocationCheck=false has no effect: mongopool \
                         does not check certificate revocation (no OCSP, no CRLs)"
                            .to_owned(),
                    );
                }
                set(&mut o.tls_disable_certificate_revocation_check, b);
            }
            "srvServiceName" => {
                if is_srv_service_name(value) {
                    o.srv_service_name = Some(value.to_owned());
                } else {
                    invalid(w, name, value, "an RFC 6335 service name");
                }
            }
            "srvMaxHosts" => set(&mut o.srv_max_hosts, count(w, name, value, 0)),
            "proxyHost" => set(&mut self.proxy_host, text(w, name, value)),
            "proxyPort" => {
                let port = integer(w, name, value, 1, 65535, "a port from 1 to 65535");
                set(
                    &mut self.proxy_port,
                    port.and_then(|p| u16::try_from(p).ok()),
                );
            }
            "proxyUsername" => set(&mut self.proxy_username, text(w, name, value)),
            "proxyPassword" => set(&mut self.proxy_password, text(w, name, value)),
            other => unreachable!("{other} is in KNOWN_OPTIONS but has no parser"),
        }
        Ok(())
    }

    /// A repeated key: lists collect, proxy options fail (the SOCKS5 spec's tests say
    /// so), everything else keeps the last valid value with a warning.
    fn repeated(&mut self, name: &'static str) -> Result<()> {
        match name {
            "readPreferenceTags" => Ok(()),
            "proxyHost" | "proxyPort" | "proxyUsername" | "proxyPassword" => Err(
                Error::configuration(format!("{name} is given more than once")),
            ),
            _ => {
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

    fn proxy(&mut self) -> Result<Option<Proxy>> {
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
        Ok(Some(Proxy {
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

fn set<T>(slot: &mut Option<T>, value: Option<T>) {
    if value.is_some() {
        *slot = value;
    }
}

fn warn(warnings: &mut Vec<Warning>, option: &str, message: String) {
    warnings.push(Warning::new(Some(option), message));
}

/// Warns that `value` is not a valid `name`. Only called for options whose values are
/// not secret.
fn invalid(warnings: &mut Vec<Warning>, name: &str, value: &str, expected: &str) {
    let message = if value.is_empty() {
        format!("{name} has an empty value; ignored")
    } else {
        format!("invalid value {value:?} for {name} (expected {expected}); ignored")
    };
    warn(warnings, name, message);
}

fn text(w: &mut Vec<Warning>, name: &str, value: &str) -> Option<String> {
    if value.is_empty() {
        invalid(w, name, value, "a string");
        return None;
    }
    Some(value.to_owned())
}

fn boolean(w: &mut Vec<Warning>, name: &str, value: &str) -> Option<bool> {
    if value.eq_ignore_ascii_case("true") {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        invalid(w, name, value, "true or false");
        None
    }
}

fn integer(
    w: &mut Vec<Warning>,
    name: &str,
    value: &str,
    min: i64,
    max: i64,
    expected: &str,
) -> Option<i64> {
    match value.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            invalid(w, name, value, expected);
            None
        }
    }
}

/// A count (pool sizes, hosts, retries) of at least `min`.
fn count(w: &mut Vec<Warning>, name: &str, value: &str, min: i64) -> Option<u32> {
    let expected = if min == 0 {
        "a non-negative integer"
    } else {
        "a positive integer"
    };
    integer(w, name, value, min, I32_MAX, expected).and_then(|n| u32::try_from(n).ok())
}

/// Milliseconds from `min` (never negative) to `max`.
fn millis(w: &mut Vec<Warning>, name: &str, value: &str, min: i64, max: i64) -> Option<Duration> {
    let expected = format!("milliseconds, at least {min}");
    integer(w, name, value, min, max, &expected)
        .and_then(|n| u64::try_from(n).ok())
        .map(Duration::from_millis)
}

fn compressors(w: &mut Vec<Warning>, value: &str) -> Option<Vec<Compressor>> {
    let mut list = Vec::new();
    for name in value.split(',') {
        match Compressor::from_name(name) {
            Some(c) if !list.contains(&c) => list.push(c),
            Some(_) => {}
            None => invalid(w, "compressors", name, "snappy, zlib or zstd"),
        }
    }
    (!list.is_empty()).then_some(list)
}

/// `w`: a non-negative count, `majority`, or a tag set name.
fn acknowledgment(w: &mut Vec<Warning>, value: &str) -> Option<Acknowledgment> {
    if value.is_empty() {
        invalid(w, "w", value, "a non-negative integer or a string");
        return None;
    }
    if let Ok(n) = value.parse::<i64>() {
        return match u32::try_from(n) {
            Ok(n) if n <= i32::MAX as u32 => Some(Acknowledgment::Nodes(n)),
            _ => {
                invalid(w, "w", value, "a non-negative integer or a string");
                None
            }
        };
    }
    Some(match value {
        "majority" => Acknowledgment::Majority,
        tag => Acknowledgment::Tag(tag.to_owned()),
    })
}

/// `NAME:value,NAME:value`. Values may hold ':' (TOKEN_RESOURCE is often a URL) but not
/// ','. Entries are not quoted in warnings: AWS_SESSION_TOKEN is a secret.
fn properties(w: &mut Vec<Warning>, value: &str) -> Document {
    const NAME: &str = "authMechanismProperties";
    let mut doc = Document::new();
    for (i, entry) in value.split(',').enumerate() {
        let Some((key, val)) = entry.split_once(':').filter(|(k, _)| !k.is_empty()) else {
            warn(
                w,
                NAME,
                format!(
                    "entry number {} of {NAME} is not NAME:value (values cannot contain ','); ignored",
                    i + 1
                ),
            );
            continue;
        };
        let key = KNOWN_PROPERTIES
            .iter()
            .find(|p| p.eq_ignore_ascii_case(key))
            .map_or_else(|| key.to_owned(), |p| (*p).to_owned());
        if doc.contains_key(&key) {
            warn(
                w,
                NAME,
                format!("{NAME} gives {key} more than once; the last value is used"),
            );
        }
        doc.insert(key, val);
    }
    doc
}

/// One `readPreferenceTags` value: `name:value,...`, or empty for "any member".
fn tag_set(w: &mut Vec<Warning>, value: &str) -> Option<RawDocumentBuf> {
    let mut doc = RawDocumentBuf::new();
    if value.is_empty() {
        return Some(doc);
    }
    for entry in value.split(',') {
        let key = entry
            .split_once(':')
            .and_then(|(k, v)| Some((CString::try_from(k).ok()?, v)));
        match key {
            Some((k, v)) if !k.as_str().is_empty() => doc.append(k, v),
            _ => {
                invalid(w, "readPreferenceTags", value, "name:value pairs");
                return None;
            }
        }
    }
    Some(doc)
}

/// RFC 6335 section 5.1: 1 to 15 letters, digits and hyphens, at least one letter, no
/// hyphen at either end, no two hyphens in a row.
fn is_srv_service_name(s: &str) -> bool {
    (1..=15).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && s.bytes().any(|b| b.is_ascii_alphabetic())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<ParsedOptions> {
        let mut p = OptionParser::default();
        for (k, v) in pairs {
            p.apply(k, v)?;
        }
        p.finish()
    }

    #[test]
    fn every_known_option_has_a_parser() {
        for name in KNOWN_OPTIONS {
            let mut p = OptionParser::default();
            // Any value: only that it does not reach `unreachable!` matters here.
            let _ = p.apply(name, "1");
        }
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
            Some(&[Compressor::Zstd, Compressor::Zlib][..])
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

    #[test]
    fn properties_keep_colons_and_skip_broken_entries() {
        let mut w = Vec::new();
        let d = properties(&mut w, "token_resource:mongodb://a,b,ENVIRONMENT:azure");
        assert_eq!(d.get_str("TOKEN_RESOURCE").unwrap(), "mongodb://a");
        assert_eq!(d.get_str("ENVIRONMENT").unwrap(), "azure");
        assert_eq!(w.len(), 1);
        assert!(!w[0].message().contains(",b,"));
    }

    #[test]
    fn service_names() {
        assert!(is_srv_service_name("mongodb"));
        assert!(is_srv_service_name("customname"));
        for bad in ["", "a--b", "-a", "a-", "1234", "sixteen-chars-xx", "a_b"] {
            assert!(!is_srv_service_name(bad), "{bad}");
        }
    }
}
