//! The SDAM unified tests `backpressure-*.json` (specs/related/sdam-unified), one
//! test per file, driving the Client against SecantusDB with the same fail points
//! and asserting the same events: a network error or timeout while a pool opens a
//! connection (its hello) gets the `SystemOverloadedError` and `RetryableError`
//! labels, and then neither clears the pool nor changes the server's description.
//!
//! There is no unified-format runner here: each file's operations are written out
//! by hand (createEntities → a Client with the file's URI options; waitForEvent →
//! waiting on our events; failPoint → `configureFailPoint` on the server;
//! insertMany → an `insert` command).

// Option structs are built as HELPERS.md asks: default, then fields.
#![allow(clippy::field_reassign_with_default)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bson::{doc, rawdoc, Document};
use mongopool::events::CmapEvent;
use mongopool::topology::TopologyOptions;
use mongopool::topology::{SdamEvent, ServerType};
use mongopool::{Client, ConnectionString, ReadPreference};
use mongopool_testkit::TestServer;
use tokio::sync::Notify;

const PATIENCE: Duration = Duration::from_secs(20);

/// What the files observe, in order.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    ServerDescriptionChanged(ServerType),
    PoolCleared,
    ConnectionClosed,
}

#[derive(Default)]
struct Observed {
    events: Mutex<Vec<Seen>>,
    changed: Notify,
}

impl Observed {
    fn push(&self, seen: Seen) {
        self.events.lock().unwrap().push(seen);
        self.changed.notify_waiters();
    }

    fn events(&self) -> Vec<Seen> {
        self.events.lock().unwrap().clone()
    }

    fn count(&self, matches: impl Fn(&Seen) -> bool) -> usize {
        self.events().iter().filter(|e| matches(e)).count()
    }

