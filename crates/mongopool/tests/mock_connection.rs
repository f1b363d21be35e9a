//! `Connection` against the in-process mock server: legacy writes and getLastError,
//! the OP_QUERY fallback of old servers, network and protocol faults, abandoned
//! operations, exhaust and moreToCome, the load-balanced handshake, compression,
//! Unix sockets.
//!
//! Tests about time run with a paused clock on a Unix socket mock (see
//! `mock_support::start_unix` for why not TCP).

mod mock_support;

use std::time::Duration;

use bson::oid::ObjectId;
use bson::{doc, rawdoc, Bson, Document};
use mongopool::connection::Broken;
use mongopool::{CommandOptions, ConnectionOptions, ErrorKind, ReadPreference, ReadPreferenceMode};
use mongopool_testkit::mock::{
    Action, Behavior, ClosedBy, ConnectionEvent, MockServer, Reply, Request, ResponseTo,
    ScramMechanism, ScramServer,
};
use mongopool_wire::{Compressor, Message, MsgFlags, OpCode, QueryFlags};
use tokio::time::Instant;

use mock_support::{after_handshake, connect, connect_with, insert, ping, start_unix, update};

fn defaults() -> CommandOptions {
    CommandOptions::default()
}

// ---------------------------------------------------------------------------------
// Legacy writes and getLastError

#[tokio::test]
async fn an_acknowledged_legacy_insert_sends_both_messages_and_reads_get_last_error() {
    let server = MockServer::start(
        Behavior::legacy(5).last_error(doc! {"ok": 1.0, "err": Bson::Null, "n": 0}),
    )
    .await
    .unwrap();
    let mut conn = connect(&server).await;
    let write = insert(
        "test",
        "people",
        vec![rawdoc! {"_id": 1, "name": "ada"}],
        true,
    );

    let result = conn
        .legacy_write(write.request_id, &write.bytes, write.max_doc_size, true)
        .await
        .unwrap()
        .expect("an acknowledged write has a result");
    assert_eq!((result.n, result.updated_existing), (0, None));
    assert!(conn.is_usable());

    let sent = after_handshake(server.journal());
    assert_eq!(sent.len(), 2, "{sent:#?}");
    let Message::Insert(op) = &sent[0].message else {
        panic!("expected OP_INSERT first: {:?}", sent[0])
    };
    assert_eq!(op.full_collection_name, "test.people");
    assert_eq!(op.documents, vec![rawdoc! {"_id": 1, "name": "ada"}]);
    assert_eq!(sent[0].request_id, write.write_request_id);
    assert_eq!(sent[1].op_code(), OpCode::Query);
    assert_eq!(sent[1].namespace(), Some("test.$cmd"));
    assert!(sent[1].is_command("getlasterror"));
    assert_eq!(sent[1].request_id, write.request_id);
}

#[tokio::test]
async fn a_legacy_update_reports_updated_existing_and_upserted() {
    let server = MockServer::start(
        Behavior::legacy(5)
            .last_error(doc! {"ok": 1.0, "err": Bson::Null, "n": 3, "updatedExisting": true})
            .last_error(
                doc! {"ok": 1.0, "err": Bson::Null, "n": 1, "updatedExisting": false, "upserted": 42},
            ),
    )
    .await
    .unwrap();
    let mut conn = connect(&server).await;

    let write = update(
        "test",
        "c",
        rawdoc! {"x": 1},
        rawdoc! {"$set": {"y": 2}},
        false,
    );
    let updated = conn
        .legacy_write(write.request_id, &write.bytes, write.max_doc_size, true)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((updated.n, updated.updated_existing), (3, Some(true)));
    assert_eq!(updated.upserted, None);

    let write = update(
        "test",
        "c",
        rawdoc! {"x": 9},
        rawdoc! {"$set": {"y": 2}},
        true,
    );
    let upserted = conn
        .legacy_write(write.request_id, &write.bytes, write.max_doc_size, true)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((upserted.n, upserted.updated_existing), (1, Some(false)));
    assert_eq!(upserted.upserted, Some(Bson::Int32(42)));

    let updates: Vec<Request> = after_handshake(server.journal())
        .into_iter()
        .filter(|r| r.op_code() == OpCode::Update)
        .collect();
    assert_eq!(updates.len(), 2);
    assert_eq!(
        updates[1].flags() & 1,
        1,
        "the second update has the Upsert bit"
    );
}

#[tokio::test]
async fn a_duplicate_key_from_get_last_error_is_a_duplicate_key_error() {
    let server = MockServer::start(Behavior::legacy(5).last_error(doc! {
        "ok": 1.0, "n": 0, "code": 11000,
        "err": "E11000 duplicate key error collection: test.people index: _id_ dup key: { _id: 1 }",
    }))
    .await
    .unwrap();
    let mut conn = connect(&server).await;
    let write = insert("test", "people", vec![rawdoc! {"_id": 1}], true);

    let err = conn
        .legacy_write(write.request_id, &write.bytes, write.max_doc_size, true)
        .await
        .unwrap_err();
    assert!(err.is_duplicate_key(), "{err:?}");
    assert_eq!(err.code(), Some(11000));
    // A write error is the server's answer; the connection is in step and reusable.
    assert!(conn.is_usable());
    conn.command("admin", &ping(), &defaults()).await.unwrap();
}

