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
#![warn(unnameable_types)]

// Modules are private: a public name has one path. The common names are re-exported
// here at the root; the two large groups keep a namespace of their own and are not
// re-exported: `events` (CMAP events) and `topology` (SDAM and server selection).
// `tests/layering.rs` checks both rules.
mod address;
mod auth;
mod auth_policy;
pub mod blocking;
mod checkout_purpose;
mod client;
mod client_metadata;
mod connect;
mod connection;
mod connection_string;
mod credential;
mod error;
pub mod events;
mod handshake;
mod hello_reply;
mod interrupt;
#[cfg(feature = "metrics")]
mod metrics;
mod mongo_pool;
mod option_builder;
mod pool;
mod read_preference;
mod reply_check;
mod spans;
mod stream;
mod time_limit;
mod tls;
pub mod topology;

pub use address::{ServerAddress, DEFAULT_PORT};
/// The `bson` crate mongopool is built on: use it to build commands and read replies
/// without matching its version by hand.
pub use bson;
pub use checkout_purpose::{CheckoutPurpose, InUseByPurpose};
pub use client::{
    Client, ClientConnection, OverloadRetryEvent, OverloadRetryOptions, RetryBudget,
    RetryEventHandler,
};
pub use client_metadata::{
    ClientMetadata, DRIVER_NAME, DRIVER_VERSION, MAX_APP_NAME_BYTES, MAX_METADATA_BYTES,
};
pub use connect::{
    connect, ConnectOptions, ConnectOptionsBuilder, DEFAULT_CONNECT_TIMEOUT, KEEPALIVE_IDLE,
    KEEPALIVE_INTERVAL, KEEPALIVE_RETRIES,
};
pub use connection::{
    next_request_id, Broken, CommandOptions, CommandOptionsBuilder, Connection, ConnectionOptions,
    ConnectionOptionsBuilder,
};
#[cfg(feature = "dns-srv")]
pub use connection_string::SrvResolver;
pub use connection_string::{
    check_srv_target, srv_query_name, Acknowledgment, ConnectionString, ServerMonitoringMode,
    Socks5Proxy, SrvLookup, UriOptions, UriWarning, DEFAULT_PROXY_PORT, DEFAULT_SRV_SERVICE_NAME,
};
pub use credential::{
    AuthMechanism, Credential, ADMIN_SOURCE, DEFAULT_GSSAPI_SERVICE_NAME, EXTERNAL_SOURCE,
};
pub use error::{
    Error, ErrorKind, OperationFailure, Result, WriteConcernError, WriteError, WriteFailure,
    DUPLICATE_KEY_CODES, NODE_RECOVERING_CODES, NOT_PRIMARY_CODES, RETRYABLE_ERROR_LABEL,
    SYSTEM_OVERLOADED_ERROR_LABEL,
};
pub use hello_reply::HelloReply;
pub use interrupt::InterruptSignal;
#[cfg(feature = "metrics")]
pub use metrics::{PoolMetrics, TopologyMetrics};
pub use mongo_pool::{MongoConnector, MongoPool};
/// A wire protocol compressor (snappy, zlib, zstd): what `compressors` in a URI names,
/// what [`ConnectionOptions`] offers and what a [`Connection`] negotiated.
pub use mongopool_wire::Compressor;
pub use pool::{
    CheckoutFailureCounts, ClosedCounts, ConnectContext, Connector, Pool, PoolOptions,
    PoolOptionsBuilder, PoolStats, Poolable, PooledConnection,
};
pub use read_preference::{ReadPreference, ReadPreferenceMode};
pub use reply_check::{
    check_command_reply, check_gle_reply, check_write_reply, is_not_primary, reply_ok,
    AllowableError, LegacyWriteResult,
};
pub use stream::{with_socket_timeout, Liveness, Stream};
pub use tls::{TlsConfig, TlsOptions, TlsOptionsBuilder};
