//! `Connection` against a real SecantusDB server: the typed hello, commands and their
//! failures, raw write commands, compression on the wire, exhaust, unacknowledged
//! writes, what fail points do to a connection, and a load-balanced handshake with a
//! server that is not behind a load balancer.

mod server_support;

use std::time::{Duration, Instant};

use bson::{rawdoc, RawDocumentBuf};
use mongopool::connection::Broken;
use mongopool::error::ErrorKind;
use mongopool::reply_check::AllowableError;
use mongopool::{CommandOptions, Connection, ConnectionOptions, ConnectionString, ServerAddress};
use mongopool_testkit::TestServer;
use mongopool_wire::{Compressor, DocumentSequence, Message, OpMsg};
use serde::Deserialize;

use server_support::address_of;
use server_support::recording_proxy::{Direction, RecordingProxy, Rewrite, OP_COMPRESSED, OP_MSG};
use server_support::shared::Shared;

const COMMAND_NOT_FOUND: i32 = 59;
const DUPLICATE_KEY: i32 = 11000;

/// One server for the tests that do not need fail points (which are process-wide on
/// the server, so those tests start their own).
static SERVER: Shared<TestServer> =
    Shared::new(|| TestServer::start().expect("start secantusd-rs"));

async fn connect_with(address: &ServerAddress, options: &ConnectionOptions) -> Connection {
    Connection::connect(address, options, 1, 0)
        .await
        .expect("connect")
}

async fn connect(server: &TestServer) -> Connection {
    connect_with(&address_of(server), &ConnectionOptions::default()).await
}

fn checked() -> CommandOptions {
    CommandOptions::default()
}

/// The documents of a cursor reply's first or next batch.
fn batch(reply: &RawDocumentBuf) -> Vec<RawDocumentBuf> {
    let cursor = reply.get_document("cursor").expect("cursor");
    let batch = cursor
        .get_array("firstBatch")
        .or_else(|_| cursor.get_array("nextBatch"))
        .expect("a batch");
    batch
        .into_iter()
        .map(|doc| {
            doc.expect("element")
                .as_document()
                .expect("document")
                .to_owned()
        })
        .collect()
}

fn ids(docs: &[RawDocumentBuf]) -> Vec<i32> {
    docs.iter()
        .map(|d| d.get_i32("_id").expect("_id"))
        .collect()
}

#[tokio::test]
async fn hello_is_typed_and_the_raw_reply_is_kept() {
    let server = SERVER.get();
    let conn = connect(&server).await;
    let hello = conn.hello();
    assert_eq!(hello.max_wire_version, 27);
    assert_eq!(hello.min_wire_version, 0);
    assert_eq!(hello.max_bson_object_size, 16_777_216);
    assert_eq!(hello.max_message_size_bytes, 48_000_000);
    assert_eq!(hello.max_write_batch_size, 100_000);
    assert!(hello.is_writable_primary);
    assert!(!hello.secondary);
    assert!(!hello.is_mongos);
    assert_eq!(hello.set_name.as_deref(), Some("secantus"));
    assert!(!hello.hosts.is_empty(), "{:?}", hello.hosts);
    assert_eq!(hello.logical_session_timeout_minutes, Some(30));
    assert!(hello.topology_version.is_some());
    // No compression was offered, so none is agreed.
    assert!(hello.compression.is_empty(), "{:?}", hello.compression);
    assert!(conn.compressor().is_none());
    let connection_id = hello.connection_id.expect("connectionId");
    assert!(connection_id > 0);

    // The typed fields are read from the raw reply, which is kept whole.
    let raw = &hello.raw;
    assert_eq!(raw.get_i32("maxWireVersion").unwrap(), 27);
    assert_eq!(raw.get_i32("maxBsonObjectSize").unwrap(), 16_777_216);
    assert_eq!(raw.get_str("setName").unwrap(), "secantus");
    let raw_hosts: Vec<String> = raw
        .get_array("hosts")
        .unwrap()
        .into_iter()
        .map(|h| h.unwrap().as_str().unwrap().to_owned())
        .collect();
    assert_eq!(raw_hosts, hello.hosts);

    // Every connection gets its own id from the server.
    let other = connect(&server).await;
    assert_ne!(other.hello().connection_id, Some(connection_id));
}

