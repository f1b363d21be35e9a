//! `Connection` against the in-process mock server: exhaust and moreToCome, the
//! load-balanced handshake, compression, Unix sockets. Old protocols are in
//! `mock_legacy_protocol.rs`, faults in `mock_faults.rs`.

mod mock_support;

use std::time::Duration;

use bson::oid::ObjectId;
use bson::{doc, rawdoc, Document};
use mongopool::Broken;
use mongopool::{CommandOptions, ConnectionOptions, ErrorKind};
use mongopool_testkit::mock::{
    Action, Behavior, ClosedBy, MockServer, Reply, ResponseTo, ScramMechanism, ScramServer,
};
use mongopool_wire::{Compressor, MsgFlags, OpCode};
use tokio::time::Instant;

use mock_support::{after_handshake, connect, connect_with, ping, start_unix};

fn defaults() -> CommandOptions {
    CommandOptions::default()
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
