//! [`Topology`]: the deployment as the client sees it, kept current by one monitor
//! per server, with one connection pool per server, and server selection that waits
//! for a suitable server.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bson::oid::ObjectId;
use tokio::sync::watch;

use super::application_error::{ApplicationError, ErrorPhase};
use super::description::{TopologyDescription, TopologyType};
use super::events::SdamEventHandler;
use super::runtime::{Snapshot, TopologyInner};
use super::selection::{select_server, selection_error, SelectionCriteria};
use super::server_description::ServerDescription;
use super::settings::TopologySettings;
use super::srv_poller::{SrvPoller, SrvSource};
use super::stats::TopologyStats;
use crate::address::ServerAddress;
use crate::connection::ConnectionOptions;
use crate::connection_string::ConnectionString;
use crate::error::{Error, ErrorKind, Result};
use crate::mongo_pool::MongoPool;
use crate::pool::PoolOptions;

/// What a topology is opened with besides its settings and its pools' options.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct TopologyOptions {
    /// Receives SDAM events (heartbeats included). Called synchronously while the
    /// topology is updated: keep it quick, and do not close the topology from it.
    /// Defaults to none.
    pub sdam_event_handler: Option<Arc<dyn SdamEventHandler>>,
    /// Where SRV rescans of a `mongodb+srv://` topology look records up. Defaults to
    /// the system's DNS resolver (with the `dns-srv` feature; without it, no rescans).
    pub srv_source: Option<Arc<dyn SrvSource>>,
    /// Receives the CMAP events of every server's pool (each event names its server),
    /// e.g. `mongopool::PoolMetrics` (`metrics` feature). Set, it takes
    /// the place of the pools' own [`PoolOptions::event_handler`]. Defaults to none.
    pub pool_event_handler: Option<Arc<dyn crate::events::CmapEventHandler>>,
}

crate::option_builder::option_builder! {
    /// Builds [`TopologyOptions`] from the defaults.
    TopologyOptionsBuilder for TopologyOptions {
        /// Sets [`TopologyOptions::sdam_event_handler`].
        sdam_event_handler: Option<Arc<dyn SdamEventHandler>>,
        /// Sets [`TopologyOptions::srv_source`].
        srv_source: Option<Arc<dyn SrvSource>>,
        /// Sets [`TopologyOptions::pool_event_handler`].
        pool_event_handler: Option<Arc<dyn crate::events::CmapEventHandler>>,
    }
}

impl std::fmt::Debug for TopologyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopologyOptions")
            .field("sdam_event_handler", &self.sdam_event_handler.is_some())
            .field("srv_source", &self.srv_source.is_some())
            .field("pool_event_handler", &self.pool_event_handler.is_some())
            .finish()
    }
}

/// A deployment (standalone, replica set, sharded cluster or load balancer) with its
/// monitors and pools. Cheap to clone: clones share it. The monitors and pools end
/// when [`Topology::close`] is called or the last clone is dropped.
#[derive(Clone)]
pub struct Topology {
    inner: Arc<TopologyInner>,
}

impl std::fmt::Debug for Topology {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Topology")
            .field("id", &self.inner.id)
            .field("description", &self.description())
            .finish()
    }
}

impl Topology {
    /// Opens a topology: a pool (paused) and a monitor per seed start at once, in the
    /// current tokio runtime. Pools are readied by their monitor's first successful
    /// check. In load-balanced mode there is no monitor and the one pool is ready.
    pub fn open(
        settings: TopologySettings,
        pool_options: PoolOptions,
        connection_options: ConnectionOptions,
        options: TopologyOptions,
    ) -> Result<Topology> {
        settings.validate()?;
        let inner = TopologyInner::open(
            settings,
            pool_options,
            connection_options,
            options.sdam_event_handler,
        );
        Ok(Topology { inner })
    }

