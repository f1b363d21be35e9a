//! `connectTimeoutMS=0` and `socketTimeoutMS=0` mean "no limit" (URI options spec) on
//! every path a connection takes: the handshake, a command, an exhaust stream, a
//! legacy write with getLastError, a write command.
//!
//! The mock server answers an hour late, on a paused clock (see
//! `mock_support::start_unix` for why a Unix socket). A zero read as a zero-length
//! deadline fails each of these at once.

mod mock_support;

use std::time::Duration;

use bson::{doc, rawdoc, Bson, Document};
use mongopool::{CommandOptions, Connection, ConnectionOptions, ConnectionString};
use mongopool_testkit::mock::{Action, Behavior, MockServer};
use mongopool_wire::{Message, OpMsg};
use tokio::time::Instant;

use mock_support::{connect_with, insert, ping, start_unix};

/// Far longer than any default limit.
const LATE: Duration = Duration::from_secs(3600);

/// The connection options a user gets from a URI with both timeouts at 0.
fn zero_timeouts() -> ConnectionOptions {
    let uri = ConnectionString::parse("mongodb://localhost/?connectTimeoutMS=0&socketTimeoutMS=0")
        .unwrap();
    ConnectionOptions::from_connection_string(&uri).unwrap()
}

async fn connect_to(server: &MockServer) -> Connection {
    connect_with(server, &zero_timeouts())
        .await
        .expect("connect with no timeouts")
}

#[tokio::test(start_paused = true)]
async fn a_late_hello_is_waited_for_when_both_timeouts_are_zero() {
    let (server, _dir) =
        start_unix(Behavior::modern().on("isMaster", |_, default| default.after(LATE))).await;
    let started = Instant::now();
    let mut conn = connect_to(&server).await;
    assert_eq!(started.elapsed(), LATE, "the connect waited for the hello");
    assert!(conn.is_usable());
    conn.command("admin", &ping(), &CommandOptions::default())
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_late_command_reply_is_waited_for_when_the_socket_timeout_is_zero() {
    let (server, _dir) =
        start_unix(Behavior::modern().on("ping", |_, default| default.after(LATE))).await;
    let mut conn = connect_to(&server).await;
    let started = Instant::now();
    let reply = conn
        .command("admin", &ping(), &CommandOptions::default())
        .await
        .unwrap();
    assert_eq!(reply.get_f64("ok").ok(), Some(1.0));
    assert_eq!(started.elapsed(), LATE);
    assert!(conn.is_usable());
}

fn batch(n: i32, last: bool) -> Document {
    let id = if last { 0_i64 } else { 7 };
    doc! {"ok": 1.0, "cursor": {"id": id, "ns": "test.c", "nextBatch": [{"n": n}]}}
}

#[tokio::test(start_paused = true)]
async fn late_exhaust_replies_are_waited_for_when_the_socket_timeout_is_zero() {
    let (server, _dir) = start_unix(Behavior::modern().on("getMore", |_, _| {
        let Action::Sequence(replies) =
            Action::exhaust(vec![batch(1, false), batch(2, false), batch(3, true)])
        else {
            unreachable!("an exhaust action is a sequence")
        };
        Action::Sequence(replies.into_iter().map(|r| r.after(LATE)).collect())
    }))
    .await;
    let mut conn = connect_to(&server).await;
    let started = Instant::now();
    conn.command_exhaust(
        "test",
        &rawdoc! {"getMore": 7_i64, "collection": "c"},
        &CommandOptions::default(),
    )
    .await
    .unwrap();
    let mut more = 0;
    while conn.next_exhaust_reply().await.unwrap().is_some() {
        more += 1;
    }
    assert_eq!(more, 2);
    assert_eq!(started.elapsed(), LATE * 3);
    assert!(conn.is_usable());
}

#[tokio::test(start_paused = true)]
async fn a_late_get_last_error_is_waited_for_when_the_socket_timeout_is_zero() {
    let (server, _dir) = start_unix(
        Behavior::legacy(5)
            .last_error(doc! {"ok": 1.0, "err": Bson::Null, "n": 1})
            .on("getlasterror", |_, default| default.after(LATE)),
    )
    .await;
    let mut conn = connect_to(&server).await;
    let write = insert("test", "c", vec![rawdoc! {"_id": 1}], true);
    let started = Instant::now();
    let result = conn
        .legacy_write(write.request_id, &write.bytes, write.max_doc_size, true)
        .await
        .unwrap()
        .expect("an acknowledged write has a result");
    assert_eq!(result.n, 1);
    assert_eq!(started.elapsed(), LATE);
    assert!(conn.is_usable());
}

#[tokio::test(start_paused = true)]
async fn a_late_write_command_reply_is_waited_for_when_the_socket_timeout_is_zero() {
    let (server, _dir) =
        start_unix(Behavior::modern().on("insert", |_, default| default.after(LATE))).await;
    let mut conn = connect_to(&server).await;
    let request_id = mongopool::next_request_id();
    let mut bytes = Vec::new();
    Message::Msg(OpMsg::new(
        rawdoc! {"insert": "c", "documents": [{"_id": 1}], "$db": "test"},
    ))
    .encode(request_id, 0, &mut bytes)
    .unwrap();
    let started = Instant::now();
    conn.write_command(request_id, &bytes).await.unwrap();
    assert_eq!(started.elapsed(), LATE);
    assert!(conn.is_usable());
}

#[tokio::test(start_paused = true)]
async fn a_nonzero_socket_timeout_still_bounds_a_late_reply() {
    // The other side of the rule: only zero means no limit.
    let (server, _dir) =
        start_unix(Behavior::modern().on("ping", |_, default| default.after(LATE))).await;
    let uri =
        ConnectionString::parse("mongodb://localhost/?connectTimeoutMS=0&socketTimeoutMS=1000")
            .unwrap();
    let options = ConnectionOptions::from_connection_string(&uri).unwrap();
    let mut conn = connect_with(&server, &options).await.unwrap();
    let started = Instant::now();
    let err = conn
        .command("admin", &ping(), &CommandOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(started.elapsed(), Duration::from_secs(1));
}
