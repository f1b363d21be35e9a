//! The topology and the `Client` against SecantusDB: discovery of a standalone and of
//! the one-node replica set, commands through the front door with no `ready()`, a
//! selection that times out naming the server, streaming and polling monitors, and
//! monitors that end (with their connections) on close and on drop.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bson::{doc, rawdoc};
use mongopool::topology::ServerType;
use mongopool::topology::{SdamEvent, TopologyOptions, TopologyType};
use mongopool::{Client, ConnectionString, ReadPreference, ReadPreferenceMode};
use mongopool_testkit::TestServer;
use tokio::time::{timeout, Instant};

async fn start(standalone: bool) -> TestServer {
    tokio::task::spawn_blocking(move || {
        TestServer::builder()
            .standalone(standalone)
            .start()
            .expect("start secantusd-rs")
    })
    .await
    .unwrap()
}

/// Waits (on the topology's change notifications, at most 20 s) until `done` holds.
async fn wait_for_description(
    client: &Client,
    what: &str,
    done: impl Fn(&mongopool::topology::TopologyDescription) -> bool,
) {
    let mut watch = client.topology().watch();
    let wait = async {
        loop {
            if done(&watch.description()) {
                return;
            }
            assert!(watch.changed().await, "the topology closed");
        }
    };
    timeout(Duration::from_secs(20), wait)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{what}: not reached; topology: {}",
                client.topology().stats()
            )
        });
}

/// Waits (at most 20 s) until the server counts `expected` connections, besides the
/// one `TestServer::command` opens to ask.
async fn wait_for_server_connections(server: &TestServer, expected: i64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = -1;
    while Instant::now() < deadline {
        last = current_connections(server) - 1;
        if last == expected {
            return;
        }
        // The server notices closed sockets on its own schedule: ask again shortly.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server counts {last} client connections, expected {expected}");
}

fn current_connections(server: &TestServer) -> i64 {
    let status = server
        .command("admin", doc! { "serverStatus": 1 })
        .expect("serverStatus");
    let connections = status.get_document("connections").expect("connections");
    match connections.get("current") {
        Some(bson::Bson::Int32(n)) => i64::from(*n),
        Some(bson::Bson::Int64(n)) => *n,
        other => panic!("connections.current is {other:?}"),
    }
}

#[tokio::test]
async fn a_standalone_is_discovered_and_served_without_ready() {
    let server = start(true).await;
    let client = Client::connect(&server.uri()).await.unwrap();
    let reply = client
        .command("admin", &rawdoc! { "ping": 1 }, &ReadPreference::primary())
        .await
        .unwrap();
    assert_eq!(reply.get_f64("ok").ok(), Some(1.0));
    let description = client.topology().description();
    assert_eq!(description.topology_type(), TopologyType::Single);
    let servers: Vec<_> = description.servers().collect();
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0].server_type, ServerType::Standalone);
    let stats = client.topology().stats();
    let pool = stats.servers[0].pool.as_ref().expect("a pool");
    assert_eq!(pool.total, 1, "{stats}");
    assert!(stats.servers[0].round_trip_time.is_some(), "{stats}");
    client.close().await;
}

#[tokio::test]
async fn the_one_node_replica_set_is_discovered_with_and_without_its_name() {
    let server = start(false).await;
    for uri in [
        server.uri(),
        format!("{}/?replicaSet=secantus", server.uri()),
    ] {
        let client = Client::connect(&uri).await.unwrap();
        wait_for_description(&client, "a primary", |d| {
            d.topology_type() == TopologyType::ReplicaSetWithPrimary
        })
        .await;
        let description = client.topology().description();
        assert_eq!(description.set_name(), Some("secantus"), "{uri}");
        assert_eq!(
            description.primary().map(|p| p.address.to_string()),
            Some(format!("127.0.0.1:{}", server.port()))
        );
        for rp in [
            ReadPreference::primary(),
            ReadPreference::with_mode(ReadPreferenceMode::PrimaryPreferred),
            ReadPreference::with_mode(ReadPreferenceMode::SecondaryPreferred),
            ReadPreference::with_mode(ReadPreferenceMode::Nearest),
        ] {
            let reply = client
                .command("admin", &rawdoc! { "ping": 1 }, &rp)
                .await
                .unwrap_or_else(|e| panic!("{uri} {rp:?}: {e}"));
            assert_eq!(reply.get_f64("ok").ok(), Some(1.0));
        }
        let mut conn = client.checkout_for_write().await.unwrap();
        conn.run_command(
            "test",
            &rawdoc! { "insert": "t", "documents": [{ "x": 1 }] },
        )
        .await
        .unwrap();
        drop(conn);
        client.close().await;
    }
}

