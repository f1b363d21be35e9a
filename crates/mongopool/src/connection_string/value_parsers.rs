//! Parsers of option values: each reads one percent-decoded value and returns it typed,
//! or `None` after recording a [`UriWarning`] (the connection string spec ignores invalid
//! values with a warning). All share one signature, so that the option table can name
//! them: `fn(&mut Vec<UriWarning>, option name, value) -> Option<T>`.

use std::time::Duration;

use bson::raw::CString;
use bson::{Document, RawDocumentBuf};
use mongopool_wire::Compressor;

use super::acknowledgment::Acknowledgment;
use super::monitoring_mode::ServerMonitoringMode;
use super::warning::UriWarning;
use crate::read_preference::ReadPreferenceMode;

/// The largest value of the spec's 32-bit integer options.
pub(super) const I32_MAX: i64 = i32::MAX as i64;

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

pub(super) fn warn(warnings: &mut Vec<UriWarning>, option: &str, message: String) {
    warnings.push(UriWarning::new(Some(option), message));
}

/// Warns that `value` is not a valid `name`. Only called for options whose values are
/// not secret.
fn invalid(warnings: &mut Vec<UriWarning>, name: &str, value: &str, expected: &str) {
    let message = if value.is_empty() {
        format!("{name} has an empty value; ignored")
    } else {
        format!("invalid value {value:?} for {name} (expected {expected}); ignored")
    };
    warn(warnings, name, message);
}

/// Any non-empty string.
pub(super) fn text(w: &mut Vec<UriWarning>, name: &str, value: &str) -> Option<String> {
    if value.is_empty() {
        invalid(w, name, value, "a string");
        return None;
    }
    Some(value.to_owned())
}

/// A file path: any non-empty string.
pub(super) fn path(w: &mut Vec<UriWarning>, name: &str, value: &str) -> Option<std::path::PathBuf> {
    text(w, name, value).map(Into::into)
}

/// `true` or `false`, in any ASCII case.
pub(super) fn boolean(w: &mut Vec<UriWarning>, name: &str, value: &str) -> Option<bool> {
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
    w: &mut Vec<UriWarning>,
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

/// A count (pool sizes, hosts, retries) from `MIN` to `i32::MAX`.
pub(super) fn count<const MIN: i64>(
    w: &mut Vec<UriWarning>,
    name: &str,
    value: &str,
) -> Option<u32> {
    let expected = if MIN == 0 {
        "a non-negative integer"
    } else {
        "a positive integer"
    };
    integer(w, name, value, MIN, I32_MAX, expected).and_then(|n| u32::try_from(n).ok())
}

/// Milliseconds from `MIN` (never negative) to `MAX`.
pub(super) fn millis<const MIN: i64, const MAX: i64>(
    w: &mut Vec<UriWarning>,
    name: &str,
    value: &str,
) -> Option<Duration> {
    let expected = format!("milliseconds, at least {MIN}");
    integer(w, name, value, MIN, MAX, &expected)
        .and_then(|n| u64::try_from(n).ok())
        .map(Duration::from_millis)
}

/// `zlibCompressionLevel`: -1 (zlib's default) to 9.
pub(super) fn zlib_level(w: &mut Vec<UriWarning>, name: &str, value: &str) -> Option<i32> {
    integer(w, name, value, -1, 9, "an integer from -1 to 9").map(|l| l as i32)
}

/// `maxStalenessSeconds`: `Some(None)` for -1 (no bound), else at least 90 seconds.
pub(super) fn max_staleness(
    w: &mut Vec<UriWarning>,
    name: &str,
    value: &str,
) -> Option<Option<Duration>> {
    const EXPECTED: &str = "-1 or at least 90";
    match integer(w, name, value, -1, I32_MAX, EXPECTED)? {
        -1 => Some(None),
        s if s >= 90 => Some(Some(Duration::from_secs(s.unsigned_abs()))),
        _ => {
            invalid(w, name, value, EXPECTED);
            None
        }
    }
}

/// A TCP port, 1 to 65535.
pub(super) fn port(w: &mut Vec<UriWarning>, name: &str, value: &str) -> Option<u16> {
    integer(w, name, value, 1, 65535, "a port from 1 to 65535").and_then(|p| u16::try_from(p).ok())
}

/// `compressors`: the known names in order, without repeats; unknown names are dropped
/// with a warning. `noop` is a wire-level test compressor, not an option value.
pub(super) fn compressors(
    w: &mut Vec<UriWarning>,
    name: &str,
    value: &str,
) -> Option<Vec<Compressor>> {
    let mut list = Vec::new();
    for item in value.split(',') {
        match Compressor::from_name(item).filter(|c| *c != Compressor::Noop) {
            Some(c) if !list.contains(&c) => list.push(c),
            Some(_) => {}
            None => invalid(w, name, item, "snappy, zlib or zstd"),
        }
    }
    (!list.is_empty()).then_some(list)
}

/// `serverMonitoringMode`: stream, poll or auto.
pub(super) fn monitoring_mode(
    w: &mut Vec<UriWarning>,
    name: &str,
    value: &str,
) -> Option<ServerMonitoringMode> {
    let mode = ServerMonitoringMode::from_name(value);
    if mode.is_none() {
        invalid(w, name, value, "stream, poll or auto");
    }
    mode
}

/// `readPreference`: one of the five modes.
pub(super) fn read_preference_mode(
    w: &mut Vec<UriWarning>,
    name: &str,
    value: &str,
) -> Option<ReadPreferenceMode> {
    let mode = ReadPreferenceMode::parse(value).ok();
    if mode.is_none() {
        invalid(
            w,
            name,
            value,
            "primary, primaryPreferred, secondary, secondaryPreferred or nearest",
        );
    }
    mode
}

/// `w`: a non-negative count, `majority`, or a tag set name.
pub(super) fn acknowledgment(
    w: &mut Vec<UriWarning>,
    name: &str,
    value: &str,
) -> Option<Acknowledgment> {
    const EXPECTED: &str = "a non-negative integer or a string";
    if value.is_empty() {
        invalid(w, name, value, EXPECTED);
        return None;
    }
    if let Ok(n) = value.parse::<i64>() {
        return match u32::try_from(n) {
            Ok(n) if n <= i32::MAX as u32 => Some(Acknowledgment::Nodes(n)),
            _ => {
                invalid(w, name, value, EXPECTED);
                None
            }
        };
    }
    Some(match value {
        "majority" => Acknowledgment::Majority,
        tag => Acknowledgment::Tag(tag.to_owned()),
    })
}

/// `authMechanismProperties`: `NAME:value,NAME:value`. Values may hold ':'
/// (TOKEN_RESOURCE is often a URL) but not ','. Entries are not quoted in warnings:
/// AWS_SESSION_TOKEN is a secret.
pub(super) fn properties(w: &mut Vec<UriWarning>, name: &str, value: &str) -> Option<Document> {
    if value.is_empty() {
        invalid(w, name, value, "NAME:value pairs");
        return None;
    }
    let mut doc = Document::new();
    for (i, entry) in value.split(',').enumerate() {
        let Some((key, val)) = entry.split_once(':').filter(|(k, _)| !k.is_empty()) else {
            warn(
                w,
                name,
                format!(
                    "entry number {} of {name} is not NAME:value (values cannot contain ','); ignored",
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
                name,
                format!("{name} gives {key} more than once; the last value is used"),
            );
        }
        doc.insert(key, val);
    }
    Some(doc)
}

/// One `readPreferenceTags` value: `name:value,...`, or empty for "any member".
pub(super) fn tag_set(w: &mut Vec<UriWarning>, name: &str, value: &str) -> Option<RawDocumentBuf> {
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
                invalid(w, name, value, "name:value pairs");
                return None;
            }
        }
    }
    Some(doc)
}

