//! moreToCome in both directions through the proxy: unacknowledged writes get no
//! reply and leave the client's connection in step, and an exhaust `getMore` streams
//! every batch of the cursor from one server connection.

mod common;

use std::time::Duration;

use bson::doc;
use common::server_and_proxy;
use mongopool_testkit::simulator::WireClient;
use mongopool_wire::MsgFlags;

#[tokio::test]
async fn unacknowledged_writes_get_no_reply_and_do_not_desync() {
    let (_server, proxy) = server_and_proxy("maxPoolSize=2").await;
    let mut c = WireClient::connect(proxy.local_addr()).await.unwrap();
    for i in 0..3 {
        let insert = doc! {"insert": "w0", "documents": [{"_id": i}], "writeConcern": {"w": 0}};
        c.send("db", insert, MsgFlags::MORE_TO_COME).await.unwrap();
    }
    // The next reply on the connection is the ping's (WireClient checks responseTo):
    // no reply was made up for the three writes.
    let ping = c
        .command("db", doc! {"ping": 1})
        .await
        .expect("the ping's reply");
    assert_eq!(ping.ok(), 1.0);
    // The writes were forwarded (unacknowledged: they land when the server gets to them).
    common::eventually("the three unacknowledged writes land", || {
        let stats = proxy.stats();
        stats.requests_forwarded >= 4
    })
    .await;
    let mut n = 0;
    for _ in 0..100 {
        let count = c.command("db", doc! {"count": "w0"}).await.unwrap();
        n = count.document.get_i32("n").unwrap_or(0);
        if n == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(n, 3);
    proxy.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn an_exhaust_get_more_streams_every_batch() {
    let (_server, proxy) = server_and_proxy("maxPoolSize=2").await;
    let mut c = WireClient::connect(proxy.local_addr()).await.unwrap();
    let docs: Vec<_> = (0..23).map(|i| doc! {"_id": i}).collect();
    let r = c
        .command("db", doc! {"insert": "ex", "documents": docs})
        .await
        .unwrap();
    assert_eq!(r.ok(), 1.0, "{:?}", r.document);
    let find = c
        .command(
            "db",
            doc! {"find": "ex", "batchSize": 5, "sort": {"_id": 1}},
        )
        .await
        .unwrap();
    let cursor = find.document.get_document("cursor").unwrap();
    let id = cursor.get_i64("id").unwrap();
    assert_ne!(id, 0);

    let get_more = doc! {"getMore": id, "collection": "ex", "batchSize": 5};
    let request = c
        .send("db", get_more, MsgFlags::EXHAUST_ALLOWED)
        .await
        .unwrap();
    let mut expect_response_to = request;
    let mut seen = 5;
    let mut streamed = 0;
    loop {
        let reply = c.receive().await.unwrap();
        assert_eq!(
            reply.response_to, expect_response_to,
            "replies answer in a chain"
        );
        expect_response_to = reply.request_id;
        assert_eq!(reply.ok(), 1.0, "{:?}", reply.document);
        let batch = reply.document.get_document("cursor").unwrap();
        seen += batch.get_array("nextBatch").unwrap().len();
        if !reply.more_to_come {
            assert_eq!(
                batch.get_i64("id").unwrap(),
                0,
                "the last reply ends the cursor"
            );
            break;
        }
        streamed += 1;
    }
    assert_eq!(seen, 23);
    assert!(
        streamed >= 2,
        "the server's stream reached the client: {streamed} replies with moreToCome"
    );
    // The connection is in step afterwards, and the stream's server connection is back.
    let ping = c.command("db", doc! {"ping": 1}).await.unwrap();
    assert_eq!(ping.ok(), 1.0);
    assert_eq!(common::pool(&proxy).in_use, 0);
    assert_eq!(proxy.stats().open_cursors, 0);
    proxy.shutdown(Duration::from_secs(1)).await;
}