#[tokio::test]
async fn secondary_reads_on_the_one_node_set_time_out_naming_the_server() {
    let server = start(false).await;
    let uri = format!("{}/?serverSelectionTimeoutMS=1500", server.uri());
    let client = Client::connect(&uri).await.unwrap();
    let started = Instant::now();
    let err = client
        .command(
            "admin",
            &rawdoc! { "ping": 1 },
            &ReadPreference::with_mode(ReadPreferenceMode::Secondary),
        )
        .await
        .unwrap_err();
    let waited = started.elapsed();
    assert!(err.is_server_selection(), "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("127.0.0.1:{}", server.port())),
        "{message}"
    );
    assert!(message.contains("RSPrimary"), "{message}");
    assert!(waited >= Duration::from_millis(1500), "{waited:?}");
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    client.close().await;
}

/// Heartbeat events, by whether they were awaited.
#[derive(Default)]
struct Heartbeats {
    awaited: Mutex<(usize, usize)>,
}

impl Heartbeats {
    fn handler(self: &Arc<Self>) -> Arc<dyn mongopool::topology::SdamEventHandler> {
        let this = self.clone();
        Arc::new(move |event: SdamEvent| {
            if let SdamEvent::ServerHeartbeatSucceeded { awaited, .. } = event {
                let mut counts = this.awaited.lock().unwrap();
                if awaited {
                    counts.0 += 1;
                } else {
                    counts.1 += 1;
                }
            }
        })
    }

    fn counts(&self) -> (usize, usize) {
        *self.awaited.lock().unwrap()
    }
}

async fn client_with(uri: &str, heartbeats: &Arc<Heartbeats>) -> Client {
    let options = {
        let mut o = TopologyOptions::default();
        o.sdam_event_handler = Some(heartbeats.handler());
        o
    };
    Client::with_options(ConnectionString::parse(uri).unwrap(), options)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_streaming_monitor_holds_two_connections_and_closes_them() {
    let server = start(false).await;
    // A fresh server: wait out the testkit's own startup probe.
    let before = 0;
    wait_for_server_connections(&server, before).await;
    let heartbeats = Arc::new(Heartbeats::default());
    let uri = format!("{}/?heartbeatFrequencyMS=500", server.uri());
    let client = client_with(&uri, &heartbeats).await;
    // Awaited replies come every maxAwaitTimeMS (500 ms): two of them prove streaming.
    let wait = async {
        while heartbeats.counts().0 < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    timeout(Duration::from_secs(20), wait)
        .await
        .unwrap_or_else(|_| panic!("heartbeats {:?}", heartbeats.counts()));
    // The monitoring connection and the RTT connection.
    wait_for_server_connections(&server, before + 2).await;
    client.close().await;
    wait_for_server_connections(&server, before).await;
}

#[tokio::test]
async fn a_polling_monitor_holds_one_connection_and_stops_when_dropped() {
    let server = start(false).await;
    // A fresh server: wait out the testkit's own startup probe.
    let before = 0;
    wait_for_server_connections(&server, before).await;
    let heartbeats = Arc::new(Heartbeats::default());
    let uri = format!(
        "{}/?heartbeatFrequencyMS=500&serverMonitoringMode=poll",
        server.uri()
    );
    let client = client_with(&uri, &heartbeats).await;
    let wait = async {
        while heartbeats.counts().1 < 3 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    timeout(Duration::from_secs(20), wait)
        .await
        .unwrap_or_else(|_| panic!("heartbeats {:?}", heartbeats.counts()));
    assert_eq!(heartbeats.counts().0, 0, "a polling monitor awaits nothing");
    wait_for_server_connections(&server, before + 1).await;
    // No close: dropping the last handle stops the monitor.
    drop(client);
    wait_for_server_connections(&server, before).await;
    let after = heartbeats.counts();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(heartbeats.counts(), after, "the monitor still runs");
}

#[tokio::test]
async fn a_pool_never_readied_says_paused_not_cleared() {
    let pool = mongopool::MongoPool::with_options(
        mongopool::ServerAddress::tcp("127.0.0.1", 1),
        mongopool::PoolOptions::default(),
        mongopool::ConnectionOptions::default(),
    );
    let err = pool.checkout().await.unwrap_err();
    assert!(err.is_pool_cleared(), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("is paused; it was never marked ready"),
        "{message}"
    );
    assert!(!message.contains("cleared"), "{message}");
    pool.ready();
    pool.clear(None, false);
    let err = pool.checkout().await.unwrap_err();
    assert!(err.to_string().contains("was cleared"), "{err}");
}
