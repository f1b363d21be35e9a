//! The connection layer of a MongoDB client.
//!
//! `mongopool` owns connections to a MongoDB server (or a mongos router): it opens them
//! with the hello handshake and keeps what the server said, logs them in, runs commands
//! and writes over every generation of the wire protocol, and hands them out through an
//! async pool that follows the MongoDB CMAP specification.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod address;
pub mod client_metadata;
pub mod connection_string;
pub mod credential;
pub mod error;
pub mod read_preference;
pub mod reply_check;

pub use address::ServerAddress;
pub use connection_string::{ConnectionString, UriOptions};
pub use credential::{AuthMechanism, Credential};
pub use error::{Error, ErrorKind, Result};
