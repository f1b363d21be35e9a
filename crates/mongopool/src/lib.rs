//! The connection layer of a MongoDB client.
//!
//! `mongopool` owns connections to a MongoDB server (or a mongos router): it opens them
//! with the hello handshake and keeps what the server said, logs them in, runs commands
//! and writes over every generation of the wire protocol, and hands them out through an
//! async pool that follows the MongoDB CMAP specification.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod address;
pub mod error;
pub mod events;
pub mod pool;

pub use address::ServerAddress;
pub use error::{Error, ErrorKind, Result};
pub use events::{CmapEvent, CmapEventHandler};
pub use pool::{
    ConnectContext, Connector, InterruptSignal, Pool, PoolOptions, PoolStats, Poolable,
    PooledConnection,
};
