//! `Connection` against a real SecantusDB server: the typed hello, commands and their
//! failures, raw write commands. The wire (compression, exhaust, unacknowledged writes)
//! is in `server_wire.rs`, fail points and the load-balanced handshake in
//! `server_fail_points.rs`.

mod server_support;

use bson::rawdoc;
use mongopool::AllowableError;
use mongopool::CommandOptions;
use mongopool::ErrorKind;
use mongopool_testkit::TestServer;
use mongopool_wire::{DocumentSequence, Message, OpMsg};
use serde::Deserialize;

use server_support::connections::connect;
use server_support::cursor_batch::{batch, ids};
use server_support::shared::Shared;

const COMMAND_NOT_FOUND: i32 = 59;
const DUPLICATE_KEY: i32 = 11000;

/// One server for the tests that do not need fail points (which are process-wide on
/// the server, so those tests start their own).
static SERVER: Shared<TestServer> =
    Shared::new(|| TestServer::start().expect("start secantusd-rs"));

fn checked() -> CommandOptions {
    CommandOptions::default()
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
    let request_id = mongopool::next_request_id();
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
