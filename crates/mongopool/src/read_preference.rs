//! Read preferences, as a command carries them to a mongos or a replica set member.

use std::borrow::Cow;
use std::sync::LazyLock;
use std::time::Duration;

use bson::raw::cstr;
use bson::{RawArrayBuf, RawDocument, RawDocumentBuf};

use crate::error::{Error, Result};

/// Which members a read may go to. Only its wire form matters at this layer: the
/// connection passes it to a mongos (`$readPreference`), or turns it into the
/// secondaryOk bit for a direct connection.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReadPreference {
    /// The mode.
    pub mode: ReadPreferenceMode,
    /// Tag sets, in order of preference (not allowed with `Primary`).
    pub tag_sets: Vec<RawDocumentBuf>,
    /// `maxStalenessSeconds` (not allowed with `Primary`; at least 90 s).
    pub max_staleness: Option<Duration>,
}

/// Every mode, in declaration order (the order of [`MODE_DOCUMENTS`]).
const MODES: [ReadPreferenceMode; 5] = [
    ReadPreferenceMode::Primary,
    ReadPreferenceMode::PrimaryPreferred,
    ReadPreferenceMode::Secondary,
    ReadPreferenceMode::SecondaryPreferred,
    ReadPreferenceMode::Nearest,
];

/// `{mode: <name>}` for each of [`MODES`].
static MODE_DOCUMENTS: LazyLock<[RawDocumentBuf; 5]> =
    LazyLock::new(|| MODES.map(|mode| ReadPreference::with_mode(mode).to_document()));

/// The read preference modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadPreferenceMode {
    /// Only the primary. The default.
    #[default]
    Primary,
    /// The primary when there is one, else a secondary.
    PrimaryPreferred,
    /// Only secondaries.
    Secondary,
    /// A secondary when there is one, else the primary.
    SecondaryPreferred,
    /// The member with the lowest latency.
    Nearest,
}

impl ReadPreferenceMode {
    /// The name servers use (`"primary"`, `"secondaryPreferred"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ReadPreferenceMode::Primary => "primary",
            ReadPreferenceMode::PrimaryPreferred => "primaryPreferred",
            ReadPreferenceMode::Secondary => "secondary",
            ReadPreferenceMode::SecondaryPreferred => "secondaryPreferred",
            ReadPreferenceMode::Nearest => "nearest",
        }
    }

    /// Parses a mode name, case-insensitively.
    pub fn parse(name: &str) -> Result<Self> {
        MODES
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| Error::configuration(format!("unknown read preference mode {name:?}")))
    }
}

impl ReadPreference {
    /// The primary only.
    pub const fn primary() -> Self {
        ReadPreference {
            mode: ReadPreferenceMode::Primary,
            tag_sets: Vec::new(),
            max_staleness: None,
        }
    }

    /// Mode primary with neither tags nor `maxStalenessSeconds`: a read that goes
    /// where a write goes.
    #[inline]
    pub fn is_primary_only(&self) -> bool {
        self.mode == ReadPreferenceMode::Primary
            && self.tag_sets.is_empty()
            && self.max_staleness.is_none()
    }

    /// A mode with no tags and no staleness bound.
    pub fn with_mode(mode: ReadPreferenceMode) -> Self {
        ReadPreference {
            mode,
            ..ReadPreference::default()
        }
    }

    /// Checks the combination: `Primary` takes no tags and no staleness bound, and a
    /// staleness bound is at least 90 seconds.
    pub fn validate(&self) -> Result<()> {
        if self.mode == ReadPreferenceMode::Primary
            && (self.tag_sets.iter().any(|t| !t.is_empty()) || self.max_staleness.is_some())
        {
            return Err(Error::configuration(
                "read preference primary cannot have tag sets or maxStalenessSeconds",
            ));
        }
        if let Some(s) = self.max_staleness {
            if s < Duration::from_secs(90) {
                return Err(Error::configuration(
                    "maxStalenessSeconds must be at least 90 seconds",
                ));
            }
        }
        Ok(())
    }

