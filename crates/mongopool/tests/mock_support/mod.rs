//! What the mock-server tests share: connecting to a mock, and building legacy
//! write messages the way a driver would.

#![allow(dead_code)] // each test crate uses its own part of this module

use bson::{rawdoc, RawDocumentBuf};
use mongopool::next_request_id;
use mongopool::{Connection, ConnectionOptions, Result, ServerAddress};
use mongopool_testkit::mock::{Handler, Journal, MockAddress, MockServer, Request};
use mongopool_wire::{InsertFlags, Message, OpInsert, OpQuery, OpUpdate, UpdateFlags};

/// The mongopool address of a mock server.
pub fn address(server: &MockServer) -> ServerAddress {
    match server.address() {
        MockAddress::Tcp(a) => ServerAddress::tcp(a.ip().to_string(), a.port()),
        MockAddress::Unix(path) => ServerAddress::Unix { path: path.clone() },
    }
}

/// Opens a connection to `server` with `options`.
pub async fn connect_with(server: &MockServer, options: &ConnectionOptions) -> Result<Connection> {
    Connection::connect(&address(server), options, 0, 0).await
}

/// Opens a connection to `server` with default options.
pub async fn connect(server: &MockServer) -> Connection {
    connect_with(server, &ConnectionOptions::default())
        .await
        .expect("connect to the mock server")
}

/// A legacy write as a driver sends it: the write message, then (when
/// acknowledged) an OP_QUERY getlasterror on `<db>.$cmd`.
pub struct LegacyWrite {
    /// The request id to read the reply of (the getlasterror's when acknowledged).
    pub request_id: i32,
    /// The request id of the write message itself.
    pub write_request_id: i32,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The size of the largest document in them.
    pub max_doc_size: usize,
}

fn finish(write: Message, max_doc_size: usize, db: &str, acknowledged: bool) -> LegacyWrite {
    let mut bytes = Vec::new();
    let write_request_id = next_request_id();
    write.encode(write_request_id, 0, &mut bytes).unwrap();
    let mut request_id = write_request_id;
    if acknowledged {
        request_id = next_request_id();
        Message::Query(OpQuery::command(db, rawdoc! { "getlasterror": 1_i32 }))
            .encode(request_id, 0, &mut bytes)
            .unwrap();
    }
    LegacyWrite {
        request_id,
        write_request_id,
        bytes,
        max_doc_size,
    }
}

/// An OP_INSERT of `documents` into `db.coll`.
pub fn insert(
    db: &str,
    coll: &str,
    documents: Vec<RawDocumentBuf>,
    acknowledged: bool,
) -> LegacyWrite {
    let max_doc_size = largest(&documents);
    let message = Message::Insert(OpInsert {
        flags: InsertFlags::EMPTY,
        full_collection_name: format!("{db}.{coll}"),
        documents: documents.into(),
    });
    finish(message, max_doc_size, db, acknowledged)
}

/// An OP_UPDATE (with the upsert flag when asked) on `db.coll`.
pub fn update(
    db: &str,
    coll: &str,
    selector: RawDocumentBuf,
    update: RawDocumentBuf,
    upsert: bool,
) -> LegacyWrite {
    let max_doc_size = largest(&[selector.clone(), update.clone()]);
    let message = Message::Update(OpUpdate {
        full_collection_name: format!("{db}.{coll}"),
        flags: if upsert {
            UpdateFlags::UPSERT
        } else {
            UpdateFlags::EMPTY
        },
        selector,
        update,
    });
    finish(message, max_doc_size, db, true)
}

fn largest(documents: &[RawDocumentBuf]) -> usize {
    documents
        .iter()
        .map(|d| d.as_bytes().len())
        .max()
        .unwrap_or(0)
}

/// The requests after the handshake: everything but hello / isMaster.
pub fn after_handshake(journal: &Journal) -> Vec<Request> {
    journal
        .requests()
        .into_iter()
        .filter(|r| !(r.is_command("isMaster") || r.is_command("hello")))
        .collect()
}

/// `{ping: 1}`.
pub fn ping() -> RawDocumentBuf {
    rawdoc! { "ping": 1_i32 }
}

/// A mock server on a Unix socket in a fresh temporary directory (kept alive by the
/// returned guard).
///
/// Tests with a paused clock use these: a Unix socket write is in the peer's
/// receive queue when the system call returns, so the runtime never sits idle
/// waiting for bytes in flight, which would let the paused clock jump ahead and fire
/// a timeout that real time would not. Loopback TCP gives no such promise when the
/// kernel defers its network processing under load.
pub async fn start_unix(handler: impl Handler) -> (MockServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::start_unix(dir.path().join("mock.sock"), handler)
        .await
        .unwrap();
    (server, dir)
}
