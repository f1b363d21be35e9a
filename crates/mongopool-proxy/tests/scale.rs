//! 2,000 client connections from one process over a server pool of 10: the server
//! never sees more than the pool's connections, and every request is answered once,
//! with its own answer.

mod common;

use std::sync::Arc;

use bson::rawdoc;
use common::{client, ok, run, server_and_proxy};

const CLIENTS: usize = 2_000;
const POOL: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_clients_over_ten_server_connections() {
    let (server, proxy) = server_and_proxy(&format!("maxPoolSize={POOL}")).await;
    let proxy = Arc::new(proxy);
    let mut direct = common::connect(server.port(), "").await;
    let before = connections(&mut direct).await;

    // All clients connect first, so that all 2,000 are open at once.
    let mut clients = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        clients.push(client(&proxy, "").await);
    }
    assert_eq!(proxy.stats().clients_open, CLIENTS as u64);
    let start = Arc::new(tokio::sync::Barrier::new(CLIENTS));
    let mut tasks = tokio::task::JoinSet::new();
    for (token, mut c) in clients.into_iter().enumerate() {
        let start = start.clone();
        tasks.spawn(async move {
            start.wait().await;
            let token = token as i64;
            let r = run(
                &mut c,
                "db",
                &rawdoc! {"insert": "scale", "documents": [{"_id": token}]},
            )
            .await;
            assert!(
                ok(&r) && r.get_i32("n").ok() == Some(1),
                "insert {token}: {r:?}"
            );
            let r = run(
                &mut c,
                "db",
                &rawdoc! {"find": "scale", "filter": {"_id": token}},
            )
            .await;
            let batch = r
                .get_document("cursor")
                .unwrap()
                .get_array("firstBatch")
                .unwrap();
            let ids: Vec<i64> = batch
                .into_iter()
                .map(|d| d.unwrap().as_document().unwrap().get_i64("_id").unwrap())
                .collect();
            assert_eq!(ids, [token], "each client gets its own answer");
            c
        });
    }
    let mut max_seen = 0;
    let mut done = Vec::with_capacity(CLIENTS);
    while let Some(result) = tasks.join_next().await {
        done.push(result.expect("a client task"));
        if done.len() % 250 == 0 {
            max_seen = max_seen.max(connections(&mut direct).await);
        }
    }
    assert_eq!(done.len(), CLIENTS);
    let pool = common::pool(&proxy);
    assert!(pool.total <= POOL, "{pool:?}");
    assert!(pool.created <= POOL as u64, "{pool:?}");
    // Our direct connection plus the proxy's pool, whatever else the server counts.
    assert!(
        max_seen <= before + POOL as i64,
        "the server saw {max_seen} connections (before: {before})"
    );
    let r = run(&mut direct, "db", &rawdoc! {"count": "scale"}).await;
    assert_eq!(
        r.get_i32("n").unwrap() as usize,
        CLIENTS,
        "no request lost or applied twice"
    );
    assert_eq!(proxy.stats().requests_forwarded, 2 * CLIENTS as u64);
}

async fn connections(direct: &mut mongopool::Connection) -> i64 {
    let r = run(direct, "admin", &rawdoc! {"serverStatus": 1}).await;
    let c = r
        .get_document("connections")
        .expect("serverStatus.connections");
    c.get_i32("current")
        .map(i64::from)
        .or_else(|_| c.get_i64("current"))
        .unwrap()
}
