//! The wire crate against a real server (SecantusDB) over a plain blocking TcpStream:
//! no async crate in between, only our encoder and decoder.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bson::{rawdoc, RawDocumentBuf};
use mongopool_testkit::TestServer;
use mongopool_wire::{
    check_message_length, Compressor, Header, Message, OpMsg, OpQuery, ReplyFlags,
    DEFAULT_MAX_MESSAGE_SIZE_BYTES, HEADER_LEN,
};

fn connect(server: &TestServer) -> TcpStream {
    let stream = TcpStream::connect(server.address()).expect("connect to SecantusDB");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
}

/// Sends `message` (compressed with `compressor` if given) and reads one reply frame.
fn round_trip(
    stream: &mut TcpStream,
    message: &Message,
    request_id: i32,
    compressor: Option<&Compressor>,
) -> mongopool_wire::Decoded {
    let mut buf = Vec::new();
    match compressor {
        Some(c) => message.encode_compressed(request_id, 0, c, &mut buf),
        None => message.encode(request_id, 0, &mut buf),
    }
    .unwrap();
    stream.write_all(&buf).unwrap();
    let mut header = [0u8; HEADER_LEN];
    stream.read_exact(&mut header).unwrap();
    let len = check_message_length(
        Header::parse(&header).unwrap().message_length,
        DEFAULT_MAX_MESSAGE_SIZE_BYTES,
    )
    .unwrap();
    let mut frame = header.to_vec();
    frame.resize(len, 0);
    stream.read_exact(&mut frame[HEADER_LEN..]).unwrap();
    let decoded = Message::decode(&frame, DEFAULT_MAX_MESSAGE_SIZE_BYTES).unwrap();
    assert_eq!(decoded.header.response_to, request_id);
    decoded
}

fn body(decoded: mongopool_wire::Decoded) -> RawDocumentBuf {
    match decoded.message {
        Message::Msg(m) => m.body,
        Message::Reply(r) => {
            assert!(!r.flags.contains(ReplyFlags::QUERY_FAILURE));
            assert_eq!(r.number_returned, 1);
            r.documents.first().unwrap().to_owned()
        }
        other => panic!("unexpected reply {other:?}"),
    }
}

fn assert_limits(reply: &RawDocumentBuf) {
    assert_eq!(reply.get_f64("ok").unwrap(), 1.0);
    assert!(reply.get_i32("maxWireVersion").unwrap() >= 6);
    assert_eq!(
        reply.get_i32("maxBsonObjectSize").unwrap(),
        16 * 1024 * 1024
    );
    assert_eq!(reply.get_i32("maxMessageSizeBytes").unwrap(), 48_000_000);
}

#[test]
fn op_msg_hello_legacy_op_query_is_master_and_a_zstd_compressed_ping() {
    let server = TestServer::start().expect("start SecantusDB");
    let mut stream = connect(&server);

    // OP_MSG hello.
    let hello = OpMsg::new(rawdoc! { "hello": 1_i32, "$db": "admin" });
    let reply = round_trip(&mut stream, &Message::Msg(hello), 1, None);
    assert!(matches!(reply.message, Message::Msg(_)));
    assert!(reply.compressor.is_none());
    assert_limits(&body(reply));

    // Legacy isMaster over OP_QUERY on a fresh connection, as a pre-3.6 driver would.
    let mut legacy = connect(&server);
    let query = OpQuery::command("admin", rawdoc! { "isMaster": 1_i32 });
    let reply = round_trip(&mut legacy, &Message::Query(query), 2, None);
    assert!(matches!(reply.message, Message::Reply(_)));
    let doc = body(reply);
    assert_limits(&doc);
    assert!(doc.get_bool("ismaster").unwrap());

    // Negotiate zstd, then ping compressed and read a compressed reply.
    let mut zstd = connect(&server);
    let hello = OpMsg::new(rawdoc! {
        "hello": 1_i32, "compression": ["zstd"], "$db": "admin",
    });
    let negotiated = body(round_trip(&mut zstd, &Message::Msg(hello), 3, None));
    let agreed: Vec<_> = negotiated
        .get_array("compression")
        .unwrap()
        .into_iter()
        .map(|v| v.unwrap().as_str().unwrap().to_owned())
        .collect();
    assert_eq!(agreed, ["zstd"]);
    let ping = OpMsg::new(rawdoc! { "ping": 1_i32, "$db": "admin" });
    let reply = round_trip(
        &mut zstd,
        &Message::Msg(ping),
        4,
        Some(&Compressor::Zstd { level: None }),
    );
    assert_eq!(reply.header.op_code, 2012, "the reply came back compressed");
    assert_eq!(reply.compressor, Some(Compressor::Zstd { level: None }));
    assert_eq!(body(reply).get_f64("ok").unwrap(), 1.0);
}