#[tokio::test]
async fn a_wtimeout_from_get_last_error_is_a_write_concern_error() {
    let server = MockServer::start(Behavior::legacy(5).last_error(doc! {
        "ok": 1.0, "n": 1, "err": "waiting for replication timed out", "wtimeout": true,
        "waited": 100,
    }))
    .await
    .unwrap();
    let mut conn = connect(&server).await;
    let write = insert("test", "people", vec![rawdoc! {"_id": 2}], true);

    let err = conn
        .legacy_write(write.request_id, &write.bytes, write.max_doc_size, true)
        .await
        .unwrap_err();
    let ErrorKind::WriteFailure(failure) = err.kind() else {
        panic!("expected a write failure: {err:?}")
    };
    assert!(failure.write_errors.is_empty());
    let wc = failure
        .write_concern_error
        .as_ref()
        .expect("a write concern error");
    assert_eq!(wc.code, 64);
    assert_eq!(wc.message, "waiting for replication timed out");
    assert!(conn.is_usable());
}

#[tokio::test]
async fn an_unacknowledged_legacy_write_to_a_secondary_is_refused_before_sending() {
    let server = MockServer::start(Behavior::legacy(5).not_writable())
        .await
        .unwrap();
    let mut conn = connect(&server).await;
    let write = insert("test", "people", vec![rawdoc! {"_id": 3}], false);

    let err = conn
        .legacy_write(write.request_id, &write.bytes, write.max_doc_size, false)
        .await
        .unwrap_err();
    assert!(err.is_not_primary(), "{err:?}");
    assert!(conn.is_usable());
    // The mock reads requests in order: had the insert gone out, it would come
    // before this ping.
    conn.command("admin", &ping(), &defaults()).await.unwrap();
    let sent = after_handshake(server.journal());
    assert_eq!(sent.len(), 1, "only the ping went out: {sent:#?}");
    assert!(sent[0].is_command("ping"));
}

#[tokio::test]
async fn a_legacy_write_to_a_wire_14_server_is_unsupported_and_not_sent() {
    for wire_version in [14, 21] {
        let server = MockServer::start(Behavior::legacy(wire_version))
            .await
            .unwrap();
        let mut conn = connect(&server).await;
        for acknowledged in [true, false] {
            let write = insert("test", "people", vec![rawdoc! {"_id": 4}], acknowledged);
            let err = conn
                .legacy_write(
                    write.request_id,
                    &write.bytes,
                    write.max_doc_size,
                    acknowledged,
                )
                .await
                .unwrap_err();
            assert!(
                matches!(err.kind(), ErrorKind::Unsupported { .. }),
                "wire {wire_version}: {err:?}"
            );
            assert!(conn.is_usable());
        }
        conn.command("admin", &ping(), &defaults()).await.unwrap();
        let sent = after_handshake(server.journal());
        assert_eq!(sent.len(), 1, "only the ping went out: {sent:#?}");
    }
}

#[tokio::test]
async fn a_legacy_write_with_a_document_over_the_limit_is_refused_before_sending() {
    let server = MockServer::start(Behavior::legacy(5).hello_field("maxBsonObjectSize", 1024))
        .await
        .unwrap();
    let mut conn = connect(&server).await;
    assert_eq!(conn.hello().max_bson_object_size, 1024);
    let big = rawdoc! {"_id": 5, "blob": "x".repeat(2000)};
    let write = insert("test", "people", vec![big], true);

    let err = conn
        .legacy_write(write.request_id, &write.bytes, write.max_doc_size, true)
        .await
        .unwrap_err();
    match err.kind() {
        ErrorKind::DocumentTooLarge { size, max } => {
            assert_eq!((*size, *max), (write.max_doc_size, 1024))
        }
        _ => panic!("expected DocumentTooLarge: {err:?}"),
    }
    assert!(conn.is_usable());
    conn.command("admin", &ping(), &defaults()).await.unwrap();
    assert_eq!(after_handshake(server.journal()).len(), 1);
}

// ---------------------------------------------------------------------------------
// Servers that speak OP_QUERY only

#[tokio::test]
async fn a_wire_5_server_hangs_up_on_op_msg_and_gets_the_hello_as_op_query() {
    let server = MockServer::start(Behavior::legacy(5)).await.unwrap();
    let conn = connect(&server).await;
    assert_eq!(conn.hello().max_wire_version, 5);
    assert!(conn.is_usable());

    let journal = server.journal();
    let entries = journal.snapshot();
    assert_eq!(entries.connections(), 2);
    let first = journal.requests_on(0);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].op_code(), OpCode::Msg);
    assert!(first[0].is_command("isMaster"));
    assert_eq!(entries.closed_by(0), Some(&ClosedBy::HangUp));

    let second = journal.requests_on(1);
    assert_eq!(second.len(), 1);
    let Message::Query(query) = &second[0].message else {
        panic!("expected OP_QUERY: {:?}", second[0])
    };
    assert_eq!(query.full_collection_name, "admin.$cmd");
    assert_eq!(query.number_to_return, -1);
    assert!(second[0].is_command("isMaster"));
    assert_eq!(
        second[0].command_document().unwrap().get("$db"),
        None,
        "OP_QUERY carries the database in the namespace"
    );
}

