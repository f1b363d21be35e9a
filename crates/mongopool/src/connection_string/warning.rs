//! Warnings: what the connection string spec says to ignore with a WARN log instead of
//! failing on (unknown options, invalid values, repeated keys).

use std::fmt;

/// One thing the parser ignored or doubted. Each is also logged at WARN level through
/// `tracing` (target `mongopool::connection_string`). Warnings never contain a password
/// or the value of an unknown option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriWarning {
    option: Option<String>,
    message: String,
}

impl UriWarning {
    /// A warning about `option` (its canonical name when known, else as written), and
    /// logs it.
    pub(crate) fn new(option: Option<&str>, message: String) -> Self {
        tracing::warn!(target: "mongopool::connection_string", "{message}");
        UriWarning {
            option: option.map(str::to_owned),
            message,
        }
    }

    /// The option this warning is about (`None` for warnings about the whole string).
    pub fn option(&self) -> Option<&str> {
        self.option.as_deref()
    }

    /// What happened, for humans.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for UriWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
