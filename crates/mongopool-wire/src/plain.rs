//! PLAIN (RFC 4616), which MongoDB uses for LDAP logins against `$external`: one
//! `saslStart` whose payload carries the username and password in clear text (so only
//! over TLS).

use crate::error::{Result, WireError};

/// The mechanism name, as in the `mechanism` field of `saslStart`.
pub const MECHANISM: &str = "PLAIN";

/// The `saslStart` payload: `\0<username>\0<password>` (no authorization identity),
/// both as given, UTF-8.
///
/// Errors with [`WireError::InvalidArgument`] if either contains a NUL character, which
/// would make the payload ambiguous (RFC 4616 forbids it), or if the username is empty.
pub fn payload(username: &str, password: &str) -> Result<Vec<u8>> {
    if username.is_empty() {
        return Err(WireError::InvalidArgument(
            "PLAIN needs a non-empty username".to_owned(),
        ));
    }
    if username.contains('\0') || password.contains('\0') {
        return Err(WireError::InvalidArgument(
            "PLAIN usernames and passwords cannot contain a NUL character".to_owned(),
        ));
    }
    let mut payload = Vec::with_capacity(2 + username.len() + password.len());
    payload.push(0);
    payload.extend_from_slice(username.as_bytes());
    payload.push(0);
    payload.extend_from_slice(password.as_bytes());
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example() {
        // auth.md, PLAIN conversation: BinData(0, "AHVzZXIAcGVuY2ls").
        assert_eq!(payload("user", "pencil").unwrap(), b"\0user\0pencil");
    }

    #[test]
    fn keeps_input_as_given() {
        assert_eq!(
            payload("Ünï", "p a\u{00AD}ss").unwrap(),
            "\0Ünï\0p a\u{00AD}ss".as_bytes()
        );
        assert_eq!(payload("u", "").unwrap(), b"\0u\0");
    }

    #[test]
    fn refuses_nul_and_empty_username() {
        assert!(payload("us\0er", "pw").is_err());
        assert!(payload("user", "p\0w").is_err());
        assert!(payload("", "pw").is_err());
    }
}
