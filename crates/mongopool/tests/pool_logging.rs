//! The pool's `tracing` output follows the CMAP logging spec: debug level, target
//! `mongopool::connection`, the spec's messages and field names.

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mongopool::{Pool, PoolOptions};
use support::test_connector::{Script, TestConnector};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

type Fields = BTreeMap<String, String>;

/// Keeps every event of the pool's target: level and fields (values as text).
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<(Level, Fields)>>>);

struct Collect<'a>(&'a mut Fields);

impl Visit for Collect<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl Subscriber for Capture {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "mongopool::connection"
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::new();
        event.record(&mut Collect(&mut fields));
        self.0
            .lock()
            .unwrap()
            .push((*event.metadata().level(), fields));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn keys(fields: &Fields) -> Vec<&str> {
    fields.keys().map(String::as_str).collect()
}

#[test]
fn log_messages_follow_the_spec() {
    let capture = Capture::default();
    let script = Script::new(0);
    let _guard = tracing::subscriber::set_default(capture.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let options = PoolOptions::builder()
            .max_pool_size(5)
            .min_pool_size(0)
            .max_idle_time(Duration::from_secs(10))
            .wait_queue_timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        let pool = Pool::new(
            mongopool::ServerAddress::tcp("db.example", 27017),
            options,
            TestConnector(script.clone()),
        );
        pool.ready();
        let conn = pool.checkout().await.unwrap();
        drop(conn);
        pool.clear(None, false);
        pool.ready();
        script.failures.store(1, Ordering::SeqCst);
        assert!(pool.checkout().await.is_err());
        pool.close();
    });

    let logged = capture.0.lock().unwrap().clone();
    assert!(logged.iter().all(|(level, _)| *level == Level::DEBUG));
    let messages: Vec<&str> = logged.iter().map(|(_, f)| f["message"].as_str()).collect();
    assert_eq!(
        messages,
        [
            "Connection pool created",
            "Connection pool ready",
            "Connection checkout started",
            "Connection created",
            "Connection ready",
            "Connection checked out",
            "Connection checked in",
            "Connection pool cleared",
            "Connection pool ready",
            "Connection checkout started",
            "Connection closed",
            "Connection created",
            "Connection closed",
            "Connection checkout failed",
            "Connection pool closed",
        ]
    );
    for (_, fields) in &logged {
        assert_eq!(fields["serverHost"], "db.example");
        assert_eq!(fields["serverPort"], "27017");
    }
    let created = &logged[0].1;
    assert_eq!(created["maxPoolSize"], "5");
    assert_eq!(created["minPoolSize"], "0");
    assert_eq!(created["maxConnecting"], "2");
    assert_eq!(created["maxIdleTimeMS"], "10000");
    assert_eq!(created["waitQueueTimeoutMS"], "200");
    assert_eq!(
        keys(&logged[4].1),
        [
            "driverConnectionId",
            "durationMS",
            "message",
            "serverHost",
            "serverPort"
        ]
    );
    assert_eq!(logged[4].1["driverConnectionId"], "1");
    assert_eq!(
        keys(&logged[5].1),
        [
            "driverConnectionId",
            "durationMS",
            "message",
            "serverHost",
            "serverPort"
        ]
    );
    assert_eq!(
        keys(&logged[6].1),
        ["driverConnectionId", "message", "serverHost", "serverPort"]
    );
    // The stale connection 1, met by the second checkout.
    let stale = &logged[10].1;
    assert_eq!(stale["driverConnectionId"], "1");
    assert_eq!(
        stale["reason"],
        "Connection became stale because the pool was cleared"
    );
    assert!(!stale.contains_key("error"));
    // The connection that failed to establish: closed with its error, then the checkout.
    let closed = &logged[12].1;
    assert_eq!(closed["driverConnectionId"], "2");
    assert_eq!(
        closed["reason"],
        "An error occurred while using the connection"
    );
    assert!(
        closed["error"].contains("refused connection 2"),
        "{closed:?}"
    );
    let failed = &logged[13].1;
    assert_eq!(
        failed["reason"],
        "An error occurred while trying to establish a new connection"
    );
    assert!(
        failed["error"].contains("refused connection 2"),
        "{failed:?}"
    );
    assert!(failed.contains_key("durationMS"));
}
