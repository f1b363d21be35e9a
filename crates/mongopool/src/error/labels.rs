//! Error labels the client reads and adds: the client backpressure spec's overload
//! labels and the server's `baseBackoffMS` hint.

use super::{Error, ErrorKind};

/// The label of an error the server (or the pool, for a connection it could not
/// open) gives when it is overloaded. Such errors change neither the topology nor
/// the pool, and the client backs off before it retries.
pub const SYSTEM_OVERLOADED_ERROR_LABEL: &str = "SystemOverloadedError";

/// The label of an error after which the command may be retried whatever it is.
pub const RETRYABLE_ERROR_LABEL: &str = "RetryableError";

impl Error {
    /// Adds an error label (once). The pool adds the backpressure labels to network
    /// errors while it opens a connection, as the CMAP spec asks.
    pub fn add_label(&mut self, label: &str) {
        if self.has_label(label) {
            return;
        }
        match &mut *self.kind {
            ErrorKind::OperationFailure(f) | ErrorKind::NotPrimary(f) => {
                f.labels.push(label.into())
            }
            ErrorKind::WriteFailure(w) | ErrorKind::DuplicateKey(w) => w.labels.push(label.into()),
            _ => self.added_labels.push(label.into()),
        }
    }

    /// [`Error::add_label`] by value.
    pub fn with_label(mut self, label: &str) -> Self {
        self.add_label(label);
        self
    }

    /// The server is overloaded: the error has the `SystemOverloadedError` label.
    pub fn is_overload(&self) -> bool {
        self.has_label(SYSTEM_OVERLOADED_ERROR_LABEL)
    }

    /// A retryable overload error (client backpressure spec): both the
    /// `SystemOverloadedError` and the `RetryableError` labels. Any command may be
    /// retried after one, after a backoff.
    pub fn is_retryable_overload(&self) -> bool {
        self.is_overload() && self.has_label(RETRYABLE_ERROR_LABEL)
    }

    /// The server's `baseBackoffMS`, when its error reply carried a positive one: the
    /// client uses it as the base of its backoff instead of its own.
    pub fn base_backoff_ms(&self) -> Option<u64> {
        let reply = match &*self.kind {
            ErrorKind::OperationFailure(f) | ErrorKind::NotPrimary(f) => &f.reply,
            ErrorKind::WriteFailure(w) | ErrorKind::DuplicateKey(w) => &w.reply,
            _ => return None,
        };
        let value = reply.get("baseBackoffMS").ok().flatten()?;
        let ms = match value {
            bson::RawBsonRef::Int32(v) => f64::from(v),
            bson::RawBsonRef::Int64(v) => v as f64,
            bson::RawBsonRef::Double(v) => v,
            _ => return None,
        };
        // A non-positive, NaN or absurd value is ignored: the spec uses only positive ones.
        (ms.is_finite() && ms >= 1.0).then(|| ms.min(u64::MAX as f64 / 2.0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::OperationFailure;

    fn failure(labels: &[&str], reply: bson::RawDocumentBuf) -> Error {
        Error::new(ErrorKind::OperationFailure(OperationFailure {
            code: 462,
            code_name: Some("IngressRequestRateLimitExceeded".into()),
            message: "rate exceeded".into(),
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
            reply,
        }))
    }

    #[test]
    fn overload_needs_both_labels_to_be_retryable() {
        let both = failure(
            &["SystemOverloadedError", "RetryableError"],
            Default::default(),
        );
        assert!(both.is_overload() && both.is_retryable_overload());
        let only_overload = failure(&["SystemOverloadedError"], Default::default());
        assert!(only_overload.is_overload() && !only_overload.is_retryable_overload());
        let only_retryable = failure(&["RetryableError"], Default::default());
        assert!(!only_retryable.is_overload() && !only_retryable.is_retryable_overload());
    }

    #[test]
    fn labels_added_to_a_network_error_are_seen_once() {
        let mut e = Error::connection("closed");
        assert!(e.labels().is_empty());
        e.add_label(SYSTEM_OVERLOADED_ERROR_LABEL);
        e.add_label(SYSTEM_OVERLOADED_ERROR_LABEL);
        let e = e.with_label(RETRYABLE_ERROR_LABEL);
        assert_eq!(
            e.labels(),
            [SYSTEM_OVERLOADED_ERROR_LABEL, RETRYABLE_ERROR_LABEL]
        );
        assert!(e.is_retryable_overload());
        let server = failure(&[], Default::default()).with_label("X");
        assert_eq!(server.labels(), ["X"]);
    }

    #[test]
    fn base_backoff_is_read_only_when_positive() {
        let with = |v: bson::RawBson| {
            let mut reply = bson::RawDocumentBuf::new();
            reply.append(bson::raw::cstr!("baseBackoffMS"), v);
            failure(&[], reply).base_backoff_ms()
        };
        assert_eq!(with(bson::RawBson::Int32(250)), Some(250));
        assert_eq!(with(bson::RawBson::Int64(40)), Some(40));
        assert_eq!(with(bson::RawBson::Double(12.9)), Some(12));
        assert_eq!(with(bson::RawBson::Int32(0)), None);
        assert_eq!(with(bson::RawBson::Int32(-5)), None);
        assert_eq!(with(bson::RawBson::Double(f64::NAN)), None);
        assert_eq!(with(bson::RawBson::String("9".into())), None);
        assert_eq!(Error::connection("x").base_backoff_ms(), None);
    }
}
