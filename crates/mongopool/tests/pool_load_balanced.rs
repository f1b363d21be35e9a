//! Load-balanced mode (CMAP "Clearing a load balanced pool" and "Load Balancer Mode"):
//! a generation per service behind the load balancer, a clear per service that neither
//! pauses the pool nor fails waiting checkouts.
//!
//! SecantusDB has no load-balanced mode (it answers `loadBalanced: true` without a
//! `serviceId`, and the handshake refuses it), so the pool is driven here by a scripted
//! connector whose connections reach services in turn, and end to end by the mock server
//! playing a load balancer in front of one mongos.

mod support;

mod mock_support;

use std::sync::Arc;
use std::time::Duration;

use bson::oid::ObjectId;
use mongopool::events::{CmapEvent, ConnectionClosedReason};
use mongopool::CheckoutPurpose;
use mongopool::{CommandOptions, ConnectionOptions, ErrorKind, MongoPool};
use mongopool::{Pool, PoolOptions};
use mongopool_testkit::mock::{Behavior, MockServer};
use support::test_connector::{address, options_with, Script, TestConnector};
use support::Recorder;
use tokio::time::timeout;

fn lb_pool(
    services: &[ObjectId],
    tweak: impl FnOnce(&mut PoolOptions),
) -> (Pool<TestConnector>, Arc<Script>, Arc<Recorder>) {
    let script = Script::new(0);
    *script.services.lock().unwrap() = services.to_vec();
    let recorder = Arc::new(Recorder::default());
    let mut o = options_with(&recorder);
    o.load_balanced = true;
    o.maintenance_interval = None;
    tweak(&mut o);
    let pool = Pool::new(address(), o, TestConnector(script.clone()));
    pool.ready();
    (pool, script, recorder)
}

/// The ids of the connections closed so far, with their reasons.
fn closed(recorder: &Recorder) -> Vec<(u64, ConnectionClosedReason)> {
    recorder
        .events()
        .iter()
        .filter_map(|e| match e {
            CmapEvent::ConnectionClosed(c) => Some((c.connection_id, c.reason)),
            _ => None,
        })
        .collect()
}

/// The service ids of the `PoolCleared` events so far.
fn cleared(recorder: &Recorder) -> Vec<Option<ObjectId>> {
    recorder
        .events()
        .iter()
        .filter_map(|e| match e {
            CmapEvent::PoolCleared(c) => Some(c.service_id),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn clearing_one_service_leaves_the_others_connections_alone() {
    let (a, b) = (ObjectId::new(), ObjectId::new());
    let (pool, _script, recorder) = lb_pool(&[a, b], |_| {});
    // Connections 1 and 3 reach service a, 2 and 4 service b.
    let held: Vec<_> = futures_all(&pool, 4).await;
    let services: Vec<_> = held.iter().map(|c| (c.id(), c.service_id)).collect();
    assert_eq!(
        services,
        [(1, Some(a)), (2, Some(b)), (3, Some(a)), (4, Some(b))]
    );
    drop(held);

    pool.clear_service(a).unwrap();
    assert_eq!(cleared(&recorder), [Some(a)]);
    // Not paused: checkouts go on.
    let again = futures_all(&pool, 4).await;
    // Service a's two connections were stale and closed when met; b's were reused and
    // two new ones were opened (5 and 6, reaching a and b in turn).
    let mut closed_now = closed(&recorder);
    closed_now.sort_unstable_by_key(|(id, _)| *id);
    assert_eq!(
        closed_now,
        [
            (1, ConnectionClosedReason::Stale),
            (3, ConnectionClosedReason::Stale)
        ]
    );
    let mut ids: Vec<u64> = again.iter().map(|c| c.id()).collect();
    ids.sort_unstable();
    assert_eq!(ids, [2, 4, 5, 6]);
    drop(again);

    // The new connection to a has a's new generation: it is current, nothing more closes.
    let third = futures_all(&pool, 4).await;
    assert_eq!(closed(&recorder).len(), 2);
    drop(third);
    let s = pool.stats();
    assert_eq!((s.total, s.idle, s.in_use), (4, 4, 0));
    // The pool's own generation never moved: it is never cleared as a whole.
    assert_eq!(s.generation, 0);
}

/// Checks out `n` connections at once.
async fn futures_all(
    pool: &Pool<TestConnector>,
    n: usize,
) -> Vec<mongopool::PooledConnection<support::test_connector::TestConnection>> {
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        held.push(
            timeout(Duration::from_secs(10), pool.checkout())
                .await
                .expect("checkout in time")
                .expect("checkout"),
        );
    }
    held
}

#[tokio::test]
async fn a_service_clear_neither_pauses_the_pool_nor_fails_waiters() {
    let a = ObjectId::new();
    let (pool, _script, recorder) = lb_pool(&[a], |o| o.max_pool_size = 1);
    let held = pool.checkout().await.unwrap();
    let waiter = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.checkout().await.map(|c| c.id()) })
    };
    // Wait until the checkout is queued.
    while pool.stats().waiters == 0 {
        tokio::task::yield_now().await;
    }
    pool.clear_service(a).unwrap();
    pool.clear(None, false);
    // Both clears are per service (the whole-pool clear too) and emitted as such.
    assert_eq!(cleared(&recorder), [Some(a), Some(a)]);
    assert!(!waiter.is_finished());
    assert_eq!(pool.stats().waiters, 1);
    // The held connection is stale: closed at check-in, and the waiter gets a new one.
    drop(held);
    let got = timeout(Duration::from_secs(10), waiter)
        .await
        .expect("the waiter is served")
        .unwrap()
        .expect("no error: the pool was not paused");
    assert_eq!(got, 2);
    assert_eq!(closed(&recorder), [(1, ConnectionClosedReason::Stale)]);
}

