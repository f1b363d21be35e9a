//! Server monitors (server-monitoring spec): one tokio task per server that checks it
//! over a dedicated connection, never one from the pool, and reports each outcome as a
//! [`ServerDescription`] to its topology.
//!
//! With a server that streams (it reports a `topologyVersion`) and streaming allowed
//! (`serverMonitoringMode` stream, or auto outside FaaS), the monitor reads awaitable
//! hello replies as they come and a second task measures the round trip time on its own
//! connection. Otherwise it polls every `heartbeatFrequencyMS`.
//!
//! The tasks hold only a weak reference to their topology and a stop signal: they end
//! when the topology is closed or dropped, and their connections are closed with them.

mod check;
mod config;
mod rtt_task;

use std::sync::{Arc, Mutex, Weak};

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

pub(crate) use config::MonitorConfig;

use super::events::SdamEvent;
use super::rtt::RttTracker;
use super::server_description::ServerDescription;

/// Where a monitor reports: the topology, seen through a weak reference so that a
/// monitor never keeps its topology alive.
pub(crate) trait MonitorSink: Send + Sync + 'static {
    /// A check ended with this description (Unknown with an error if it failed).
    fn server_checked(&self, description: ServerDescription);
    /// A heartbeat event to deliver.
    fn heartbeat(&self, event: SdamEvent);
}

/// What the topology and the monitor task share.
pub(crate) struct MonitorShared {
    /// Wakes a monitor that waits between checks (a permit is kept if it is busy).
    check_requested: Notify,
    /// Interrupts the check in progress (only a waiting check hears it).
    cancel: Notify,
    rtt: Mutex<RttTracker>,
}

impl MonitorShared {
    fn rtt(&self) -> std::sync::MutexGuard<'_, RttTracker> {
        self.rtt.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The topology's handle on one monitor. Dropping it stops the monitor.
pub(crate) struct MonitorHandle {
    shared: Arc<MonitorShared>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl MonitorHandle {
    /// Starts monitoring `config.address`, reporting to `sink`.
    pub(crate) fn start(config: MonitorConfig, sink: Weak<dyn MonitorSink>) -> MonitorHandle {
        let shared = Arc::new(MonitorShared {
            check_requested: Notify::new(),
            cancel: Notify::new(),
            rtt: Mutex::new(RttTracker::new()),
        });
        let (stop, stopped) = watch::channel(false);
        let config = Arc::new(config);
        let monitor = check::Monitor::new(config, shared.clone(), sink, stopped);
        let tasks = vec![tokio::spawn(monitor.run())];
        MonitorHandle {
            shared,
            stop,
            tasks,
        }
    }

    /// Asks for a check as soon as `minHeartbeatFrequencyMS` allows.
    pub(crate) fn request_check(&self) {
        self.shared.check_requested.notify_one();
    }

    /// Cancels the check in progress and closes the monitoring connection (an
    /// application connection saw a network error).
    pub(crate) fn cancel_check(&self) {
        self.shared.cancel.notify_waiters();
    }

    /// The server's round trip times: weighted average and recent minimum.
    pub(crate) fn round_trip_times(&self) -> (Option<std::time::Duration>, std::time::Duration) {
        let rtt = self.shared.rtt();
        (rtt.average(), rtt.min())
    }

    /// Signals the tasks to stop and returns them, to wait for.
    pub(crate) fn stop(mut self) -> Vec<JoinHandle<()>> {
        let _ = self.stop.send(true);
        std::mem::take(&mut self.tasks)
    }
}

impl Drop for MonitorHandle {
    fn drop(&mut self) {
        // The tasks watch this signal at every await; they close their connections
        // when they return.
        let _ = self.stop.send(true);
    }
}

/// Resolves once `stopped` says so (or its sender is gone).
pub(crate) async fn stop_signal(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// Milliseconds on a monotonic clock shared by every monitor of the process: the
/// `lastUpdateTime` of server descriptions, which staleness estimates compare.
pub(crate) fn now_ms() -> i64 {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let epoch = *EPOCH.get_or_init(std::time::Instant::now);
    i64::try_from(epoch.elapsed().as_millis()).unwrap_or(i64::MAX)
}
