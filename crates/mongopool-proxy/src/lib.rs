//! `mongopool proxy`: many application connections over a few server connections.
//!
//! Applications (any MongoDB driver) connect to the proxy as to a mongos router; the
//! proxy forwards each request on a connection checked out from a [`mongopool`] pool
//! for that request only, so thousands of client connections share the pool's few
//! server connections (`maxPoolSize` of the proxy's URI). This version forwards to one
//! server: the first host of the URI.
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
//! - **No authentication.** The proxy logs in to the server with the credentials of
//!   its URI (the pool does, on every connection). Clients connect without credentials;
//!   a client's `saslStart` / `authenticate` gets `AuthenticationFailed` (code 18)
//!   with a message saying so. `logout` is answered ok and does nothing.
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
//!   reply. `exhaustAllowed` is taken off before forwarding, so the server answers each
//!   `getMore` once (a valid answer to `exhaustAllowed`): no exhaust stream ever ties a
//!   server connection to one client.
//! - **Sessions** (`lsid`) pass through untouched.
//!
//! # Backpressure and shutdown
//! `max_client_connections` bounds the clients (one more is closed at once);
//! `max_pending_requests` bounds the requests waiting for a server connection or in
//! flight (one more is answered at once with code 89, which drivers retry), and so does
//! the pool's wait-queue timeout. [`ProxyHandle::shutdown`] drains in-flight requests
//! within a deadline.
//!
//! # Not supported
//! Legacy opcodes other than OP_QUERY commands (OP_INSERT, OP_GET_MORE, ...): the
//! client is closed, as MongoDB 5.1+ servers do. Clients do not log in (no user list).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cleanup;
mod client;
mod cursors;
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

pub use options::ProxyOptions;
pub use server::{Proxy, ProxyHandle, ShutdownReport};
pub use stats::ProxyStats;
