//! Requests through the proxy to a real SecantusDB, with mongopool's own connection as
//! the client: the hello it gets, compression, CRUD, cursors, legacy OP_QUERY, auth
//! refusal, and clients that misbehave.

mod common;

use bson::rawdoc;
use common::{client, connect, ok, run, server_and_proxy};
use mongopool_wire::{Message, OpQuery, DEFAULT_MAX_MESSAGE_SIZE_BYTES};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn clients_see_a_mongos_and_get_the_servers_answers() {
    let (server, proxy) = server_and_proxy("maxPoolSize=2").await;
    let mut c = client(&proxy, "").await;
    assert!(c.hello().is_mongos, "the proxy presents itself as a mongos");
    assert!(c.hello().set_name.is_none());
    assert!(c.hello().logical_session_timeout_minutes.is_some());

    let mut direct = connect(server.port(), "").await;
    for i in 0..5 {
        let r = run(
            &mut c,
            "db",
            &rawdoc! {"insert": "c", "documents": [{"_id": i, "v": i * 10}]},
        )
        .await;
        assert_eq!(r.get_i32("n").unwrap(), 1, "{r:?}");
    }
    let find = rawdoc! {"find": "c", "filter": {"v": {"$gte": 20}}, "sort": {"_id": 1}};
    let via_proxy = run(&mut c, "db", &find).await;
    let direct_reply = run(&mut direct, "db", &find).await;
    assert_eq!(
        via_proxy
            .get_document("cursor")
            .unwrap()
            .get_array("firstBatch")
            .unwrap(),
        direct_reply
            .get_document("cursor")
            .unwrap()
            .get_array("firstBatch")
            .unwrap()
    );
    let r = run(
        &mut c,
        "db",
        &rawdoc! {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"v": 11}}}]},
    )
    .await;
    assert_eq!(r.get_i32("nModified").unwrap(), 1);
    let r = run(
        &mut c,
        "db",
        &rawdoc! {"delete": "c", "deletes": [{"q": {"_id": 0}, "limit": 1}]},
    )
    .await;
    assert_eq!(r.get_i32("n").unwrap(), 1);
    // A server error comes back as the server's reply.
    let dup = run(
        &mut c,
        "db",
        &rawdoc! {"insert": "c", "documents": [{"_id": 1}]},
    )
    .await;
    let code = dup
        .get_array("writeErrors")
        .unwrap()
        .into_iter()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(code.as_document().unwrap().get_i32("code").unwrap(), 11000);
    let stats = proxy.stats();
    assert!(stats.requests_forwarded >= 9, "{stats:?}");
    assert!(common::pool(&proxy).total <= 2);
}

#[tokio::test]
async fn compression_is_negotiated_per_client() {
    let (_server, proxy) = server_and_proxy("maxPoolSize=2").await;
    for name in ["snappy", "zlib", "zstd"] {
        let mut c = client(&proxy, name).await;
        assert_eq!(c.compressor().map(|c| c.name()), Some(name));
        let big = "x".repeat(10_000);
        let r = run(
            &mut c,
            "db",
            &rawdoc! {"insert": name, "documents": [{"_id": 1, "s": big.clone()}]},
        )
        .await;
        assert!(ok(&r), "{r:?}");
        let r = run(&mut c, "db", &rawdoc! {"find": name}).await;
        let doc = r
            .get_document("cursor")
            .unwrap()
            .get_array("firstBatch")
            .unwrap();
        let first = doc.into_iter().next().unwrap().unwrap();
        assert_eq!(first.as_document().unwrap().get_str("s").unwrap(), big);
    }
}

#[tokio::test]
async fn a_cursor_is_read_to_the_end_with_get_more() {
    let (_server, proxy) = server_and_proxy("maxPoolSize=2").await;
    let mut c = client(&proxy, "").await;
    let docs: Vec<_> = (0..250).map(|i| rawdoc! {"_id": i}).collect();
    let mut arr = bson::RawArrayBuf::new();
    for d in docs {
        arr.push(d);
    }
    let r = run(&mut c, "db", &rawdoc! {"insert": "many", "documents": arr}).await;
    assert_eq!(r.get_i32("n").unwrap(), 250);
    let first = run(
        &mut c,
        "db",
        &rawdoc! {"find": "many", "batchSize": 10, "sort": {"_id": 1}},
    )
    .await;
    let cursor = first.get_document("cursor").unwrap();
    let mut id = cursor.get_i64("id").unwrap();
    let mut seen = cursor.get_array("firstBatch").unwrap().into_iter().count();
    assert_eq!(proxy.stats().open_cursors, 1);
    while id != 0 {
        let r = run(
            &mut c,
            "db",
            &rawdoc! {"getMore": id, "collection": "many", "batchSize": 10},
        )
        .await;
        let cursor = r.get_document("cursor").expect("a getMore reply");
        seen += cursor.get_array("nextBatch").unwrap().into_iter().count();
        id = cursor.get_i64("id").unwrap();
    }
    assert_eq!(seen, 250);
    assert_eq!(
        proxy.stats().open_cursors,
        0,
        "the exhausted cursor is forgotten"
    );
}

