//! `Connection` against a real SecantusDB server: what fail points do to a connection,
//! and a load-balanced handshake with a server that is not behind a load balancer.

mod server_support;

use std::time::{Duration, Instant};

use bson::rawdoc;
use mongopool::Broken;
use mongopool::ErrorKind;
use mongopool::{CommandOptions, Connection, ConnectionOptions, ConnectionString};
use mongopool_testkit::TestServer;

use server_support::address_of;
use server_support::connections::{connect, connect_with};
use server_support::shared::Shared;

/// One server for the tests that do not need fail points (which are process-wide on
/// the server, so those tests start their own).
static SERVER: Shared<TestServer> =
    Shared::new(|| TestServer::start().expect("start secantusd-rs"));

fn checked() -> CommandOptions {
    CommandOptions::default()
}

fn fail_point_server() -> TestServer {
    TestServer::builder()
        .test_commands(true)
        .start()
        .expect("start secantusd-rs with test commands")
}

fn set_fail_point(server: &TestServer, data: bson::Document) {
    server
        .command(
            "admin",
            bson::doc! { "configureFailPoint": "failCommand", "mode": { "times": 1 }, "data": data },
        )
        .expect("configureFailPoint");
}

#[tokio::test]
async fn a_fail_point_that_closes_the_connection_breaks_it() {
    let server = fail_point_server();
    let mut conn = connect(&server).await;
    set_fail_point(
        &server,
        bson::doc! { "failCommands": ["ping"], "closeConnection": true },
    );
    let err = conn
        .command("admin", &rawdoc! { "ping": 1 }, &checked())
        .await
        .expect_err("the server hangs up");
    assert!(err.is_network(), "{err:?}");
    assert!(!err.is_timeout(), "{err:?}");
    assert!(!conn.is_usable());
    assert_eq!(conn.broken(), Some(Broken::Network));
    let again = conn
        .command("admin", &rawdoc! { "ping": 1 }, &checked())
        .await
        .expect_err("a broken connection is not used again");
    assert!(again.is_network(), "{again:?}");

    // The fail point fired once; a new connection works.
    connect(&server)
        .await
        .command("admin", &rawdoc! { "ping": 1 }, &checked())
        .await
        .expect("ping on a new connection");
}

#[tokio::test]
async fn a_fail_point_error_code_is_an_operation_failure() {
    let server = fail_point_server();
    let mut conn = connect(&server).await;
    set_fail_point(
        &server,
        bson::doc! { "failCommands": ["ping"], "errorCode": 2 },
    );
    let err = conn
        .command("admin", &rawdoc! { "ping": 1 }, &checked())
        .await
        .expect_err("the fail point fires");
    assert!(err.is_operation_failure(), "{err:?}");
    assert!(!err.is_not_primary(), "{err:?}");
    assert_eq!(err.code(), Some(2));
    assert!(conn.is_usable());

    // A node-is-recovering code is classified as such.
    set_fail_point(
        &server,
        bson::doc! { "failCommands": ["ping"], "errorCode": 91 },
    );
    let err = conn
        .command("admin", &rawdoc! { "ping": 1 }, &checked())
        .await
        .expect_err("the fail point fires");
    assert!(err.is_not_primary(), "{err:?}");
    assert_eq!(err.code(), Some(91));
    conn.command("admin", &rawdoc! { "ping": 1 }, &checked())
        .await
        .expect("the fail point fired only once");
}

#[tokio::test]
async fn a_blocked_command_runs_into_the_socket_timeout() {
    let server = fail_point_server();
    let socket_timeout = Duration::from_millis(300);
    let block = Duration::from_secs(3);
    let options = ConnectionOptions::builder()
        .socket_timeout(Some(socket_timeout))
        .build()
        .unwrap();
    let mut conn = connect_with(&address_of(&server), &options).await;
    set_fail_point(
        &server,
        bson::doc! {
            "failCommands": ["ping"],
            "blockConnection": true,
            "blockTimeMS": block.as_millis() as i64,
        },
    );
    let started = Instant::now();
    let err = conn
        .command("admin", &rawdoc! { "ping": 1 }, &checked())
        .await
        .expect_err("the reply comes too late");
    let waited = started.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    assert!(waited >= socket_timeout, "{waited:?}");
    assert!(
        waited < block,
        "{waited:?}: the timeout did not cut the wait"
    );
    assert!(!conn.is_usable());
    assert_eq!(conn.broken(), Some(Broken::Network));
}

// ---------------------------------------------------------------------------------
// Load-balanced mode

#[tokio::test]
async fn load_balanced_mode_is_refused_by_a_server_without_service_id() {
    let server = SERVER.get();
    let uri = format!("{}/?loadBalanced=true", server.uri());
    let options =
        ConnectionOptions::from_connection_string(&ConnectionString::parse(&uri).unwrap()).unwrap();
    assert!(options.load_balanced());
    let err = Connection::connect(&address_of(&server), &options, 1, 0)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(
            "Driver attempted to initialize in load balancing mode, \
             but the server does not support this mode."
        ),
        "{err}"
    );
    assert!(
        matches!(err.kind(), ErrorKind::Unsupported { .. }),
        "{err:?}"
    );

    // The same server without loadBalanced is fine.
    let options =
        ConnectionOptions::from_connection_string(&ConnectionString::parse(&server.uri()).unwrap())
            .unwrap();
    let mut conn = connect_with(&address_of(&server), &options).await;
    assert_eq!(conn.hello().service_id, None);
    conn.command("admin", &rawdoc! {"ping": 1}, &checked())
        .await
        .unwrap();
}
