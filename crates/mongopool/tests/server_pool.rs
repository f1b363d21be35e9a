//! A `MongoPool` against SecantusDB: reuse, logins per connection through
//! `get_socket`, an interrupting clear under a blocked command, the wait queue
//! timeout, and a checkout dropped while its connection is being established.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::future::{poll_fn, Future};
use std::sync::Arc;
use std::time::Duration;

use bson::{doc, rawdoc, Document};
use mongopool::Broken;
use mongopool::PoolOptions;
use mongopool::{CommandOptions, ConnectionOptions, Credential, MongoPool, ServerAddress};
use mongopool_testkit::{SeedUser, TestServer};
use support::Recorder;
use tokio::sync::oneshot;
use tokio::time::{timeout, Instant};

async fn start(builder: mongopool_testkit::TestServerBuilder) -> TestServer {
    tokio::task::spawn_blocking(move || builder.start().expect("start secantusd-rs"))
        .await
        .unwrap()
}

fn pool_for(
    server: &TestServer,
    app_name: &str,
    options: mongopool::PoolOptionsBuilder,
) -> (MongoPool, Arc<Recorder>) {
    let events = Arc::new(Recorder::default());
    let options = options.event_handler(events.clone()).build().unwrap();
    let connection_options = ConnectionOptions::builder()
        .app_name(Some(app_name.into()))
        .build()
        .unwrap();
    let pool = MongoPool::with_options(
        ServerAddress::tcp(server.host(), server.port()),
        options,
        connection_options,
    );
    pool.ready();
    (pool, events)
}

fn fail_point(server: &TestServer, mode: bson::Bson, data: Document) {
    server
        .command(
            "admin",
            doc! {"configureFailPoint": "failCommand", "mode": mode, "data": data},
        )
        .expect("configureFailPoint");
}

async fn ping(conn: &mut mongopool::Connection) -> mongopool::Result<()> {
    conn.command("admin", &rawdoc! {"ping": 1}, &CommandOptions::default())
        .await
        .map(drop)
}

#[tokio::test]
async fn checked_in_connections_are_reused() {
    let server = start(TestServer::builder()).await;
    let (pool, _events) = pool_for(&server, "reuse", PoolOptions::builder().max_pool_size(5));

    for _ in 0..10 {
        let mut conn = pool.checkout().await.unwrap();
        ping(&mut conn).await.unwrap();
        assert_eq!(conn.id(), 1, "one connection serves one caller at a time");
        assert_eq!(mongopool::Connection::id(&conn), 1);
    }
    assert_eq!(pool.stats().created, 1);

    // Three at once need three connections; afterwards they are all reused.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(pool.checkout().await.unwrap());
    }
    let ids: HashSet<u64> = held.iter().map(|c| c.id()).collect();
    assert_eq!(ids, HashSet::from([1, 2, 3]));
    for conn in &mut held {
        ping(conn).await.unwrap();
    }
    let last = held.last().unwrap().id();
    drop(held);
    let mut conn = pool.checkout().await.unwrap();
    assert_eq!(
        conn.id(),
        last,
        "the most recently checked in connection comes first"
    );
    ping(&mut conn).await.unwrap();
    drop(conn);
    for _ in 0..10 {
        let mut conn = pool.checkout().await.unwrap();
        assert!(ids.contains(&conn.id()));
        ping(&mut conn).await.unwrap();
    }
    let s = pool.stats();
    assert_eq!((s.created, s.total, s.idle), (3, 3, 3), "{s:?}");
    assert_eq!(s.closed_by_reason.total(), 0, "{s:?}");
}

/// Successful logins the server has counted, over all mechanisms.
async fn server_logins(conn: &mut mongopool::Connection) -> i64 {
    let status: Document = conn
        .command_as(
            "admin",
            &rawdoc! {"serverStatus": 1},
            &CommandOptions::default(),
        )
        .await
        .unwrap();
    let mechanisms = status
        .get_document("security")
        .and_then(|s| s.get_document("authentication"))
        .and_then(|a| a.get_document("mechanisms"))
        .expect("serverStatus has security.authentication.mechanisms");
    mechanisms
        .values()
        .filter_map(|m| m.as_document())
        .filter_map(|m| m.get_document("authenticate").ok())
        .map(|a| a.get_i64("successful").expect("an int64 count"))
        .sum()
}