#[tokio::test]
async fn commands_to_a_wire_5_server_go_as_op_query_with_slave_ok_when_asked() {
    let server = MockServer::start(Behavior::legacy(5)).await.unwrap();
    let mut conn = connect(&server).await;
    let cases = [
        (defaults(), false),
        (
            {
                let mut o = defaults();
                o.secondary_ok = true;
                o
            },
            true,
        ),
        (
            {
                let mut o = defaults();
                o.read_preference =
                    ReadPreference::with_mode(ReadPreferenceMode::SecondaryPreferred);
                o
            },
            true,
        ),
        (
            {
                let mut o = defaults();
                o.read_preference = ReadPreference::with_mode(ReadPreferenceMode::Nearest);
                o
            },
            true,
        ),
    ];
    for (options, slave_ok) in cases {
        let reply = conn
            .command("test", &rawdoc! {"count": "c"}, &options)
            .await
            .unwrap();
        assert_eq!(
            reply.get_document("echo").unwrap().to_owned(),
            rawdoc! {"count": "c"},
            "the reply to this command came back"
        );
        let request = server.journal().requests().pop().unwrap();
        let Message::Query(query) = &request.message else {
            panic!("expected OP_QUERY: {request:?}")
        };
        assert_eq!(query.full_collection_name, "test.$cmd");
        assert_eq!(query.number_to_return, -1);
        assert_eq!(
            query.flags.contains(QueryFlags::SECONDARY_OK),
            slave_ok,
            "{options:?}"
        );
        assert_eq!(query.query, rawdoc! {"count": "c"}, "sent as is, unwrapped");
    }
}

#[tokio::test]
async fn send_message_then_receive_message_reads_the_reply() {
    let server = MockServer::start(Behavior::legacy(5)).await.unwrap();
    let mut conn = connect(&server).await;
    let request_id = mongopool::connection::next_request_id();
    let mut bytes = Vec::new();
    Message::Query(mongopool_wire::OpQuery::command(
        "test",
        rawdoc! {"ping": 1},
    ))
    .encode(request_id, 0, &mut bytes)
    .unwrap();
    conn.send_message(&bytes, 0).await.unwrap();
    assert!(!conn.is_usable(), "a reply is pending");
    let decoded = conn.receive_message(request_id).await.unwrap();
    assert_eq!(decoded.header.response_to, request_id);
    let Message::Reply(reply) = decoded.message else {
        panic!("expected OP_REPLY: {decoded:?}")
    };
    assert_eq!(reply.documents.first().unwrap().get_f64("ok").unwrap(), 1.0);
    assert!(conn.is_usable());
}

#[tokio::test]
async fn a_wire_5_mongos_gets_the_query_wrapper_when_the_mode_needs_it() {
    let server = MockServer::start(Behavior::legacy(5).mongos())
        .await
        .unwrap();
    let mut conn = connect(&server).await;
    assert!(conn.hello().is_mongos);
    let tagged = ReadPreference {
        mode: ReadPreferenceMode::Secondary,
        tag_sets: vec![rawdoc! {"dc": "ny"}],
        max_staleness: None,
    };
    let stale = ReadPreference {
        mode: ReadPreferenceMode::SecondaryPreferred,
        tag_sets: Vec::new(),
        max_staleness: Some(Duration::from_secs(120)),
    };
    let cases: [(ReadPreference, bool, Option<Document>); 5] = [
        (ReadPreference::primary(), false, None),
        (
            ReadPreference::with_mode(ReadPreferenceMode::SecondaryPreferred),
            true,
            None,
        ),
        (
            tagged,
            true,
            Some(doc! {"mode": "secondary", "tags": [{"dc": "ny"}]}),
        ),
        (
            ReadPreference::with_mode(ReadPreferenceMode::Nearest),
            true,
            Some(doc! {"mode": "nearest"}),
        ),
        (
            stale,
            true,
            Some(doc! {"mode": "secondaryPreferred", "maxStalenessSeconds": 120_i64}),
        ),
    ];
    for (read_preference, slave_ok, wrapper) in cases {
        let options = {
            let mut o = defaults();
            o.read_preference = read_preference;
            o
        };
        let reply = conn
            .command("test", &rawdoc! {"count": "c"}, &options)
            .await
            .unwrap();
        assert_eq!(
            reply.get_document("echo").unwrap().to_owned(),
            rawdoc! {"count": "c"}
        );
        let request = server.journal().requests().pop().unwrap();
        assert_eq!(request.op_code(), OpCode::Query);
        assert_eq!(
            request
                .query_flags()
                .unwrap()
                .contains(QueryFlags::SECONDARY_OK),
            slave_ok,
            "{options:?}"
        );
        assert_eq!(
            request.has_query_wrapper(),
            wrapper.is_some(),
            "{options:?}"
        );
        assert_eq!(request.read_preference(), wrapper, "{options:?}");
        assert_eq!(
            request.command_document(),
            Some(doc! {"count": "c"}),
            "the command itself is unchanged inside the wrapper"
        );
    }
}

