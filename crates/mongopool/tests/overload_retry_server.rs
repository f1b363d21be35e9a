//! Overload retries against SecantusDB: `failCommand` answers `ping` with the
//! ingress rate limiter's error (code 462, labels `SystemOverloadedError` and
//! `RetryableError`) a given number of times. The Client retries it as the client
//! backpressure spec says, emits one event per retry, and leaves the server known
//! and its pool uncleared.

// Option structs are built as HELPERS.md asks: default, then fields.
#![allow(clippy::field_reassign_with_default)]

use std::sync::{Arc, Mutex};

use bson::{doc, rawdoc};
use mongopool::events::CmapEvent;
use mongopool::topology::ServerType;
use mongopool::topology::TopologyOptions;
use mongopool::{Client, ConnectionString, ReadPreference};
use mongopool::{OverloadRetryEvent, OverloadRetryOptions};
use mongopool_testkit::TestServer;

#[derive(Default)]
struct Seen {
    retries: Mutex<Vec<OverloadRetryEvent>>,
    pool_clears: Mutex<u32>,
}

impl mongopool::events::CmapEventHandler for Seen {
    fn handle(&self, event: CmapEvent) {
        if let CmapEvent::PoolCleared(_) = event {
            *self.pool_clears.lock().unwrap() += 1;
        }
    }
}

async fn start() -> TestServer {
    tokio::task::spawn_blocking(|| {
        TestServer::builder()
            .test_commands(true)
            .start()
            .expect("start secantusd-rs")
    })
    .await
    .unwrap()
}

fn fail_pings(server: &TestServer, app: &str, times: i32) {
    server
        .command(
            "admin",
            doc! {
                "configureFailPoint": "failCommand",
                "mode": { "times": times },
                "data": {
                    "failCommands": ["ping"],
                    "errorCode": 462,
                    "errorLabels": ["SystemOverloadedError", "RetryableError"],
                    "appName": app,
                },
            },
        )
        .expect("configureFailPoint");
}

async fn open_client(
    server: &TestServer,
    app: &str,
    retry: OverloadRetryOptions,
) -> (Client, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let mut options = TopologyOptions::default();
    options.pool_event_handler = Some(seen.clone());
    let uri = format!("{}/?appName={app}", server.uri());
    let client = Client::with_options(ConnectionString::parse(&uri).unwrap(), options)
        .await
        .unwrap();
    let recorder = seen.clone();
    let mut retry = retry;
    retry.event_handler = Some(Arc::new(move |e: OverloadRetryEvent| {
        recorder.retries.lock().unwrap().push(e)
    }));
    (client.with_overload_retry(retry), seen)
}

async fn ping(client: &Client) -> mongopool::Result<bson::RawDocumentBuf> {
    client
        .command("admin", &rawdoc! { "ping": 1 }, &ReadPreference::primary())
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shed_pings_are_retried_and_the_third_attempt_succeeds() {
    let server = start().await;
    let app = "overload-retry-ok";
    let (client, seen) = open_client(&server, app, OverloadRetryOptions::default()).await;
    ping(&client).await.expect("a first ping opens the pool");
    fail_pings(&server, app, 2);

    let reply = ping(&client).await.expect("retried until it succeeds");
    assert_eq!(reply.get_f64("ok").ok(), Some(1.0));
    let retries = seen.retries.lock().unwrap().clone();
    assert_eq!(retries.len(), 2, "{retries:#?}");
    for (i, event) in retries.iter().enumerate() {
        assert_eq!(event.attempt, i as u32 + 1);
        assert!(event.overload);
        assert_eq!(event.error.code(), Some(462));
        assert!(event.error.is_retryable_overload());
        assert_eq!(
            event.address.as_ref().map(|a| a.to_string()),
            Some(format!("{}:{}", server.host(), server.port()))
        );
    }
    // An overload error changes neither the server's description nor its pool.
    let description = client.topology().description();
    let types: Vec<_> = description.servers().map(|s| s.server_type).collect();
    assert!(types.iter().all(|t| *t != ServerType::Unknown), "{types:?}");
    assert_eq!(*seen.pool_clears.lock().unwrap(), 0);
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_retries_off_or_exhausted_the_overload_error_comes_back_with_its_labels() {
    let server = start().await;
    let app = "overload-retry-off";
    let mut off = OverloadRetryOptions::default();
    off.max_adaptive_retries = 0;
    let (client, seen) = open_client(&server, app, off).await;
    ping(&client).await.unwrap();
    fail_pings(&server, app, 1);
    let error = ping(&client).await.expect_err("no retry");
    assert!(error.is_retryable_overload(), "{error:?}");
    assert!(seen.retries.lock().unwrap().is_empty());
    client.close().await;

    // Three sheds against the default two retries: the third error is returned.
    let app = "overload-retry-exhausted";
    let (client, seen) = open_client(&server, app, OverloadRetryOptions::default()).await;
    ping(&client).await.unwrap();
    fail_pings(&server, app, 3);
    let error = ping(&client).await.expect_err("retries exhausted");
    assert_eq!(error.code(), Some(462));
    assert_eq!(seen.retries.lock().unwrap().len(), 2);
    ping(&client).await.expect("the fail point is used up");
    assert_eq!(*seen.pool_clears.lock().unwrap(), 0);
    client.close().await;
}
