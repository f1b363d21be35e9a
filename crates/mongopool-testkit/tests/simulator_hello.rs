//! The simulator's hello views over real sockets: what each member says, legacy
//! isMaster, awaitable hello waking on a change and on its timeout, exhaust streams,
//! and a restart's new processId.

use std::time::{Duration, Instant};

use bson::{doc, Bson, Document};
use mongopool_testkit::simulator::{MemberSpec, Simulator, WireClient};
use mongopool_testkit::TestServer;
use mongopool_wire::MsgFlags;
use tokio::time::timeout;

/// Far more than anything here should take; a hang fails instead of blocking.
const PATIENCE: Duration = Duration::from_secs(20);

async fn three_members(backend: &TestServer) -> Simulator {
    Simulator::replica_set("rs0")
        .member(MemberSpec::primary().tag("dc", "east"))
        .member(MemberSpec::secondary().tag("dc", "west"))
        .member(MemberSpec::arbiter())
        .member(MemberSpec::secondary().hidden())
        .start(backend.address())
        .await
        .expect("start the simulator")
}

async fn hello(sim: &Simulator, index: usize) -> Document {
    let mut client = WireClient::connect(sim.address(index)).await.unwrap();
    let reply = client.command("admin", doc! {"hello": 1}).await.unwrap();
    assert_eq!(reply.ok(), 1.0, "{:?}", reply.document);
    reply.document
}

fn strings(doc: &Document, key: &str) -> Vec<String> {
    doc.get_array(key)
        .map(|a| {
            a.iter()
                .filter_map(Bson::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn each_member_answers_from_the_view() {
    let backend = TestServer::start().expect("start secantusd-rs");
    let sim = three_members(&backend).await;

    let primary = hello(&sim, 0).await;
    assert_eq!(primary.get_bool("isWritablePrimary").ok(), Some(true));
    assert_eq!(primary.get_str("setName").ok(), Some("rs0"));
    assert_eq!(primary.get_str("me").ok(), Some(sim.host(0).as_str()));
    assert_eq!(strings(&primary, "hosts"), [sim.host(0), sim.host(1)]);
    assert_eq!(strings(&primary, "arbiters"), [sim.host(2)]);
    assert_eq!(
        primary.get_object_id("electionId").ok(),
        Some(sim.election_id())
    );
    assert_eq!(
        primary.get_document("tags").unwrap().get_str("dc").ok(),
        Some("east")
    );
    let tv = primary.get_document("topologyVersion").unwrap();
    assert_eq!(tv.get_object_id("processId").ok(), sim.process_id(0));
    assert!(primary.get_i32("maxWireVersion").unwrap() >= 6);
    assert!(primary.get_document("lastWrite").is_ok());

    let secondary = hello(&sim, 1).await;
    assert_eq!(secondary.get_bool("isWritablePrimary").ok(), Some(false));
    assert_eq!(secondary.get_bool("secondary").ok(), Some(true));
    assert_eq!(
        secondary.get_str("primary").ok(),
        Some(sim.host(0).as_str())
    );
    assert!(secondary.get("electionId").is_none());

    let arbiter = hello(&sim, 2).await;
    assert_eq!(arbiter.get_bool("arbiterOnly").ok(), Some(true));
    let hidden = hello(&sim, 3).await;
    assert_eq!(hidden.get_bool("hidden").ok(), Some(true));
    assert_eq!(sim.stats(0).hellos, 1);
}

#[tokio::test]
async fn legacy_is_master_over_op_query_gets_an_op_reply() {
    let backend = TestServer::start().expect("start secantusd-rs");
    let sim = three_members(&backend).await;
    let mut client = WireClient::connect(sim.address(1)).await.unwrap();
    let id = client
        .send_legacy("admin", doc! {"isMaster": 1})
        .await
        .unwrap();
    let reply = client.receive().await.unwrap();
    assert_eq!(reply.response_to, id);
    assert_eq!(reply.document.get_bool("ismaster").ok(), Some(false));
    assert!(reply.document.get("isWritablePrimary").is_none());
    assert_eq!(reply.document.get_bool("secondary").ok(), Some(true));
}

#[tokio::test]
async fn mongos_routers_say_isdbgrid() {
    let backend = TestServer::start().expect("start secantusd-rs");
    let sim = Simulator::mongos(3).start(backend.address()).await.unwrap();
    assert_eq!(sim.len(), 3);
    assert!(sim.set_name().is_none());
    for index in 0..3 {
        let reply = hello(&sim, index).await;
        assert_eq!(reply.get_str("msg").ok(), Some("isdbgrid"));
        assert!(reply.get("setName").is_none());
    }
    assert!(sim.step_down(0).await.is_err());
}

fn awaitable(tv: &Document, max_await_ms: i64) -> Document {
    doc! {"hello": 1, "topologyVersion": tv.clone(), "maxAwaitTimeMS": max_await_ms}
}

#[tokio::test]
async fn an_awaitable_hello_wakes_on_a_change_of_the_view() {
    let backend = TestServer::start().expect("start secantusd-rs");
    let sim = three_members(&backend).await;
    let tv = sim.topology_version(1).unwrap();
    let mut client = WireClient::connect(sim.address(1)).await.unwrap();
    let id = client
        .send("admin", awaitable(&tv, 60_000), MsgFlags::EMPTY)
        .await
        .unwrap();
    // Not answered while nothing changes (well inside its minute).
    assert!(timeout(Duration::from_millis(300), client.receive())
        .await
        .is_err());
    let started = Instant::now();
    sim.elect(1).await.unwrap();
    let reply = timeout(PATIENCE, client.receive()).await.unwrap().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "woken by the change"
    );
    assert_eq!(reply.response_to, id);
    assert_eq!(
        reply.document.get_bool("isWritablePrimary").ok(),
        Some(true)
    );
    let new_tv = reply.document.get_document("topologyVersion").unwrap();
    assert!(new_tv.get_i64("counter").unwrap() > tv.get_i64("counter").unwrap());
    assert_eq!(sim.stats(1).awaited_hellos, 1);
}

#[tokio::test]
async fn an_awaitable_hello_answers_after_max_await_time() {
    let backend = TestServer::start().expect("start secantusd-rs");
    let sim = three_members(&backend).await;
    let tv = sim.topology_version(0).unwrap();
    let mut client = WireClient::connect(sim.address(0)).await.unwrap();
    let started = Instant::now();
    let reply = client.command("admin", awaitable(&tv, 400)).await.unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(400), "waited {waited:?}");
    assert!(waited < Duration::from_secs(10), "waited {waited:?}");
    assert_eq!(
        reply.document.get_document("topologyVersion").ok(),
        Some(&tv)
    );

    // An out-of-date topologyVersion is answered at once.
    let stale = doc! {"processId": tv.get_object_id("processId").unwrap(), "counter": -1_i64};
    let started = Instant::now();
    client
        .command("admin", awaitable(&stale, 60_000))
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));

    // Only one of the two fields is an error, as on mongod.
    let half = client
        .command("admin", doc! {"hello": 1, "maxAwaitTimeMS": 10_i64})
        .await
        .unwrap();
    assert_eq!(half.ok(), 0.0);
}