#[tokio::test]
async fn an_op_reply_query_failure_is_an_operation_failure_of_its_kind() {
    let server = MockServer::start(Behavior::legacy(5).on("count", |_, _| {
        Reply::new(doc! {"$err": "not master and slaveOk=false", "code": 13435})
            .query_failure()
            .into()
    }))
    .await
    .unwrap();
    let mut conn = connect(&server).await;
    let err = conn
        .command("test", &rawdoc! {"count": "c"}, &defaults())
        .await
        .unwrap_err();
    assert!(err.is_not_primary(), "{err:?}");
    assert_eq!(err.code(), Some(13435));
    assert!(
        conn.is_usable(),
        "the server answered: the connection is in step"
    );
}

#[tokio::test]
async fn op_msg_commands_carry_db_and_the_read_preference_where_needed() {
    let plain = MockServer::start(Behavior::modern()).await.unwrap();
    let mongos = MockServer::start(Behavior::modern().mongos())
        .await
        .unwrap();
    let secondary = {
        let mut o = defaults();
        o.read_preference = ReadPreference::with_mode(ReadPreferenceMode::Secondary);
        o
    };
    let secondary_ok = {
        let mut o = defaults();
        o.secondary_ok = true;
        o
    };
    let cases = [
        (&plain, defaults(), None),
        (
            &plain,
            secondary_ok.clone(),
            Some(doc! {"mode": "primaryPreferred"}),
        ),
        (&plain, secondary.clone(), Some(doc! {"mode": "secondary"})),
        (&mongos, defaults(), None),
        (&mongos, secondary_ok, None),
        (&mongos, secondary, Some(doc! {"mode": "secondary"})),
    ];
    for (server, options, read_preference) in cases {
        let mut conn = connect(server).await;
        conn.command("test", &rawdoc! {"find": "c"}, &options)
            .await
            .unwrap();
        let request = server.journal().requests().pop().unwrap();
        assert_eq!(request.op_code(), OpCode::Msg);
        assert_eq!(request.db(), Some("test"));
        assert_eq!(request.read_preference(), read_preference, "{options:?}");
    }
}

// ---------------------------------------------------------------------------------
// Network faults

#[tokio::test]
async fn a_hang_up_mid_reply_is_a_connection_failure_and_breaks_the_connection() {
    let server = MockServer::start(Behavior::modern().on("ping", |_, _| {
        Action::HalfThenHangUp(Reply::new(doc! {"ok": 1.0, "padding": "x".repeat(1000)}))
    }))
    .await
    .unwrap();
    let mut conn = connect(&server).await;

    let err = conn
        .command("admin", &ping(), &defaults())
        .await
        .unwrap_err();
    assert!(err.is_network() && !err.is_timeout(), "{err:?}");
    assert!(!conn.is_usable());
    assert_eq!(conn.broken(), Some(Broken::Network));
    assert_eq!(server.journal().wait_for_close(0).await, ClosedBy::HangUp);
    let partial = server
        .journal()
        .events()
        .into_iter()
        .rev()
        .find_map(|e| match e {
            ConnectionEvent::Sent { bytes, .. } => Some(bytes),
            _ => None,
        })
        .unwrap();
    assert!(
        partial > 16,
        "the header and part of the body went out: {partial}"
    );

    let again = conn
        .command("admin", &ping(), &defaults())
        .await
        .unwrap_err();
    assert!(again.is_network(), "{again:?}");
    assert_eq!(server.journal().count("ping"), 1, "nothing more was sent");
}

#[tokio::test(start_paused = true)]
async fn a_slow_reply_is_a_network_timeout_after_the_socket_timeout() {
    let (server, _dir) = start_unix(Behavior::modern().on("ping", |_, default| {
        default.after(Duration::from_secs(3600))
    }))
    .await;
    let options = ConnectionOptions::builder()
        .socket_timeout(Some(Duration::from_secs(5)))
        .build()
        .unwrap();
    let mut conn = connect_with(&server, &options).await.unwrap();

    let started = Instant::now();
    let err = conn
        .command("admin", &ping(), &defaults())
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    assert!(!conn.is_usable());
    assert_eq!(conn.broken(), Some(Broken::Network));
    assert_eq!(
        server.journal().snapshot().sends_on(0),
        1,
        "only the hello was answered"
    );
}

#[tokio::test(start_paused = true)]
async fn a_hello_that_never_comes_back_times_out_the_connect() {
    let (server, _dir) =
        start_unix(Behavior::modern().on("isMaster", |_, _| Action::Nothing)).await;
    let options = ConnectionOptions::builder()
        .connect_timeout(Some(Duration::from_secs(10)))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = connect_with(&server, &options).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    assert_eq!(
        server.journal().snapshot().connections(),
        1,
        "a timeout is not a reason to retry with OP_QUERY"
    );
}

/// A frame answering `response_to` with `op_code` and `body`.
fn frame(response_to: i32, op_code: i32, body: &[u8]) -> Vec<u8> {
    let length = i32::try_from(16 + body.len()).unwrap();
    let mut bytes = Vec::new();
    for field in [length, 1_000_000, response_to, op_code] {
        bytes.extend_from_slice(&field.to_le_bytes());
    }
    bytes.extend_from_slice(body);
    bytes
}

