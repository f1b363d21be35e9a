//! The blocking API against SecantusDB, from plain threads with no runtime of their
//! own: many threads share one client and one pool, `close()` ends a command the
//! server is holding, and dropping a handle leaves no connection and no thread.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bson::{doc, rawdoc};
use mongopool::blocking;
use mongopool::{ReadPreference, ServerAddress};
use mongopool_testkit::TestServer;

/// The tests count the process's threads: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const APP: &str = "blocking-test";
/// How long the server holds a command: far longer than closing takes.
const BLOCK_MS: i64 = 8000;

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn start() -> TestServer {
    TestServer::builder()
        .test_commands(true)
        .start()
        .expect("start secantusd-rs")
}

/// The server's count of client connections, without the one this question uses.
fn server_connections(server: &TestServer) -> i64 {
    let status = server
        .command("admin", doc! { "serverStatus": 1 })
        .expect("serverStatus");
    let connections = status.get_document("connections").expect("connections");
    let current = match connections.get("current") {
        Some(bson::Bson::Int32(n)) => i64::from(*n),
        Some(bson::Bson::Int64(n)) => *n,
        other => panic!("connections.current is {other:?}"),
    };
    current - 1
}

/// Waits (up to a generous limit) until the server counts `expected` connections:
/// it notices closed sockets on its own schedule.
fn wait_for_server_connections(server: &TestServer, expected: i64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = server_connections(server);
    while last != expected && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        last = server_connections(server);
    }
    assert_eq!(last, expected, "the server's count of client connections");
}

/// Threads of this process that drive a blocking runtime (`comm` keeps 15 bytes).
fn blocking_threads() -> usize {
    threads_named("mongopool-drive")
}

/// Every thread of a blocking runtime: its driver and its blocking-pool threads.
fn runtime_threads() -> usize {
    threads_named("mongopool-drive") + threads_named("mongopool-bpool")
}

fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

fn block_pings(server: &TestServer) {
    server
        .command(
            "admin",
            doc! {
                "configureFailPoint": "failCommand",
                "mode": "alwaysOn",
                "data": {
                    "failCommands": ["ping"],
                    "blockConnection": true,
                    "blockTimeMS": BLOCK_MS,
                    "appName": APP,
                },
            },
        )
        .expect("configureFailPoint");
}

#[test]
fn many_threads_share_one_client_and_dropping_it_leaves_nothing() {
    let _serial = serial();
    let server = start();
    let threads_before = runtime_threads();
    // A fresh server: no client but the ones this test makes (and the testkit's own
    // short-lived ones, which the server may still count for a moment).
    let baseline = 0;
    wait_for_server_connections(&server, baseline);
    let client =
        blocking::Client::connect(&format!("{}/?maxPoolSize=3", server.uri())).expect("connect");
    // The driver names itself once it runs: wait for that.
    let deadline = Instant::now() + Duration::from_secs(10);
    while blocking_threads() != 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(blocking_threads(), 1, "one driver thread");

    std::thread::scope(|s| {
        for t in 0..8 {
            let client = &client;
            s.spawn(move || {
                for i in 0..40 {
                    let reply = client
                        .run_command("admin", &rawdoc! { "ping": 1 })
                        .unwrap_or_else(|e| panic!("thread {t}, ping {i}: {e}"));
                    assert_eq!(reply.get_f64("ok").ok(), Some(1.0));
                }
            });
        }
    });
    // A checked-out connection, a typed reply, and a clone used from another thread.
    let mut conn = client
        .checkout(&ReadPreference::primary())
        .expect("checkout");
    #[derive(serde::Deserialize)]
    struct Ok1 {
        ok: f64,
    }
    let reply: Ok1 = conn
        .run_command_as("admin", &rawdoc! { "ping": 1 })
        .expect("typed ping");
    assert_eq!(reply.ok, 1.0);
    drop(conn);
    let clone = client.clone();
    std::thread::spawn(move || clone.run_command("admin", &rawdoc! { "ping": 1 }))
        .join()
        .unwrap()
        .expect("ping from a moved clone");

    let stats = client.topology().stats();
    let pool = stats.servers[0].pool.as_ref().expect("a pool");
    assert!(pool.total <= 3, "maxPoolSize=3 was exceeded: {stats}");
    assert_eq!(pool.in_use, 0, "{stats}");
    // Pooled connections and the monitor's are open on the server.
    assert!(server_connections(&server) > baseline);

    drop(client);
    assert_eq!(
        runtime_threads(),
        threads_before,
        "the runtime thread ended"
    );
    wait_for_server_connections(&server, baseline);
}

