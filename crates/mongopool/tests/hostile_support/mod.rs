//! What the hostile-server tests share: a counting allocator, one test at a time,
//! frames built byte by byte as a malicious server would, and a bound on time.

#![allow(dead_code)] // each case uses its own part of this module

use std::future::Future;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use bson::RawDocumentBuf;
use mongopool::{Connection, ConnectionOptions, Error};
use mongopool_testkit::mock::{Action, Behavior, MockServer};
use mongopool_wire::{Header, HEADER_LEN};
use peak_alloc::PeakAlloc;

pub use crate::mock_support::connect_with;

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

/// The tests measure the process's allocations, so they run one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Holds the lock that keeps other cases from allocating while this one measures.
pub fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// The longest any case may take: a hang (or hours of PBKDF2) fails here instead of
/// stalling the suite. Far above what a passing case needs.
pub const TIME_BOUND: Duration = Duration::from_secs(120);

/// Runs `f` and returns its output with the peak of bytes allocated above what was
/// allocated when it started (the mock server's allocations, in the same process,
/// included).
pub async fn measured<T>(f: impl Future<Output = T>) -> (T, usize) {
    let before = ALLOCATOR.current_usage();
    ALLOCATOR.reset_peak_usage();
    let out = bounded(f).await;
    (out, ALLOCATOR.peak_usage().saturating_sub(before))
}

/// Runs `f` within [`TIME_BOUND`] of real time.
pub async fn bounded<T>(f: impl Future<Output = T>) -> T {
    let started = std::time::Instant::now();
    let out = f.await;
    assert!(
        started.elapsed() < TIME_BOUND,
        "took {:?}, more than {TIME_BOUND:?}",
        started.elapsed()
    );
    out
}

/// A frame with `op_code` and these parts after the header; `responseTo` is 0 (the
/// mock's [`Action::RawAnswer`] sets it to the request's id).
pub fn frame(op_code: i32, parts: &[&[u8]]) -> Vec<u8> {
    let len = HEADER_LEN + parts.iter().map(|p| p.len()).sum::<usize>();
    let mut f = Vec::with_capacity(len);
    Header {
        message_length: i32::try_from(len).expect("test frames fit an i32"),
        request_id: 7_000_001,
        response_to: 0,
        op_code,
    }
    .write_to(&mut f);
    for p in parts {
        f.extend_from_slice(p);
    }
    f
}

/// Just a header announcing `length` bytes.
pub fn header_only(length: i32, op_code: i32) -> Vec<u8> {
    let mut f = Vec::new();
    Header {
        message_length: length,
        request_id: 7_000_002,
        response_to: 0,
        op_code,
    }
    .write_to(&mut f);
    f
}

/// An OP_MSG frame: flags, the body, then raw section bytes.
pub fn op_msg(flags: u32, body: &RawDocumentBuf, more_sections: &[u8]) -> Vec<u8> {
    frame(
        2013,
        &[&flags.to_le_bytes(), &[0], body.as_bytes(), more_sections],
    )
}

/// An OP_COMPRESSED frame wrapping an OP_MSG body, with whatever `uncompressedSize` and
/// data a hostile server likes.
pub fn op_compressed(compressor_id: u8, uncompressed_size: i32, data: &[u8]) -> Vec<u8> {
    frame(
        2012,
        &[
            &2013i32.to_le_bytes(),
            &uncompressed_size.to_le_bytes(),
            &[compressor_id],
            data,
        ],
    )
}

/// A server that answers `ping` with `reply` (a whole frame, `responseTo` set).
pub async fn answering_ping(behavior: Behavior, reply: Vec<u8>) -> MockServer {
    MockServer::start(behavior.on("ping", move |_, _| Action::RawAnswer(reply.clone())))
        .await
        .expect("start the mock server")
}

/// Connects with `options` and sends `ping`, returning the error it must end in and
/// the connection (to check it is no longer usable).
pub async fn ping_error(server: &MockServer, options: &ConnectionOptions) -> (Error, Connection) {
    let mut conn = connect_with(server, options).await.expect("connect");
    let err = conn
        .command("admin", &bson::rawdoc! { "ping": 1 }, &Default::default())
        .await
        .expect_err("the hostile reply must be refused");
    (err, conn)
}

/// Options with a socket timeout, so that nothing waits for ever.
pub fn options() -> ConnectionOptions {
    ConnectionOptions::builder()
        .socket_timeout(Some(Duration::from_secs(10)))
        .build()
        .expect("valid options")
}
