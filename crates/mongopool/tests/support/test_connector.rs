//! The one test connector: a scriptable [`Connector`] whose connections do no I/O, for
//! the focused pool tests (`tests/pool_*.rs`).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::event_recorder::Recorder;
use std::time::Duration;

use bson::oid::ObjectId;
use mongopool::InterruptSignal;
use mongopool::{ConnectContext, Connector, PoolOptions, Poolable};
use mongopool::{Error, Result, ServerAddress};

/// What the connector does; shared with the test, which changes it as it goes.
#[derive(Debug, Default)]
pub struct Script {
    /// How long each establishment takes, in milliseconds.
    pub delay_ms: AtomicU64,
    /// Establishments that fail (with a connection failure) before one succeeds.
    pub failures: AtomicU32,
    /// Give up when the connection's interrupt signal fires.
    pub obey_interrupt: AtomicBool,
    /// Establishments started.
    pub started: AtomicU32,
    /// Set when the connector is dropped (the pool is gone).
    pub dropped: AtomicBool,
    /// Services behind a load balancer: each new connection reaches the next one, in
    /// turn (none: connections have no service id).
    pub services: Mutex<Vec<ObjectId>>,
}

impl Script {
    pub fn new(delay_ms: u64) -> Arc<Script> {
        let s = Script::default();
        s.delay_ms.store(delay_ms, Ordering::SeqCst);
        s.obey_interrupt.store(true, Ordering::SeqCst);
        Arc::new(s)
    }
}

pub struct TestConnector(pub Arc<Script>);

impl Drop for TestConnector {
    fn drop(&mut self) {
        self.0.dropped.store(true, Ordering::SeqCst);
    }
}

/// A connection that does no I/O; tests flip its flags.
#[derive(Debug)]
pub struct TestConnection {
    pub id: u64,
    pub usable: bool,
    pub peer_closed: Arc<AtomicBool>,
    pub interrupt: InterruptSignal,
    pub service_id: Option<ObjectId>,
}

impl Poolable for TestConnection {
    fn is_usable(&self) -> bool {
        self.usable
    }
    fn is_peer_closed(&mut self) -> bool {
        self.peer_closed.load(Ordering::SeqCst)
    }
    fn service_id(&self) -> Option<ObjectId> {
        self.service_id
    }
}

impl Connector for TestConnector {
    type Connection = TestConnection;

    async fn connect(&self, ctx: ConnectContext) -> Result<TestConnection> {
        let script = &self.0;
        let nth = script.started.fetch_add(1, Ordering::SeqCst) as usize;
        let delay = Duration::from_millis(script.delay_ms.load(Ordering::SeqCst));
        if !delay.is_zero() {
            if script.obey_interrupt.load(Ordering::SeqCst) {
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = ctx.interrupt.interrupted() => {
                        return Err(Error::connection(format!("connection {} interrupted", ctx.id)));
                    }
                }
            } else {
                tokio::time::sleep(delay).await;
            }
        }
        let fail = script
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail {
            return Err(Error::connection(format!("refused connection {}", ctx.id)));
        }
        let service_id = {
            let services = script.services.lock().unwrap();
            (!services.is_empty()).then(|| services[nth % services.len()])
        };
        Ok(TestConnection {
            id: ctx.id,
            usable: true,
            peer_closed: Arc::new(AtomicBool::new(false)),
            interrupt: ctx.interrupt,
            service_id,
        })
    }
}

pub fn address() -> ServerAddress {
    ServerAddress::tcp("db.example", 27017)
}

/// Options with a recorder attached; the test adjusts the rest.
pub fn options_with(recorder: &Arc<Recorder>) -> PoolOptions {
    let mut o = PoolOptions::default();
    o.event_handler = Some(recorder.clone());
    o
}
