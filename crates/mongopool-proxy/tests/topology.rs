//! The proxy over a replica set (the testkit's deployment simulator in front of one
//! real SecantusDB): `$readPreference` selects the member, and a retryable write
//! survives a step-down in the middle, retried once by the client as a driver does.

mod common;

use std::time::Duration;

use bson::{rawdoc, RawDocumentBuf};
use common::{connect, ok, run};
use mongopool::ConnectionString;
use mongopool_proxy::{Proxy, ProxyHandle, ProxyOptions};
use mongopool_testkit::simulator::{MemberSpec, Simulator};
use mongopool_testkit::TestServer;

/// `monitoring`: extra URI options of the proxy's topology.
async fn set_and_proxy(monitoring: &str) -> (TestServer, Simulator, ProxyHandle) {
    let backend = tokio::task::spawn_blocking(|| TestServer::start().expect("secantusd-rs"))
        .await
        .unwrap();
    let sim = Simulator::replica_set("rs0")
        .member(MemberSpec::primary())
        .member(MemberSpec::secondary())
        .start(backend.address())
        .await
        .expect("start the simulator");
    let uri =
        ConnectionString::parse(&format!("{}&maxPoolSize=4&{monitoring}", sim.uri())).unwrap();
    let proxy = Proxy::start(ProxyOptions::new("127.0.0.1:0".parse().unwrap(), uri))
        .await
        .expect("start the proxy");
    (backend, sim, proxy)
}

fn code(reply: &RawDocumentBuf) -> Option<i32> {
    reply.get_i32("code").ok()
}

fn has_label(reply: &RawDocumentBuf, label: &str) -> bool {
    reply
        .get_array("errorLabels")
        .is_ok_and(|a| a.into_iter().flatten().any(|l| l.as_str() == Some(label)))
}

#[tokio::test]
async fn read_preference_selects_the_member() {
    let (_backend, sim, proxy) = set_and_proxy("heartbeatFrequencyMS=500").await;
    let mut c = connect(proxy.local_addr().port(), "").await;
    // Wait until the proxy's topology knows the secondary (selection waits for it).
    let before = sim.stats(1).reads_accepted;
    let find = rawdoc! {"find": "c", "filter": {}, "$readPreference": {"mode": "secondary"}};
    for _ in 0..3 {
        let reply = run(&mut c, "db", &find).await;
        assert!(ok(&reply), "{reply:?}");
    }
    assert_eq!(sim.stats(1).reads_accepted - before, 3, "secondary reads");
    let primary_reads = sim.stats(0).reads_accepted;
    let reply = run(&mut c, "db", &rawdoc! {"find": "c", "filter": {}}).await;
    assert!(ok(&reply), "{reply:?}");
    assert_eq!(
        sim.stats(0).reads_accepted,
        primary_reads + 1,
        "no $readPreference: the primary"
    );
    proxy.shutdown(Duration::from_secs(1)).await;
}

/// The client side of a retryable write as the retryable writes spec has it: one
/// retry, with the same `lsid` and `txnNumber`, when the error carries the
/// `RetryableWriteError` label (a 4.4+ driver never labels a command error itself).
async fn retryable_insert(
    c: &mut mongopool::Connection,
    id: i32,
    txn_number: i64,
) -> (RawDocumentBuf, Option<RawDocumentBuf>) {
    let lsid = rawdoc! {"id": bson::Binary { subtype: bson::spec::BinarySubtype::Uuid,
    bytes: vec![7; 16] }};
    let insert = rawdoc! {"insert": "c", "documents": [{"_id": id}], "lsid": lsid,
    "txnNumber": txn_number};
    let first = run(c, "db", &insert).await;
    if ok(&first) || !has_label(&first, "RetryableWriteError") {
        return (first, None);
    }
    let second = run(c, "db", &insert).await;
    (first, Some(second))
}

#[tokio::test]
async fn a_retryable_write_survives_a_step_down() {
    // Polling once a minute: the proxy's topology cannot learn of the election before
    // the write reaches the old primary (no streamed hello, no heartbeat in time).
    let (_backend, sim, proxy) =
        set_and_proxy("serverMonitoringMode=poll&heartbeatFrequencyMS=60000").await;
    let mut c = connect(proxy.local_addr().port(), "").await;
    let (reply, retried) = retryable_insert(&mut c, 1, 1).await;
    assert!(ok(&reply) && retried.is_none(), "{reply:?}");

    // The primary steps down and the secondary is elected, between two writes of the
    // client: the proxy's topology still believes in the old primary.
    sim.step_down(0).await.unwrap();
    sim.elect(1).await.unwrap();
    let (first, retried) = retryable_insert(&mut c, 2, 2).await;
    assert_eq!(
        code(&first),
        Some(10107),
        "the old primary refused: {first:?}"
    );
    let retried = retried.expect("the error is labelled RetryableWriteError, so it is retried");
    assert!(
        ok(&retried),
        "the retry reached the new primary: {retried:?}"
    );
    assert_eq!(
        sim.stats(1).writes_accepted,
        1,
        "written once, on the new primary"
    );
    let count = run(
        &mut c,
        "db",
        &rawdoc! {"count": "c", "$readPreference": {"mode": "primary"}},
    )
    .await;
    assert_eq!(count.get_i32("n").ok(), Some(2), "{count:?}");
    proxy.shutdown(Duration::from_secs(1)).await;
}
