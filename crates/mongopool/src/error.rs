//! The one public error type: a kind, an optional source, and predicates.
//!
//! The kinds mirror PyMongo's taxonomy (ConnectionFailure, NetworkTimeout,
//! OperationFailure, WriteError, ...). Callers decide with predicates such as
//! [`Error::is_network`] instead of matching strings. `Error` is cheap to clone: io
//! errors are kept behind an `Arc`.

use std::fmt;
use std::sync::Arc;

use bson::RawDocumentBuf;
use mongopool_wire::WireError;

mod labels;

pub use labels::{RETRYABLE_ERROR_LABEL, SYSTEM_OVERLOADED_ERROR_LABEL};

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Server error codes that mean "this node is not (or no longer) a writable primary".
pub const NOT_PRIMARY_CODES: &[i32] = &[10107, 13435, 10058];
/// Server error codes that mean "this node is recovering or shutting down".
pub const NODE_RECOVERING_CODES: &[i32] = &[11600, 11602, 13436, 189, 91];
/// Server error codes that mean "duplicate key".
pub const DUPLICATE_KEY_CODES: &[i32] = &[11000, 11001, 12582];

/// Everything that can go wrong, with what the caller needs to act on it.
#[derive(Clone)]
pub struct Error {
    kind: Box<ErrorKind>,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
    // Labels the client added to an error whose kind has no label list of its own
    // (the pool's backpressure labels on a network error while connecting).
    added_labels: Vec<String>,
}

/// The `cause` of the [`ErrorKind::PoolCleared`] error of a pool that was never marked
/// ready: it is paused, not cleared, and its message says so.
pub(crate) const POOL_NEVER_READIED: &str = "paused; it was never marked ready (a Client \
    readies each server's pool after the server's first successful check; a bare Pool \
    needs Pool::ready)";

/// The kinds of [`Error`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The connection could not be opened, or broke (reset, closed, unreachable host).
    /// The connection it happened on is closed and is never reused.
    ConnectionFailure {
        /// What was being done, and with whom.
        message: String,
    },
    /// A connect, read or write did not finish within its timeout.
    NetworkTimeout {
        /// What was being done, and with whom.
        message: String,
    },
    /// The server answered a command with `ok: 0`.
    OperationFailure(OperationFailure),
    /// The server answered with a not-primary or node-is-recovering code (see
    /// [`NOT_PRIMARY_CODES`], [`NODE_RECOVERING_CODES`]).
    NotPrimary(OperationFailure),
    /// A write reported one or more write errors and/or a write concern error.
    WriteFailure(WriteFailure),
    /// A write failed on a unique index (codes 11000, 11001, 12582).
    DuplicateKey(WriteFailure),
    /// A document, or a message, is larger than the server accepts.
    DocumentTooLarge {
        /// Size in bytes.
        size: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// Logging in failed.
    Authentication {
        /// The mechanism that was used (e.g. `SCRAM-SHA-256`).
        mechanism: String,
        /// The server's error code, when the server said no.
        code: Option<i32>,
        /// The reason; never contains a password.
        message: String,
    },
    /// A checkout waited longer than the wait queue timeout.
    WaitQueueTimeout {
        /// The server the pool is for.
        address: String,
        /// How long the checkout waited, in milliseconds.
        waited_ms: u64,
        /// In a load-balanced pool, the connections in use by purpose (cursors,
        /// transactions, other operations), as the load balancer spec asks.
        in_use: Option<crate::checkout_purpose::InUseByPurpose>,
    },
    /// The pool was cleared while this checkout waited or this connection was in use.
    PoolCleared {
        /// The server the pool is for.
        address: String,
        /// Why it was cleared, when known.
        cause: Option<String>,
    },
    /// The pool is closed.
    PoolClosed {
        /// The server the pool is for.
        address: String,
    },
    /// A checkout would have had to wait, and as many checkouts as
    /// [`PoolOptions::max_waiters`](crate::pool::PoolOptions::max_waiters) allows were
    /// waiting already: it failed at once instead of queueing (PyMongo's
    /// `ExceededMaxWaiters`). The counts are the pool's at that instant.
    ExceededMaxWaiters {
        /// The server the pool is for.
        address: String,
        /// The bound ([`PoolOptions::max_waiters`](crate::pool::PoolOptions::max_waiters)).
        max_waiters: u32,
        /// Checkouts that were waiting.
        waiters: u32,
        /// The pool's `max_pool_size` (0: unbounded).
        max_pool_size: u32,
        /// Connections checked out.
        in_use: u32,
        /// Connections being established.
        pending: u32,
    },
    /// Options, a URI or a credential are invalid, or ask for something not supported.
    Configuration {
        /// What is wrong.
        message: String,
    },
    /// The peer sent bytes that break the wire protocol (garbage, a wrong responseTo,
    /// an absurd length, a bad checksum). The connection is closed.
    Protocol {
        /// What was wrong.
        message: String,
    },
    /// No server matched the selection criteria before `serverSelectionTimeoutMS` ran
    /// out, or the topology cannot be used (incompatible wire versions). The message
    /// lists every known server with its type, round trip time and last error.
    ServerSelection {
        /// What was asked for, and what the topology looked like.
        message: String,
    },
    /// The operation is not possible on this connection or server (e.g. a legacy write
    /// to a server that no longer accepts legacy opcodes).
    Unsupported {
        /// What was refused and why.
        message: String,
    },
}