#[tokio::test]
async fn garbage_replies_are_protocol_errors_and_break_the_connection() {
    let garbage: [fn(i32) -> Vec<u8>; 3] = [
        // An opcode nobody knows.
        |id| frame(id, 4242, &[0; 8]),
        // OP_MSG whose body section announces a document longer than the message.
        |id| frame(id, 2013, &[0, 0, 0, 0, 0, 100, 0, 0, 0, 5, 0]),
        // Not MongoDB at all: "HTTP" read as a length is 1.3 GB.
        |_| b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec(),
    ];
    for make in garbage {
        let server = MockServer::start(Behavior::modern().on("ping", move |request, _| {
            Action::Raw(make(request.request_id))
        }))
        .await
        .unwrap();
        let mut conn = connect(&server).await;
        let err = conn
            .command("admin", &ping(), &defaults())
            .await
            .unwrap_err();
        assert!(err.is_protocol() && err.closes_connection(), "{err:?}");
        assert!(!conn.is_usable());
        assert_eq!(conn.broken(), Some(Broken::Protocol));
        let again = conn
            .command("admin", &ping(), &defaults())
            .await
            .unwrap_err();
        assert!(again.is_network(), "{again:?}");
        assert_eq!(server.journal().count("ping"), 1);
    }
}

#[tokio::test]
async fn a_reply_to_another_request_is_a_protocol_error() {
    let server = MockServer::start(Behavior::modern().on("ping", |request, _| {
        Reply::new(doc! {"ok": 1.0})
            .response_to(ResponseTo::Value(request.request_id.wrapping_add(1)))
            .into()
    }))
    .await
    .unwrap();
    let mut conn = connect(&server).await;
    let err = conn
        .command("admin", &ping(), &defaults())
        .await
        .unwrap_err();
    assert!(err.is_protocol(), "{err:?}");
    assert!(err.to_string().contains("answers request"), "{err}");
    assert_eq!(conn.broken(), Some(Broken::Protocol));
}

#[tokio::test(start_paused = true)]
async fn an_absurd_length_is_refused_at_once_without_waiting_for_the_body() {
    for length in [2_000_000_000_i32, 48_000_001, -1, 15] {
        let (server, _dir) = start_unix(Behavior::modern().on("ping", move |request, _| {
            // A header and nothing else: a client that believed it would wait.
            let mut header = Vec::new();
            for field in [length, 1_000_000, request.request_id, 2013] {
                header.extend_from_slice(&field.to_le_bytes());
            }
            Action::Raw(header)
        }))
        .await;
        let mut conn = connect(&server).await;
        let started = Instant::now();
        let result = tokio::time::timeout(
            Duration::from_secs(60),
            conn.command("admin", &ping(), &defaults()),
        )
        .await
        .unwrap_or_else(|_| panic!("length {length}: the client waited for the body"));
        let err = result.unwrap_err();
        assert!(err.is_protocol(), "length {length}: {err:?}");
        assert_eq!(started.elapsed(), Duration::ZERO);
        assert_eq!(conn.broken(), Some(Broken::Protocol));
        assert_eq!(
            server.journal().snapshot().closed_by(0),
            None,
            "the server is still there, having sent only a header"
        );
        drop(conn);
        assert_eq!(server.journal().wait_for_close(0).await, ClosedBy::Client);
    }
}

#[tokio::test(start_paused = true)]
async fn bytes_nobody_asked_for_make_the_peer_look_closed() {
    let (server, _dir) = start_unix(Behavior::modern().on("ping", |_, default| {
        Action::Sequence(vec![
            default,
            Action::Raw(b"unsolicited".to_vec()).after(Duration::from_secs(1)),
        ])
    }))
    .await;
    let mut conn = connect(&server).await;
    conn.command("admin", &ping(), &defaults()).await.unwrap();
    assert!(!conn.is_peer_closed(), "nothing is waiting yet");
    // hello reply, ping reply, then the stray bytes.
    server
        .journal()
        .wait_until(|e| (e.sends_on(0) == 3).then_some(()))
        .await;
    assert!(
        conn.is_peer_closed(),
        "stray bytes in the socket: the connection is out of step and must not be reused"
    );
}

#[tokio::test(start_paused = true)]
async fn a_server_that_hung_up_makes_the_peer_look_closed() {
    let (server, _dir) = start_unix(Behavior::modern().on("ping", |_, default| {
        Action::Sequence(vec![default, Action::HangUp.after(Duration::from_secs(1))])
    }))
    .await;
    let mut conn = connect(&server).await;
    conn.command("admin", &ping(), &defaults()).await.unwrap();
    assert!(!conn.is_peer_closed());
    assert_eq!(server.journal().wait_for_close(0).await, ClosedBy::HangUp);
    assert!(conn.is_peer_closed());
}

// ---------------------------------------------------------------------------------
// Operations abandoned mid-flight

