//! Sans-IO MongoDB wire protocol.
//!
//! Bytes in, bytes out: every message a MongoDB client sends or receives, encoded into
//! a caller-owned buffer and decoded from borrowed bytes, with no sockets and no
//! runtime. Decoding never panics on any input; lengths are checked before anything is
//! allocated. The async crate `mongopool` drives this one.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod mongodb_cr;
pub mod plain;
pub mod saslprep;
pub mod scram;

pub use error::{Result, WireError};