/// An `ok: 0` reply to a command.
#[derive(Debug, Clone)]
pub struct OperationFailure {
    /// The server's error code (0 when the server gave none).
    pub code: i32,
    /// The server's code name, when given.
    pub code_name: Option<String>,
    /// The server's error message.
    pub message: String,
    /// The error labels the server attached (`errorLabels`).
    pub labels: Vec<String>,
    /// The whole reply.
    pub reply: RawDocumentBuf,
}

/// One entry of a write's `writeErrors`.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteError {
    /// Index of the failed operation in the batch.
    pub index: usize,
    /// The server's error code.
    pub code: i32,
    /// The server's error message.
    pub message: String,
}

/// A write's `writeConcernError`.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteConcernError {
    /// The server's error code (64 for a write concern timeout).
    pub code: i32,
    /// The server's code name, when given.
    pub code_name: Option<String>,
    /// The server's error message.
    pub message: String,
}

/// What a failed write reported.
#[derive(Debug, Clone)]
pub struct WriteFailure {
    /// The per-operation errors.
    pub write_errors: Vec<WriteError>,
    /// The write concern error, if any.
    pub write_concern_error: Option<WriteConcernError>,
    /// The error labels the server attached.
    pub labels: Vec<String>,
    /// The whole reply.
    pub reply: RawDocumentBuf,
}

impl Error {
    /// An error of this kind with no source.
    pub fn new(kind: ErrorKind) -> Self {
        Error {
            kind: Box::new(kind),
            source: None,
            added_labels: Vec::new(),
        }
    }

    /// An error of this kind caused by `source`.
    pub fn with_source(
        kind: ErrorKind,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error {
            kind: Box::new(kind),
            source: Some(Arc::new(source)),
            added_labels: Vec::new(),
        }
    }

