//! SASLprep (RFC 4013): the normalization SCRAM-SHA-256 applies to passwords.

use std::borrow::Cow;

use crate::error::{Result, WireError};

/// Prepares `input` with SASLprep: maps non-ASCII spaces to a space, removes characters
/// that map to nothing (such as the soft hyphen U+00AD), normalizes to NFKC, and refuses
/// prohibited characters, unassigned code points and malformed bidirectional text.
///
/// Printable ASCII (U+0020 to U+007E), the common case, is returned borrowed without
/// allocating: SASLprep leaves it unchanged.
///
/// Errors with [`WireError::InvalidArgument`]. The error does not quote the input (it is
/// usually a password).
pub fn saslprep(input: &str) -> Result<Cow<'_, str>> {
    if input.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Ok(Cow::Borrowed(input));
    }
    // The error of `stringprep` names the offending character, which would leak part of
    // a password into logs; it is replaced by a general description.
    stringprep::saslprep(input).map_err(|_| {
        WireError::InvalidArgument(
            "SASLprep (RFC 4013) refuses the input: it contains a prohibited or unassigned \
             character, or invalid bidirectional text"
                .to_owned(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_ascii_is_borrowed() {
        for input in ["", "pencil", " spaced out ", "~!@#$%^&*()_+{}|:\"<>?"] {
            assert!(matches!(saslprep(input), Ok(Cow::Borrowed(s)) if s == input));
        }
    }

    #[test]
    fn rfc_4013_examples() {
        // RFC 4013 section 3.
        assert_eq!(saslprep("I\u{00AD}X").unwrap(), "IX");
        assert_eq!(saslprep("user").unwrap(), "user");
        assert_eq!(saslprep("USER").unwrap(), "USER");
        assert_eq!(saslprep("\u{00AA}").unwrap(), "a");
        assert_eq!(saslprep("\u{2168}").unwrap(), "IX");
        assert!(saslprep("\u{0007}").is_err());
        assert!(saslprep("\u{0627}\u{0031}").is_err());
    }

    #[test]
    fn maps_non_ascii_space_to_space() {
        assert_eq!(saslprep("a\u{00A0}b").unwrap(), "a b");
    }

    #[test]
    fn refuses_without_quoting_the_input() {
        let err = saslprep("secret\u{0007}").unwrap_err();
        assert!(!err.to_string().contains("secret"));
        assert!(!err.to_string().contains('\u{0007}'));
        // Private use, non-character, DEL.
        assert!(saslprep("\u{E000}").is_err());
        assert!(saslprep("\u{FFFF}").is_err());
        assert!(saslprep("a\u{7F}").is_err());
    }
}
