//! The connection layer of a MongoDB client.
//!
//! `mongopool` owns connections to a MongoDB server (or a mongos router): it opens them
//! with the hello handshake and keeps what the server said, logs them in, runs commands
//! and writes over every generation of the wire protocol, and hands them out through an
//! async pool that follows the MongoDB CMAP specification.
//!
//! Made from the URI you have (one host, a replica set, mongos routers or
//! `mongodb+srv://`), a [`Client`] discovers and monitors every server, keeps one pool
//! per server, and selects a server for each operation by read preference:
//!
//! ```no_run
//! use mongopool::bson::rawdoc;
//! use mongopool::{Client, ReadPreference, ReadPreferenceMode};
//!
//! # async fn demo() -> mongopool::Result<()> {
//! let client = Client::connect("mongodb://h1:27017,h2:27017/?replicaSet=rs0").await?;
//! // The URI's readPreference is the default (primary when it names none).
//! let reply = client.run_command("admin", &rawdoc! { "ping": 1 }).await?;
//! assert_eq!(reply.get_f64("ok").ok(), Some(1.0));
//!
//! let nearby = ReadPreference::with_mode(ReadPreferenceMode::SecondaryPreferred);
//! let mut conn = client.checkout(&nearby).await?; // checked back in when dropped
//! let reply = conn.run_command("test", &rawdoc! { "count": "orders" }).await?;
//! println!("{reply:?}");
//! drop(conn);
//! client.close().await; // stops the monitors and closes the pools
//! # Ok(()) }
//! ```
//!
//! Below it, for driver and proxy authors: [`Connection`] (one server connection) and
//! [`MongoPool`] (one CMAP pool to one server, driven by its owner: like every CMAP pool
//! it starts paused until a server monitor marks it ready).
//!
//! The API grew from PyMongo 3.0's `pymongo.pool` (`SocketInfo` and `Pool`). Where these
//! docs say "PyMongo's `name`", they mean that name in PyMongo 3.0 (`pymongo.pool` and
//! the helpers it calls). "Seed" elsewhere means what the SDAM specs mean: a host of
//! the URI that discovery starts from.
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
/// A wire protocol compressor (snappy, zlib, zstd): what `compressors` in a URI names,
/// what [`ConnectionOptions`] offers and what a [`Connection`] negotiated.
pub use mongopool_wire::Compressor;
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
