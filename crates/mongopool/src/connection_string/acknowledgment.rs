//! The `w` of the default write concern.

use std::fmt;

/// The `w` of the default write concern: how many members must acknowledge a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acknowledgment {
    /// This many members (`w=0` means unacknowledged).
    Nodes(u32),
    /// A majority of voting members (`w=majority`).
    Majority,
    /// A custom write concern defined by replica set tags (any other string).
    Tag(String),
}

impl fmt::Display for Acknowledgment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Acknowledgment::Nodes(n) => write!(f, "{n}"),
            Acknowledgment::Majority => f.write_str("majority"),
            Acknowledgment::Tag(t) => f.write_str(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_as_the_option_value() {
        assert_eq!(Acknowledgment::Nodes(2).to_string(), "2");
        assert_eq!(Acknowledgment::Majority.to_string(), "majority");
        assert_eq!(Acknowledgment::Tag("dc".into()).to_string(), "dc");
    }
}
