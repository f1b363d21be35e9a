//! The bound on waiters against SecantusDB: with every connection busy on a command the
//! server holds (`failCommand` with `blockConnection`), 100 callers against a bound of 8
//! (`maxPoolSize=4&waitQueueMultiple=2`) give exactly 8 waiters and 92 immediate
//! refusals, the 8 are served once the commands return, and nothing leaks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bson::{doc, rawdoc};
use mongopool::events::{CheckoutFailedReason, CmapEvent};
use mongopool::PoolOptions;
use mongopool::{CommandOptions, ConnectionOptions, ConnectionString, MongoPool, ServerAddress};
use mongopool_testkit::TestServer;

const APP: &str = "max-waiters";
/// How long the server holds each ping: far longer than admitting 100 checkouts takes.
const BLOCK_MS: i64 = 2000;

#[derive(Default)]
struct Refusals(AtomicUsize);

impl mongopool::events::CmapEventHandler for Refusals {
    fn handle(&self, event: CmapEvent) {
        if let CmapEvent::ConnectionCheckOutFailed(f) = event {
            if f.reason == CheckoutFailedReason::ExceededMaxWaiters {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bound_of_8_gives_8_waiters_and_92_refusals_under_a_blocked_server() {
    let server = tokio::task::spawn_blocking(|| {
        TestServer::builder()
            .test_commands(true)
            .start()
            .expect("start secantusd-rs")
    })
    .await
    .unwrap();
    let cs = ConnectionString::parse("mongodb://h/?maxPoolSize=4&waitQueueMultiple=2").unwrap();
    let refusals = Arc::new(Refusals::default());
    let mut options = PoolOptions::from_connection_string(&cs).unwrap();
    assert_eq!(options.max_waiters, Some(8));
    options.event_handler = Some(refusals.clone());
    let connection_options = ConnectionOptions::builder()
        .app_name(Some(APP.into()))
        .build()
        .unwrap();
    let pool = MongoPool::with_options(
        ServerAddress::tcp(server.host(), server.port()),
        options,
        connection_options,
    );
    pool.ready();
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

    // Every connection busy on a ping the server holds.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(pool.checkout().await.unwrap());
    }
    let busy: Vec<_> = held
        .into_iter()
        .map(|mut conn| {
            tokio::spawn(async move {
                conn.command("admin", &rawdoc! {"ping": 1}, &CommandOptions::default())
                    .await
                    .map(drop)
            })
        })
        .collect();

    let callers: Vec<_> = (0..100)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.checkout().await.map(drop) })
        })
        .collect();
    // The refusals come at once; the server still holds every ping then.
    let deadline = tokio::time::Instant::now() + Duration::from_millis(BLOCK_MS as u64 / 2);
    while refusals.0.load(Ordering::SeqCst) < 92 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let s = pool.stats();
    assert_eq!(
        (refusals.0.load(Ordering::SeqCst), s.waiters, s.in_use),
        (92, 8, 4),
        "{s:?}"
    );

    let (mut served, mut refused) = (0, 0);
    for caller in callers {
        match caller.await.unwrap() {
            Ok(()) => served += 1,
            Err(e) if e.is_exceeded_max_waiters() => refused += 1,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    for b in busy {
        b.await.unwrap().unwrap();
    }
    assert_eq!((served, refused), (8, 92));
    server
        .command(
            "admin",
            doc! {"configureFailPoint": "failCommand", "mode": "off"},
        )
        .unwrap();
    let s = pool.stats();
    assert_eq!((s.in_use, s.pending, s.waiters), (0, 0, 0), "{s:?}");
    assert_eq!(s.total, s.idle, "{s:?}");
    assert_eq!(s.total, 4, "no connection closed or added: {s:?}");
    assert_eq!(s.checkout_failures.exceeded_max_waiters, 92, "{s:?}");
    assert_eq!(pool.free_slots(), Some(4));
}
