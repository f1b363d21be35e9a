//! The topology's async half: the current description, one pool and one monitor per
//! server, and the application of the pure layer's [`TopologyAction`]s.
//!
//! Every update runs under one lock: the pure function makes the next description,
//! its actions are applied to pools and monitors, events are delivered, and only then
//! is the new snapshot published on the watch channel. So a selection never sees a
//! server whose pool is still paused, and pools are cleared in step with the server
//! becoming Unknown, as the spec asks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::action::TopologyAction;
use super::description::TopologyDescription;
use super::events::{change_events, closing_events, opening_events, SdamEvent, SdamEventHandler};
use super::monitor::{MonitorConfig, MonitorHandle, MonitorSink};
use super::runtime_log::{log_event, TopologyId};
use super::selection::unique_primary_choice;
use super::settings::TopologySettings;
use crate::address::ServerAddress;
use crate::connection::ConnectionOptions;
use crate::mongo_pool::MongoPool;
use crate::pool::{Pool, PoolOptions};

/// One server's runtime parts.
struct Server {
    pool: MongoPool,
    monitor: Option<MonitorHandle>,
}

/// What selection needs of a server: its pool (which also counts the operations in
/// progress on it).
#[derive(Clone)]
pub(crate) struct ServerHandle {
    pub(crate) pool: MongoPool,
}

/// An immutable view published on every change: the description and, at the same
/// indexes as its servers, their handles.
pub(crate) struct Snapshot {
    pub(crate) description: Arc<TopologyDescription>,
    pub(crate) handles: Vec<Option<ServerHandle>>,
    pub(crate) closed: bool,
    /// [`unique_primary_choice`] of the description, when that server has a handle:
    /// what a write or a plain primary read selects, without a pass over the servers.
    pub(crate) primary_choice: Option<usize>,
    /// The topology, for errors met on a selected server (weak: the topology holds
    /// its snapshots).
    pub(crate) topology: Weak<TopologyInner>,
}

struct State {
    description: Arc<TopologyDescription>,
    servers: HashMap<ServerAddress, Server>,
    closed: bool,
    /// Tasks besides the monitors (the SRV poller), stopped on close.
    background: Vec<JoinHandle<()>>,
}

