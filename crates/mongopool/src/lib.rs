//! The connection layer of a MongoDB client.
//!
//! `mongopool` owns connections to a MongoDB server (or a mongos router): it opens them
//! with the hello handshake and keeps what the server said, logs them in, runs commands
//! and writes over every generation of the wire protocol, and hands them out through an
//! async pool that follows the MongoDB CMAP specification.
//!
//! ```no_run
//! use mongopool::{CommandOptions, ConnectionString, MongoPool};
//!
//! # async fn demo() -> mongopool::Result<()> {
//! let uri = ConnectionString::parse("mongodb://localhost:27017/?maxPoolSize=8&compressors=zstd")?;
//! let pool = MongoPool::from_connection_string(&uri)?;
//! pool.ready(); // pools start paused; a server monitor readies them
//! let mut conn = pool.checkout().await?; // checked back in when dropped
//! let reply = conn
//!     .command("admin", &bson::rawdoc! { "ping": 1 }, &CommandOptions::default())
//!     .await?;
//! assert_eq!(reply.get_f64("ok").ok(), Some(1.0));
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod address;
pub mod auth;
mod auth_policy;
mod checkout_purpose;
pub mod client;
pub mod client_metadata;
pub mod connect;
pub mod connection;
pub mod connection_string;
pub mod credential;
pub mod error;
pub mod events;
mod handshake;
pub mod hello_reply;
mod interrupt;
#[cfg(feature = "metrics")]
pub mod metrics;
pub mod mongo_pool;
pub mod pool;
pub mod read_preference;
pub mod reply_check;
pub mod stream;
mod time_limit;
pub mod tls;
pub mod topology;

pub use address::ServerAddress;
/// The `bson` crate mongopool is built on: use it to build commands and read replies
/// without matching its version by hand.
pub use bson;
pub use checkout_purpose::{CheckoutPurpose, InUseByPurpose};
pub use client::{Client, ClientConnection};
pub use connect::{connect, ConnectOptions};
pub use connection::{CommandOptions, Connection, ConnectionOptions};
pub use connection_string::{ConnectionString, UriOptions};
pub use credential::{AuthMechanism, Credential};
pub use error::{Error, ErrorKind, Result};
pub use events::{CmapEvent, CmapEventHandler};
pub use hello_reply::HelloReply;
pub use interrupt::InterruptSignal;
pub use mongo_pool::{MongoConnector, MongoPool};
pub use pool::{
    ConnectContext, Connector, Pool, PoolOptions, PoolStats, Poolable, PooledConnection,
};
pub use read_preference::{ReadPreference, ReadPreferenceMode};
pub use stream::{with_socket_timeout, Liveness, Stream};
pub use tls::{TlsConfig, TlsOptions};
pub use topology::{
    SdamEvent, SdamEventHandler, SelectionCriteria, ServerDescription, ServerType,
    TopologyDescription, TopologySettings, TopologyType,
};