#[tokio::test]
async fn get_socket_logs_each_connection_in_once() {
    let server = start(
        TestServer::builder()
            .auth(true)
            .user(SeedUser::scram("alice", "wonderland")),
    )
    .await;
    let (pool, _events) = pool_for(
        &server,
        "get-socket",
        PoolOptions::builder().max_pool_size(4),
    );
    let credential = Credential {
        username: Some("alice".into()),
        password: Some("wonderland".into()),
        ..Credential::default()
    };
    let all_credentials = BTreeMap::from([("admin".to_string(), credential)]);

    // The pool's connections are not logged in by themselves.
    let mut anonymous = pool.checkout().await.unwrap();
    let refused = anonymous
        .command(
            "admin",
            &rawdoc! {"listDatabases": 1},
            &CommandOptions::default(),
        )
        .await
        .expect_err("listDatabases needs a login");
    assert_eq!(refused.code(), Some(13), "{refused}");
    drop(anonymous);

    let mut logins_seen = Vec::new();
    for _ in 0..5 {
        let mut conn = pool.get_socket(&all_credentials).await.unwrap();
        assert_eq!(conn.id(), 1);
        assert_eq!(conn.auth_sources().collect::<Vec<_>>(), ["admin"]);
        conn.command(
            "admin",
            &rawdoc! {"listDatabases": 1},
            &CommandOptions::default(),
        )
        .await
        .expect("logged in");
        logins_seen.push(server_logins(&mut conn).await);
    }
    assert_eq!(
        logins_seen, [1; 5],
        "connection 1 logged in once, then reused"
    );

    let (a, b) = tokio::join!(
        pool.get_socket(&all_credentials),
        pool.get_socket(&all_credentials)
    );
    let (mut a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        HashSet::from([a.id(), b.id()]),
        HashSet::from([1, 2]),
        "two at once need a second connection"
    );
    assert_eq!(
        server_logins(&mut a).await,
        2,
        "the second one logged in once"
    );
    drop((a, b));

    for _ in 0..5 {
        let mut conn = pool.get_socket(&all_credentials).await.unwrap();
        assert!([1, 2].contains(&conn.id()));
        assert_eq!(
            server_logins(&mut conn).await,
            2,
            "reused connections do not log in again"
        );
    }
    let s = pool.stats();
    assert_eq!(s.created, 2, "{s:?}");
}

#[tokio::test]
async fn an_interrupting_clear_fails_a_blocked_command_at_once_and_closes_its_connection() {
    const BLOCK: Duration = Duration::from_secs(10);
    let server = start(TestServer::builder().test_commands(true)).await;
    let (pool, events) = pool_for(&server, "interrupt", PoolOptions::builder());
    let mut conn = pool.checkout().await.unwrap();
    ping(&mut conn).await.unwrap();
    fail_point(
        &server,
        doc! {"times": 1}.into(),
        doc! {
            "failCommands": ["ping"],
            "blockConnection": true,
            "blockTimeMS": BLOCK.as_millis() as i64,
            "appName": "interrupt",
        },
    );

    let (in_flight_tx, in_flight) = oneshot::channel();
    let blocked = tokio::spawn(async move {
        let mut in_flight_tx = Some(in_flight_tx);
        let result = {
            let command = ping(&mut conn);
            tokio::pin!(command);
            // Says when the command has sent its request and waits for the reply.
            poll_fn(|cx| {
                let poll = command.as_mut().poll(cx);
                if poll.is_pending() {
                    if let Some(tx) = in_flight_tx.take() {
                        let _ = tx.send(());
                    }
                }
                poll
            })
            .await
        };
        (result, Instant::now(), conn.broken(), conn.id())
    });
    in_flight.await.expect("the command went out");
    let cleared_at = Instant::now();
    pool.clear(None, true);
    let (result, failed_at, broken, id) = blocked.await.unwrap();

    let error = result.expect_err("the interrupted command fails");
    assert!(error.is_network(), "{error}");
    let took = failed_at - cleared_at;
    assert!(
        took < Duration::from_secs(2),
        "the command failed {took:?} after the clear, not at once (the server holds it {BLOCK:?})"
    );
    assert_eq!(broken, Some(Broken::Interrupted));
    let s = pool.stats();
    assert_eq!(
        (s.in_use, s.total),
        (0, 0),
        "the connection was closed: {s:?}"
    );
    assert_eq!(s.closed_by_reason.stale, 1, "{s:?}");
    assert_eq!(events.count("ConnectionClosed"), 1);

    server
        .command(
            "admin",
            doc! {"configureFailPoint": "failCommand", "mode": "off"},
        )
        .unwrap();
    pool.ready();
    let mut next = pool.checkout().await.unwrap();
    assert_ne!(next.id(), id, "the interrupted connection is not reused");
    ping(&mut next).await.unwrap();
}

