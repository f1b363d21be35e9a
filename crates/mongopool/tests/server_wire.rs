//! `Connection` against a real SecantusDB server, on the wire: compression, exhaust,
//! unacknowledged writes, as a recording proxy sees them.

mod server_support;

use bson::rawdoc;
use mongopool::{CommandOptions, Connection, ConnectionOptions};
use mongopool_testkit::TestServer;
use mongopool_wire::Compressor;

use server_support::connections::connect_with;
use server_support::cursor_batch::{batch, ids};
use server_support::recording_proxy::{Direction, RecordingProxy, Rewrite, OP_COMPRESSED, OP_MSG};
use server_support::shared::Shared;

/// One server for the tests that do not need fail points (which are process-wide on
/// the server, so those tests start their own).
static SERVER: Shared<TestServer> =
    Shared::new(|| TestServer::start().expect("start secantusd-rs"));

fn checked() -> CommandOptions {
    CommandOptions::default()
}

/// Connects through a recording proxy offering only `compressor`, and checks that the
/// handshake goes out plain and everything after it compressed, both ways.
async fn compression_is_used_on_the_wire(compressor: Compressor) {
    let server = SERVER.get();
    let proxy = RecordingProxy::start(server.address()).await;
    let options = ConnectionOptions::builder()
        .compressors(vec![compressor])
        .build()
        .unwrap();
    let mut conn = connect_with(&proxy.address(), &options).await;
    assert_eq!(conn.compressor(), Some(&compressor));
    assert_eq!(conn.hello().compression, [compressor.name()]);

    let collection = format!("compressed_{}", compressor.name());
    // Highly compressible, so that compression visibly shrinks the frames.
    let text = "mongopool ".repeat(2_000);
    conn.command(
        "conn_tests",
        &rawdoc! { "insert": collection.as_str(), "documents": [{ "_id": 1, "text": text.as_str() }] },
        &checked(),
    )
    .await
    .expect("compressed insert");
    let reply = conn
        .command(
            "conn_tests",
            &rawdoc! { "find": collection.as_str(), "filter": {} },
            &checked(),
        )
        .await
        .expect("compressed find");
    assert_eq!(batch(&reply)[0].get_str("text").unwrap(), text);

    let frames = proxy.frames();
    assert_eq!(frames.len(), 6, "hello, insert, find and their replies");
    let (hello, commands) = frames.split_at(2);
    for frame in hello {
        assert_eq!(frame.op_code, OP_MSG, "the hello is never compressed");
    }
    assert_eq!(hello[0].direction, Direction::ToServer);
    assert_eq!(hello[0].command_name().as_deref(), Some("isMaster"));
    for (i, frame) in commands.iter().enumerate() {
        let expected_direction = if i % 2 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        assert_eq!(frame.direction, expected_direction);
        assert_eq!(frame.op_code, OP_COMPRESSED, "frame {i} {frame:?}");
        let header = frame.compressed.expect("OP_COMPRESSED header");
        assert_eq!(header.original_op_code, OP_MSG);
        assert_eq!(header.compressor_id, compressor.id());
    }
    // The insert request and the find reply carry the 20 kB text: compressed, they
    // are a fraction of it.
    for frame in [&commands[0], &commands[3]] {
        let header = frame.compressed.unwrap();
        assert!(header.uncompressed_size > 20_000, "{header:?}");
        assert!(
            frame.bytes.len() * 4 < header.uncompressed_size as usize,
            "{} bytes for {header:?}",
            frame.bytes.len()
        );
    }
    assert_eq!(commands[0].command_name().as_deref(), Some("insert"));
    assert_eq!(commands[2].command_name().as_deref(), Some("find"));
}

#[tokio::test]
async fn snappy_is_negotiated_and_used() {
    compression_is_used_on_the_wire(Compressor::Snappy).await;
}

#[tokio::test]
async fn zlib_is_negotiated_and_used() {
    compression_is_used_on_the_wire(Compressor::Zlib { level: None }).await;
}

#[tokio::test]
async fn zstd_is_negotiated_and_used() {
    compression_is_used_on_the_wire(Compressor::Zstd { level: None }).await;
}

#[tokio::test]
async fn without_compressors_everything_is_plain_op_msg() {
    let server = SERVER.get();
    let proxy = RecordingProxy::start(server.address()).await;
    let mut conn = connect_with(&proxy.address(), &ConnectionOptions::default()).await;
    conn.command("admin", &rawdoc! { "ping": 1 }, &checked())
        .await
        .expect("ping");
    let frames = proxy.frames();
    assert_eq!(frames.len(), 4);
    assert!(frames.iter().all(|f| f.op_code == OP_MSG), "{frames:?}");
    assert_eq!(frames[2].command_name().as_deref(), Some("ping"));
}

