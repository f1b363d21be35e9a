//! `Connection` against the in-process mock server, old protocols: legacy writes and
//! getLastError, and the OP_QUERY fallback of servers that speak OP_QUERY only.

mod mock_support;

use std::time::Duration;

use bson::{doc, rawdoc, Bson, Document};
use mongopool::{CommandOptions, ErrorKind, ReadPreference, ReadPreferenceMode};
use mongopool_testkit::mock::{Behavior, ClosedBy, MockServer, Reply, Request};
use mongopool_wire::{Message, OpCode, QueryFlags};

use mock_support::{after_handshake, connect, insert, ping, update};

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
            CommandOptions::builder()
                .secondary_ok(true)
                .build()
                .unwrap(),
            true,
        ),
        (
            CommandOptions::builder()
                .read_preference(ReadPreference::with_mode(
                    ReadPreferenceMode::SecondaryPreferred,
                ))
                .build()
                .unwrap(),
            true,
        ),
        (
            CommandOptions::builder()
                .read_preference(ReadPreference::with_mode(ReadPreferenceMode::Nearest))
                .build()
                .unwrap(),
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
    let request_id = mongopool::next_request_id();
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
        let options = CommandOptions::builder()
            .read_preference(read_preference)
            .build()
            .unwrap();
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
    let secondary = CommandOptions::builder()
        .read_preference(ReadPreference::with_mode(ReadPreferenceMode::Secondary))
        .build()
        .unwrap();
    let secondary_ok = CommandOptions::builder()
        .secondary_ok(true)
        .build()
        .unwrap();
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
