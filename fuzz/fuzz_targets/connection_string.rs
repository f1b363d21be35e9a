//! Connection-string parsing: any text either parses or fails with a configuration
//! error, never a panic; and neither the parsed string's `Debug` nor an error shows
//! the password.
//!
//! The password check only applies to passwords of 8 bytes or more, with a digit,
//! that appear once in the input (ignoring ASCII case): a shorter one, a plain word ("password" is in the
//! error texts) or one also spelled elsewhere in the string (a host named like it)
//! shows up in output for other reasons.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mongopool::ConnectionString;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match ConnectionString::parse(text) {
        Ok(cs) => {
            let shown = format!("{cs:?}");
            if let Some(password) = cs.credential().and_then(|c| c.password.as_deref()) {
                if is_checkable(password, text) {
                    assert!(!shown.contains(password), "{shown}");
                }
            }
            let _ = cs.check_supported();
        }
        Err(e) => {
            assert!(e.is_configuration(), "{e:?}");
            // What sits between "://" and the first '@', after a ':', is a password
            // candidate whichever way the parser read the string.
            if let Some(candidate) = password_candidate(text) {
                if is_checkable(candidate, text) {
                    let shown = format!("{e} {e:?}");
                    assert!(!shown.contains(candidate), "{shown}");
                }
            }
        }
    }
});

fn is_checkable(password: &str, text: &str) -> bool {
    password.len() >= 8
        && password.bytes().any(|b| b.is_ascii_digit())
        // Once, ignoring case: host names come out lower-cased.
        && text
            .to_ascii_lowercase()
            .matches(&password.to_ascii_lowercase())
            .count()
            == 1
}

fn password_candidate(text: &str) -> Option<&str> {
    let after_scheme = text.split_once("://")?.1;
    let user_info = after_scheme.split_once('@')?.0;
    let password = user_info.split_once(':')?.1;
    // Up to the first character that ends a password in a misread string.
    password.split(['/', '?', '#', ',']).next()
}