pub(crate) struct TopologyInner {
    pub(crate) id: TopologyId,
    pub(crate) settings: TopologySettings,
    pool_options: PoolOptions,
    connection_options: ConnectionOptions,
    handler: Option<Arc<dyn SdamEventHandler>>,
    state: Mutex<State>,
    pub(crate) snapshot: watch::Sender<Arc<Snapshot>>,
    this: Weak<TopologyInner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl TopologyInner {
    /// Opens the topology: the seeds' pools (paused) and monitors start at once.
    pub(crate) fn open(
        settings: TopologySettings,
        pool_options: PoolOptions,
        connection_options: ConnectionOptions,
        handler: Option<Arc<dyn SdamEventHandler>>,
    ) -> Arc<TopologyInner> {
        let (description, actions) = TopologyDescription::new(&settings);
        let description = Arc::new(description);
        let (snapshot, _) = watch::channel(Arc::new(Snapshot {
            description: description.clone(),
            handles: Vec::new(),
            closed: false,
            primary_choice: None,
            topology: Weak::new(),
        }));
        let inner = Arc::new_cyclic(|this| TopologyInner {
            id: TopologyId::new(),
            settings,
            pool_options,
            connection_options,
            handler,
            state: Mutex::new(State {
                description: description.clone(),
                servers: HashMap::new(),
                closed: false,
                background: Vec::new(),
            }),
            snapshot,
            this: this.clone(),
        });
        {
            let mut state = lock(&inner.state);
            for event in opening_events(&description) {
                inner.deliver(event);
            }
            for action in actions {
                inner.apply_action(&mut state, action);
            }
            inner.publish(&state);
        }
        inner
    }

    /// Runs one pure update and applies what it asks for.
    pub(crate) fn update(
        &self,
        f: impl FnOnce(&TopologyDescription) -> (TopologyDescription, Vec<TopologyAction>),
    ) {
        let mut state = lock(&self.state);
        if state.closed {
            return;
        }
        let old = state.description.clone();
        let (new, actions) = f(&old);
        let new = Arc::new(new);
        state.description = new.clone();
        for action in actions {
            self.apply_action(&mut state, action);
        }
        for event in change_events(&old, &new) {
            self.deliver(event);
        }
        self.publish(&state);
    }

    /// The current generation of `address`'s pool, if the server is known.
    pub(crate) fn pool_generation(&self, address: &ServerAddress) -> Option<u32> {
        let state = lock(&self.state);
        state
            .servers
            .get(address)
            .map(|s| s.pool.stats().generation)
    }

    /// Asks every monitor for a check now (a selection found nothing suitable).
    pub(crate) fn request_immediate_checks(&self) {
        let state = lock(&self.state);
        for server in state.servers.values() {
            if let Some(monitor) = &server.monitor {
                monitor.request_check();
            }
        }
    }

    /// Each server's pool and round trip times, for stats.
    pub(crate) fn server_runtime(&self) -> Vec<super::stats::ServerRuntime> {
        let state = lock(&self.state);
        state
            .servers
            .iter()
            .map(|(a, s)| {
                (
                    a.clone(),
                    s.pool.clone(),
                    s.monitor.as_ref().map(MonitorHandle::round_trip_times),
                )
            })
            .collect()
    }

    /// Keeps a background task to stop when the topology closes.
    pub(crate) fn add_background_task(&self, task: JoinHandle<()>) {
        let mut state = lock(&self.state);
        if state.closed {
            task.abort();
        } else {
            state.background.push(task);
        }
    }

    /// Closes the topology: monitors are told to stop, pools are closed, events
    /// sent. Returns the tasks to wait for. Does nothing the second time.
    pub(crate) fn close(&self) -> Vec<JoinHandle<()>> {
        let mut state = lock(&self.state);
        if state.closed {
            return Vec::new();
        }
        state.closed = true;
        let mut tasks = Vec::new();
        for (_, server) in state.servers.drain() {
            server.pool.close();
            if let Some(monitor) = server.monitor {
                tasks.extend(monitor.stop());
            }
        }
        for task in state.background.drain(..) {
            task.abort();
            tasks.push(task);
        }
        for event in closing_events(&state.description) {
            self.deliver(event);
        }
        let empty = Arc::new(state.description.empty_like());
        state.description = empty.clone();
        self.snapshot.send_replace(Arc::new(Snapshot {
            description: empty,
            handles: Vec::new(),
            closed: true,
            primary_choice: None,
            topology: self.this.clone(),
        }));
        tasks
    }

    fn apply_action(&self, state: &mut State, action: TopologyAction) {
        match action {
            TopologyAction::AddServer(address) => {
                if state.servers.contains_key(&address) {
                    return;
                }
                let pool = Pool::with_options(
                    address.clone(),
                    self.pool_options.clone(),
                    self.connection_options.clone(),
                );
                let monitor = (!self.settings.load_balanced).then(|| {
                    let config = MonitorConfig::new(
                        address.clone(),
                        &self.connection_options,
                        self.settings.heartbeat_frequency,
                        self.settings.min_heartbeat_frequency,
                        self.settings.server_monitoring_mode,
                    );
                    let sink: Weak<dyn MonitorSink> = self.this.clone();
                    MonitorHandle::start(config, sink)
                });
                state.servers.insert(address, Server { pool, monitor });
            }
            TopologyAction::RemoveServer(address) => {
                if let Some(server) = state.servers.remove(&address) {
                    server.pool.close();
                    // Dropping the handle stops the monitor.
                    drop(server.monitor);
                }
            }
            TopologyAction::ClearPool {
                address,
                interrupt_in_use,
                service_id,
            } => {
                let Some(server) = state.servers.get(&address) else {
                    return;
                };
                match service_id {
                    Some(id) if server.pool.options().load_balanced => {
                        let _ = server.pool.clear_service(id);
                    }
                    _ => {
                        let cause = state
                            .description
                            .server(&address)
                            .and_then(|s| s.error.clone());
                        server.pool.clear(cause.as_ref(), interrupt_in_use);
                    }
                }
            }
            TopologyAction::ReadyPool(address) => {
                if let Some(server) = state.servers.get(&address) {
                    server.pool.ready();
                }
            }
            TopologyAction::RequestImmediateCheck(address) => {
                if let Some(monitor) = state.servers.get(&address).and_then(|s| s.monitor.as_ref())
                {
                    monitor.request_check();
                }
            }
            TopologyAction::CancelMonitorCheck(address) => {
                if let Some(monitor) = state.servers.get(&address).and_then(|s| s.monitor.as_ref())
                {
                    monitor.cancel_check();
                }
            }
        }
    }

    fn publish(&self, state: &State) {
        let handles = state
            .description
            .servers()
            .map(|sd| {
                state.servers.get(&sd.address).map(|s| ServerHandle {
                    pool: s.pool.clone(),
                })
            })
            .collect::<Vec<_>>();
        let primary_choice =
            unique_primary_choice(&state.description, self.settings.local_threshold)
                .filter(|&i| matches!(handles.get(i), Some(Some(_))));
        self.snapshot.send_replace(Arc::new(Snapshot {
            description: state.description.clone(),
            handles,
            closed: state.closed,
            primary_choice,
            topology: self.this.clone(),
        }));
    }

    fn deliver(&self, event: SdamEvent) {
        log_event(self.id, &event);
        if let Some(handler) = &self.handler {
            handler.handle(event);
        }
    }
}

impl MonitorSink for TopologyInner {
    fn server_checked(&self, description: super::server_description::ServerDescription) {
        self.update(|current| current.apply(description));
    }

    fn heartbeat(&self, event: SdamEvent) {
        self.deliver(event);
    }
}

impl Drop for TopologyInner {
    fn drop(&mut self) {
        // The last handle is gone: monitors stop (their handles are dropped here and
        // they hold only weak references), pools close.
        drop(self.close());
    }
}
