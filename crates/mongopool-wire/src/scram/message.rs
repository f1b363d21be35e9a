//! The text of SCRAM messages (RFC 5802 section 7): escaping what the client sends,
//! validating and parsing what the server sends.
//!
//! Everything the server sends is untrusted: it is checked for UTF-8, attribute order,
//! nonce characters, base64 and numbers, and any failure is an authentication error
//! rather than a panic.

use std::borrow::Cow;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use crate::error::{Result, WireError};

/// What a `server-first-message` carries once validated.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ServerFirst<'a> {
    /// The whole message, as text: it is part of the `AuthMessage` both sides sign.
    pub(crate) text: &'a str,
    /// The combined nonce: the client's nonce followed by the server's part.
    pub(crate) nonce: &'a str,
    /// The decoded salt.
    pub(crate) salt: Vec<u8>,
    /// The PBKDF2 iteration count, not yet checked against the minimum.
    pub(crate) iterations: u32,
}

/// Escapes a username for the `n=` attribute: `=` becomes `=3D` and `,` becomes `=2C`.
///
/// Borrows when there is nothing to escape, which is the common case.
pub(crate) fn escape_username(username: &str) -> Cow<'_, str> {
    if !username.contains(['=', ',']) {
        return Cow::Borrowed(username);
    }
    let mut escaped = String::with_capacity(username.len() + 4);
    for c in username.chars() {
        match c {
            '=' => escaped.push_str("=3D"),
            ',' => escaped.push_str("=2C"),
            other => escaped.push(other),
        }
    }
    Cow::Owned(escaped)
}

/// Whether `nonce` is a valid SCRAM nonce: non-empty, printable ASCII, no comma
/// (RFC 5802 `printable = %x21-2B / %x2D-7E`).
pub(crate) fn is_valid_nonce(nonce: &str) -> bool {
    !nonce.is_empty()
        && nonce
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

/// Parses a `server-first-message`: `r=<nonce>,s=<salt>,i=<count>[,extensions]`.
///
/// A message starting with `e=` is the server refusing; its text becomes the error.
pub(crate) fn parse_server_first(bytes: &[u8]) -> Result<ServerFirst<'_>> {
    let text = as_utf8(bytes, "server-first-message")?;
    if let Some(reason) = text.strip_prefix("e=") {
        return Err(server_error(reason));
    }
    let mut attributes = text.split(',');
    let nonce = expect_attribute(&mut attributes, 'r', "server-first-message")?;
    let salt = expect_attribute(&mut attributes, 's', "server-first-message")?;
    let iterations = expect_attribute(&mut attributes, 'i', "server-first-message")?;
    check_extensions(attributes, "server-first-message")?;

    if !is_valid_nonce(nonce) {
        return Err(malformed(
            "server-first-message",
            "the nonce is empty or has characters outside printable ASCII",
        ));
    }
    let salt = BASE64
        .decode(salt)
        .map_err(|_| malformed("server-first-message", "the salt is not valid base64"))?;
    if salt.is_empty() {
        return Err(malformed("server-first-message", "the salt is empty"));
    }
    let iterations = parse_iteration_count(iterations)?;
    Ok(ServerFirst {
        text,
        nonce,
        salt,
        iterations,
    })
}

/// Parses a `server-final-message`: `v=<base64 signature>[,extensions]`, and returns
/// the decoded server signature. `e=<reason>` is the server refusing.
pub(crate) fn parse_server_final(bytes: &[u8]) -> Result<Vec<u8>> {
    let text = as_utf8(bytes, "server-final-message")?;
    if let Some(reason) = text.strip_prefix("e=") {
        return Err(server_error(reason));
    }
    let mut attributes = text.split(',');
    let verifier = expect_attribute(&mut attributes, 'v', "server-final-message")?;
    check_extensions(attributes, "server-final-message")?;
    BASE64.decode(verifier).map_err(|_| {
        malformed(
            "server-final-message",
            "the server signature is not valid base64",
        )
    })
}

fn as_utf8<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|_| malformed(what, "not valid UTF-8"))
}

/// Takes the next `x=value` attribute and checks that its name is `name`.
fn expect_attribute<'a>(
    attributes: &mut impl Iterator<Item = &'a str>,
    name: char,
    what: &str,
) -> Result<&'a str> {
    let Some(attribute) = attributes.next() else {
        return Err(malformed(what, &format!("missing attribute {name}=")));
    };
    match split_attribute(attribute) {
        Some((found, value)) if found == name => Ok(value),
        Some((found, _)) => Err(malformed(
            what,
            &format!("expected attribute {name}=, found {found}="),
        )),
        None => Err(malformed(
            what,
            &format!("expected attribute {name}=, found something that is not an attribute"),
        )),
    }
}

