//! The background task: closes perished available connections and keeps `min_pool_size`.
//!
//! It holds only a weak reference to the pool, so it never keeps a pool alive; it ends
//! when the pool is closed or dropped. A run never waits for anything (establishments
//! run on their own tasks), so it never blocks a checkout.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::Notify;

use super::inner::PoolInner;
use super::Connector;

/// Asks for a run now (after `ready`, `clear`, a background establishment, or a
/// closed connection when `min_pool_size` must be kept). A wake while a run is under
/// way is kept, so it is not lost.
#[derive(Debug, Default)]
pub(crate) struct MaintenanceWake {
    notify: Notify,
}

impl MaintenanceWake {
    pub(crate) fn wake(&self) {
        self.notify.notify_one();
    }
}

/// Spawns the task on the current runtime. `false` if there is no runtime (the caller
/// tries again later); `true` also when the options ask for no task.
pub(crate) fn start<C: Connector>(inner: &Arc<PoolInner<C>>) -> bool {
    let Some(interval) = inner.options.maintenance_interval else {
        return true;
    };
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return false;
    };
    runtime.spawn(run(
        Arc::downgrade(inner),
        inner.maintenance.clone(),
        interval,
    ));
    true
}

async fn run<C: Connector>(
    pool: Weak<PoolInner<C>>,
    wake: Arc<MaintenanceWake>,
    interval: Duration,
) {
    loop {
        match pool.upgrade() {
            Some(inner) if inner.run_maintenance() => {}
            _ => return,
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = wake.notify.notified() => {}
        }
    }
}
