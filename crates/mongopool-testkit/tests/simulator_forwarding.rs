//! The simulator forwards commands to the real server behind it, and its members
//! refuse what their role refuses, counting both.

use bson::{doc, Bson, Document};
use mongopool_testkit::simulator::{MemberSpec, Simulator, WireClient};
use mongopool_testkit::TestServer;
use mongopool_wire::MsgFlags;

async fn set(backend: &TestServer) -> Simulator {
    Simulator::replica_set("rs0")
        .member(MemberSpec::primary())
        .member(MemberSpec::secondary())
        .member(MemberSpec::arbiter())
        .start(backend.address())
        .await
        .expect("start the simulator")
}

fn first_batch(reply: &Document) -> Vec<Document> {
    reply
        .get_document("cursor")
        .and_then(|c| c.get_array("firstBatch"))
        .map(|a| a.iter().filter_map(Bson::as_document).cloned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_primary_forwards_a_real_insert_and_find() {
    let backend = TestServer::start().expect("start secantusd-rs");
    let sim = set(&backend).await;
    let mut client = WireClient::connect(sim.address(0)).await.unwrap();
    let insert = client
        .command(
            "sim",
            doc! {"insert": "things", "documents": [{"_id": 1, "name": "one"}]},
        )
        .await
        .unwrap();
    assert_eq!(insert.ok(), 1.0, "{:?}", insert.document);
    assert_eq!(insert.document.get_i32("n").ok(), Some(1));
    let find = client
        .command("sim", doc! {"find": "things", "filter": {"_id": 1}})
        .await
        .unwrap();
    assert_eq!(find.ok(), 1.0, "{:?}", find.document);
    assert_eq!(
        first_batch(&find.document)[0].get_str("name").ok(),
        Some("one")
    );
    // It is the real server's data: a direct connection sees it too.
    let mut direct = WireClient::connect(backend.address()).await.unwrap();
    let count = direct
        .command("sim", doc! {"count": "things"})
        .await
        .unwrap();
    assert_eq!(count.document.get_i32("n").ok(), Some(1));

    let stats = sim.stats(0);
    assert_eq!(stats.commands_forwarded, 2);
    assert_eq!(stats.writes_accepted, 1);
    assert_eq!(stats.writes_refused, 0);
    assert_eq!((stats.connections_open, stats.connections_total), (1, 1));
    assert!(stats.first_write_since_change.is_some());
}

#[tokio::test]
async fn a_secondary_refuses_writes_with_not_writable_primary() {
    let backend = TestServer::start().expect("start secantusd-rs");
    let sim = set(&backend).await;
    let mut client = WireClient::connect(sim.address(1)).await.unwrap();
    for command in [
        doc! {"insert": "things", "documents": [{"_id": 2}]},
        doc! {"update": "things", "updates": [{"q": {}, "u": {"$set": {"a": 1}}}]},
        doc! {"delete": "things", "deletes": [{"q": {}, "limit": 0}]},
        doc! {"findAndModify": "things", "query": {}, "remove": true},
        doc! {"create": "other"},
        doc! {"drop": "things"},
    ] {
        let reply = client.command("sim", command.clone()).await.unwrap();
        assert_eq!(reply.ok(), 0.0, "{command}");
        assert_eq!(reply.code(), Some(10107), "{command}");
        assert_eq!(reply.document.get_str("errmsg").ok(), Some("not primary"));
        assert_eq!(
            reply.document.get_str("codeName").ok(),
            Some("NotWritablePrimary")
        );
        assert_eq!(
            reply.document.get_document("topologyVersion").ok(),
            sim.topology_version(1).as_ref()
        );
    }
    let stats = sim.stats(1);
    assert_eq!((stats.writes_refused, stats.writes_accepted), (6, 0));
    assert_eq!(stats.commands_forwarded, 0);
    // Nothing reached the real server.
    let mut direct = WireClient::connect(backend.address()).await.unwrap();
    let count = direct
        .command("sim", doc! {"count": "things"})
        .await
        .unwrap();
    assert_eq!(count.document.get_i32("n").ok(), Some(0));
}

#[tokio::test]
async fn a_secondary_reads_only_with_secondary_ok() {
    let backend = TestServer::start().expect("start secantusd-rs");
    let sim = set(&backend).await;
    let mut client = WireClient::connect(sim.address(1)).await.unwrap();
    let refused = client
        .command("sim", doc! {"find": "things"})
        .await
        .unwrap();
    assert_eq!(refused.code(), Some(13435));
    let allowed = client
        .command(
            "sim",
            doc! {"find": "things", "$readPreference": {"mode": "secondaryPreferred"}},
        )
        .await
        .unwrap();
    assert_eq!(allowed.ok(), 1.0, "{:?}", allowed.document);
    let ping = client.command("admin", doc! {"ping": 1}).await.unwrap();
    assert_eq!(ping.ok(), 1.0);
    let stats = sim.stats(1);
    assert_eq!((stats.reads_refused, stats.commands_forwarded), (1, 2));
    assert_eq!(stats.reads_accepted, 1);

    let mut arbiter = WireClient::connect(sim.address(2)).await.unwrap();
    let refused = arbiter
        .command(
            "sim",
            doc! {"find": "things", "$readPreference": {"mode": "nearest"}},
        )
        .await
        .unwrap();
    assert_eq!(refused.code(), Some(13436));
}

#[tokio::test]
async fn a_step_down_turns_writes_away_and_an_election_takes_them() {
    let backend = TestServer::start().expect("start secantusd-rs");
    let sim = set(&backend).await;
    let mut old = WireClient::connect(sim.address(0)).await.unwrap();
    let mut new = WireClient::connect(sim.address(1)).await.unwrap();
    let write = doc! {"insert": "things", "documents": [{}]};
    assert_eq!(old.command("sim", write.clone()).await.unwrap().ok(), 1.0);
    sim.step_down(0).await.unwrap();
    assert_eq!(sim.primary(), None);
    let refused = old.command("sim", write.clone()).await.unwrap();
    assert_eq!(refused.code(), Some(10107));
    sim.elect(1).await.unwrap();
    assert_eq!(sim.primary(), Some(1));
    assert_eq!(new.command("sim", write.clone()).await.unwrap().ok(), 1.0);
    assert_eq!(sim.stats(0).writes_refused, 1);
    assert_eq!(sim.stats(0).writes_accepted, 1);
    assert_eq!(sim.stats(1).writes_accepted, 1);
    assert!(sim.elect(2).await.is_err(), "an arbiter cannot be elected");
}

#[tokio::test]
async fn mongos_routers_forward_writes() {
    let backend = TestServer::start().expect("start secantusd-rs");
    let sim = Simulator::mongos(2).start(backend.address()).await.unwrap();
    for index in 0..2 {
        let mut client = WireClient::connect(sim.address(index)).await.unwrap();
        let reply = client
            .command("sim", doc! {"insert": "things", "documents": [{}]})
            .await
            .unwrap();
        assert_eq!(reply.ok(), 1.0, "{:?}", reply.document);
        assert_eq!(sim.stats(index).writes_accepted, 1);
    }
}

#[tokio::test]
async fn unacknowledged_writes_get_no_reply_and_still_count() {
    let backend = TestServer::start().expect("start secantusd-rs");
    let sim = set(&backend).await;
    let mut client = WireClient::connect(sim.address(1)).await.unwrap();
    client
        .send(
            "sim",
            doc! {"insert": "things", "documents": [{}], "writeConcern": {"w": 0}},
            MsgFlags::MORE_TO_COME,
        )
        .await
        .unwrap();
    // The next reply on the connection answers the ping, not the write.
    let ping = client.command("admin", doc! {"ping": 1}).await.unwrap();
    assert_eq!(ping.ok(), 1.0);
    assert_eq!(sim.stats(1).writes_refused, 1);
}

#[tokio::test]
async fn a_missing_backend_fails_the_start() {
    let backend = TestServer::start().expect("start secantusd-rs");
    let address = backend.address();
    drop(backend);
    let error = Simulator::replica_set("rs0")
        .member(MemberSpec::primary())
        .start(address)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("is not there"), "{error}");
    let empty = Simulator::replica_set("rs0").start(address).await;
    assert!(empty.is_err());
}

#[tokio::test]
async fn an_exhaust_get_more_streams_through_the_node() {
    let backend = TestServer::start().expect("start secantusd-rs");
    let sim = set(&backend).await;
    let mut client = WireClient::connect(sim.address(0)).await.unwrap();
    let documents: Vec<Document> = (0..5).map(|i| doc! {"_id": i}).collect();
    let insert = client
        .command("sim", doc! {"insert": "many", "documents": documents})
        .await
        .unwrap();
    assert_eq!(insert.ok(), 1.0, "{:?}", insert.document);
    let find = client
        .command("sim", doc! {"find": "many", "batchSize": 1})
        .await
        .unwrap();
    let cursor = find
        .document
        .get_document("cursor")
        .unwrap()
        .get_i64("id")
        .unwrap();
    assert_ne!(cursor, 0);
    let id = client
        .send(
            "sim",
            doc! {"getMore": cursor, "collection": "many", "batchSize": 1},
            MsgFlags::EXHAUST_ALLOWED,
        )
        .await
        .unwrap();
    let mut replies = 0;
    let mut seen = 1;
    loop {
        let reply = tokio::time::timeout(std::time::Duration::from_secs(20), client.receive())
            .await
            .expect("the stream goes on")
            .unwrap();
        assert_eq!(reply.ok(), 1.0, "{:?}", reply.document);
        // Passed through as the backend chains them (SecantusDB answers the request
        // in every reply; mongod answers the reply before): either is the client's.
        assert!(reply.response_to == id || replies > 0, "{reply:?}");
        replies += 1;
        let batch = reply.document.get_document("cursor").unwrap();
        seen += batch.get_array("nextBatch").unwrap().len();
        if !reply.more_to_come {
            break;
        }
    }
    assert_eq!(seen, 5);
    // The connection is usable again after the stream.
    let ping = client.command("admin", doc! {"ping": 1}).await.unwrap();
    assert_eq!(ping.ok(), 1.0);
}