#[test]
fn close_ends_a_command_the_server_holds_and_leaks_nothing() {
    let _serial = serial();
    let server = start();
    let threads_before = runtime_threads();
    // A fresh server: no client but the ones this test makes (and the testkit's own
    // short-lived ones, which the server may still count for a moment).
    let baseline = 0;
    wait_for_server_connections(&server, baseline);
    let client =
        blocking::Client::connect(&format!("{}/?appName={APP}", server.uri())).expect("connect");
    client
        .run_command("admin", &rawdoc! { "ping": 1 })
        .expect("a ping before the fail point");
    block_pings(&server);

    let held = client.clone();
    let in_flight = std::thread::spawn(move || {
        let started = Instant::now();
        let result = held.run_command("admin", &rawdoc! { "ping": 1 });
        (result, started.elapsed())
    });
    // The ping is out once its connection is in use; a moment more lets the bytes go.
    let deadline = Instant::now() + Duration::from_secs(10);
    let in_use = || {
        client.topology().stats().servers[0]
            .pool
            .as_ref()
            .map(|p| p.in_use)
    };
    while in_use() != Some(1) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(in_use(), Some(1), "the ping never got a connection");
    std::thread::sleep(Duration::from_millis(200));

    client.close();
    let (result, elapsed) = in_flight.join().unwrap();
    let err = result.expect_err("the held ping was ended by close()");
    assert!(err.is_network(), "{err}");
    assert!(err.to_string().contains("closed"), "{err}");
    assert!(
        elapsed < Duration::from_millis(BLOCK_MS as u64 / 2),
        "close() did not end the call: it took {elapsed:?}"
    );
    // Calls after close fail at once, without touching the server.
    let after = client.run_command("admin", &rawdoc! { "ping": 1 });
    assert!(after.is_err());

    drop(client);
    assert_eq!(
        runtime_threads(),
        threads_before,
        "the runtime thread ended"
    );
    // The connection the held ping used is closed, not waiting for its reply.
    wait_for_server_connections(&server, baseline);
}

#[test]
fn a_pool_shared_by_threads_stays_within_its_size_and_closes_its_connections() {
    let _serial = serial();
    let server = start();
    // A fresh server: no client but the ones this test makes (and the testkit's own
    // short-lived ones, which the server may still count for a moment).
    let baseline = 0;
    wait_for_server_connections(&server, baseline);
    let pool = blocking::Pool::connect(&format!("{}/?maxPoolSize=2", server.uri()))
        .expect("a blocking pool");
    std::thread::scope(|s| {
        for _ in 0..6 {
            s.spawn(|| {
                for _ in 0..30 {
                    let mut conn = pool.checkout().expect("checkout");
                    let reply = conn
                        .command("admin", &rawdoc! { "ping": 1 }, &Default::default())
                        .expect("ping");
                    assert_eq!(reply.get_f64("ok").ok(), Some(1.0));
                    assert!(pool.stats().in_use <= 2);
                }
            });
        }
    });
    let stats = pool.stats();
    assert_eq!(stats.in_use, 0, "{stats:?}");
    assert!(stats.total <= 2 && stats.total >= 1, "{stats:?}");
    wait_for_server_connections(&server, baseline + stats.total as i64);
    pool.close();
    assert!(pool.checkout().is_err(), "a closed pool hands out nothing");
    drop(pool);
    wait_for_server_connections(&server, baseline);
}

#[test]
fn a_single_connection_runs_commands_and_closes_when_dropped() {
    let _serial = serial();
    let server = start();
    // A fresh server: no client but the ones this test makes (and the testkit's own
    // short-lived ones, which the server may still count for a moment).
    let baseline = 0;
    wait_for_server_connections(&server, baseline);
    let address = ServerAddress::tcp(server.host(), server.port());
    let mut conn = blocking::Connection::connect(&address, &Default::default())
        .expect("a blocking connection");
    let reply = conn
        .command("admin", &rawdoc! { "ping": 1 }, &Default::default())
        .expect("ping");
    assert_eq!(reply.get_f64("ok").ok(), Some(1.0));
    assert!(conn.hello().max_wire_version >= 6);
    wait_for_server_connections(&server, baseline + 1);
    drop(conn);
    wait_for_server_connections(&server, baseline);
}

#[test]
fn inside_an_async_runtime_a_blocking_call_is_an_error_not_a_panic() {
    let _serial = serial();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let err = runtime
        .block_on(async { blocking::Client::connect("mongodb://127.0.0.1:1") })
        .expect_err("refused inside a runtime");
    assert!(err.is_configuration(), "{err}");
    assert!(err.to_string().contains("async runtime"), "{err}");
}