#[tokio::test]
async fn interrupting_clear_closes_the_connections_in_use() {
    let a = ObjectId::new();
    let (pool, _script, recorder) = lb_pool(&[a], |_| {});
    let held = pool.checkout().await.unwrap();
    pool.clear(None, true);
    assert!(held.interrupt_signal().is_interrupted());
    assert_eq!(closed(&recorder), [(1, ConnectionClosedReason::Stale)]);
    drop(held);
    // Still serving, with a fresh connection.
    assert_eq!(pool.checkout().await.unwrap().id(), 2);
    let s = pool.stats();
    assert_eq!((s.total, s.in_use), (1, 0));
}

#[tokio::test]
async fn service_clear_is_refused_on_a_pool_that_is_not_load_balanced() {
    let script = Script::new(0);
    let pool = Pool::new(
        address(),
        PoolOptions::default(),
        TestConnector(script.clone()),
    );
    let err = pool.clear_service(ObjectId::new()).unwrap_err();
    assert!(err.is_configuration(), "{err}");
}

#[tokio::test]
async fn a_mongo_pool_behind_a_mock_load_balancer() {
    let service = ObjectId::new();
    let server = MockServer::start(
        Behavior::modern()
            .mongos()
            .hello_field("serviceId", service),
    )
    .await
    .unwrap();
    let recorder = Arc::new(Recorder::default());
    let pool = MongoPool::with_options(
        mock_support::address(&server),
        options_with(&recorder),
        ConnectionOptions::builder()
            .load_balanced(true)
            .build()
            .unwrap(),
    );
    assert!(pool.options().load_balanced);
    pool.ready();
    let mut conn = pool.checkout().await.unwrap();
    assert_eq!(conn.hello().service_id, Some(service));
    let reply = conn
        .command(
            "admin",
            &bson::rawdoc! { "ping": 1 },
            &CommandOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(reply.get_f64("ok").ok(), Some(1.0), "{reply:?}");
    let first = conn.id();
    drop(conn);

    pool.clear_service(service).unwrap();
    assert_eq!(cleared(&recorder), [Some(service)]);
    let conn = pool.checkout().await.unwrap();
    assert_ne!(conn.id(), first, "the stale connection is not reused");
    assert_eq!(closed(&recorder), [(first, ConnectionClosedReason::Stale)]);
    // The handshake asked in load-balanced mode.
    let hello = server
        .journal()
        .requests()
        .iter()
        .find(|r| r.is_command("hello"))
        .and_then(|r| r.command_document())
        .expect("a hello was sent");
    assert_eq!(hello.get_bool("loadBalanced").ok(), Some(true), "{hello:?}");
}

#[tokio::test]
async fn a_wait_queue_timeout_says_what_holds_the_connections() {
    let a = ObjectId::new();
    let (pool, _script, _recorder) = lb_pool(&[a], |o| {
        o.max_pool_size = 3;
        o.wait_queue_timeout = Some(Duration::from_millis(50));
    });
    let cursor = pool.checkout_for(CheckoutPurpose::Cursor).await.unwrap();
    let mut pinned_later = pool.checkout().await.unwrap();
    let other = pool.checkout().await.unwrap();
    assert_eq!(pinned_later.purpose(), CheckoutPurpose::Operation);
    // A transaction starts on a connection already checked out.
    pinned_later.set_purpose(CheckoutPurpose::Transaction);
    let s = pool.stats();
    assert_eq!(
        (s.in_use, s.in_use_by_cursors, s.in_use_by_transactions),
        (3, 1, 1)
    );

    let err = pool.checkout().await.unwrap_err();
    assert!(err.is_wait_queue_timeout(), "{err}");
    assert!(
        err.to_string().starts_with(
            "Timeout waiting for connection from the connection pool. maxPoolSize: 3, \
             connections in use by cursors: 1, connections in use by transactions: 1, \
             connections in use by other operations: 1"
        ),
        "{err}"
    );
    match err.kind() {
        ErrorKind::WaitQueueTimeout {
            in_use: Some(in_use),
            ..
        } => assert_eq!(
            (in_use.cursors, in_use.transactions, in_use.other),
            (1, 1, 1)
        ),
        other => panic!("unexpected {other:?}"),
    }

    // Checked in, they serve operations again.
    drop((cursor, pinned_later, other));
    let s = pool.stats();
    assert_eq!(
        (s.in_use, s.in_use_by_cursors, s.in_use_by_transactions),
        (0, 0, 0)
    );
    for conn in futures_all(&pool, 3).await {
        assert_eq!(conn.purpose(), CheckoutPurpose::Operation);
    }
    assert_eq!(pool.stats().in_use_by_cursors, 0);
}

#[tokio::test]
async fn outside_load_balanced_mode_the_timeout_has_no_breakdown() {
    let script = Script::new(0);
    let mut o = PoolOptions::default();
    o.max_pool_size = 1;
    o.wait_queue_timeout = Some(Duration::from_millis(20));
    let pool = Pool::new(address(), o, TestConnector(script));
    pool.ready();
    let _held = pool.checkout_for(CheckoutPurpose::Cursor).await.unwrap();
    assert_eq!(pool.stats().in_use_by_cursors, 1);
    let err = pool.checkout().await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::WaitQueueTimeout { in_use: None, .. }),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("timed out after"), "{err}");
}

#[tokio::test]
async fn a_failed_background_establishment_clears_nothing() {
    let a = ObjectId::new();
    let (pool, script, recorder) = lb_pool(&[a], |o| {
        o.min_pool_size = 2;
        o.maintenance_interval = Some(Duration::from_millis(10));
    });
    until("min_pool_size is reached", || pool.stats().idle == 2).await;
    // One connection breaks; the background establishment replacing it fails once (the
    // other connection to service a is still open), then succeeds.
    let mut broken = pool.checkout().await.unwrap();
    broken.usable = false;
    script
        .failures
        .store(1, std::sync::atomic::Ordering::SeqCst);
    drop(broken);
    until("the pool is refilled", || {
        let s = pool.stats();
        s.created == 4 && s.idle == 2
    })
    .await;
    assert_eq!(pool.stats().closed_by_reason.error, 2);
    assert!(cleared(&recorder).is_empty(), "{:?}", cleared(&recorder));
}

/// Waits (on the pool's own progress, checked every 5 ms) until `done`; fails after 10 s.
async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
