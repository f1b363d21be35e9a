//! Retryable writes behind the proxy: the `RetryableWriteError` label, as a mongos
//! adds it.
//!
//! Drivers talking to a 4.4+ server (the proxy reports the server's wire version)
//! retry a write only when the reply carries the `RetryableWriteError` label; they
//! never add it themselves to a command error. A mongos labels the errors of the
//! members behind it; a replica-set member behind the proxy does not label its own
//! "not primary" reply. So the proxy labels a retryable write's error reply whose code
//! is on the retryable writes spec's list, as a mongos would, and the driver's one
//! retry comes back to the proxy, which has marked the old primary Unknown and
//! selects the new one.

use bson::raw::cstr;
use bson::{RawArrayBuf, RawBsonRef, RawDocumentBuf};

/// The label drivers look for.
pub(crate) const RETRYABLE_WRITE_ERROR: &str = "RetryableWriteError";

/// The retryable writes spec's codes: network and "not primary" / "recovering" errors.
const RETRYABLE_CODES: &[i32] = &[
    6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436,
];

/// Whether an error with `code` is one a retryable write is retried on.
pub(crate) fn is_retryable_code(code: i32) -> bool {
    RETRYABLE_CODES.contains(&code)
}

/// `reply` with `RetryableWriteError` added to its `errorLabels` if it is an error
/// with a retryable code (top level, or a `writeConcernError`'s) and lacks the label;
/// `None` when nothing changes.
pub(crate) fn label_reply(reply: &RawDocumentBuf) -> Option<RawDocumentBuf> {
    let ok = match reply.get("ok").ok().flatten() {
        Some(RawBsonRef::Double(f)) => f == 1.0,
        Some(RawBsonRef::Int32(n)) => n == 1,
        Some(RawBsonRef::Int64(n)) => n == 1,
        _ => false,
    };
    let code = if ok {
        reply
            .get_document("writeConcernError")
            .ok()
            .and_then(|w| w.get_i32("code").ok())
    } else {
        reply.get_i32("code").ok()
    };
    if !code.is_some_and(is_retryable_code) {
        return None;
    }
    let mut labels = RawArrayBuf::new();
    if let Ok(existing) = reply.get_array("errorLabels") {
        for label in existing.into_iter().flatten() {
            if label.as_str() == Some(RETRYABLE_WRITE_ERROR) {
                return None;
            }
            labels.push(bson::RawBson::from(label));
        }
    }
    labels.push(RETRYABLE_WRITE_ERROR);
    let mut labelled = RawDocumentBuf::new();
    for (key, value) in reply.iter().flatten() {
        if key.as_str() != "errorLabels" {
            labelled.append(key, bson::RawBson::from(value));
        }
    }
    labelled.append(cstr!("errorLabels"), labels);
    Some(labelled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::rawdoc;

    fn labels(doc: &RawDocumentBuf) -> Vec<String> {
        doc.get_array("errorLabels")
            .map(|a| {
                a.into_iter()
                    .flatten()
                    .filter_map(|l| l.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn not_primary_gets_the_label_once() {
        let reply = rawdoc! {"ok": 0.0, "code": 10107, "errmsg": "not primary",
        "errorLabels": ["Other"]};
        let labelled = label_reply(&reply).expect("labelled");
        assert_eq!(labels(&labelled), ["Other", RETRYABLE_WRITE_ERROR]);
        assert_eq!(labelled.get_i32("code").ok(), Some(10107));
        assert_eq!(label_reply(&labelled), None);
    }

    #[test]
    fn other_errors_and_successes_are_left_alone() {
        assert_eq!(label_reply(&rawdoc! {"ok": 0.0, "code": 11000}), None);
        assert_eq!(label_reply(&rawdoc! {"ok": 1.0, "n": 1}), None);
        let wce = rawdoc! {"ok": 1.0, "writeConcernError": {"code": 91, "errmsg": "x"}};
        assert_eq!(
            labels(&label_reply(&wce).expect("labelled")),
            [RETRYABLE_WRITE_ERROR]
        );
    }
}