#[tokio::test]
async fn a_disconnect_kills_the_clients_cursors() {
    let (_server, proxy) = server_and_proxy("maxPoolSize=2").await;
    let mut c = client(&proxy, "").await;
    let mut arr = bson::RawArrayBuf::new();
    for i in 0..20 {
        arr.push(rawdoc! {"_id": i});
    }
    run(&mut c, "db", &rawdoc! {"insert": "k", "documents": arr}).await;
    let first = run(&mut c, "db", &rawdoc! {"find": "k", "batchSize": 2}).await;
    let id = first.get_document("cursor").unwrap().get_i64("id").unwrap();
    assert_ne!(id, 0);
    assert_eq!(proxy.stats().open_cursors, 1);
    drop(c);
    common::eventually("the proxy killed the cursor", || {
        proxy.stats().open_cursors == 0 && proxy.stats().cleanups >= 1
    })
    .await;
    let mut other = client(&proxy, "").await;
    let r = run(
        &mut other,
        "db",
        &rawdoc! {"getMore": id, "collection": "k"},
    )
    .await;
    assert!(!ok(&r), "the cursor is gone: {r:?}");
    assert_eq!(r.get_i32("code").unwrap(), 43, "CursorNotFound: {r:?}");
}

#[tokio::test]
async fn legacy_op_query_hello_and_commands_get_op_reply() {
    let (_server, proxy) = server_and_proxy("maxPoolSize=2").await;
    let mut s = TcpStream::connect(proxy.local_addr()).await.unwrap();
    for (i, cmd) in [rawdoc! {"isMaster": 1}, rawdoc! {"$query": {"ping": 1}}]
        .into_iter()
        .enumerate()
    {
        let mut buf = Vec::new();
        Message::Query(OpQuery::command("admin", cmd))
            .encode(100 + i as i32, 0, &mut buf)
            .unwrap();
        s.write_all(&buf).await.unwrap();
        let reply = read_message(&mut s).await;
        assert_eq!(reply.header.response_to, 100 + i as i32);
        let Message::Reply(r) = reply.message else {
            panic!("an OP_REPLY: {reply:?}")
        };
        let doc = r.documents.first().expect("a document");
        assert!(ok(doc), "{doc:?}");
        if i == 0 {
            assert!(doc.get_bool("ismaster").unwrap());
            assert_eq!(doc.get_str("msg").unwrap(), "isdbgrid");
        }
    }
}

#[tokio::test]
async fn sasl_start_gets_a_clear_error() {
    let (_server, proxy) = server_and_proxy("maxPoolSize=1").await;
    let mut c = client(&proxy, "").await;
    let r = run(&mut c, "admin", &rawdoc! {"saslStart": 1, "mechanism": "SCRAM-SHA-256", "payload": bson::Binary {subtype: bson::spec::BinarySubtype::Generic, bytes: vec![1]}}).await;
    assert_eq!(r.get_i32("code").unwrap(), 18);
    assert!(r
        .get_str("errmsg")
        .unwrap()
        .contains("without authentication"));
    // The connection still works.
    assert!(ok(&run(&mut c, "admin", &rawdoc! {"ping": 1}).await));
}

#[tokio::test]
async fn garbage_and_half_requests_affect_no_other_client() {
    let (_server, proxy) = server_and_proxy("maxPoolSize=2").await;
    let mut good = client(&proxy, "").await;
    assert!(ok(&run(&mut good, "admin", &rawdoc! {"ping": 1}).await));

    // Garbage: a header announcing a valid length, then bytes that are no message.
    let mut bad = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let mut junk = 40i32.to_le_bytes().to_vec();
    junk.extend_from_slice(&[0xAB; 36]);
    bad.write_all(&junk).await.unwrap();
    let mut sink = Vec::new();
    let n = bad.read_to_end(&mut sink).await.unwrap_or(0);
    assert_eq!(n, 0, "closed without a reply");

    // Half a request, then gone.
    let mut half = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let mut buf = Vec::new();
    Message::Query(OpQuery::command("admin", rawdoc! {"ping": 1}))
        .encode(1, 0, &mut buf)
        .unwrap();
    half.write_all(&buf[..buf.len() / 2]).await.unwrap();
    drop(half);

    // An absurd length.
    let mut huge = TcpStream::connect(proxy.local_addr()).await.unwrap();
    huge.write_all(&i32::MAX.to_le_bytes()).await.unwrap();
    huge.write_all(&[0; 12]).await.unwrap();
    let n = huge.read_to_end(&mut sink).await.unwrap_or(0);
    assert_eq!(n, 0);

    common::eventually("both bad clients were closed", || {
        proxy.stats().clients_broken >= 2
    })
    .await;
    for _ in 0..3 {
        assert!(ok(&run(&mut good, "admin", &rawdoc! {"ping": 1}).await));
    }
}

async fn read_message(s: &mut TcpStream) -> mongopool_wire::Decoded {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.unwrap();
    let n = i32::from_le_bytes(len) as usize;
    let mut frame = len.to_vec();
    frame.resize(n, 0);
    s.read_exact(&mut frame[4..]).await.unwrap();
    Message::decode(&frame, DEFAULT_MAX_MESSAGE_SIZE_BYTES).unwrap()
}
