//! Clients logging in to the proxy with SCRAM-SHA-256 against its user list: our own
//! `Connection` with a credential, a wrong password, and a client without one.

mod common;

use std::time::Duration;

use bson::rawdoc;
use common::{ok, proxy_for, run};
use mongopool::{Connection, ConnectionOptions, ConnectionString, ServerAddress};
use mongopool_proxy::{ClientUsers, ProxyHandle};
use mongopool_testkit::TestServer;

async fn login(
    proxy: &ProxyHandle,
    userinfo: &str,
    options: &str,
) -> mongopool::Result<Connection> {
    let port = proxy.local_addr().port();
    let cs = ConnectionString::parse(&format!("mongodb://{userinfo}127.0.0.1:{port}/?{options}"))
        .unwrap();
    let options = ConnectionOptions::from_connection_string(&cs).unwrap();
    Connection::connect(&ServerAddress::tcp("127.0.0.1", port), &options, 0, 0).await
}

#[tokio::test]
async fn clients_log_in_with_scram_sha_256() {
    let server = TestServer::start().expect("secantusd-rs");
    let users = ClientUsers::parse("alice:s3cret:pw\nbob:hunter2\n").unwrap();
    let proxy = proxy_for(&server, "maxPoolSize=2", |o| o.client_users = users).await;

    // The mechanism negotiated through saslSupportedMechs, and named explicitly.
    for options in ["", "authMechanism=SCRAM-SHA-256"] {
        let mut alice = login(&proxy, "alice:s3cret%3Apw@", options)
            .await
            .unwrap_or_else(|e| panic!("alice logs in ({options}): {e}"));
        let reply = run(&mut alice, "db", &rawdoc! {"ping": 1}).await;
        assert!(ok(&reply), "{reply:?}");
    }

    let wrong = login(&proxy, "alice:nope@", "").await;
    let e = wrong.expect_err("a wrong password is refused");
    assert!(e.is_authentication(), "{e}");
    let unknown = login(&proxy, "carol:pw@", "authMechanism=SCRAM-SHA-256").await;
    assert!(unknown
        .expect_err("an unknown user is refused")
        .is_authentication());

    // Without a credential the handshake works, and commands are refused.
    let mut anonymous = login(&proxy, "", "").await.expect("hello needs no login");
    let reply = run(&mut anonymous, "db", &rawdoc! {"ping": 1}).await;
    assert_eq!(reply.get_i32("code").ok(), Some(13), "{reply:?}");
    assert_eq!(
        proxy.stats().requests_forwarded,
        2,
        "only alice's pings went through"
    );
    proxy.shutdown(Duration::from_secs(1)).await;
}
