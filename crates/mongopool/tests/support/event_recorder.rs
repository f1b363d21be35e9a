//! The one event recorder: keeps every CMAP event of a pool, in order, and wakes
//! whoever waits for one.

use std::sync::Mutex;
use std::time::Duration;

use mongopool::events::CmapEvent;
use tokio::sync::Notify;

/// Records every event of a pool.
#[derive(Default)]
pub struct Recorder {
    events: Mutex<Vec<CmapEvent>>,
    added: Notify,
}

impl Recorder {
    pub fn events(&self) -> Vec<CmapEvent> {
        self.events.lock().unwrap().clone()
    }

    /// Event names, in order, leaving out the ones in `ignore`.
    pub fn names(&self, ignore: &[&str]) -> Vec<&'static str> {
        self.events()
            .iter()
            .map(CmapEvent::name)
            .filter(|n| !ignore.contains(n))
            .collect()
    }

    pub fn count(&self, name: &str) -> usize {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.name() == name)
            .count()
    }

    pub fn clear(&self) {
        self.events.lock().unwrap().clear();
    }

    /// Waits (woken by events, at most 10 s) until `count` `name` events were seen.
    pub async fn wait_for(&self, name: &str, count: usize) {
        if let Err(e) = self.wait_within(name, count, Duration::from_secs(10)).await {
            panic!("{e}");
        }
    }

    /// Waits (woken by events) until `count` `name` events were seen; `Err` says how
    /// many came within `timeout`.
    pub async fn wait_within(
        &self,
        name: &str,
        count: usize,
        timeout: Duration,
    ) -> Result<(), String> {
        let wait = async {
            loop {
                let added = self.added.notified();
                if self.count(name) >= count {
                    return;
                }
                added.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.map_err(|_| {
            format!(
                "saw {} of {count} {name} events within {timeout:?}",
                self.count(name)
            )
        })
    }
}

impl mongopool::events::CmapEventHandler for Recorder {
    fn handle(&self, event: CmapEvent) {
        self.events.lock().unwrap().push(event);
        self.added.notify_waiters();
    }
}