#[tokio::test]
async fn ping_insert_and_find_succeed() {
    let server = SERVER.get();
    let mut conn = connect(&server).await;
    let reply = conn
        .command("admin", &rawdoc! { "ping": 1 }, &checked())
        .await
        .expect("ping");
    assert_eq!(reply.get_f64("ok").unwrap(), 1.0);

    let reply = conn
        .command(
            "conn_tests",
            &rawdoc! { "insert": "insert_find", "documents": [{ "_id": 1, "x": "a" }, { "_id": 2, "x": "b" }] },
            &checked(),
        )
        .await
        .expect("insert");
    assert_eq!(reply.get_i32("n").unwrap(), 2);

    let reply = conn
        .command(
            "conn_tests",
            &rawdoc! { "find": "insert_find", "filter": { "x": "b" } },
            &checked(),
        )
        .await
        .expect("find");
    let docs = batch(&reply);
    assert_eq!(ids(&docs), [2]);
    assert_eq!(docs[0].get_str("x").unwrap(), "b");
    assert!(conn.is_usable());
}

#[tokio::test]
async fn an_unknown_command_is_command_not_found_and_the_connection_stays_usable() {
    let server = SERVER.get();
    let mut conn = connect(&server).await;
    let err = conn
        .command("admin", &rawdoc! { "noSuchCommand": 1 }, &checked())
        .await
        .expect_err("unknown command");
    assert!(err.is_operation_failure(), "{err:?}");
    assert!(!err.closes_connection(), "{err:?}");
    assert_eq!(err.code(), Some(COMMAND_NOT_FOUND));
    let ErrorKind::OperationFailure(failure) = err.kind() else {
        panic!("not an operation failure: {err:?}");
    };
    assert_eq!(failure.code_name.as_deref(), Some("CommandNotFound"));
    assert!(!failure.message.is_empty());
    assert_eq!(failure.reply.get_i32("code").unwrap(), COMMAND_NOT_FOUND);
    assert!(err.to_string().contains("CommandNotFound"), "{err}");

    assert!(conn.is_usable());
    conn.command("admin", &rawdoc! { "ping": 1 }, &checked())
        .await
        .expect("the connection still works");
}

#[tokio::test]
async fn allowable_errors_return_the_reply_by_code_and_by_message() {
    let server = SERVER.get();
    let mut conn = connect(&server).await;
    let unknown = rawdoc! { "noSuchCommand": 1 };

    let by_code = {
        let mut o = checked();
        o.allowable_errors = vec![AllowableError::Code(COMMAND_NOT_FOUND)];
        o
    };
    let reply = conn
        .command("admin", &unknown, &by_code)
        .await
        .expect("allowed by code");
    assert_eq!(reply.get_f64("ok").unwrap(), 0.0);
    assert_eq!(reply.get_i32("code").unwrap(), COMMAND_NOT_FOUND);

    let message = reply.get_str("errmsg").unwrap().to_owned();
    let by_message = {
        let mut o = checked();
        o.allowable_errors = vec![AllowableError::Message(message.clone())];
        o
    };
    let reply = conn
        .command("admin", &unknown, &by_message)
        .await
        .expect("allowed by message");
    assert_eq!(reply.get_str("errmsg").unwrap(), message);

    // Another code or another message is still an error.
    let other = {
        let mut o = checked();
        o.allowable_errors = vec![AllowableError::Code(26), "ns not found".into()];
        o
    };
    let err = conn
        .command("admin", &unknown, &other)
        .await
        .expect_err("not allowed");
    assert_eq!(err.code(), Some(COMMAND_NOT_FOUND));
}

#[tokio::test]
async fn check_false_returns_failed_replies() {
    let server = SERVER.get();
    let mut conn = connect(&server).await;
    let reply = conn
        .command(
            "admin",
            &rawdoc! { "noSuchCommand": 1 },
            &CommandOptions::unchecked(),
        )
        .await
        .expect("unchecked");
    assert_eq!(reply.get_f64("ok").unwrap(), 0.0);
    assert_eq!(reply.get_str("codeName").unwrap(), "CommandNotFound");
}