/// Inserts ten documents into `collection`, finds them in batches of two, then streams
/// the rest with one exhaust getMore. Returns the ids in the order they came and the
/// number of replies to the getMore; checks on the way that nothing else may run on
/// the connection during the stream, and that it may afterwards.
async fn exhaust_get_more(
    conn: &mut Connection,
    proxy: &RecordingProxy,
    collection: &str,
) -> (Vec<i32>, usize) {
    let mut documents = bson::RawArrayBuf::new();
    for i in 0..10 {
        documents.push(rawdoc! { "_id": i });
    }
    conn.command(
        "conn_tests",
        &rawdoc! { "insert": collection, "documents": documents },
        &checked(),
    )
    .await
    .expect("insert");
    let first = conn
        .command(
            "conn_tests",
            &rawdoc! { "find": collection, "filter": {}, "sort": { "_id": 1 }, "batchSize": 2 },
            &checked(),
        )
        .await
        .expect("find");
    let mut seen = ids(&batch(&first));
    let cursor_id = first.get_document("cursor").unwrap().get_i64("id").unwrap();
    assert_ne!(cursor_id, 0);
    proxy.clear();

    let get_more = rawdoc! { "getMore": cursor_id, "collection": collection, "batchSize": 2 };
    let mut reply = conn
        .command_exhaust("conn_tests", &get_more, &checked())
        .await
        .expect("getMore with exhaustAllowed");
    seen.extend(ids(&batch(&reply)));
    assert!(
        conn.is_exhausting(),
        "the server answered without moreToCome"
    );
    assert!(
        !conn.is_usable(),
        "nothing else may run during an exhaust stream"
    );
    let err = conn
        .command("admin", &rawdoc! { "ping": 1 }, &checked())
        .await
        .expect_err("a command in the middle of the stream is refused");
    assert!(!err.closes_connection(), "{err:?}");
    let mut replies = 1;
    while let Some(next) = conn
        .next_exhaust_reply()
        .await
        .expect("the next reply of the exhaust stream")
    {
        replies += 1;
        seen.extend(ids(&batch(&next)));
        reply = next;
    }
    assert_eq!(
        reply.get_document("cursor").unwrap().get_i64("id").unwrap(),
        0,
        "the last reply closes the cursor"
    );
    assert!(!conn.is_exhausting());
    assert!(conn.is_usable());
    conn.command("admin", &rawdoc! { "ping": 1 }, &checked())
        .await
        .expect("usable after the stream");
    (seen, replies)
}

#[tokio::test]
async fn exhaust_get_more_streams_every_batch() {
    let server = SERVER.get();
    let proxy = RecordingProxy::start(server.address()).await;
    let mut conn = connect_with(&proxy.address(), &ConnectionOptions::default()).await;
    let (seen, replies) = exhaust_get_more(&mut conn, &proxy, "exhaust_direct").await;
    assert_eq!(seen, (0..10).collect::<Vec<_>>());
    // One getMore went out (then the ping); every batch came back on its own.
    let to_server = proxy.frames_to(Direction::ToServer);
    assert_eq!(to_server.len(), 2);
    assert_eq!(to_server[0].command_name().as_deref(), Some("getMore"));
    assert!(replies >= 4, "{replies} replies");
    assert_eq!(proxy.frames_to(Direction::ToClient).len(), replies + 1);
}

#[tokio::test]
async fn exhaust_replies_chained_as_the_spec_says_are_read_to_the_end() {
    let server = SERVER.get();
    let proxy = RecordingProxy::start_with(server.address(), Rewrite::ChainExhaust).await;
    let mut conn = connect_with(&proxy.address(), &ConnectionOptions::default()).await;
    let (seen, replies) = exhaust_get_more(&mut conn, &proxy, "exhaust_chained").await;
    assert_eq!(seen, (0..10).collect::<Vec<_>>());
    assert!(replies >= 4, "{replies} replies");

    // What SecantusDB really sent (the proxy records frames before repairing them):
    // every follow-up answers the getMore itself instead of the previous reply.
    let frames = proxy.frames();
    let get_more = &frames[0];
    assert_eq!(get_more.command_name().as_deref(), Some("getMore"));
    let stream: Vec<_> = frames[1..=replies].iter().collect();
    assert!(stream.iter().all(|f| f.direction == Direction::ToClient));
    assert!(stream
        .iter()
        .all(|f| f.response_to() == get_more.request_id()));
    assert!(stream[..replies - 1].iter().all(|f| f.more_to_come()));
    assert!(!stream[replies - 1].more_to_come());
}

#[tokio::test]
async fn an_unacknowledged_insert_is_seen_by_a_later_find() {
    let server = SERVER.get();
    let proxy = RecordingProxy::start(server.address()).await;
    let mut conn = connect_with(&proxy.address(), &ConnectionOptions::default()).await;
    proxy.clear();
    conn.send_unacknowledged(
        "conn_tests",
        &rawdoc! {
            "insert": "unacknowledged",
            "documents": [{ "_id": 42 }],
            "writeConcern": { "w": 0 },
        },
    )
    .await
    .expect("send");
    assert!(conn.is_usable());
    let reply = conn
        .command(
            "conn_tests",
            &rawdoc! { "find": "unacknowledged", "filter": {} },
            &checked(),
        )
        .await
        .expect("find");
    assert_eq!(ids(&batch(&reply)), [42]);
    // The insert got no reply: two requests went out, one reply came back.
    assert_eq!(proxy.frames_to(Direction::ToServer).len(), 2);
    assert_eq!(proxy.frames_to(Direction::ToClient).len(), 1);
}
