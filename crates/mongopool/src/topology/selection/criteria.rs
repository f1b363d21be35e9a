//! What an operation asks of a server.

use std::fmt;

use crate::read_preference::ReadPreference;

/// What a selection is for.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectionCriteria {
    /// A read with this preference.
    Read(ReadPreference),
    /// A write: only a primary (or a mongos, a standalone, the single server).
    Write,
}

impl SelectionCriteria {
    /// A write, or a read with mode primary and neither tags nor
    /// `maxStalenessSeconds`: the criteria [`unique_primary_choice`] answers.
    ///
    /// [`unique_primary_choice`]: super::unique_primary_choice
    #[inline]
    pub fn is_primary_only(&self) -> bool {
        match self {
            SelectionCriteria::Write => true,
            SelectionCriteria::Read(rp) => rp.is_primary_only(),
        }
    }
}

impl fmt::Display for SelectionCriteria {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectionCriteria::Write => f.write_str("a write"),
            SelectionCriteria::Read(rp) => {
                write!(f, "a read with ReadPreference {}", rp.mode.name())?;
                if !rp.tag_sets.is_empty() {
                    let sets: Vec<String> = rp
                        .tag_sets
                        .iter()
                        .map(|t| match bson::Document::try_from(t.as_ref()) {
                            Ok(d) => d.to_string(),
                            Err(_) => "{?}".into(),
                        })
                        .collect();
                    write!(f, ", tag set list [{}]", sets.join(", "))?;
                }
                if let Some(s) = rp.max_staleness {
                    write!(f, ", maxStalenessSeconds {}", s.as_secs())?;
                }
                Ok(())
            }
        }
    }
}