#[tokio::test(start_paused = true)]
async fn a_command_dropped_after_sending_leaves_the_connection_abandoned() {
    let (server, _dir) = start_unix(
        Behavior::modern().on("ping", |_, default| default.after(Duration::from_secs(10))),
    )
    .await;
    let mut conn = connect(&server).await;

    let abandoned = tokio::time::timeout(
        Duration::from_secs(1),
        conn.command("admin", &ping(), &defaults()),
    )
    .await;
    assert!(
        abandoned.is_err(),
        "the reply comes after 10 s: {abandoned:?}"
    );
    assert!(!conn.is_usable());
    assert_eq!(conn.broken(), Some(Broken::Abandoned));

    // Let the late reply reach the client's socket: it is now there to be misread.
    server
        .journal()
        .wait_until(|e| (e.sends_on(0) == 2).then_some(()))
        .await;
    let err = conn
        .command("admin", &rawdoc! {"buildInfo": 1}, &defaults())
        .await
        .unwrap_err();
    assert!(
        err.is_network(),
        "refused, not answered with the stale reply: {err:?}"
    );
    assert_eq!(server.journal().count("buildInfo"), 0, "nothing was sent");
}

#[tokio::test(start_paused = true)]
async fn receive_message_after_an_abandoned_command_errors_instead_of_waiting() {
    let (server, _dir) = start_unix(Behavior::modern().on("ping", |_, _| Action::Nothing)).await;
    let mut conn = connect(&server).await;
    let abandoned = tokio::time::timeout(
        Duration::from_secs(1),
        conn.command("admin", &ping(), &defaults()),
    )
    .await;
    assert!(abandoned.is_err());
    assert_eq!(conn.broken(), Some(Broken::Abandoned));
    // No send_message asked for a reply: there is nothing legitimate to read.
    let received = tokio::time::timeout(Duration::from_secs(60), conn.receive_message(1))
        .await
        .expect("receive_message waited for the reply of an abandoned command");
    assert!(received.unwrap_err().is_network());
}

#[tokio::test]
async fn a_command_dropped_by_select_leaves_the_connection_abandoned() {
    let server = MockServer::start(Behavior::modern().on("ping", |_, _| Action::Nothing))
        .await
        .unwrap();
    let mut conn = connect(&server).await;
    let journal = server.journal().clone();
    let (command, options) = (ping(), defaults());
    tokio::select! {
        result = conn.command("admin", &command, &options) => {
            panic!("the server never answers, yet: {result:?}")
        }
        () = journal.wait_until(|e| e.requests.iter().any(|r| r.is_command("ping")).then_some(())) => {}
    }
    assert_eq!(conn.broken(), Some(Broken::Abandoned));
    let err = conn
        .command("admin", &ping(), &defaults())
        .await
        .unwrap_err();
    assert!(err.is_network(), "{err:?}");
    assert_eq!(journal.count("ping"), 1);
}

// ---------------------------------------------------------------------------------
// moreToCome: exhaust replies and unacknowledged requests

fn batches(n: i32) -> Vec<Document> {
    (1..=n)
        .map(|i| {
            let id = if i < n { 7_i64 } else { 0 };
            doc! {"ok": 1.0, "cursor": {"id": id, "ns": "test.c", "nextBatch": [{"n": i}]}}
        })
        .collect()
}

fn batch_number(reply: &bson::RawDocument) -> i32 {
    let cursor = reply.get_document("cursor").unwrap();
    let batch = cursor.get_array("nextBatch").unwrap();
    let first = batch.into_iter().next().unwrap().unwrap();
    first.as_document().unwrap().get_i32("n").unwrap()
}

#[tokio::test]
async fn an_exhaust_stream_is_read_to_its_end() {
    let server =
        MockServer::start(Behavior::modern().on("getMore", |_, _| Action::exhaust(batches(4))))
            .await
            .unwrap();
    let mut conn = connect(&server).await;
    let get_more = rawdoc! {"getMore": 7_i64, "collection": "c"};

    let first = conn
        .command_exhaust("test", &get_more, &defaults())
        .await
        .unwrap();
    assert_eq!(batch_number(&first), 1);
    assert!(conn.is_exhausting() && !conn.is_usable());
    let busy = conn
        .command("admin", &ping(), &defaults())
        .await
        .unwrap_err();
    assert!(
        matches!(busy.kind(), ErrorKind::Unsupported { .. }),
        "{busy:?}"
    );

    let mut rest = Vec::new();
    while let Some(reply) = conn.next_exhaust_reply().await.unwrap() {
        rest.push(batch_number(&reply));
    }
    assert_eq!(
        rest,
        vec![2, 3, 4],
        "three replies came with moreToCome, then the last"
    );
    assert!(!conn.is_exhausting() && conn.is_usable());

    let request = server
        .journal()
        .requests()
        .into_iter()
        .find(|r| r.is_command("getMore"))
        .unwrap();
    assert!(request
        .msg_flags()
        .unwrap()
        .contains(MsgFlags::EXHAUST_ALLOWED));
    conn.command("admin", &ping(), &defaults()).await.unwrap();
    assert_eq!(
        server.journal().count("ping"),
        1,
        "the refused ping was not sent"
    );
}

