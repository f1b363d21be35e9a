//! Splits a connection string into scheme, user info, hosts, database and options, and
//! percent-decodes each part, following the reference algorithm of the connection
//! string spec.
//!
//! No error message here quotes the user info: a password must never end up in an
//! error, even when a mistake in the string put it where a host was expected.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

use crate::error::{Error, Result};

/// Characters of RFC 3986 `userinfo` besides letters, digits and percent-escapes:
/// unreserved marks, sub-delims and ':'.
const USERINFO_MARKS: &str = "-._~!$&'()*+,;=:";

/// Characters that may not appear in a database name once decoded.
const DATABASE_FORBIDDEN: &[char] = &['/', '\\', ' ', '"', '$', '\0'];

/// The parts of a connection string, decoded but not yet interpreted.
#[derive(Debug)]
pub(super) struct RawParts {
    /// `mongodb+srv://` rather than `mongodb://`.
    pub srv: bool,
    /// The user info, when the string has an `@` before its hosts.
    pub user: Option<UserInfo>,
    /// Host identifiers, percent-decoded, in order.
    pub hosts: Vec<String>,
    /// The database of the path, percent-decoded.
    pub database: Option<String>,
    /// Options as `(key as written, value)`, both percent-decoded, in order.
    pub options: Vec<(String, String)>,
    /// The string has an `@` after its hosts but none before them: the user info
    /// probably holds an unescaped '/' or '?', so the "hosts" may hold a password.
    pub misplaced_user_info: bool,
}

/// User name and password of the user info. `Debug` does not show the password.
pub(super) struct UserInfo {
    pub username: String,
    /// `None` when there is no ':'; `Some("")` for `user:@host`.
    pub password: Option<String>,
}

impl std::fmt::Debug for UserInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserInfo")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Splits and decodes `uri`.
pub(super) fn split(uri: &str) -> Result<RawParts> {
    let (srv, rest) = strip_scheme(uri)?;
    // The host information ends at the first '/' or, when the slash is left out, '?'.
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (path, query) = match tail.strip_prefix('/') {
        Some(after_slash) => match after_slash.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (after_slash, None),
        },
        None => ("", tail.strip_prefix('?')),
    };
    let (user_info, host_info) = match authority.rsplit_once('@') {
        Some((user, hosts)) => (Some(user), hosts),
        None => (None, authority),
    };
    if path.contains('@') {
        return Err(Error::configuration(
            "the user name or password contains an unescaped '/': percent-encode it as %2F",
        ));
    }
    // An '@' after the hosts and none before them: the user info holds an unescaped
    // '/' or '?', so what follows it (the "hosts", the database, the option names) may
    // be pieces of the password. Refuse before any of it is quoted or logged.
    if user_info.is_none() && tail.contains('@') {
        return Err(Error::configuration(
            "the connection string has an '@' after its hosts and none before them; if the \
             user name or password contains '/', '?' or '@', percent-encode it",
        ));
    }
    if host_info.is_empty() {
        return Err(missing_host(authority, path));
    }
    let user = user_info.map(parse_user_info).transpose()?;
    let hosts = host_info
        .split(',')
        .map(|h| {
            if h.is_empty() {
                return Err(Error::configuration("the host list has an empty entry"));
            }
            decode(h, || "a host".to_owned())
        })
        .collect::<Result<Vec<_>>>()?;
    let database = match path {
        "" => None,
        p => Some(parse_database(p)?),
    };
    let options = match query {
        Some(q) => parse_query(q)?,
        None => Vec::new(),
    };
    Ok(RawParts {
        srv,
        user,
        hosts,
        database,
        options,
        misplaced_user_info: user_info.is_none() && tail.contains('@'),
    })
}

fn strip_scheme(uri: &str) -> Result<(bool, &str)> {
    for (scheme, srv) in [("mongodb://", false), ("mongodb+srv://", true)] {
        if let Some(prefix) = uri.get(..scheme.len()) {
            if prefix.eq_ignore_ascii_case(scheme) {
                return Ok((srv, &uri[scheme.len()..]));
            }
        }
    }
    Err(Error::configuration(
        "a connection string starts with mongodb:// or mongodb+srv://",
    ))
}

fn missing_host(authority: &str, path: &str) -> Error {
    if authority.is_empty() && path.contains(".sock") {
        Error::configuration(
            "the connection string has no host; UNIX domain socket paths must be \
             percent-encoded (e.g. %2Ftmp%2Fmongodb-27017.sock)",
        )
    } else {
        Error::configuration("the connection string has no host")
    }
}