#[tokio::test]
async fn exhaust_allowed_streams_replies_until_the_client_leaves() {
    let backend = TestServer::start().expect("start secantusd-rs");
    let sim = three_members(&backend).await;
    let tv = sim.topology_version(1).unwrap();
    let mut client = WireClient::connect(sim.address(1)).await.unwrap();
    let id = client
        .send("admin", awaitable(&tv, 200), MsgFlags::EXHAUST_ALLOWED)
        .await
        .unwrap();
    let first = timeout(PATIENCE, client.receive()).await.unwrap().unwrap();
    assert!(first.more_to_come);
    assert_eq!(first.response_to, id);
    // The next one comes unasked, answering the one before it.
    let second = timeout(PATIENCE, client.receive()).await.unwrap().unwrap();
    assert!(second.more_to_come);
    assert_eq!(second.response_to, first.request_id);
    sim.step_down(0).await.unwrap();
    let after = timeout(PATIENCE, client.receive()).await.unwrap().unwrap();
    assert!(
        after.document.get("primary").is_none(),
        "{:?}",
        after.document
    );
    drop(client);
    timeout(
        PATIENCE,
        sim.wait_until(|s| s.stats(1).connections_open == 0),
    )
    .await
    .expect("the stream ends with the connection");
}

#[tokio::test]
async fn a_restart_brings_a_new_process_id_on_the_same_port() {
    let backend = TestServer::start().expect("start secantusd-rs");
    let sim = three_members(&backend).await;
    let before = hello(&sim, 1).await;
    let old_process = sim.process_id(1).unwrap();
    let mut open = WireClient::connect(sim.address(1)).await.unwrap();
    let ping = open.command("admin", doc! {"ping": 1}).await.unwrap();
    assert_eq!(ping.ok(), 1.0);
    sim.restart(1).await.unwrap();
    assert!(
        timeout(PATIENCE, open.closed()).await.unwrap(),
        "a restart closes open connections"
    );
    let after = hello(&sim, 1).await;
    assert_eq!(after.get_str("me").ok(), before.get_str("me").ok());
    let new_tv = after.get_document("topologyVersion").unwrap();
    assert_ne!(new_tv.get_object_id("processId").ok(), Some(old_process));
    assert_eq!(new_tv.get_i64("counter").ok(), Some(0));
}

#[tokio::test]
async fn adding_and_removing_members_changes_every_view() {
    let backend = TestServer::start().expect("start secantusd-rs");
    let sim = three_members(&backend).await;
    let version = sim.set_version();
    let added = sim
        .add_member(MemberSpec::secondary().passive())
        .await
        .unwrap();
    let primary = hello(&sim, 0).await;
    assert_eq!(strings(&primary, "passives"), [sim.host(added)]);
    assert_eq!(primary.get_i32("setVersion").ok(), Some(version + 1));
    assert_eq!(
        hello(&sim, added).await.get_bool("passive").ok(),
        Some(true)
    );

    sim.remove_member(1).await.unwrap();
    let primary = hello(&sim, 0).await;
    assert_eq!(strings(&primary, "hosts"), [sim.host(0)]);
    let ghost = hello(&sim, 1).await;
    assert_eq!(ghost.get_bool("isreplicaset").ok(), Some(true));
    assert!(ghost.get("setName").is_none());
}