#[tokio::test]
async fn an_exhaust_reply_that_answers_neither_the_request_nor_the_previous_reply_is_a_protocol_error(
) {
    // Answering the original request every time is tolerated (SecantusDB does it);
    // answering anything else is not.
    let server = MockServer::start(Behavior::modern().on("getMore", |_, _| {
        Action::Sequence(
            batches(3)
                .into_iter()
                .enumerate()
                .map(|(i, d)| {
                    let reply = Reply::new(d).more_to_come();
                    if i == 0 {
                        reply.into()
                    } else {
                        reply.response_to(ResponseTo::Value(424_242)).into()
                    }
                })
                .collect(),
        )
    }))
    .await
    .unwrap();
    let mut conn = connect(&server).await;
    conn.command_exhaust(
        "test",
        &rawdoc! {"getMore": 7_i64, "collection": "c"},
        &defaults(),
    )
    .await
    .unwrap();
    let err = conn.next_exhaust_reply().await.unwrap_err();
    assert!(err.is_protocol(), "{err:?}");
    assert_eq!(conn.broken(), Some(Broken::Protocol));
    assert!(!conn.is_exhausting());
}

#[tokio::test(start_paused = true)]
async fn send_unacknowledged_sets_more_to_come_and_waits_for_nothing() {
    let (server, _dir) = start_unix(Behavior::modern()).await;
    let mut conn = connect(&server).await;
    let insert = rawdoc! {
        "insert": "c", "documents": [{"_id": 1}], "writeConcern": {"w": 0},
    };
    let started = Instant::now();
    tokio::time::timeout(
        Duration::from_secs(60),
        conn.send_unacknowledged("test", &insert),
    )
    .await
    .expect("no reply comes: the client must not wait for one")
    .unwrap();
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert!(conn.is_usable());

    let reply = conn.command("admin", &ping(), &defaults()).await.unwrap();
    assert_eq!(
        reply.get_document("echo").unwrap().get_i32("ping").unwrap(),
        1
    );
    let sent = after_handshake(server.journal());
    assert_eq!(sent.len(), 2);
    assert!(sent[0].is_command("insert") && sent[0].more_to_come());
    assert!(!sent[1].more_to_come());
    assert_eq!(
        server.journal().snapshot().sends_on(0),
        2,
        "hello and ping only"
    );
}

// ---------------------------------------------------------------------------------
// Load-balanced mode

/// The load balancer spec's message for a server without `serviceId` in its hello.
const NO_LOAD_BALANCING_SUPPORT: &str =
    "Driver attempted to initialize in load balancing mode, but the server does not support this mode.";

fn load_balanced() -> ConnectionOptions {
    ConnectionOptions::builder()
        .load_balanced(true)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_load_balanced_hello_is_an_op_msg_hello_and_the_service_id_is_kept() {
    let service_id = ObjectId::new();
    let server = MockServer::start(
        Behavior::modern()
            .mongos()
            .hello_field("serviceId", service_id),
    )
    .await
    .unwrap();
    let mut conn = connect_with(&server, &load_balanced()).await.unwrap();
    assert_eq!(conn.hello().service_id, Some(service_id));
    assert!(conn.hello().is_mongos);
    conn.command("admin", &ping(), &defaults()).await.unwrap();

    let journal = server.journal();
    assert_eq!(journal.snapshot().connections(), 1);
    let requests = journal.requests();
    assert_eq!(requests.len(), 2, "{:?}", journal.command_names());
    let hello = &requests[0];
    assert_eq!(hello.op_code(), OpCode::Msg);
    assert!(hello.is_command("hello"), "{hello:?}");
    let command = hello.command().unwrap();
    assert!(command.get_bool("loadBalanced").unwrap());
    assert_eq!(
        command.get("helloOk").unwrap(),
        None,
        "helloOk goes with isMaster only"
    );
    assert!(requests[1].is_command("ping"));
}

#[tokio::test]
async fn a_load_balanced_hello_without_service_id_is_refused_before_login() {
    let scram = ScramServer::new(ScramMechanism::Sha256, "alice", "secret").without_speculative();
    let server = MockServer::start(Behavior::modern().mongos().auth(scram.clone()))
        .await
        .unwrap();
    let options = ConnectionOptions::builder()
        .load_balanced(true)
        .credential(Some(alice()))
        .build()
        .unwrap();
    let err = connect_with(&server, &options).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Unsupported { message } if message == NO_LOAD_BALANCING_SUPPORT),
        "{err:?}"
    );
    assert!(err.to_string().contains(NO_LOAD_BALANCING_SUPPORT), "{err}");
    assert!(!err.is_network() && !err.is_authentication(), "{err:?}");

    let journal = server.journal();
    assert_eq!(
        journal.command_names(),
        vec!["hello"],
        "no login was attempted"
    );
    assert_eq!(scram.stats(), Default::default());
    let closed = tokio::time::timeout(Duration::from_secs(10), journal.wait_for_close(0))
        .await
        .expect("the refused connection is closed");
    assert_eq!(closed, ClosedBy::Client);

    // The same server, outside load-balanced mode, is fine.
    let plain = ConnectionOptions::builder()
        .credential(options.credential().cloned())
        .build()
        .unwrap();
    let conn = connect_with(&server, &plain).await.unwrap();
    assert_eq!(conn.hello().service_id, None);
    assert_eq!(scram.stats().successes, 1);
}

