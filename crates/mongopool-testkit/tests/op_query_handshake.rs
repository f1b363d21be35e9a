//! The server the testkit starts answers a hand-built legacy isMaster.

mod support;

use std::io::Write;
use std::net::TcpStream;

use mongopool_testkit::TestServer;
use support::{is_master_op_query, is_ok, read_op_reply};

#[test]
fn answers_legacy_is_master_over_tcp() {
    let server = TestServer::start().expect("start secantusd-rs");
    assert_eq!(server.host(), "127.0.0.1");
    assert_eq!(
        server.uri(),
        format!("mongodb://127.0.0.1:{}", server.port())
    );

    let mut stream = TcpStream::connect((server.host(), server.port())).expect("connect");
    stream
        .write_all(&is_master_op_query(42))
        .expect("send isMaster");
    let reply = read_op_reply(&mut stream, 42);

    assert!(is_ok(&reply), "{reply}");
    let max_wire_version = reply.get_i32("maxWireVersion").expect("maxWireVersion");
    assert!(max_wire_version >= 6, "{reply}");
    assert!(reply.get_i32("maxBsonObjectSize").is_ok(), "{reply}");

    // A second request on the same connection works too.
    stream
        .write_all(&is_master_op_query(43))
        .expect("send isMaster");
    assert!(is_ok(&read_op_reply(&mut stream, 43)));
}

#[test]
fn standalone_drops_the_replica_set_name() {
    let replica_set = TestServer::start().expect("start");
    let standalone = TestServer::builder()
        .standalone(true)
        .start()
        .expect("start");

    let hello = |server: &TestServer| {
        server
            .command("admin", bson::doc! { "hello": 1 })
            .expect("hello")
    };
    assert!(hello(&replica_set).get_str("setName").is_ok());
    assert!(hello(&standalone).get_str("setName").is_err());
}