#[tokio::test]
async fn command_as_reads_the_reply_into_a_struct() {
    #[derive(Debug, Deserialize)]
    struct Cursor {
        #[serde(rename = "firstBatch")]
        first_batch: Vec<Item>,
        ns: String,
        id: i64,
    }
    #[derive(Debug, Deserialize, PartialEq)]
    struct Item {
        #[serde(rename = "_id")]
        id: i32,
        name: String,
    }
    #[derive(Debug, Deserialize)]
    struct FindReply {
        cursor: Cursor,
        ok: f64,
    }

    let server = SERVER.get();
    let mut conn = connect(&server).await;
    conn.command(
        "conn_tests",
        &rawdoc! { "insert": "command_as", "documents": [{ "_id": 7, "name": "seven" }] },
        &checked(),
    )
    .await
    .expect("insert");
    let reply: FindReply = conn
        .command_as(
            "conn_tests",
            &rawdoc! { "find": "command_as", "filter": {} },
            &checked(),
        )
        .await
        .expect("find as a struct");
    assert_eq!(reply.ok, 1.0);
    assert_eq!(reply.cursor.ns, "conn_tests.command_as");
    assert_eq!(reply.cursor.id, 0);
    assert_eq!(
        reply.cursor.first_batch,
        [Item {
            id: 7,
            name: "seven".into()
        }]
    );

    // A reply that does not fit the type is a protocol error naming the type; the
    // connection is fine (the bytes were read whole).
    #[derive(Debug, Deserialize)]
    struct Wrong {
        #[allow(dead_code)]
        nonexistent: String,
    }
    let err = conn
        .command_as::<Wrong>("admin", &rawdoc! { "ping": 1 }, &checked())
        .await
        .expect_err("the reply has no such field");
    assert!(err.to_string().contains("Wrong"), "{err}");
}

