//! How a proxy is started: where it listens, the server it forwards to, and its limits.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use mongopool::ConnectionString;
use mongopool_wire::Compressor;

use crate::client_auth::ClientUsers;

/// Options for [`Proxy::start`](crate::Proxy::start). Start from
/// [`ProxyOptions::new`] and set fields.
#[derive(Clone)]
#[non_exhaustive]
pub struct ProxyOptions {
    /// Where clients connect. Port 0 picks a free port
    /// ([`ProxyHandle::local_addr`](crate::ProxyHandle::local_addr) tells which).
    pub listen: SocketAddr,
    /// The server behind the proxy, its credentials (the proxy logs in with them; clients
    /// do not), its pool (`maxPoolSize`: how many server connections the proxy opens at
    /// most, `waitQueueTimeoutMS`) and its options (TLS, `compressors`).
    pub uri: ConnectionString,
    /// Client connections open at once; one more is accepted and closed at once.
    /// Defaults to 10,000.
    pub max_client_connections: usize,
    /// Requests that may wait for a server connection or be in flight at once, over all
    /// clients; one more gets an error reply at once instead of queueing without end.
    /// Defaults to 10,000.
    pub max_pending_requests: usize,
    /// How long a request may wait for a server connection, unless the URI sets
    /// `waitQueueTimeoutMS`; then the client gets an error reply (code 89,
    /// `NetworkInterfaceExceededTimeLimit`, retryable). Defaults to 10 seconds.
    pub wait_queue_timeout: Duration,
    /// Transactions pinned to a server connection at once. Each holds a connection
    /// between its commands, so this must stay below the pool size or pinned
    /// transactions starve everything else; `startTransaction` beyond it gets an error
    /// labelled `TransientTransactionError` (drivers retry). Defaults to half of
    /// `maxPoolSize` (at least 1; 50 when the pool has no limit).
    pub max_pinned_transactions: Option<usize>,
    /// A pinned transaction idle for longer is aborted and its connection released.
    /// Defaults to 60 seconds (the server's own `transactionLifetimeLimitSeconds`).
    pub transaction_idle_timeout: Duration,
    /// Open cursors one client connection may own; a cursor-opening command beyond it
    /// gets an error reply. Defaults to 1,000.
    pub max_cursors_per_client: usize,
    /// Compressors offered to clients, in order of preference (a client's hello picks
    /// the first of its own list that is here). Defaults to snappy, zstd, zlib.
    pub compressors: Vec<Compressor>,
    /// Users clients must log in as (SCRAM-SHA-256), e.g. from
    /// [`ClientUsers::parse`] of a `user:password` file. Empty: clients connect without
    /// authentication (a loopback sidecar). Defaults to empty.
    pub client_users: ClientUsers,
}

impl ProxyOptions {
    /// Options with every default, listening on `listen` and forwarding to `uri`.
    pub fn new(listen: SocketAddr, uri: ConnectionString) -> Self {
        ProxyOptions {
            listen,
            uri,
            max_client_connections: 10_000,
            max_pending_requests: 10_000,
            wait_queue_timeout: Duration::from_secs(10),
            max_pinned_transactions: None,
            transaction_idle_timeout: Duration::from_secs(60),
            max_cursors_per_client: 1_000,
            client_users: ClientUsers::default(),
            compressors: vec![
                Compressor::Snappy,
                Compressor::Zstd { level: None },
                Compressor::Zlib { level: None },
            ],
        }
    }

    /// The pinned-transaction limit for a pool of `max_pool_size` (0: unbounded).
    pub(crate) fn pinned_transaction_limit(&self, max_pool_size: u32) -> usize {
        self.max_pinned_transactions.unwrap_or(match max_pool_size {
            0 => 50,
            n => (n as usize / 2).max(1),
        })
    }
}

impl fmt::Debug for ProxyOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URI may hold a password: only its hosts are shown.
        f.debug_struct("ProxyOptions")
            .field("listen", &self.listen)
            .field("hosts", &self.uri.hosts())
            .field("max_client_connections", &self.max_client_connections)
            .field("max_pending_requests", &self.max_pending_requests)
            .field("wait_queue_timeout", &self.wait_queue_timeout)
            .field("max_pinned_transactions", &self.max_pinned_transactions)
            .field("transaction_idle_timeout", &self.transaction_idle_timeout)
            .field("max_cursors_per_client", &self.max_cursors_per_client)
            .field("client_users", &self.client_users)
            .field(
                "compressors",
                &self
                    .compressors
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}
