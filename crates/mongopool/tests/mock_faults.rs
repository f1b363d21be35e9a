//! `Connection` against the in-process mock server, faults: network and protocol faults
//! (hang-ups, slow and garbage replies, absurd lengths) and operations abandoned
//! mid-flight.
//!
//! Tests about time run with a paused clock on a Unix socket mock (see
//! `mock_support::start_unix` for why not TCP).

mod mock_support;

use std::time::Duration;

use bson::{doc, rawdoc};
use mongopool::Broken;
use mongopool::{CommandOptions, ConnectionOptions};
use mongopool_testkit::mock::{
    Action, Behavior, ClosedBy, ConnectionEvent, MockServer, Reply, ResponseTo,
};
use tokio::time::Instant;

use mock_support::{connect, connect_with, ping, start_unix};

fn defaults() -> CommandOptions {
    CommandOptions::default()
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
    stray_bytes_after_a_reply_are_seen(Some(Duration::from_secs(1))).await;
}

/// Stray bytes right behind a reply stay in the socket (a reply is read exactly, never
/// past its end) and are seen there.
#[tokio::test(start_paused = true)]
async fn bytes_right_behind_a_reply_make_the_peer_look_closed() {
    stray_bytes_after_a_reply_are_seen(None).await;
}

/// A ping's reply followed by stray bytes (`delay` later, or in the same breath):
/// once they are sent, the connection is out of step and must not be reused.
async fn stray_bytes_after_a_reply_are_seen(delay: Option<Duration>) {
    let (server, _dir) = start_unix(Behavior::modern().on("ping", move |_, default| {
        let stray = Action::Raw(b"unsolicited".to_vec());
        let stray = match delay {
            Some(delay) => stray.after(delay),
            None => stray,
        };
        Action::Sequence(vec![default, stray])
    }))
    .await;
    let mut conn = connect(&server).await;
    conn.command("admin", &ping(), &defaults()).await.unwrap();
    if delay.is_some() {
        assert!(!conn.is_peer_closed(), "nothing is waiting yet");
    }
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
