//! `mongopool proxy`: many application connections over a few server connections.
//!
//! Applications (any MongoDB driver) connect to the proxy as to a mongos router; the
//! proxy forwards each request on a connection checked out for that request only, so
//! thousands of client connections share a few server connections (`maxPoolSize` of
//! the proxy's URI, per server). Behind it is a [`mongopool::Client`]: the URI may name
//! a standalone, a replica set or mongos routers; the topology discovers and monitors
//! them and selects a server per request.
//!
//! ```no_run
//! use mongopool_proxy::{Proxy, ProxyOptions};
//!
//! # async fn demo() -> mongopool::Result<()> {
//! let uri = mongopool::ConnectionString::parse("mongodb://proxyuser:pw@db:27017/?maxPoolSize=10")?;
//! let proxy = Proxy::start(ProxyOptions::new("127.0.0.1:27018".parse().unwrap(), uri)).await?;
//! println!("clients connect to mongodb://{}", proxy.local_addr());
//! // ...
//! proxy.shutdown(std::time::Duration::from_secs(10)).await;
//! # Ok(()) }
//! ```
//!
//! # What clients see
//! - **A mongos.** The proxy answers `hello` / `isMaster` (OP_MSG and legacy OP_QUERY)
//!   itself with `msg: "isdbgrid"` and the server's limits and wire versions. Drivers
//!   then send their read preference along instead of choosing members, never try to
//!   discover other members, and keep sessions, retryable writes and transactions
//!   (see [`replies`](crate) for the full reasoning in `hello`).
//! - **Compression** as the client asks in its hello (snappy, zstd, zlib); a reply is
//!   compressed when its request was. Server connections compress as the proxy's URI
//!   says (`compressors=`).
//! - **Authentication.** The proxy logs in to the servers with the credentials of its
//!   URI (the pools do, on every connection). By default clients connect without
//!   credentials: a client's `saslStart` / `authenticate` gets `AuthenticationFailed`
//!   (code 18) with a message saying so. With a user list
//!   ([`ProxyOptions::client_users`], `mongopool proxy --users FILE`) clients must log
//!   in with SCRAM-SHA-256 (offered through `saslSupportedMechs`; speculative
//!   authentication is not answered, so drivers run `saslStart`); until they do, every
//!   command but hello and the SASL ones gets `Unauthorized` (13). `logout` is
//!   answered ok (and logs the client out).
//!
//! # Where a request goes
//! - A command with `$readPreference` goes to a server that preference selects
//!   (tags and `maxStalenessSeconds` included); one without goes to the primary, as
//!   a mongos does. A malformed `$readPreference` gets a `BadValue` error.
//! - `getMore` and `killCursors` go to the server that opened the cursor.
//! - Errors of a server connection, and "not primary" / "node is recovering" replies,
//!   are told to the topology (SDAM error handling: the server is marked Unknown and
//!   checked at once).
//! - **Retryable writes** (a `txnNumber` outside a transaction): an error with a
//!   retryable code (10107 NotWritablePrimary, 91, 189, 11600, 11602, 13435, network
//!   errors, and the proxy's own 6 / 89) gets the `RetryableWriteError` label, as a
//!   4.4+ mongos adds it, because a driver talking to a 4.4+ server retries only
//!   labelled errors. The proxy does not retry itself: the driver's one retry comes
//!   back and is sent to the primary the topology knows by then.
//!
//! # State that stays put
//! - **Cursors**: replies that open a cursor are noted (id, namespace, the client
//!   connection that owns it: the last to use it). When a client connection goes away,
//!   the cursors it owns are killed. `max_cursors_per_client` bounds them.
//! - **Transactions** (`autocommit: false` with `lsid` and `txnNumber`) are pinned to
//!   one server connection from `startTransaction` until `commitTransaction` /
//!   `abortTransaction`, keyed by session, so any client connection may carry the next
//!   command. Bounded by `max_pinned_transactions`, aborted after
//!   `transaction_idle_timeout` idle or when their owner disconnects.
//! - **Exhaust and moreToCome**: a request with moreToCome is forwarded and gets no
//!   reply. A `getMore` with `exhaustAllowed` keeps one server connection until the
//!   server's stream ends, and each of its replies reaches the client as it comes
//!   (moreToCome on all but the last, each answering the previous one). On any other
//!   command the flag is taken off (one reply is a valid answer to it).
//! - **Sessions** (`lsid`) pass through untouched.
//!
//! # Backpressure and shutdown
//! `max_client_connections` bounds the clients (one more is closed at once);
//! `max_pending_requests` bounds the requests waiting for a server connection or in
//! flight (one more is answered at once with code 89, which drivers retry), and so does
//! the pool's wait-queue timeout. [`ProxyHandle::shutdown`] drains in-flight requests
//! within a deadline.
//!
//! # Metrics and logs
//! With the `metrics` feature the proxy records client connections, requests by
//! outcome and their latency, rejections by reason, pinned cursors and transactions
//! and cleanups through the `metrics` facade, and installs
//! `mongopool::PoolMetrics` on every server's pool (server connections).
//! Events are logged through `tracing`.
//!
//! # Not supported
//! Legacy opcodes other than OP_QUERY commands (OP_INSERT, OP_GET_MORE, ...): the
//! client is closed, as MongoDB 5.1+ servers do. Clients log in with SCRAM-SHA-256
//! only (no SCRAM-SHA-1, X.509 or PLAIN).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cleanup;
mod client;
mod client_auth;
mod cursors;
mod exhaust;
mod forward;
mod frame_reader;
mod options;
mod replies;
mod request;
mod retryable;
mod server;
mod server_io;
mod shared;
mod stats;
mod telemetry;
mod transactions;

pub use client_auth::ClientUsers;
pub use options::ProxyOptions;
pub use server::{Proxy, ProxyHandle, ShutdownReport};
pub use stats::ProxyStats;