/// `srvServiceName`: an RFC 6335 service name.
pub(super) fn srv_service_name(w: &mut Vec<UriWarning>, name: &str, value: &str) -> Option<String> {
    if is_srv_service_name(value) {
        Some(value.to_owned())
    } else {
        invalid(w, name, value, "an RFC 6335 service name");
        None
    }
}

/// `tlsDisableOCSPEndpointCheck`: a boolean whose `false` changes nothing.
pub(super) fn ocsp_check_flag(w: &mut Vec<UriWarning>, name: &str, value: &str) -> Option<bool> {
    let b = boolean(w, name, value);
    if b == Some(false) {
        let message =
            format!("{name}=false has no effect: mongopool never contacts OCSP responders");
        warn(w, name, message);
    }
    b
}

/// `tlsDisableCertificateRevocationCheck`: a boolean whose `false` changes nothing.
pub(super) fn revocation_check_flag(
    w: &mut Vec<UriWarning>,
    name: &str,
    value: &str,
) -> Option<bool> {
    let b = boolean(w, name, value);
    if b == Some(false) {
        let message = format!(
            "{name}=false has no effect: mongopool does not check certificate revocation \
             (no OCSP, no CRLs)"
        );
        warn(w, name, message);
    }
    b
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

    #[test]
    fn properties_keep_colons_and_skip_broken_entries() {
        let mut w = Vec::new();
        let name = "authMechanismProperties";
        let d = properties(
            &mut w,
            name,
            "token_resource:mongodb://a,b,ENVIRONMENT:azure",
        );
        let d = d.unwrap();
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

    #[test]
    fn compressors_drop_noop_unknown_and_repeats() {
        let mut w = Vec::new();
        let list = compressors(&mut w, "compressors", "zstd,noop,lz4,ZLIB,zstd").unwrap();
        assert_eq!(
            list,
            [
                Compressor::Zstd { level: None },
                Compressor::Zlib { level: None }
            ]
        );
        assert_eq!(w.len(), 2, "{w:?}");
    }
}