    /// Opens the topology a connection string describes, with its pool and connection
    /// options. A `mongodb+srv://` string must be resolved first
    /// ([`ConnectionString::resolve`]); its hosts are then rescanned through DNS
    /// while the topology is Unknown or Sharded (polling-srv spec).
    pub fn from_connection_string(
        cs: &ConnectionString,
        options: TopologyOptions,
    ) -> Result<Topology> {
        let settings = TopologySettings::from_connection_string(cs)?;
        let mut pool_options = PoolOptions::from_connection_string(cs)?;
        if let Some(handler) = &options.pool_event_handler {
            pool_options.event_handler = Some(handler.clone());
        }
        let connection_options = ConnectionOptions::from_connection_string(cs)?;
        let srv_source = options.srv_source.clone();
        let topology = Topology::open(settings, pool_options, connection_options, options)?;
        if let (Some(host), false) = (cs.srv_host(), topology.inner.settings.load_balanced) {
            let source = match srv_source {
                Some(source) => Some(source),
                None => super::srv_poller::system_source(),
            };
            if let Some(source) = source {
                let poller = SrvPoller::new(
                    host.to_owned(),
                    topology.inner.settings.srv_service_name.clone(),
                    source,
                    topology.inner.settings.heartbeat_frequency,
                );
                let task = tokio::spawn(poller.run(Arc::downgrade(&topology.inner)));
                topology.inner.add_background_task(task);
            }
        }
        Ok(topology)
    }

    /// The current description (an immutable snapshot).
    pub fn description(&self) -> Arc<TopologyDescription> {
        self.inner.snapshot.borrow().description.clone()
    }

    /// A receiver of description changes.
    pub fn watch(&self) -> TopologyWatch {
        TopologyWatch {
            receiver: self.inner.snapshot.subscribe(),
        }
    }

    /// The settings the topology was opened with.
    pub fn settings(&self) -> &TopologySettings {
        &self.inner.settings
    }

    /// The pool of `address`, if the server is part of the topology.
    pub fn pool(&self, address: &ServerAddress) -> Option<MongoPool> {
        let snapshot = self.inner.snapshot.borrow().clone();
        let index = snapshot
            .description
            .servers()
            .position(|s| &s.address == address)?;
        snapshot
            .handles
            .get(index)?
            .as_ref()
            .map(|h| h.pool.clone())
    }