#[tokio::test]
async fn a_checkout_that_waits_too_long_times_out() {
    const WAIT: Duration = Duration::from_millis(200);
    let server = start(TestServer::builder()).await;
    let (pool, events) = pool_for(
        &server,
        "wait-queue",
        PoolOptions::builder()
            .max_pool_size(1)
            .wait_queue_timeout(WAIT),
    );
    let mut held = pool.checkout().await.unwrap();
    ping(&mut held).await.unwrap();

    let started = Instant::now();
    let error = pool
        .checkout()
        .await
        .expect_err("the only connection is in use");
    let waited = started.elapsed();
    assert!(error.is_wait_queue_timeout(), "{error}");
    assert!(waited >= WAIT, "gave up after {waited:?}");
    assert!(
        waited < WAIT + Duration::from_secs(5),
        "gave up after {waited:?}"
    );
    let s = pool.stats();
    assert_eq!(s.checkout_failures.timeout, 1, "{s:?}");
    assert_eq!((s.total, s.in_use, s.waiters), (1, 1, 0), "{s:?}");
    assert_eq!(events.count("ConnectionCheckOutFailed"), 1);

    let id = held.id();
    drop(held);
    let mut again = pool.checkout().await.unwrap();
    assert_eq!(again.id(), id);
    ping(&mut again).await.unwrap();
}

#[tokio::test]
async fn a_checkout_dropped_while_its_connection_is_established_leaks_nothing() {
    const HELLO_HELD: Duration = Duration::from_millis(1_000);
    let server = start(TestServer::builder().test_commands(true)).await;
    fail_point(
        &server,
        doc! {"times": 1}.into(),
        doc! {
            "failCommands": ["isMaster", "hello"],
            "blockConnection": true,
            "blockTimeMS": HELLO_HELD.as_millis() as i64,
            "appName": "dropped-checkout",
        },
    );
    let (pool, events) = pool_for(
        &server,
        "dropped-checkout",
        PoolOptions::builder().max_pool_size(3),
    );

    let abandoned = timeout(Duration::from_millis(100), pool.checkout()).await;
    assert!(abandoned.is_err(), "the hello is held for {HELLO_HELD:?}");
    let s = pool.stats();
    assert_eq!((s.pending, s.in_use, s.waiters), (1, 0, 0), "{s:?}");
    assert_eq!(
        pool.free_slots(),
        Some(3),
        "the dropped checkout's slot is free: {s:?}"
    );
    assert_eq!(s.checkout_failures.cancelled, 1, "{s:?}");

    // The establishment goes on and its connection joins the available ones.
    events.wait_for("ConnectionReady", 1).await;
    let s = pool.stats();
    assert_eq!(
        (s.pending, s.in_use, s.idle, s.total),
        (0, 0, 1, 1),
        "{s:?}"
    );
    assert_eq!(pool.free_slots(), Some(3));

    let mut conn = pool.checkout().await.unwrap();
    assert_eq!(conn.id(), 1, "the orphaned connection is used");
    ping(&mut conn).await.unwrap();
    drop(conn);
    let s = pool.stats();
    assert_eq!((s.created, s.idle, s.total), (1, 1, 1), "{s:?}");
    assert_eq!(s.closed_by_reason.total(), 0, "{s:?}");
    assert_eq!(events.count("ConnectionCheckOutStarted"), 2);
    assert_eq!(events.count("ConnectionCheckOutFailed"), 1);
    assert_eq!(events.count("ConnectionCheckedOut"), 1);
}
