//! A checkout that fails while establishing a connection reports, for SDAM's error
//! handling, the pool generation the connection was made for, not the pool's
//! generation when the error came back: an error from before a clear is stale and
//! must not clear the pool again (mock server on a Unix socket, paused clock).

use std::time::Duration;

use bson::rawdoc;
use mongopool::topology::ServerType;
use mongopool::{Client, ReadPreference, ServerAddress};
use mongopool_testkit::mock::{Action, Behavior, MockServer};

async fn start_unix(behavior: Behavior) -> (MockServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::start_unix(dir.path().join("mock.sock"), behavior)
        .await
        .unwrap();
    (server, dir)
}

/// Percent-encodes the slashes of a socket path for a connection string.
fn url_escape(path: &str) -> String {
    path.replace('%', "%25").replace('/', "%2F")
}

#[tokio::test(start_paused = true)]
async fn a_failed_checkout_reports_the_generation_its_connection_was_made_for() {
    // Connection 0 is the monitor's; the pool's first connection (1) hangs up in its
    // handshake a second after it was opened, and so does the connector's second try
    // (2, with the legacy hello a server that hangs up may want).
    let slow_hang_up = |request: &mongopool_testkit::mock::Request, default: Action| {
        if matches!(request.connection, 1 | 2) {
            Action::Delay(Duration::from_secs(1), Box::new(Action::HangUp))
        } else {
            default
        }
    };
    let behavior = Behavior::modern()
        .on("hello", slow_hang_up)
        .on("isMaster", slow_hang_up);
    let (server, dir) = start_unix(behavior).await;
    let encoded = url_escape(&dir.path().join("mock.sock").display().to_string());
    let uri = format!(
        "mongodb://{encoded}/?heartbeatFrequencyMS=60000&serverMonitoringMode=poll&retryReads=false"
    );
    let client = Client::connect(&uri).await.unwrap();
    let mut watch = client.topology().watch();
    while !watch
        .description()
        .servers()
        .any(|s| s.server_type == ServerType::Standalone)
    {
        assert!(watch.changed().await);
    }
    let address = ServerAddress::parse(&server.host_string()).unwrap();
    let pool = client.topology().pool(&address).unwrap();
    assert_eq!(pool.stats().generation, 0);

    let pinger = client.clone();
    let ping = tokio::spawn(async move {
        pinger
            .command("admin", &rawdoc! {"ping": 1}, &ReadPreference::primary())
            .await
    });
    server.journal().wait_for_requests(2).await;
    // While connection 1 (generation 0) is in its handshake, another error clears
    // the pool and the server recovers: the pool is at generation 1 and ready.
    pool.clear(None, false);
    pool.ready();
    let error = ping.await.unwrap().unwrap_err();
    assert!(error.is_network(), "{error}");
    // The handshake error belongs to generation 0: stale, it clears nothing.
    let stats = pool.stats();
    assert_eq!(stats.generation, 1, "a stale error cleared the pool again");
    let kind = client
        .topology()
        .description()
        .servers()
        .next()
        .unwrap()
        .server_type;
    assert_eq!(kind, ServerType::Standalone);
    client.close().await;
}
