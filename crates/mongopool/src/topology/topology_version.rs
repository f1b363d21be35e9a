//! `topologyVersion`: which of two hello replies (or state change errors) is fresher.

use std::cmp::Ordering;

use bson::oid::ObjectId;
use bson::{RawBsonRef, RawDocument};

use crate::error::{Error, Result};

/// A server's `topologyVersion` (MongoDB 4.4+): the process it comes from and a counter
/// that process increments on every state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TopologyVersion {
    /// The server process (a new one after each restart).
    pub process_id: ObjectId,
    /// Incremented by that process on each topology change.
    pub counter: i64,
}

impl TopologyVersion {
    /// Reads `{processId: ObjectId, counter: int}`.
    pub fn from_document(doc: &RawDocument) -> Result<Self> {
        let process_id = match doc.get("processId") {
            Ok(Some(RawBsonRef::ObjectId(oid))) => oid,
            _ => {
                return Err(Error::protocol(
                    "topologyVersion.processId is missing or not an ObjectId",
                ))
            }
        };
        let counter = match doc.get("counter") {
            Ok(Some(RawBsonRef::Int64(n))) => n,
            Ok(Some(RawBsonRef::Int32(n))) => i64::from(n),
            _ => {
                return Err(Error::protocol(
                    "topologyVersion.counter is missing or not an integer",
                ))
            }
        };
        Ok(TopologyVersion {
            process_id,
            counter,
        })
    }

    /// The spec's `compareTopologyVersion(current, new)`: `Less` when `new` must be
    /// taken as more recent (either is missing, or the process changed), else the
    /// order of the counters.
    pub fn compare(current: Option<&TopologyVersion>, new: Option<&TopologyVersion>) -> Ordering {
        match (current, new) {
            (Some(c), Some(n)) if c.process_id == n.process_id => c.counter.cmp(&n.counter),
            _ => Ordering::Less,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_follows_the_spec() {
        let p = ObjectId::from_bytes([1; 12]);
        let q = ObjectId::from_bytes([2; 12]);
        let tv = |process_id, counter| TopologyVersion {
            process_id,
            counter,
        };
        assert_eq!(
            TopologyVersion::compare(None, Some(&tv(p, 1))),
            Ordering::Less
        );
        assert_eq!(
            TopologyVersion::compare(Some(&tv(p, 1)), None),
            Ordering::Less
        );
        assert_eq!(
            TopologyVersion::compare(Some(&tv(p, 5)), Some(&tv(q, 1))),
            Ordering::Less
        );
        assert_eq!(
            TopologyVersion::compare(Some(&tv(p, 5)), Some(&tv(p, 1))),
            Ordering::Greater
        );
        assert_eq!(
            TopologyVersion::compare(Some(&tv(p, 1)), Some(&tv(p, 1))),
            Ordering::Equal
        );
        let doc = bson::rawdoc! { "processId": p, "counter": "x" };
        assert!(TopologyVersion::from_document(&doc).is_err());
    }
}