#[tokio::test]
async fn a_load_balanced_handshake_never_falls_back_to_op_query() {
    let server = MockServer::start(Behavior::legacy(5)).await.unwrap();
    let err = connect_with(&server, &load_balanced()).await.unwrap_err();
    assert!(err.is_network() && !err.is_timeout(), "{err:?}");

    let journal = server.journal();
    let entries = journal.snapshot();
    assert_eq!(
        entries.connections(),
        1,
        "no second connection for OP_QUERY"
    );
    let requests = journal.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].op_code(), OpCode::Msg);
    assert!(requests[0].is_command("hello"));
    assert_eq!(entries.closed_by(0), Some(&ClosedBy::HangUp));

    // Outside load-balanced mode the same server gets its OP_QUERY hello.
    let conn = connect(&server).await;
    assert_eq!(conn.hello().max_wire_version, 5);
    let requests = journal.requests_on(2);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].op_code(), OpCode::Query);
    assert!(requests[0].is_command("isMaster"));
}

// ---------------------------------------------------------------------------------
// Compression

#[tokio::test]
async fn the_agreed_compressor_compresses_commands_but_never_the_hello() {
    let server = MockServer::start(Behavior::modern().compressors(&["snappy"]))
        .await
        .unwrap();
    let options = ConnectionOptions::builder()
        .compressors(vec![Compressor::Zstd { level: None }, Compressor::Snappy])
        .build()
        .unwrap();
    let mut conn = connect_with(&server, &options).await.unwrap();
    assert_eq!(conn.compressor(), Some(&Compressor::Snappy));
    assert_eq!(conn.hello().compression, vec!["snappy"]);

    let reply = conn
        .command("admin", &rawdoc! {"buildInfo": 1}, &defaults())
        .await
        .unwrap();
    assert_eq!(reply.get_str("version").unwrap(), "7.0.16");

    let requests = server.journal().requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[0].is_command("isMaster"));
    let offered = requests[0]
        .command()
        .unwrap()
        .get_array("compression")
        .unwrap();
    let offered: Vec<&str> = offered
        .into_iter()
        .map(|v| v.unwrap().as_str().unwrap())
        .collect();
    assert_eq!(offered, vec!["zstd", "snappy"]);
    assert_eq!(
        requests[0].compressor, None,
        "the hello is never compressed"
    );
    assert_eq!(requests[1].compressor, Some(Compressor::Snappy));
}

/// Compressed replies used to be unwrapped whatever was negotiated, so any server
/// reached every decompressor; now a reply may only use the negotiated compressor,
/// and nothing is negotiated before the hello's reply.
#[tokio::test]
async fn compressed_replies_without_negotiation_are_refused_even_for_the_hello() {
    for compressor in [
        Compressor::Snappy,
        Compressor::Zlib { level: None },
        Compressor::Zstd { level: None },
    ] {
        let server = MockServer::start(Behavior::modern().compress_replies(compressor))
            .await
            .unwrap();
        let err = connect_with(&server, &ConnectionOptions::default())
            .await
            .unwrap_err();
        assert!(err.is_protocol(), "{compressor}: {err:?}");
        assert!(server
            .journal()
            .requests()
            .iter()
            .all(|r| r.compressor.is_none()));
    }
}

#[tokio::test]
async fn login_commands_are_never_compressed() {
    let scram = ScramServer::new(ScramMechanism::Sha256, "alice", "secret").without_speculative();
    let server = MockServer::start(Behavior::modern().auth(scram.clone()))
        .await
        .unwrap();
    let options = ConnectionOptions::builder()
        .compressors(vec![Compressor::Zlib { level: None }])
        .credential(Some(alice()))
        .build()
        .unwrap();
    let mut conn = connect_with(&server, &options).await.unwrap();
    conn.command("admin", &ping(), &defaults()).await.unwrap();
    assert_eq!(scram.stats().successes, 1);

    let requests = server.journal().requests();
    let names: Vec<&str> = requests.iter().map(|r| r.command_name().unwrap()).collect();
    assert_eq!(names, vec!["isMaster", "saslStart", "saslContinue", "ping"]);
    for r in &requests[..3] {
        assert_eq!(
            r.compressor,
            None,
            "{} must not be compressed",
            r.command_name().unwrap()
        );
    }
    assert_eq!(
        requests[3].compressor,
        Some(Compressor::Zlib { level: None })
    );
}

// ---------------------------------------------------------------------------------
// Unix domain sockets

#[tokio::test]
async fn a_unix_socket_server_serves_and_shuts_down() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mongodb-mock.sock");
    let server = MockServer::start_unix(&path, Behavior::modern())
        .await
        .unwrap();
    let mut conn = connect(&server).await;
    assert!(matches!(
        conn.address(),
        mongopool::ServerAddress::Unix { .. }
    ));
    conn.command("admin", &ping(), &defaults()).await.unwrap();
    assert_eq!(server.journal().count("ping"), 1);

    server.shutdown().await;
    assert!(!path.exists(), "the socket file is removed");
    let err = conn
        .command("admin", &ping(), &defaults())
        .await
        .unwrap_err();
    assert!(
        err.is_network(),
        "the server closed the connection: {err:?}"
    );
}

/// The SCRAM-SHA-256 user the mock servers above know.
fn alice() -> mongopool::Credential {
    mongopool::Credential {
        username: Some("alice".into()),
        password: Some("secret".into()),
        mechanism: Some(mongopool::AuthMechanism::ScramSha256),
        ..Default::default()
    }
}
