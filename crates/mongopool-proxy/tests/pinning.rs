//! Transactions pinned to one server connection, backpressure replies, and the
//! graceful shutdown, through the proxy to a real SecantusDB.

mod common;

use std::time::Duration;

use bson::{rawdoc, RawDocumentBuf};
use common::{client, ok, proxy_for, run, server_and_proxy};
use mongopool_testkit::TestServer;

fn lsid(n: u8) -> RawDocumentBuf {
    rawdoc! {"id": bson::Binary {subtype: bson::spec::BinarySubtype::Uuid, bytes: vec![n; 16]}}
}

fn count(reply: &RawDocumentBuf) -> usize {
    reply
        .get_document("cursor")
        .unwrap()
        .get_array("firstBatch")
        .unwrap()
        .into_iter()
        .count()
}

#[tokio::test]
async fn a_transaction_is_pinned_until_commit_and_abort_discards_it() {
    let (_server, proxy) = server_and_proxy("maxPoolSize=4").await;
    let mut a = client(&proxy, "").await;
    let mut b = client(&proxy, "").await;
    run(&mut a, "db", &rawdoc! {"create": "t"}).await;
    for txn in [1_i64, 2] {
        let commit = txn == 1;
        let r = run(
            &mut a,
            "db",
            &rawdoc! {"insert": "t", "documents": [{"_id": txn}],
            "lsid": lsid(1), "txnNumber": txn, "autocommit": false, "startTransaction": true},
        )
        .await;
        assert!(ok(&r), "{r:?}");
        assert_eq!(proxy.stats().pinned_transactions, 1);
        // The next command comes over another client connection, as a driver's pool may.
        let r = run(
            &mut b,
            "db",
            &rawdoc! {"insert": "t", "documents": [{"_id": txn * 10}],
            "lsid": lsid(1), "txnNumber": txn, "autocommit": false},
        )
        .await;
        assert!(ok(&r), "{r:?}");
        let end = if commit {
            rawdoc! {"commitTransaction": 1, "lsid": lsid(1), "txnNumber": txn, "autocommit": false}
        } else {
            rawdoc! {"abortTransaction": 1, "lsid": lsid(1), "txnNumber": txn, "autocommit": false}
        };
        let r = run(&mut b, "admin", &end).await;
        assert!(ok(&r), "{end:?}: {r:?}");
        assert_eq!(proxy.stats().pinned_transactions, 0);
    }
    let r = run(&mut a, "db", &rawdoc! {"find": "t", "sort": {"_id": 1}}).await;
    assert_eq!(
        count(&r),
        2,
        "only the committed transaction's two documents: {r:?}"
    );
}

#[tokio::test]
async fn a_disconnect_aborts_the_clients_transaction() {
    let (_server, proxy) = server_and_proxy("maxPoolSize=2").await;
    let mut a = client(&proxy, "").await;
    run(&mut a, "db", &rawdoc! {"create": "d"}).await;
    let r = run(
        &mut a,
        "db",
        &rawdoc! {"insert": "d", "documents": [{"_id": 1}],
        "lsid": lsid(2), "txnNumber": 1_i64, "autocommit": false, "startTransaction": true},
    )
    .await;
    assert!(ok(&r), "{r:?}");
    drop(a);
    common::eventually("the transaction was aborted", || {
        proxy.stats().pinned_transactions == 0 && proxy.stats().cleanups >= 1
    })
    .await;
    let mut b = client(&proxy, "").await;
    let r = run(
        &mut b,
        "admin",
        &rawdoc! {"commitTransaction": 1, "lsid": lsid(2),
        "txnNumber": 1_i64, "autocommit": false},
    )
    .await;
    assert!(!ok(&r), "the transaction is gone: {r:?}");
    let r = run(&mut b, "db", &rawdoc! {"find": "d"}).await;
    assert_eq!(count(&r), 0);
    // Every connection is back in the pool.
    assert_eq!(common::pool(&proxy).in_use, 0);
}