    /// A connection failure.
    pub fn connection(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::ConnectionFailure {
            message: message.into(),
        })
    }

    /// A network timeout.
    pub fn timeout(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::NetworkTimeout {
            message: message.into(),
        })
    }

    /// A configuration error.
    pub fn configuration(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Configuration {
            message: message.into(),
        })
    }

    /// A protocol violation.
    pub fn protocol(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Protocol {
            message: message.into(),
        })
    }

    /// An io error that happened while doing `what`: a timeout kind becomes
    /// [`ErrorKind::NetworkTimeout`], everything else [`ErrorKind::ConnectionFailure`].
    pub fn io(what: impl Into<String>, err: std::io::Error) -> Self {
        let message = what.into();
        let kind = if err.kind() == std::io::ErrorKind::TimedOut {
            ErrorKind::NetworkTimeout { message }
        } else {
            ErrorKind::ConnectionFailure { message }
        };
        Error::with_source(kind, err)
    }

    /// What kind of error this is.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The server's error code, for operation, not-primary, write and auth failures.
    pub fn code(&self) -> Option<i32> {
        match &*self.kind {
            ErrorKind::OperationFailure(f) | ErrorKind::NotPrimary(f) => Some(f.code),
            ErrorKind::WriteFailure(w) | ErrorKind::DuplicateKey(w) => w
                .write_errors
                .first()
                .map(|e| e.code)
                .or(w.write_concern_error.as_ref().map(|e| e.code)),
            ErrorKind::Authentication { code, .. } => *code,
            _ => None,
        }
    }

    /// Error labels attached by the server (e.g. `RetryableWriteError`), or by the
    /// client ([`Error::add_label`]).
    pub fn labels(&self) -> &[String] {
        match &*self.kind {
            ErrorKind::OperationFailure(f) | ErrorKind::NotPrimary(f) => &f.labels,
            ErrorKind::WriteFailure(w) | ErrorKind::DuplicateKey(w) => &w.labels,
            _ => &self.added_labels,
        }
    }

    /// Whether the server (or the client) attached this error label.
    pub fn has_label(&self, label: &str) -> bool {
        self.labels().iter().any(|l| l == label)
    }

    /// A connection failure or a network timeout: the connection is gone.
    pub fn is_network(&self) -> bool {
        matches!(
            &*self.kind,
            ErrorKind::ConnectionFailure { .. } | ErrorKind::NetworkTimeout { .. }
        )
    }

    /// A network timeout (connect, read or write).
    pub fn is_timeout(&self) -> bool {
        matches!(&*self.kind, ErrorKind::NetworkTimeout { .. })
    }

    /// The server said `ok: 0` (including not-primary answers).
    pub fn is_operation_failure(&self) -> bool {
        matches!(
            &*self.kind,
            ErrorKind::OperationFailure(_) | ErrorKind::NotPrimary(_)
        )
    }

    /// A not-primary or node-is-recovering answer.
    pub fn is_not_primary(&self) -> bool {
        matches!(&*self.kind, ErrorKind::NotPrimary(_))
    }

    /// A write error or write concern error (including duplicate key).
    pub fn is_write_failure(&self) -> bool {
        matches!(
            &*self.kind,
            ErrorKind::WriteFailure(_) | ErrorKind::DuplicateKey(_)
        )
    }

    /// A duplicate key error.
    pub fn is_duplicate_key(&self) -> bool {
        matches!(&*self.kind, ErrorKind::DuplicateKey(_))
    }

    /// A document or message too large for the server.
    pub fn is_document_too_large(&self) -> bool {
        matches!(&*self.kind, ErrorKind::DocumentTooLarge { .. })
    }

    /// Logging in failed.
    pub fn is_authentication(&self) -> bool {
        matches!(&*self.kind, ErrorKind::Authentication { .. })
    }

    /// A checkout timed out in the wait queue.
    pub fn is_wait_queue_timeout(&self) -> bool {
        matches!(&*self.kind, ErrorKind::WaitQueueTimeout { .. })
    }

    /// The pool was cleared.
    pub fn is_pool_cleared(&self) -> bool {
        matches!(&*self.kind, ErrorKind::PoolCleared { .. })
    }

    /// The pool is closed.
    pub fn is_pool_closed(&self) -> bool {
        matches!(&*self.kind, ErrorKind::PoolClosed { .. })
    }

    /// A checkout was refused at once because the wait queue was full
    /// ([`ErrorKind::ExceededMaxWaiters`]): the pool is overloaded, and retrying at once
    /// only adds to the load.
    pub fn is_exceeded_max_waiters(&self) -> bool {
        matches!(&*self.kind, ErrorKind::ExceededMaxWaiters { .. })
    }

    /// Bad options, URI or credential.
    pub fn is_configuration(&self) -> bool {
        matches!(&*self.kind, ErrorKind::Configuration { .. })
    }

    /// The peer broke the wire protocol.
    pub fn is_protocol(&self) -> bool {
        matches!(&*self.kind, ErrorKind::Protocol { .. })
    }

    /// Server selection failed (nothing suitable in time, or an incompatible topology).
    pub fn is_server_selection(&self) -> bool {
        matches!(&*self.kind, ErrorKind::ServerSelection { .. })
    }

    /// After this error, the connection it happened on must not be reused.
    pub fn closes_connection(&self) -> bool {
        self.is_network() || self.is_protocol()
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind);
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        if !self.added_labels.is_empty() {
            d.field("labels", &self.added_labels);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.kind {
            ErrorKind::ConnectionFailure { message } => write!(f, "connection failure: {message}"),
            ErrorKind::NetworkTimeout { message } => write!(f, "network timeout: {message}"),
            ErrorKind::OperationFailure(e) => write!(f, "command failed: {e}"),
            ErrorKind::NotPrimary(e) => write!(f, "not primary: {e}"),
            ErrorKind::WriteFailure(w) => write!(f, "write failed: {w}"),
            ErrorKind::DuplicateKey(w) => write!(f, "duplicate key: {w}"),
            ErrorKind::DocumentTooLarge { size, max } => write!(
                f,
                "document of {size} bytes is larger than the server's maximum of {max} bytes"
            ),
            ErrorKind::Authentication {
                mechanism,
                code,
                message,
            } => match code {
                Some(code) => write!(f, "{mechanism} authentication failed ({code}): {message}"),
                None => write!(f, "{mechanism} authentication failed: {message}"),
            },
            ErrorKind::WaitQueueTimeout {
                address,
                waited_ms,
                in_use: None,
            } => write!(
                f,
                "timed out after {waited_ms} ms waiting for a connection to {address}"
            ),
            ErrorKind::WaitQueueTimeout {
                address,
                waited_ms,
                in_use: Some(in_use),
            } => write!(
                f,
                "Timeout waiting for connection from the connection pool. {in_use} \
                 (waited {waited_ms} ms for a connection to {address})"
            ),
            ErrorKind::PoolCleared { address, cause } => match cause {
                Some(cause) if cause == POOL_NEVER_READIED => {
                    write!(f, "connection pool for {address} is {cause}")
                }
                Some(cause) => write!(f, "connection pool for {address} was cleared: {cause}"),
                None => write!(f, "connection pool for {address} was cleared"),
            },
            ErrorKind::PoolClosed { address } => {
                write!(f, "connection pool for {address} is closed")
            }
            ErrorKind::ExceededMaxWaiters {
                address,
                max_waiters,
                waiters,
                max_pool_size,
                in_use,
                pending,
            } => write!(
                f,
                "the wait queue of the connection pool for {address} is full: {waiters} \
                 checkouts waiting (at most {max_waiters}), {in_use} connections in use and \
                 {pending} being established (maxPoolSize {max_pool_size})"
            ),
            ErrorKind::Configuration { message } => write!(f, "invalid configuration: {message}"),
            ErrorKind::Protocol { message } => write!(f, "protocol violation: {message}"),
            ErrorKind::Unsupported { message } => write!(f, "not supported: {message}"),
            ErrorKind::ServerSelection { message } => {
                write!(f, "server selection failed: {message}")
            }
        }
    }
}