/// Checks the optional trailing extensions. Unknown extensions are ignored (RFC 5802
/// section 5.1), but they must still look like attributes, and `m=` (a mandatory
/// extension) is only allowed first, which is never where it would reach us.
fn check_extensions<'a>(attributes: impl Iterator<Item = &'a str>, what: &str) -> Result<()> {
    for attribute in attributes {
        if split_attribute(attribute).is_none() {
            return Err(malformed(
                what,
                "a trailing extension is not of the form x=value",
            ));
        }
    }
    Ok(())
}

/// Splits `x=value` where `x` is one ASCII letter.
fn split_attribute(attribute: &str) -> Option<(char, &str)> {
    let (name, value) = attribute.split_once('=')?;
    let mut chars = name.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_alphabetic() => Some((c, value)),
        _ => None,
    }
}

fn parse_iteration_count(text: &str) -> Result<u32> {
    // `u32::from_str` accepts a leading '+'; the grammar allows digits only.
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed(
            "server-first-message",
            "the iteration count is not a decimal number",
        ));
    }
    text.parse().map_err(|_| {
        malformed(
            "server-first-message",
            "the iteration count does not fit in 32 bits",
        )
    })
}

fn malformed(what: &str, detail: &str) -> WireError {
    WireError::Authentication(format!("malformed SCRAM {what}: {detail}"))
}

fn server_error(reason: &str) -> WireError {
    WireError::Authentication(format!("server returned SCRAM error: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_equals_and_comma_only() {
        assert_eq!(escape_username("user"), "user");
        assert!(matches!(escape_username("user"), Cow::Borrowed(_)));
        assert_eq!(escape_username("a=b,c"), "a=3Db=2Cc");
        assert_eq!(escape_username("=,="), "=3D=2C=3D");
        assert_eq!(escape_username("Ünï=cødé"), "Ünï=3Dcødé");
    }

    #[test]
    fn nonce_characters() {
        assert!(is_valid_nonce("fyko+d2lbbFgONRv9qkxdawL"));
        assert!(is_valid_nonce("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"));
        assert!(!is_valid_nonce(""));
        assert!(!is_valid_nonce("a,b"));
        assert!(!is_valid_nonce("a b"));
        assert!(!is_valid_nonce("é"));
        assert!(!is_valid_nonce("a\x7f"));
    }

    #[test]
    fn parses_a_server_first_message_with_extensions() {
        let parsed = parse_server_first(b"r=abcdef,s=c2FsdA==,i=4096,x=ext").unwrap();
        assert_eq!(
            parsed,
            ServerFirst {
                text: "r=abcdef,s=c2FsdA==,i=4096,x=ext",
                nonce: "abcdef",
                salt: b"salt".to_vec(),
                iterations: 4096
            }
        );
    }

    #[test]
    fn rejects_malformed_server_first_messages() {
        for bad in [
            &b""[..],
            b"r=abc",
            b"r=abc,s=c2FsdA==",
            b"s=c2FsdA==,r=abc,i=4096",
            b"r=abc,i=4096,s=c2FsdA==",
            b"m=ext,r=abc,s=c2FsdA==,i=4096",
            b"r=abc,s=c2FsdA==,i=",
            b"r=abc,s=c2FsdA==,i=+4096",
            b"r=abc,s=c2FsdA==,i=4096x",
            b"r=abc,s=c2FsdA==,i=99999999999",
            b"r=abc,s=c2FsdA==,i=4096,garbage",
            b"r=abc,s=,i=4096",
            b"r=abc,s=c2Fsd!==,i=4096",
            b"r=,s=c2FsdA==,i=4096",
            b"r=a b,s=c2FsdA==,i=4096",
            b"rr=abc,s=c2FsdA==,i=4096",
            b"r=abc,s=c2FsdA==,i=4096\xff",
        ] {
            let err = parse_server_first(bad).unwrap_err();
            assert!(
                matches!(err, WireError::Authentication(ref m) if m.contains("malformed")),
                "{:?} gave {err:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn server_error_text_surfaces() {
        let err = parse_server_first(b"e=unknown-user").unwrap_err();
        assert_eq!(
            err,
            WireError::Authentication("server returned SCRAM error: unknown-user".into())
        );
        let err = parse_server_final(b"e=invalid-proof").unwrap_err();
        assert_eq!(
            err,
            WireError::Authentication("server returned SCRAM error: invalid-proof".into())
        );
    }

    #[test]
    fn parses_server_final() {
        assert_eq!(parse_server_final(b"v=c2ln").unwrap(), b"sig");
        assert_eq!(parse_server_final(b"v=c2ln,x=1").unwrap(), b"sig");
        for bad in [
            &b""[..],
            b"v",
            b"x=c2ln",
            b"v=c2l",
            b"v=c2ln,",
            b"\xffv=c2ln",
        ] {
            assert!(parse_server_final(bad).is_err(), "{bad:?}");
        }
    }
}
