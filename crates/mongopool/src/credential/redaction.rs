//! What `Debug` and `Display` print instead of secrets.

use std::fmt;

use bson::Document;

/// What `Debug` prints instead of a secret.
pub(crate) const REDACTED: &str = "<redacted>";

/// Mechanism properties whose values are not secret, so `Debug` may show them. Every
/// other property (e.g. `AWS_SESSION_TOKEN`) is redacted.
const PUBLIC_PROPERTIES: &[&str] = &[
    "SERVICE_NAME",
    "CANONICALIZE_HOST_NAME",
    "SERVICE_REALM",
    "SERVICE_HOST",
    "ENVIRONMENT",
    "TOKEN_RESOURCE",
];

/// Stands for a secret in `Debug` output.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Prints mechanism properties with every secret value redacted.
pub(super) struct RedactedProperties<'a>(pub(super) &'a Document);

impl fmt::Debug for RedactedProperties<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (name, value) in self.0 {
            if PUBLIC_PROPERTIES
                .iter()
                .any(|p| p.eq_ignore_ascii_case(name))
            {
                m.entry(name, value);
            } else {
                m.entry(name, &Redacted);
            }
        }
        m.finish()
    }
}
