//! Shared by the proxy's integration tests: a real SecantusDB, a proxy in front of it,
//! and clients that connect to the proxy.
#![allow(dead_code)]

use std::time::Duration;

use bson::{RawDocument, RawDocumentBuf};
use mongopool::{CommandOptions, Connection, ConnectionOptions, ConnectionString, ServerAddress};
use mongopool_proxy::{Proxy, ProxyHandle, ProxyOptions};
use mongopool_testkit::TestServer;

/// A server and a proxy in front of it; `uri_options` go on the proxy's URI.
pub async fn server_and_proxy(uri_options: &str) -> (TestServer, ProxyHandle) {
    let server = TestServer::start().expect("start secantusd-rs");
    let proxy = proxy_for(&server, uri_options, |_| {}).await;
    (server, proxy)
}

/// A proxy in front of `server`, with options changed by `tune`.
pub async fn proxy_for(
    server: &TestServer,
    uri_options: &str,
    tune: impl FnOnce(&mut ProxyOptions),
) -> ProxyHandle {
    let uri = ConnectionString::parse(&format!("{}/?{uri_options}", server.uri())).unwrap();
    let mut options = ProxyOptions::new("127.0.0.1:0".parse().unwrap(), uri);
    tune(&mut options);
    Proxy::start(options).await.expect("start the proxy")
}

/// A client connection to the proxy (or to any address), with `compressors`.
pub async fn client(proxy: &ProxyHandle, compressors: &str) -> Connection {
    connect(proxy.local_addr().port(), compressors).await
}

pub async fn connect(port: u16, compressors: &str) -> Connection {
    let uri = if compressors.is_empty() {
        format!("mongodb://127.0.0.1:{port}/")
    } else {
        format!("mongodb://127.0.0.1:{port}/?compressors={compressors}")
    };
    let cs = ConnectionString::parse(&uri).unwrap();
    let options = ConnectionOptions::from_connection_string(&cs).unwrap();
    Connection::connect(&ServerAddress::tcp("127.0.0.1", port), &options, 0, 0)
        .await
        .expect("connect")
}

/// Runs a command and returns the reply, `ok: 0` included.
pub async fn run(conn: &mut Connection, db: &str, cmd: &RawDocument) -> RawDocumentBuf {
    conn.command(db, cmd, &CommandOptions::unchecked())
        .await
        .expect("a reply")
}

pub fn ok(reply: &RawDocument) -> bool {
    reply.get_f64("ok").ok() == Some(1.0) || reply.get_i32("ok").ok() == Some(1)
}

/// Waits (polling, bounded) until `check` holds; for state the proxy changes after
/// a client is gone, which no reply tells.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The pool stats of the one server behind `proxy`.
pub fn pool(proxy: &ProxyHandle) -> mongopool::PoolStats {
    let mut pools = proxy.pool_stats();
    assert_eq!(pools.len(), 1, "one server behind the proxy: {pools:?}");
    pools.remove(0).1
}
