//! Starting and stopping a proxy: the listener, the accept loop, the client tasks
//! and the graceful shutdown.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mongopool::{
    CheckoutPurpose, Client, Error, PoolStats, ReadPreference, ReadPreferenceMode, Result,
    ServerAddress,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::cleanup;
use crate::client;
use crate::cursors::CursorRegistry;
use crate::options::ProxyOptions;
use crate::replies::ServerFacts;
use crate::server_io::{checkout, Target};
use crate::shared::Shared;
use crate::stats::{bump, Counters, ProxyStats};
use crate::telemetry::{self, Rejection};
use crate::transactions::TransactionPins;

/// The entry point: [`Proxy::start`].
#[derive(Debug)]
pub struct Proxy;

/// A running proxy. [`ProxyHandle::shutdown`] stops it gracefully; dropping the handle
/// stops it at once (in-flight requests are abandoned).
#[derive(Debug)]
pub struct ProxyHandle {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<Option<Instant>>,
    accept_task: Option<tokio::task::JoinHandle<ShutdownReport>>,
}

/// How a shutdown went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Client connections that finished their request (and their cleanup) in time.
    pub drained: usize,
    /// Client connections still busy at the deadline: their requests were abandoned.
    pub abandoned: usize,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("hosts", &self.client.topology().settings().seeds)
            .finish_non_exhaustive()
    }
}

impl Proxy {
    /// Starts a proxy: resolves the URI (`mongodb+srv://` too), opens the pool to its
    /// first host, checks that one connection opens and logs in (so a wrong URI or
    /// password fails here, not in every client's request), binds `listen`, and
    /// accepts clients on the current tokio runtime.
    pub async fn start(options: ProxyOptions) -> Result<ProxyHandle> {
        let uri = options.uri.clone();
        let wait_queue_timeout = uri
            .options()
            .wait_queue_timeout
            .unwrap_or(options.wait_queue_timeout);
        // The pool's own default: 100.
        let max_pool_size = uri.options().max_pool_size.unwrap_or(100);
        #[allow(unused_mut)]
        let mut topology_options = mongopool::topology::TopologyOptions::default();
        #[cfg(feature = "metrics")]
        {
            topology_options.pool_event_handler =
                Some(std::sync::Arc::new(mongopool::PoolMetrics::new()));
        }
        let client = Client::with_options(uri, topology_options).await?;
        // Any server will do for the limits clients are told: a set's members share them.
        let facts = {
            let nearest = Target::Read(ReadPreference::with_mode(ReadPreferenceMode::Nearest));
            let conn = checkout(
                &client,
                &nearest,
                CheckoutPurpose::Operation,
                wait_queue_timeout,
            )
            .await
            .map_err(|e| Error::connection(e.message))?;
            ServerFacts::from_hello(conn.hello())
        };
        let listener = TcpListener::bind(options.listen)
            .await
            .map_err(|e| Error::io(format!("binding {}", options.listen), e))?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| Error::io("reading the listening address", e))?;
        let shared = Arc::new(Shared {
            client,
            wait_queue_timeout,
            facts,
            compressors: options.compressors.clone(),
            users: options.client_users.clone(),
            max_cursors_per_client: options.max_cursors_per_client,
            transaction_idle_timeout: options.transaction_idle_timeout,
            pending: Semaphore::new(options.max_pending_requests),
            max_pending: options.max_pending_requests,
            cursors: Mutex::new(CursorRegistry::default()),
            transactions: Mutex::new(TransactionPins::new(
                options.pinned_transaction_limit(max_pool_size),
            )),
            counters: Counters::default(),
        });
        let (shutdown, shutdown_rx) = watch::channel(None);
        tokio::spawn(cleanup::reap_idle_transactions(
            shared.clone(),
            shutdown_rx.clone(),
        ));
        let accept_task = tokio::spawn(accept_loop(
            listener,
            shared.clone(),
            options.max_client_connections,
            shutdown_rx,
        ));
        info!(%local_addr, "mongopool proxy listening");
        Ok(ProxyHandle {
            local_addr,
            shared,
            shutdown,
            accept_task: Some(accept_task),
        })
    }
}

impl ProxyHandle {
    /// The address clients connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A snapshot of the proxy's counters.
    pub fn stats(&self) -> ProxyStats {
        self.shared.stats()
    }