#[tokio::test]
async fn write_command_reports_a_duplicate_key_at_its_index() {
    let server = SERVER.get();
    let mut conn = connect(&server).await;
    let request_id = mongopool::connection::next_request_id();
    let insert = OpMsg::new(rawdoc! {
        "insert": "duplicates",
        "ordered": true,
        "$db": "conn_tests",
    })
    .with_sequence(DocumentSequence::new(
        "documents",
        vec![
            rawdoc! { "_id": 1, "n": "first" },
            rawdoc! { "_id": 1, "n": "second, same _id" },
            rawdoc! { "_id": 2, "n": "never inserted: ordered" },
        ],
    ));
    let mut bytes = Vec::new();
    Message::Msg(insert)
        .encode(request_id, 0, &mut bytes)
        .expect("encode");

    let err = conn
        .write_command(request_id, &bytes)
        .await
        .expect_err("duplicate key");
    assert!(err.is_duplicate_key(), "{err:?}");
    assert!(err.is_write_failure());
    assert_eq!(err.code(), Some(DUPLICATE_KEY));
    let ErrorKind::DuplicateKey(failure) = err.kind() else {
        panic!("not a duplicate key: {err:?}");
    };
    assert_eq!(failure.write_errors.len(), 1, "{failure:?}");
    assert_eq!(failure.write_errors[0].index, 1);
    assert_eq!(failure.write_errors[0].code, DUPLICATE_KEY);
    assert_eq!(failure.reply.get_i32("n").unwrap(), 1);
    assert!(conn.is_usable());

    let reply = conn
        .command(
            "conn_tests",
            &rawdoc! { "find": "duplicates", "filter": {} },
            &checked(),
        )
        .await
        .expect("find");
    let docs = batch(&reply);
    assert_eq!(ids(&docs), [1]);
    assert_eq!(docs[0].get_str("n").unwrap(), "first");
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

fn fail_point_server() -> TestServer {
    TestServer::builder()
        .test_commands(true)
        .start()
        .expect("start secantusd-rs with test commands")
}

fn set_fail_point(server: &TestServer, data: bson::Document) {
    server
        .command(
            "admin",
            bson::doc! { "configureFailPoint": "failCommand", "mode": { "times": 1 }, "data": data },
        )
        .expect("configureFailPoint");
}

#[tokio::test]
async fn a_fail_point_that_closes_the_connection_breaks_it() {
    let server = fail_point_server();
    let mut conn = connect(&server).await;
    set_fail_point(
        &server,
        bson::doc! { "failCommands": ["ping"], "closeConnection": true },
    );
    let err = conn
        .command("admin", &rawdoc! { "ping": 1 }, &checked())
        .await
        .expect_err("the server hangs up");
    assert!(err.is_network(), "{err:?}");
    assert!(!err.is_timeout(), "{err:?}");
    assert!(!conn.is_usable());
    assert_eq!(conn.broken(), Some(Broken::Network));
    let again = conn
        .command("admin", &rawdoc! { "ping": 1 }, &checked())
        .await
        .expect_err("a broken connection is not used again");
    assert!(again.is_network(), "{again:?}");

    // The fail point fired once; a new connection works.
    connect(&server)
        .await
        .command("admin", &rawdoc! { "ping": 1 }, &checked())
        .await
        .expect("ping on a new connection");
}

#[tokio::test]
async fn a_fail_point_error_code_is_an_operation_failure() {
    let server = fail_point_server();
    let mut conn = connect(&server).await;
    set_fail_point(
        &server,
        bson::doc! { "failCommands": ["ping"], "errorCode": 2 },
    );
    let err = conn
        .command("admin", &rawdoc! { "ping": 1 }, &checked())
        .await
        .expect_err("the fail point fires");
    assert!(err.is_operation_failure(), "{err:?}");
    assert!(!err.is_not_primary(), "{err:?}");
    assert_eq!(err.code(), Some(2));
    assert!(conn.is_usable());

    // A node-is-recovering code is classified as such.
    set_fail_point(
        &server,
        bson::doc! { "failCommands": ["ping"], "errorCode": 91 },
    );
    let err = conn
        .command("admin", &rawdoc! { "ping": 1 }, &checked())
        .await
        .expect_err("the fail point fires");
    assert!(err.is_not_primary(), "{err:?}");
    assert_eq!(err.code(), Some(91));
    conn.command("admin", &rawdoc! { "ping": 1 }, &checked())
        .await
        .expect("the fail point fired only once");
}

#[tokio::test]
async fn a_blocked_command_runs_into_the_socket_timeout() {
    let server = fail_point_server();
    let socket_timeout = Duration::from_millis(300);
    let block = Duration::from_secs(3);
    let options = ConnectionOptions::builder()
        .socket_timeout(Some(socket_timeout))
        .build()
        .unwrap();
    let mut conn = connect_with(&address_of(&server), &options).await;
    set_fail_point(
        &server,
        bson::doc! {
            "failCommands": ["ping"],
            "blockConnection": true,
            "blockTimeMS": block.as_millis() as i64,
        },
    );
    let started = Instant::now();
    let err = conn
        .command("admin", &rawdoc! { "ping": 1 }, &checked())
        .await
        .expect_err("the reply comes too late");
    let waited = started.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    assert!(waited >= socket_timeout, "{waited:?}");
    assert!(
        waited < block,
        "{waited:?}: the timeout did not cut the wait"
    );
    assert!(!conn.is_usable());
    assert_eq!(conn.broken(), Some(Broken::Network));
}

// ---------------------------------------------------------------------------------
// Load-balanced mode

#[tokio::test]
async fn load_balanced_mode_is_refused_by_a_server_without_service_id() {
    let server = SERVER.get();
    let uri = format!("{}/?loadBalanced=true", server.uri());
    let options =
        ConnectionOptions::from_connection_string(&ConnectionString::parse(&uri).unwrap()).unwrap();
    assert!(options.load_balanced());
    let err = Connection::connect(&address_of(&server), &options, 1, 0)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(
            "Driver attempted to initialize in load balancing mode, \
             but the server does not support this mode."
        ),
        "{err}"
    );
    assert!(
        matches!(err.kind(), ErrorKind::Unsupported { .. }),
        "{err:?}"
    );

    // The same server without loadBalanced is fine.
    let options =
        ConnectionOptions::from_connection_string(&ConnectionString::parse(&server.uri()).unwrap())
            .unwrap();
    let mut conn = connect_with(&address_of(&server), &options).await;
    assert_eq!(conn.hello().service_id, None);
    conn.command("admin", &rawdoc! {"ping": 1}, &checked())
        .await
        .unwrap();
}