#[tokio::test]
async fn a_wait_queue_timeout_is_an_error_reply_not_a_hang() {
    let server = TestServer::start().expect("start secantusd-rs");
    let proxy = proxy_for(&server, "maxPoolSize=1&waitQueueTimeoutMS=200", |_| {}).await;
    let mut a = client(&proxy, "").await;
    run(&mut a, "db", &rawdoc! {"create": "w"}).await;
    // The only server connection is pinned by a transaction.
    let r = run(
        &mut a,
        "db",
        &rawdoc! {"insert": "w", "documents": [{"_id": 1}],
        "lsid": lsid(3), "txnNumber": 1_i64, "autocommit": false, "startTransaction": true},
    )
    .await;
    assert!(ok(&r), "{r:?}");
    let mut b = client(&proxy, "").await;
    let r = tokio::time::timeout(
        Duration::from_secs(10),
        run(&mut b, "admin", &rawdoc! {"ping": 1}),
    )
    .await
    .expect("an answer, not a hang");
    assert_eq!(r.get_i32("code").unwrap(), 89, "{r:?}");
    assert_eq!(r.get_f64("ok").unwrap(), 0.0);
    // A second transaction cannot pin beyond max_pinned_transactions (1 for a pool of 1).
    let r = run(
        &mut b,
        "db",
        &rawdoc! {"insert": "w", "documents": [{"_id": 2}],
        "lsid": lsid(4), "txnNumber": 1_i64, "autocommit": false, "startTransaction": true},
    )
    .await;
    assert!(!ok(&r));
    assert!(
        r.get_array("errorLabels").is_ok(),
        "labelled for a retry: {r:?}"
    );
    run(
        &mut a,
        "admin",
        &rawdoc! {"abortTransaction": 1, "lsid": lsid(3), "txnNumber": 1_i64,
        "autocommit": false},
    )
    .await;
    assert!(ok(&run(&mut b, "admin", &rawdoc! {"ping": 1}).await));
}

#[tokio::test]
async fn too_many_pending_requests_are_refused_at_once() {
    let server = TestServer::start().expect("start secantusd-rs");
    let proxy = proxy_for(&server, "maxPoolSize=1", |o| o.max_pending_requests = 0).await;
    let mut a = client(&proxy, "").await;
    let r = run(&mut a, "admin", &rawdoc! {"ping": 1}).await;
    assert_eq!(r.get_i32("code").unwrap(), 89, "{r:?}");
    assert!(r
        .get_str("errmsg")
        .unwrap()
        .contains("max_pending_requests"));
    assert_eq!(proxy.stats().requests_rejected, 1);
}

#[tokio::test]
async fn idle_transactions_time_out() {
    let server = TestServer::start().expect("start secantusd-rs");
    let proxy = proxy_for(&server, "maxPoolSize=2", |o| {
        o.transaction_idle_timeout = Duration::from_millis(100)
    })
    .await;
    let mut a = client(&proxy, "").await;
    run(&mut a, "db", &rawdoc! {"create": "i"}).await;
    let r = run(
        &mut a,
        "db",
        &rawdoc! {"insert": "i", "documents": [{"_id": 1}],
        "lsid": lsid(5), "txnNumber": 1_i64, "autocommit": false, "startTransaction": true},
    )
    .await;
    assert!(ok(&r), "{r:?}");
    common::eventually("the idle transaction was aborted", || {
        proxy.stats().pinned_transactions == 0
    })
    .await;
    let r = run(&mut a, "db", &rawdoc! {"find": "i"}).await;
    assert_eq!(count(&r), 0);
}

#[tokio::test]
async fn shutdown_drains_and_closes_clients() {
    let (_server, proxy) = server_and_proxy("maxPoolSize=2").await;
    let mut a = client(&proxy, "").await;
    assert!(ok(&run(&mut a, "admin", &rawdoc! {"ping": 1}).await));
    let addr = proxy.local_addr();
    let report = proxy.shutdown(Duration::from_secs(5)).await;
    assert_eq!(report.abandoned, 0);
    assert_eq!(report.drained, 1);
    assert!(a
        .command("admin", &rawdoc! {"ping": 1}, &Default::default())
        .await
        .is_err());
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}