    /// The deployment behind the proxy: its topology (servers, their pools and stats).
    pub fn client(&self) -> &Client {
        &self.shared.client
    }

    /// The pool stats of every server the proxy knows now, in the topology's order.
    pub fn pool_stats(&self) -> Vec<(ServerAddress, PoolStats)> {
        let topology = self.shared.client.topology();
        topology
            .description()
            .servers()
            .filter_map(|s| {
                let pool = topology.pool(&s.address)?;
                Some((s.address.clone(), pool.stats()))
            })
            .collect()
    }

    /// Stops the proxy: no new clients; clients waiting for their next request are
    /// closed (their cursors killed, their transactions aborted); requests in flight
    /// get their replies. Whatever is still running after `deadline` is abandoned.
    /// Then the client (its monitors and pools) closes.
    pub async fn shutdown(mut self, deadline: Duration) -> ShutdownReport {
        let report = match self.accept_task.take() {
            Some(task) => {
                self.shutdown.send_replace(Some(Instant::now() + deadline));
                task.await.unwrap_or(ShutdownReport {
                    drained: 0,
                    abandoned: 0,
                })
            }
            None => ShutdownReport {
                drained: 0,
                abandoned: 0,
            },
        };
        self.shared.client.close().await;
        info!(?report, "mongopool proxy stopped");
        report
    }
}

impl Drop for ProxyHandle {
    fn drop(&mut self) {
        if self.accept_task.is_some() {
            // Not shut down gracefully: stop now.
            self.shutdown.send_replace(Some(Instant::now()));
            // The topology closes its pools when its last handle goes.
            let topology = self.shared.client.topology();
            for server in topology.description().servers() {
                if let Some(pool) = topology.pool(&server.address) {
                    pool.close();
                }
            }
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    max_clients: usize,
    mut shutdown: watch::Receiver<Option<Instant>>,
) -> ShutdownReport {
    let slots = Arc::new(Semaphore::new(max_clients));
    let mut clients = JoinSet::new();
    let mut next_id: u64 = 0;
    let for_clients = shutdown.clone();
    loop {
        tokio::select! {
            biased;
            _ = crate::shared::stopping(&mut shutdown) => break,
            Some(_) = clients.join_next(), if !clients.is_empty() => {}
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: wait a moment rather
                        // than spin.
                        warn!(error = %e, "accepting a client failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                next_id += 1;
                admit(&shared, &slots, &mut clients, stream, peer, next_id, &for_clients);
            }
        }
    }
    let deadline = {
        let set = *shutdown.borrow();
        set.unwrap_or_else(Instant::now)
    };
    drop(listener);
    let busy = clients.len();
    let drained = tokio::time::timeout_at(deadline, async {
        while clients.join_next().await.is_some() {}
    })
    .await;
    let abandoned = if drained.is_ok() { 0 } else { clients.len() };
    clients.shutdown().await;
    ShutdownReport {
        drained: busy - abandoned,
        abandoned,
    }
}

fn admit(
    shared: &Arc<Shared>,
    slots: &Arc<Semaphore>,
    clients: &mut JoinSet<()>,
    stream: TcpStream,
    peer: SocketAddr,
    id: u64,
    shutdown: &watch::Receiver<Option<Instant>>,
) {
    let Ok(slot) = slots.clone().try_acquire_owned() else {
        bump(&shared.counters.clients_refused);
        telemetry::rejected(Rejection::ClientConnections);
        warn!(%peer, "refusing a client: max_client_connections are open");
        drop(stream);
        return;
    };
    bump(&shared.counters.clients_accepted);
    let open = shared.counters.clients_open.fetch_add(1, Ordering::Relaxed) + 1;
    telemetry::client_opened(open);
    debug!(client = id, %peer, "client connected");
    let shared = shared.clone();
    let shutdown = shutdown.clone();
    clients.spawn(async move {
        let _slot = slot;
        let _open = OpenClient(shared.clone());
        client::serve(shared, stream, id, shutdown).await;
        debug!(client = id, "client disconnected");
    });
}

/// Counts a client as open for as long as its task lives (aborted ones too).
struct OpenClient(Arc<Shared>);

impl Drop for OpenClient {
    fn drop(&mut self) {
        let open = self.0.counters.clients_open.fetch_sub(1, Ordering::Relaxed) - 1;
        telemetry::client_closed(open);
    }
}