    /// Selects a server for `criteria`, waiting up to `serverSelectionTimeoutMS`
    /// for one to appear (see [`Topology::select_server_with`]).
    ///
    /// (A plain function returning [`Topology::select_server_with`]'s future: an
    /// `async fn` would wrap that future in one more state machine.)
    pub fn select_server<'a>(
        &'a self,
        criteria: &'a SelectionCriteria,
    ) -> impl Future<Output = Result<SelectedServer>> + Send + 'a {
        self.select_server_with(criteria, &[], self.inner.settings.server_selection_timeout)
    }

    /// The server a write (or a primary-only read) selects, when the snapshot
    /// already names it: no pass over the servers and no future, for callers that
    /// would otherwise build a [`SelectionCriteria`] first. `Ok(None)` sends the
    /// caller to [`Topology::select_server`].
    #[inline]
    pub(crate) fn primary_now(&self) -> Result<Option<SelectedServer>> {
        let snapshot = self.inner.snapshot.borrow();
        Ok(settled_primary(&snapshot)?.map(|index| SelectedServer {
            snapshot: snapshot.clone(),
            index,
        }))
    }

    /// Selects a server for `criteria` (server-selection spec): among the suitable
    /// servers within `localThresholdMS` of the fastest, the less busy of two drawn at
    /// random; `deprioritized` servers only if nothing else suits. While nothing
    /// suits, requests an immediate check of every server and waits for the
    /// description to change, until `timeout` has passed: then fails with
    /// [`ErrorKind::ServerSelection`], whose message lists every known server with
    /// its type, round trip time and last error. Fails at once if the topology is
    /// incompatible with this client or `maxStalenessSeconds` is invalid for it, and
    /// (with a [`ErrorKind::ServerSelection`] saying so) once the topology is closed.
    pub async fn select_server_with(
        &self,
        criteria: &SelectionCriteria,
        deprioritized: &[ServerAddress],
        timeout: Duration,
    ) -> Result<SelectedServer> {
        // The snapshot's Arc moves into the SelectedServer: one reference count
        // increment per selection, not two.
        let snapshot = self.inner.snapshot.borrow().clone();
        if let Some(index) = self.try_select(&snapshot, criteria, deprioritized)? {
            return Ok(SelectedServer { snapshot, index });
        }
        // Boxed: the wait holds a receiver and a timer across its awaits, and a future
        // is copied whole into every future that awaits it. A selection settled at
        // once (the common case) needs none of it, so it stays a small future.
        Box::pin(self.wait_for_server(criteria, deprioritized, timeout)).await
    }

    /// The rest of [`Topology::select_server_with`] when nothing suits at once: asks
    /// for checks and waits for the description to change, until `timeout`.
    async fn wait_for_server(
        &self,
        criteria: &SelectionCriteria,
        deprioritized: &[ServerAddress],
        timeout: Duration,
    ) -> Result<SelectedServer> {
        let start = tokio::time::Instant::now();
        let deadline = start + timeout;
        let mut receiver = self.inner.snapshot.subscribe();
        loop {
            let snapshot = receiver.borrow_and_update().clone();
            if let Some(index) = self.try_select(&snapshot, criteria, deprioritized)? {
                return Ok(SelectedServer { snapshot, index });
            }
            self.inner.request_immediate_checks();
            match tokio::time::timeout_at(deadline, receiver.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) => return Err(closed_error()),
                Err(_) => {
                    return Err(selection_error(
                        &snapshot.description,
                        criteria,
                        start.elapsed(),
                    ))
                }
            }
        }
    }

    /// The index in `snapshot` of the server selected for `criteria`, if any suits
    /// and has a pool. Inline, for the common case: the server the snapshot already
    /// names for a write or a plain primary read; the pass over the servers is not.
    #[inline]
    fn try_select(
        &self,
        snapshot: &Snapshot,
        criteria: &SelectionCriteria,
        deprioritized: &[ServerAddress],
    ) -> Result<Option<usize>> {
        if let Some(index) = settled_primary(snapshot)? {
            if deprioritized.is_empty() && criteria.is_primary_only() {
                return Ok(Some(index));
            }
        }
        self.select_among(snapshot, criteria, deprioritized)
    }

    /// [`Topology::try_select`]'s pass over the servers (server-selection spec).
    fn select_among(
        &self,
        snapshot: &Snapshot,
        criteria: &SelectionCriteria,
        deprioritized: &[ServerAddress],
    ) -> Result<Option<usize>> {
        let description = &snapshot.description;
        let operations = |address: &ServerAddress| {
            description
                .servers()
                .position(|s| &s.address == address)
                .and_then(|i| snapshot.handles.get(i)?.as_ref())
                .map_or(0, |h| h.pool.operation_count())
        };
        let chosen = select_server(
            description,
            criteria,
            self.inner.settings.local_threshold,
            deprioritized,
            operations,
            &mut rand::rng(),
        )?;
        let Some(chosen) = chosen else {
            return Ok(None);
        };
        let index = description.servers().position(|s| std::ptr::eq(s, chosen));
        Ok(index.filter(|&i| matches!(snapshot.handles.get(i), Some(Some(_)))))
    }

    /// Reports an error that an application connection to `address` ran into, for
    /// SDAM's "Error handling": depending on the error, the server is marked
    /// Unknown, its pool cleared and its monitor asked to check it. `generation` is
    /// the connection's pool generation (errors of older generations are ignored),
    /// `max_wire_version` the connection's, `service_id` its service in
    /// load-balanced mode.
    pub fn handle_application_error(
        &self,
        error: &Error,
        address: &ServerAddress,
        generation: u32,
        max_wire_version: i32,
        phase: ErrorPhase,
        service_id: Option<ObjectId>,
    ) {
        let Some(current) = self.inner.pool_generation(address) else {
            return;
        };
        let error = ApplicationError::from_error(
            error,
            address.clone(),
            generation,
            max_wire_version,
            phase,
            service_id,
        );
        self.inner
            .update(|d| d.apply_application_error(&error, current));
    }

    /// Asks every monitor to check its server now.
    pub fn request_immediate_check(&self) {
        self.inner.request_immediate_checks();
    }

    /// Per server: its type, round trip times, last error and its pool's stats.
    pub fn stats(&self) -> TopologyStats {
        TopologyStats::collect(&self.description(), self.inner.server_runtime())
    }

    /// Closes the topology: stops the monitors (and the SRV poller), closes every
    /// pool, and waits until the monitor tasks have ended and closed their
    /// connections. Selections fail afterwards. Closing twice does nothing.
    pub async fn close(&self) {
        for task in self.inner.close() {
            let _ = task.await;
        }
    }
}