    /// waitForEvent: until `count` events match.
    async fn wait_for(&self, count: usize, matches: impl Fn(&Seen) -> bool) {
        let wait = async {
            loop {
                let notified = self.changed.notified();
                if self.count(&matches) >= count {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(PATIENCE, wait)
            .await
            .unwrap_or_else(|_| panic!("events so far: {:?}", self.events()));
    }
}

impl mongopool::events::CmapEventHandler for Observed {
    fn handle(&self, event: CmapEvent) {
        match event {
            CmapEvent::PoolCleared(_) => self.push(Seen::PoolCleared),
            CmapEvent::ConnectionClosed(_) => self.push(Seen::ConnectionClosed),
            _ => {}
        }
    }
}

impl mongopool::topology::SdamEventHandler for Observed {
    fn handle(&self, event: SdamEvent) {
        if let SdamEvent::ServerDescriptionChanged { new, .. } = event {
            self.push(Seen::ServerDescriptionChanged(new.server_type));
        }
    }
}

async fn start(standalone: bool) -> TestServer {
    tokio::task::spawn_blocking(move || {
        TestServer::builder()
            .test_commands(true)
            .standalone(standalone)
            .start()
            .expect("start secantusd-rs")
    })
    .await
    .unwrap()
}

async fn open_client(server: &TestServer, uri_options: &str) -> (Client, Arc<Observed>) {
    let observed = Arc::new(Observed::default());
    let mut options = TopologyOptions::default();
    options.pool_event_handler = Some(observed.clone());
    options.sdam_event_handler = Some(observed.clone());
    let uri = format!("{}/?{uri_options}", server.uri());
    let client = Client::with_options(ConnectionString::parse(&uri).unwrap(), options)
        .await
        .unwrap();
    (client, observed)
}

fn fail_point(server: &TestServer, mode: bson::Bson, data: Document) {
    server
        .command(
            "admin",
            doc! { "configureFailPoint": "failCommand", "mode": mode, "data": data },
        )
        .expect("configureFailPoint");
}

fn fail_point_off(server: &TestServer) {
    server
        .command(
            "admin",
            doc! { "configureFailPoint": "failCommand", "mode": "off" },
        )
        .expect("configureFailPoint off");
}

/// The four "apply backpressure on network ... during connection establishment"
/// files: after the server is discovered, every hello of the app fails (`data`);
/// the insert fails with both labels, no pool is cleared, and the server keeps its type.
async fn establishment_error_is_backpressure(standalone: bool, uri_options: &str, data: Document) {
    let server = start(standalone).await;
    let expected = match standalone {
        true => ServerType::Standalone,
        false => ServerType::RsPrimary,
    };
    let (client, observed) = open_client(&server, uri_options).await;
    observed
        .wait_for(1, |e| *e == Seen::ServerDescriptionChanged(expected))
        .await;
    let before = observed.events();
    fail_point(&server, "alwaysOn".into(), data);

    let insert = rawdoc! { "insert": "backpressure", "documents": [{ "_id": 3 }, { "_id": 4 }] };
    let error = client
        .command("sdam-tests", &insert, &ReadPreference::primary())
        .await
        .expect_err("the pool cannot open a connection");
    fail_point_off(&server);
    assert!(
        error.has_label("SystemOverloadedError") && error.has_label("RetryableError"),
        "{error:?}"
    );
    // expectEvents cmap: [] (poolClearedEvent observed); the description unchanged.
    let after: Vec<_> = observed.events().split_off(before.len());
    assert!(
        after
            .iter()
            .all(|e| !matches!(e, Seen::PoolCleared | Seen::ServerDescriptionChanged(_))),
        "{after:?}"
    );
    let types: Vec<_> = client
        .topology()
        .description()
        .servers()
        .map(|s| s.server_type)
        .collect();
    assert_eq!(types, [expected]);
    client.close().await;
}

fn closing_hellos(app: &str) -> Document {
    doc! { "failCommands": ["isMaster", "hello"], "appName": app, "closeConnection": true }
}

fn blocking_hellos(app: &str) -> Document {
    doc! {
        "failCommands": ["isMaster", "hello"],
        "blockConnection": true,
        "blockTimeMS": 500,
        "appName": app,
    }
}

const NETWORK_ERROR_OPTIONS: &str = "retryWrites=false&heartbeatFrequencyMS=1000000\
    &serverMonitoringMode=poll&appName=backpressureNetworkErrorFailTest";
const TIMEOUT_OPTIONS: &str = "retryWrites=false&heartbeatFrequencyMS=1000000\
    &appName=backpressureNetworkTimeoutErrorTest&serverMonitoringMode=poll\
    &connectTimeoutMS=250&socketTimeoutMS=250";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backpressure_network_error_fail_replicaset() {
    establishment_error_is_backpressure(
        false,
        NETWORK_ERROR_OPTIONS,
        closing_hellos("backpressureNetworkErrorFailTest"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backpressure_network_error_fail_single() {
    establishment_error_is_backpressure(
        true,
        NETWORK_ERROR_OPTIONS,
        closing_hellos("backpressureNetworkErrorFailTest"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backpressure_network_timeout_fail_replicaset() {
    establishment_error_is_backpressure(
        false,
        TIMEOUT_OPTIONS,
        blocking_hellos("backpressureNetworkTimeoutErrorTest"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backpressure_network_timeout_fail_single() {
    establishment_error_is_backpressure(
        true,
        TIMEOUT_OPTIONS,
        blocking_hellos("backpressureNetworkTimeoutErrorTest"),
    )
    .await;
}

/// backpressure-server-description-unchanged-on-min-pool-size-population-error: the
/// monitor's hello passes (skip 1), the pool's hellos while filling minPoolSize are
/// closed; the server's description changes once (discovery) and never again, and
/// the pool is not cleared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backpressure_server_description_unchanged_on_min_pool_size_population_error() {
    let server = start(true).await;
    fail_point(
        &server,
        doc! { "skip": 1 }.into(),
        closing_hellos("authErrorTest"),
    );
    let (client, observed) = open_client(
        &server,
        "appName=authErrorTest&minPoolSize=5&maxConnecting=1&serverMonitoringMode=poll\
         &heartbeatFrequencyMS=1000000",
    )
    .await;
    observed
        .wait_for(1, |e| matches!(e, Seen::ServerDescriptionChanged(_)))
        .await;
    // The file waits for one connectionClosedEvent; a few more give a wrong reaction
    // (a clear, a description change) time to show.
    observed.wait_for(3, |e| *e == Seen::ConnectionClosed).await;
    fail_point_off(&server);
    let events = observed.events();
    let changes: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, Seen::ServerDescriptionChanged(_)))
        .collect();
    assert_eq!(
        changes,
        [&Seen::ServerDescriptionChanged(ServerType::Standalone)]
    );
    assert!(!events.contains(&Seen::PoolCleared), "{events:?}");
    client.close().await;
}
