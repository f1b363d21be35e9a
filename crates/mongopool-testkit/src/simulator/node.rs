//! One front node: its listener, its connections, and the state its sessions read
//! (the shared view, its fault switches, its counters).

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::session::serve;
use super::stats::Counters;
use super::view::Deployment;

/// How long a restart keeps trying to bind its old port (a closing socket may hold it
/// for a moment).
const REBIND_FOR: Duration = Duration::from_secs(10);
const REBIND_PAUSE: Duration = Duration::from_millis(50);

/// What every node of one simulator shares.
#[derive(Debug)]
pub(crate) struct SimShared {
    pub(crate) deployment: Mutex<Deployment>,
    /// Bumped after every change of the view: awaitable hellos wait on it.
    pub(crate) changes: watch::Sender<u64>,
    /// Bumped after every counted event: tests wait on it instead of sleeping.
    pub(crate) activity: watch::Sender<u64>,
    /// The real server every forwarded command goes to.
    pub(crate) backend: SocketAddr,
    pub(crate) max_wire_version: i32,
    /// Ids of the nodes' own replies; far from any client's.
    pub(crate) next_reply_id: AtomicI32,
}

impl SimShared {
    pub(crate) fn deployment(&self) -> MutexGuard<'_, Deployment> {
        self.deployment.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn note_activity(&self) {
        self.activity.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// What a node's sessions read and count.
#[derive(Debug)]
pub(crate) struct NodeState {
    pub(crate) index: usize,
    pub(crate) counters: Counters,
    black_holed: AtomicBool,
    delay: Mutex<Duration>,
    pub(crate) failure: super::scripted_failure::FailureSlot,
    pub(crate) sim: Arc<SimShared>,
}

impl NodeState {
    pub(crate) fn new(index: usize, sim: Arc<SimShared>) -> Self {
        NodeState {
            index,
            counters: Counters::default(),
            black_holed: AtomicBool::new(false),
            delay: Mutex::new(Duration::ZERO),
            failure: Default::default(),
            sim,
        }
    }

    pub(crate) fn is_black_holed(&self) -> bool {
        self.black_holed.load(Ordering::SeqCst)
    }

    pub(crate) fn set_black_holed(&self, on: bool) {
        self.black_holed.store(on, Ordering::SeqCst);
    }

    pub(crate) fn delay(&self) -> Duration {
        *self.delay.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn set_delay(&self, delay: Duration) {
        *self.delay.lock().unwrap_or_else(|p| p.into_inner()) = delay;
    }

    /// Waits out the added delay before a reply goes out.
    pub(crate) async fn wait_delay(&self) {
        let delay = self.delay();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
}

/// A node's listener and connections.
#[derive(Debug)]
pub(crate) struct NodeRuntime {
    pub(crate) state: Arc<NodeState>,
    pub(crate) address: SocketAddr,
    accept_task: Mutex<Option<JoinHandle<()>>>,
    sessions: Arc<Mutex<JoinSet<()>>>,
}

impl NodeRuntime {
    pub(crate) fn new(state: Arc<NodeState>, address: SocketAddr) -> Self {
        NodeRuntime {
            state,
            address,
            accept_task: Mutex::new(None),
            sessions: Arc::new(Mutex::new(JoinSet::new())),
        }
    }

    /// A listener on a free loopback port.
    pub(crate) async fn bind_any() -> io::Result<TcpListener> {
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await
    }

    /// A listener on this node's port again, retrying while the port is still busy.
    pub(crate) async fn rebind(&self) -> io::Result<TcpListener> {
        let deadline = Instant::now() + REBIND_FOR;
        loop {
            match TcpListener::bind(self.address).await {
                Err(e) if e.kind() == io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                    tokio::time::sleep(REBIND_PAUSE).await;
                }
                other => return other,
            }
        }
    }

    pub(crate) fn is_running(&self) -> bool {
        lock(&self.accept_task).is_some()
    }

    /// Accepts connections from `listener` until stopped.
    pub(crate) fn serve(&self, listener: TcpListener) {
        let sessions = self.sessions.clone();
        let state = self.state.clone();
        let task = tokio::spawn(async move {
            let mut index = 0;
            // An accept error (out of file descriptors) ends the node; clients then
            // see connections refused.
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let mut set = lock(&sessions);
                // Reap finished sessions so a long test does not accumulate them.
                while set.try_join_next().is_some() {}
                set.spawn(serve(stream, index, state.clone()));
                index += 1;
            }
        });
        if let Some(old) = lock(&self.accept_task).replace(task) {
            old.abort();
        }
    }

    /// Closes the listener and every connection, and waits until they are closed.
    pub(crate) async fn stop(&self) {
        let task = lock(&self.accept_task).take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
        let mut sessions = std::mem::take(&mut *lock(&self.sessions));
        sessions.abort_all();
        while sessions.join_next().await.is_some() {}
        self.state.sim.note_activity();
    }
}

impl Drop for NodeRuntime {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.accept_task).take() {
            task.abort();
        }
        lock(&self.sessions).abort_all();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
