//! Connection-string parsing: any text either parses or fails with a configuration
//! error, never a panic; and neither the parsed string's `Debug` nor an error shows
//! the password.
//!
//! The password check only applies to passwords of 6 bytes or more that appear once
//! in the input: a shorter one, or one that is also spelled elsewhere in the string
//! (a host named like it), shows up in output for other reasons.
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
                if password.len() >= 6 && text.matches(password).count() == 1 {
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
                if candidate.len() >= 6 && text.matches(candidate).count() == 1 {
                    let shown = format!("{e} {e:?}");
                    assert!(!shown.contains(candidate), "{shown}");
                }
            }
        }
    }
});

fn password_candidate(text: &str) -> Option<&str> {
    let after_scheme = text.split_once("://")?.1;
    let user_info = after_scheme.split_once('@')?.0;
    let password = user_info.split_once(':')?.1;
    // Up to the first character that ends a password in a misread string.
    password.split(['/', '?', '#', ',']).next()
}