    /// Whether a secondary may serve a read with this preference.
    pub fn secondary_ok(&self) -> bool {
        self.mode != ReadPreferenceMode::Primary
    }

    /// [`ReadPreference::to_document`], borrowed from a document built once per mode
    /// when only the mode is set (the common case, such as the primaryPreferred that
    /// every read on a direct connection sends): no allocation per command.
    pub(crate) fn wire_document(&self) -> Cow<'static, RawDocument> {
        if self.tag_sets.is_empty() && self.max_staleness.is_none() {
            // MODES is in declaration order, so a mode's discriminant is its index.
            Cow::Borrowed(&MODE_DOCUMENTS[self.mode as usize])
        } else {
            Cow::Owned(self.to_document())
        }
    }

    /// The `$readPreference` document.
    pub fn to_document(&self) -> RawDocumentBuf {
        let mut doc = RawDocumentBuf::new();
        doc.append(cstr!("mode"), self.mode.name());
        if !self.tag_sets.is_empty() {
            let mut tags = RawArrayBuf::new();
            for t in &self.tag_sets {
                tags.push(t.clone());
            }
            doc.append(cstr!("tags"), tags);
        }
        if let Some(s) = self.max_staleness {
            doc.append(
                cstr!("maxStalenessSeconds"),
                i64::try_from(s.as_secs()).unwrap_or(i64::MAX),
            );
        }
        doc
    }

    /// Whether a mongos needs the `$readPreference` wrapper for this preference on
    /// OP_QUERY: only modes other than primary and secondaryPreferred, or
    /// secondaryPreferred with tags or a staleness bound (the SlaveOk bit says the
    /// rest).
    pub fn needs_query_wrapper(&self) -> bool {
        match self.mode {
            ReadPreferenceMode::Primary => false,
            ReadPreferenceMode::SecondaryPreferred => {
                self.tag_sets.iter().any(|t| !t.is_empty()) || self.max_staleness.is_some()
            }
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::rawdoc;

    #[test]
    fn documents_and_rules() {
        let rp = ReadPreference {
            mode: ReadPreferenceMode::Secondary,
            tag_sets: vec![rawdoc! {"dc": "ny"}],
            max_staleness: Some(Duration::from_secs(120)),
        };
        rp.validate().unwrap();
        let d = rp.to_document();
        assert_eq!(d.get_str("mode").unwrap(), "secondary");
        assert_eq!(d.get_i64("maxStalenessSeconds").unwrap(), 120);
        assert!(rp.needs_query_wrapper() && rp.secondary_ok());
        assert!(
            !ReadPreference::with_mode(ReadPreferenceMode::SecondaryPreferred)
                .needs_query_wrapper()
        );
        let bad = ReadPreference {
            max_staleness: Some(Duration::from_secs(10)),
            ..ReadPreference::with_mode(ReadPreferenceMode::Nearest)
        };
        assert!(bad.validate().unwrap_err().is_configuration());
        let bad = ReadPreference {
            tag_sets: vec![rawdoc! {"a": "b"}],
            ..ReadPreference::primary()
        };
        assert!(bad.validate().is_err());
        assert_eq!(
            ReadPreferenceMode::parse("SECONDARYpreferred").unwrap(),
            ReadPreferenceMode::SecondaryPreferred
        );
        assert!(ReadPreferenceMode::parse("x").is_err());
    }

    #[test]
    fn the_wire_document_is_the_document_borrowed_when_only_the_mode_is_set() {
        for mode in MODES {
            let rp = ReadPreference::with_mode(mode);
            let wire = rp.wire_document();
            assert!(matches!(wire, Cow::Borrowed(_)), "{mode:?}");
            assert_eq!(wire.as_ref(), rp.to_document().as_ref(), "{mode:?}");
        }
        let tagged = ReadPreference {
            tag_sets: vec![rawdoc! {"dc": "ny"}],
            ..ReadPreference::with_mode(ReadPreferenceMode::Nearest)
        };
        let wire = tagged.wire_document();
        assert!(matches!(wire, Cow::Owned(_)));
        assert_eq!(wire.as_ref(), tagged.to_document().as_ref());
    }
}
