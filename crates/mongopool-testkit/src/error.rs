//! The one error type of the testkit.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use bson::Document;

/// Result alias used throughout the testkit.
pub type Result<T> = std::result::Result<T, Error>;

/// Why a test server could not be started, stopped or talked to.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// No `secantusd-rs` binary was found.
    BinaryNotFound {
        /// Where it was looked for.
        tried: Vec<PathBuf>,
    },
    /// `MONGOPOOL_SECANTUSD` names a path that does not exist.
    BinaryFromEnvMissing {
        /// The value of the environment variable.
        path: PathBuf,
    },
    /// The builder's options contradict each other.
    InvalidOptions(String),
    /// An I/O operation failed.
    Io {
        /// What the testkit was doing.
        context: String,
        /// The underlying error.
        source: io::Error,
    },
    /// The server did not report a port and accept a connection before the deadline.
    StartTimeout {
        /// How long the testkit waited.
        waited: Duration,
        /// The end of the server's log.
        log_tail: String,
    },
    /// The server process exited while starting.
    Exited {
        /// Its exit status.
        status: ExitStatus,
        /// The end of the server's log (its error message is there).
        log_tail: String,
    },
    /// The server came back on a different port than asked for.
    WrongPort {
        /// The port asked for.
        expected: u16,
        /// The port the server reported.
        reported: u16,
    },
    /// The operation needs a running server and this one is stopped.
    NotRunning,
    /// A reply to a testkit command could not be understood.
    Protocol(String),
    /// The server answered a testkit command with `ok: 0`.
    CommandFailed {
        /// The whole reply document.
        reply: Document,
    },
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Whether the server exited because its port was taken (a restart can retry).
    pub fn is_address_in_use(&self) -> bool {
        matches!(self, Error::Exited { log_tail, .. } if log_tail.contains("Address already in use"))
    }

    /// The server error code of a failed command (`code` in the reply), if any.
    pub fn command_code(&self) -> Option<i32> {
        match self {
            Error::CommandFailed { reply } => match reply.get("code") {
                Some(bson::Bson::Int32(code)) => Some(*code),
                Some(bson::Bson::Int64(code)) => i32::try_from(*code).ok(),
                Some(bson::Bson::Double(code)) => Some(*code as i32),
                _ => None,
            },
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BinaryNotFound { tried } => {
                write!(f, "secantusd-rs not found (looked at ")?;
                for (i, path) in tried.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{}", path.display())?;
                }
                write!(
                    f,
                    "); run scripts/install-test-server, or set {} to the binary's path",
                    crate::SECANTUSD_ENV
                )
            }
            Error::BinaryFromEnvMissing { path } => write!(
                f,
                "{} is set to {}, which does not exist; run scripts/install-test-server \
                 and point it at the path it prints",
                crate::SECANTUSD_ENV,
                path.display()
            ),
            Error::InvalidOptions(message) => write!(f, "invalid test server options: {message}"),
            Error::Io { context, .. } => write!(f, "{context}"),
            Error::StartTimeout { waited, log_tail } => write!(
                f,
                "secantusd-rs did not start listening within {waited:?}; server log ends with:\n{log_tail}"
            ),
            Error::Exited { status, log_tail } => write!(
                f,
                "secantusd-rs exited while starting ({status}); server log ends with:\n{log_tail}"
            ),
            Error::WrongPort { expected, reported } => write!(
                f,
                "secantusd-rs was asked for port {expected} but reported port {reported}"
            ),
            Error::NotRunning => write!(f, "the test server is stopped"),
            Error::Protocol(message) => write!(f, "unexpected reply from the test server: {message}"),
            Error::CommandFailed { reply } => write!(f, "the test server answered ok: 0: {reply}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
