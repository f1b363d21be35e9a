//! Overload retries on the deployment simulator: a member (or a mongos) answers a
//! command with the ingress rate limiter's error (`SystemOverloadedError`,
//! `RetryableError`), and the Client's retry goes to another server when the
//! topology allows it (`enableOverloadRetargeting`; always between mongos routers).

// Option structs are built as HELPERS.md asks: default, then fields.
#![allow(clippy::field_reassign_with_default)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bson::rawdoc;
use mongopool::topology::ServerType;
use mongopool::{Client, ReadPreference, ReadPreferenceMode};
use mongopool::{OverloadRetryEvent, OverloadRetryOptions};
use mongopool_testkit::simulator::{overload_error, MemberSpec, Simulator};
use mongopool_testkit::TestServer;
use tokio::time::timeout;

const PATIENCE: Duration = Duration::from_secs(20);

async fn backend() -> TestServer {
    tokio::task::spawn_blocking(|| TestServer::start().expect("start secantusd-rs"))
        .await
        .unwrap()
}

/// Waits (on topology changes) until `count` servers have type `kind`.
async fn wait_for(client: &Client, kind: ServerType, count: usize) {
    let mut watch = client.topology().watch();
    let wait = async {
        loop {
            let found = watch
                .description()
                .servers()
                .filter(|s| s.server_type == kind)
                .count();
            if found >= count {
                return;
            }
            assert!(watch.changed().await, "the topology closed");
        }
    };
    timeout(PATIENCE, wait)
        .await
        .unwrap_or_else(|_| panic!("no {count} x {kind:?}: {}", client.topology().stats()));
}

type Events = Arc<Mutex<Vec<OverloadRetryEvent>>>;

fn recording(mut options: OverloadRetryOptions) -> (OverloadRetryOptions, Events) {
    let events: Events = Arc::default();
    let sink = events.clone();
    options.event_handler = Some(Arc::new(move |e: OverloadRetryEvent| {
        sink.lock().unwrap().push(e)
    }));
    (options, events)
}

fn addresses(events: &Events) -> Vec<String> {
    events
        .lock()
        .unwrap()
        .iter()
        .map(|e| {
            e.address
                .as_ref()
                .map(|a| a.to_string())
                .unwrap_or_default()
        })
        .collect()
}

async fn replica_set_client(sim: &Simulator, retargeting: bool) -> (Client, Events) {
    let uri = format!("{}&heartbeatFrequencyMS=500", sim.uri());
    let client = Client::connect(&uri).await.unwrap();
    wait_for(&client, ServerType::RsPrimary, 1).await;
    wait_for(&client, ServerType::RsSecondary, 2).await;
    let mut options = OverloadRetryOptions::default();
    options.enable_overload_retargeting = retargeting;
    let (options, events) = recording(options);
    (client.with_overload_retry(options), events)
}

#[tokio::test]
async fn with_retargeting_a_shed_read_is_retried_on_a_secondary() {
    let backend = backend().await;
    let sim = Simulator::replica_set("rs0")
        .member(MemberSpec::primary())
        .member(MemberSpec::secondary())
        .member(MemberSpec::secondary())
        .start(backend.address())
        .await
        .unwrap();
    let primary_preferred = ReadPreference::with_mode(ReadPreferenceMode::PrimaryPreferred);
    let ping = rawdoc! { "ping": 1 };

    // Retargeting on: the primary sheds the first attempt, a secondary serves the retry.
    let (client, events) = replica_set_client(&sim, true).await;
    sim.fail_command(0, "ping", 5, overload_error())
        .await
        .unwrap();
    let reply = client.command("admin", &ping, &primary_preferred).await;
    assert!(reply.is_ok(), "{reply:?}");
    assert_eq!(addresses(&events), [sim.host(0)]);
    assert_eq!(sim.failures_left(0), 4, "one attempt reached the primary");
    let event = events.lock().unwrap()[0].clone();
    assert_eq!(event.deprioritized.len(), 1);
    assert!(event.error.is_retryable_overload());
    client.close().await;

    // Retargeting off (the default): every attempt goes back to the primary.
    let (client, events) = replica_set_client(&sim, false).await;
    sim.fail_command(0, "ping", 5, overload_error())
        .await
        .unwrap();
    let error = client
        .command("admin", &ping, &primary_preferred)
        .await
        .expect_err("three attempts on the shedding primary");
    assert_eq!(error.code(), Some(462));
    assert_eq!(addresses(&events), [sim.host(0), sim.host(0)]);
    assert_eq!(sim.failures_left(0), 2);
    // The primary stays primary: overload changes nothing in the topology.
    assert_eq!(
        client
            .topology()
            .description()
            .servers()
            .find(|s| s.address.to_string() == sim.host(0))
            .map(|s| s.server_type),
        Some(ServerType::RsPrimary)
    );
    client.close().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn between_mongos_routers_a_retry_always_goes_to_another_router() {
    let backend = backend().await;
    let sim = Simulator::mongos(2).start(backend.address()).await.unwrap();
    let uri = format!("mongodb://{}/?heartbeatFrequencyMS=500", sim.hosts());
    let client = Client::connect(&uri).await.unwrap();
    wait_for(&client, ServerType::Mongos, 2).await;
    // Retargeting is off, but a sharded cluster retargets anyway.
    let (options, events) = recording(OverloadRetryOptions::default());
    let client = client.with_overload_retry(options);
    sim.fail_command(0, "ping", 1, overload_error())
        .await
        .unwrap();
    sim.fail_command(1, "ping", 1, overload_error())
        .await
        .unwrap();
    let reply = client
        .command("admin", &rawdoc! { "ping": 1 }, &ReadPreference::primary())
        .await;
    assert!(reply.is_ok(), "{reply:?}");
    let seen = addresses(&events);
    assert_eq!(seen.len(), 2, "each router shed one attempt: {seen:?}");
    assert_ne!(seen[0], seen[1], "the retry went to the other router");
    assert_eq!(sim.failures_left(0) + sim.failures_left(1), 0);
    client.close().await;
    sim.shutdown().await;
}