fn closed_error() -> Error {
    Error::new(ErrorKind::ServerSelection {
        message: "the topology is closed".into(),
    })
}

/// A server chosen by [`Topology::select_server`], with its pool.
#[derive(Clone)]
pub struct SelectedServer {
    snapshot: Arc<Snapshot>,
    index: usize,
}

impl std::fmt::Debug for SelectedServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelectedServer")
            .field("address", self.address())
            .field("server_type", &self.description().server_type)
            .finish()
    }
}

impl SelectedServer {
    /// The server's description when it was selected.
    pub fn description(&self) -> &ServerDescription {
        self.snapshot
            .description
            .servers()
            .nth(self.index)
            .expect("a selected server is in its snapshot")
    }

    /// The server's address.
    pub fn address(&self) -> &ServerAddress {
        &self.description().address
    }

    /// The topology's type when the server was selected.
    pub fn topology_type(&self) -> TopologyType {
        self.snapshot.description.topology_type()
    }

    /// The topology it was selected in, unless that is gone.
    pub(crate) fn topology(&self) -> Option<Topology> {
        self.snapshot
            .topology
            .upgrade()
            .map(|inner| Topology { inner })
    }

    /// The server's pool.
    #[inline]
    pub fn pool(&self) -> &MongoPool {
        &self.handle().pool
    }

    /// Operations in progress on the server, as counted for selection (see
    /// [`MongoPool::operation_count`](crate::pool::Pool::operation_count)).
    pub fn operation_count(&self) -> u32 {
        self.pool().operation_count()
    }

    #[inline]
    fn handle(&self) -> &super::runtime::ServerHandle {
        self.snapshot
            .handles
            .get(self.index)
            .and_then(Option::as_ref)
            .expect("a selected server has a pool")
    }
}

/// The server `snapshot` names for a write or a plain primary read, if any: the one
/// check both [`Topology::primary_now`] and every selection start with. Fails once
/// the topology is closed.
#[inline]
fn settled_primary(snapshot: &Snapshot) -> Result<Option<usize>> {
    if snapshot.closed {
        return Err(closed_error());
    }
    Ok(snapshot.primary_choice)
}

/// Receives topology description changes ([`Topology::watch`]).
pub struct TopologyWatch {
    receiver: watch::Receiver<Arc<Snapshot>>,
}

impl TopologyWatch {
    /// The latest description.
    pub fn description(&mut self) -> Arc<TopologyDescription> {
        self.receiver.borrow_and_update().description.clone()
    }

    /// Waits for the next change; false once the topology is closed or gone.
    pub async fn changed(&mut self) -> bool {
        self.receiver.changed().await.is_ok() && !self.receiver.borrow().closed
    }
}