impl fmt::Display for OperationFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code_name {
            Some(name) => write!(f, "{} ({} {})", self.message, self.code, name),
            None => write!(f, "{} ({})", self.message, self.code),
        }
    }
}

impl fmt::Display for WriteFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for e in &self.write_errors {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            write!(f, "at index {}: {} ({})", e.index, e.message, e.code)?;
        }
        if let Some(wc) = &self.write_concern_error {
            if !first {
                f.write_str("; ")?;
            }
            write!(f, "write concern: {} ({})", wc.message, wc.code)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<WireError> for Error {
    fn from(err: WireError) -> Self {
        match err {
            WireError::DocumentTooLarge { size, max } => {
                Error::new(ErrorKind::DocumentTooLarge { size, max })
            }
            WireError::InvalidArgument(message) => Error::new(ErrorKind::Configuration { message }),
            WireError::Authentication(message) => Error::new(ErrorKind::Authentication {
                mechanism: "SCRAM".into(),
                code: None,
                message,
            }),
            other => Error::with_source(
                ErrorKind::Protocol {
                    message: "the peer sent an invalid message".into(),
                },
                other,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_timeout_is_a_network_timeout() {
        let e = Error::io(
            "reading from localhost:1",
            std::io::Error::new(std::io::ErrorKind::TimedOut, "t"),
        );
        assert!(e.is_timeout());
        assert!(e.is_network());
        assert!(e.closes_connection());
        let e = Error::io(
            "reading from localhost:1",
            std::io::Error::new(std::io::ErrorKind::ConnectionReset, "r"),
        );
        assert!(!e.is_timeout());
        assert!(e.is_network());
    }

    #[test]
    fn display_does_not_repeat_the_source() {
        let e = Error::io(
            "connecting to localhost:1",
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused-xyz"),
        );
        assert!(!e.to_string().contains("refused-xyz"));
        assert!(std::error::Error::source(&e)
            .unwrap()
            .to_string()
            .contains("refused-xyz"));
    }

    #[test]
    fn wire_errors_map_to_kinds() {
        let e: Error = WireError::DocumentTooLarge { size: 10, max: 5 }.into();
        assert!(e.is_document_too_large());
        let e: Error = WireError::UnknownOpCode(7).into();
        assert!(e.is_protocol());
        assert!(e.closes_connection());
    }

    #[test]
    fn error_is_send_sync_and_clone() {
        fn assert_traits<T: Send + Sync + Clone + 'static>() {}
        assert_traits::<Error>();
    }
}