/// Checks the user info against RFC 3986 and the spec's rules, then splits and decodes
/// it. Messages name the offending character, never the user name or password.
fn parse_user_info(info: &str) -> Result<UserInfo> {
    const HOW: &str = "the user name and password must be percent-encoded";
    if info.contains('@') {
        return Err(Error::configuration(format!(
            "{HOW}: found an unescaped '@' (use %40)"
        )));
    }
    if info.matches(':').count() > 1 {
        return Err(Error::configuration(format!(
            "{HOW}: found more than one ':' (use %3A in the password)"
        )));
    }
    if let Some(c) = info.chars().find(|&c| {
        c.is_ascii() && !c.is_ascii_alphanumeric() && c != '%' && !USERINFO_MARKS.contains(c)
    }) {
        return Err(Error::configuration(format!(
            "{HOW}: found an unescaped {c:?}"
        )));
    }
    if !is_valid_percent_encoding(info) {
        return Err(Error::configuration(format!(
            "{HOW}: found a '%' that is not followed by two hexadecimal digits"
        )));
    }
    let (user, password) = match info.split_once(':') {
        Some((u, p)) => (u, Some(p)),
        None => (info, None),
    };
    Ok(UserInfo {
        username: decode(user, || "the user name".to_owned())?,
        password: password
            .map(|p| decode(p, || "the password".to_owned()))
            .transpose()?,
    })
}

fn parse_database(path: &str) -> Result<String> {
    let db = decode(path, || "the database name".to_owned())?;
    if let Some(c) = db.chars().find(|c| DATABASE_FORBIDDEN.contains(c)) {
        return Err(Error::configuration(format!(
            "the database name {db:?} contains {c:?}, which database names cannot contain"
        )));
    }
    Ok(db)
}

/// Splits `key=value&key=value`. Empty pairs (`&&`, a trailing `&`) are skipped.
fn parse_query(query: &str) -> Result<Vec<(String, String)>> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .enumerate()
        .map(|(i, pair)| {
            // The pair is not quoted: with a misplaced password it could be one.
            let (key, value) = pair.split_once('=').ok_or_else(|| {
                Error::configuration(format!("option number {} is not a key=value pair", i + 1))
            })?;
            if key.is_empty() {
                return Err(Error::configuration(format!(
                    "option number {} has an empty name",
                    i + 1
                )));
            }
            let key = decode(key, || format!("the name of option number {}", i + 1))?;
            let value = decode(value, || format!("the value of option {key}"))?;
            Ok((key, value))
        })
        .collect()
}

/// Percent-decodes `s` into UTF-8. `what` names the part for the error message.
pub(super) fn decode(s: &str, what: impl Fn() -> String) -> Result<String> {
    if !is_valid_percent_encoding(s) {
        return Err(Error::configuration(format!(
            "{} has a '%' that is not followed by two hexadecimal digits",
            what()
        )));
    }
    percent_decode_str(s)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| Error::configuration(format!("{} is not UTF-8 once percent-decoded", what())))
}

/// Whether every '%' starts a `%XX` escape.
fn is_valid_percent_encoding(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let escape = bytes.get(i + 1..i + 3);
            if !escape.is_some_and(|e| e.iter().all(u8::is_ascii_hexdigit)) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_reference_example() {
        let p =
            split("mongodb://foo:bar%3A@mongodb.example.com,%2Ftmp%2Fmongodb-27018.sock/admin?w=1")
                .unwrap();
        assert!(!p.srv);
        let user = p.user.unwrap();
        assert_eq!(user.username, "foo");
        assert_eq!(user.password.as_deref(), Some("bar:"));
        assert_eq!(p.hosts, ["mongodb.example.com", "/tmp/mongodb-27018.sock"]);
        assert_eq!(p.database.as_deref(), Some("admin"));
        assert_eq!(p.options, [("w".to_owned(), "1".to_owned())]);
    }

    #[test]
    fn options_without_a_slash_and_escaped_question_marks() {
        let p = split("mongodb+srv://h?tls=true").unwrap();
        assert!(p.srv);
        assert_eq!(p.hosts, ["h"]);
        assert_eq!(p.database, None);
        assert_eq!(p.options.len(), 1);
        let p = split("mongodb://h/admin%3F?w=1&&").unwrap();
        assert_eq!(p.database.as_deref(), Some("admin?"));
        assert_eq!(p.options.len(), 1);
    }

    #[test]
    fn percent_encoding_checks() {
        assert!(is_valid_percent_encoding("a%20b%2f"));
        assert!(!is_valid_percent_encoding("a%2"));
        assert!(!is_valid_percent_encoding("%zz"));
        assert!(!is_valid_percent_encoding("%"));
        assert!(decode("%FF", || "x".into()).is_err());
    }

    #[test]
    fn bad_user_info_is_refused_without_quoting_it() {
        for uri in [
            "mongodb://a:b:c@h",
            "mongodb://a@b:c@h",
            "mongodb://a%zz:c@h",
            "mongodb://a b:c@h",
            "mongodb://a/b:c@h/db",
            "mongodb://a:c/d@h/db",
        ] {
            let err = split(uri).unwrap_err();
            assert!(err.is_configuration(), "{uri}");
            let msg = format!("{err} {err:?}");
            assert!(!msg.contains(":c") && !msg.contains("c/d"), "{uri}: {msg}");
        }
    }

    #[test]
    fn user_info_debug_hides_the_password() {
        let raw = split("mongodb://alice:hunter2secret@h/db").unwrap();
        let shown = format!("{raw:?}");
        assert!(!shown.contains("hunter2secret"), "{shown}");
        assert!(
            shown.contains("alice") && shown.contains("<redacted>"),
            "{shown}"
        );
    }
}
