//! A hand-built legacy handshake, written byte by byte so that the testkit's tests do
//! not rely on any wire code they might share bugs with.

use std::io::Read;

use bson::{doc, Document};

const OP_REPLY: i32 = 1;
const OP_QUERY: i32 = 2004;

/// OP_QUERY `{isMaster: 1}` on `admin.$cmd`, numberToReturn -1.
pub fn is_master_op_query(request_id: i32) -> Vec<u8> {
    let query = doc! { "isMaster": 1 }.to_vec().unwrap();
    let mut body = Vec::new();
    body.extend_from_slice(&0i32.to_le_bytes()); // flags
    body.extend_from_slice(b"admin.$cmd\0");
    body.extend_from_slice(&0i32.to_le_bytes()); // numberToSkip
    body.extend_from_slice(&(-1i32).to_le_bytes()); // numberToReturn
    body.extend_from_slice(&query);

    let length = i32::try_from(16 + body.len()).unwrap();
    let mut message = Vec::new();
    message.extend_from_slice(&length.to_le_bytes());
    message.extend_from_slice(&request_id.to_le_bytes());
    message.extend_from_slice(&0i32.to_le_bytes()); // responseTo
    message.extend_from_slice(&OP_QUERY.to_le_bytes());
    message.extend_from_slice(&body);
    message
}

fn le_i32(bytes: &[u8], at: usize) -> i32 {
    i32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// Reads one OP_REPLY answering `request_id` and returns its single document.
pub fn read_op_reply(stream: &mut impl Read, request_id: i32) -> Document {
    let mut header = [0u8; 16];
    stream.read_exact(&mut header).expect("reply header");
    let length = le_i32(&header, 0);
    assert_eq!(le_i32(&header, 8), request_id, "responseTo");
    assert_eq!(le_i32(&header, 12), OP_REPLY, "opCode");
    assert!(
        (16 + 20 + 5..=48_000_000).contains(&length),
        "messageLength {length}"
    );

    let mut body = vec![0u8; usize::try_from(length).unwrap() - 16];
    stream.read_exact(&mut body).expect("reply body");
    let response_flags = le_i32(&body, 0);
    assert_eq!(response_flags & 0b10, 0, "QueryFailure set");
    let cursor_id = i64::from_le_bytes(body[4..12].try_into().unwrap());
    assert_eq!(cursor_id, 0);
    assert_eq!(le_i32(&body, 16), 1, "numberReturned");
    let mut documents = &body[20..];
    let reply = Document::from_reader(&mut documents).expect("reply document");
    assert!(documents.is_empty(), "bytes after the reply document");
    reply
}

/// Whether `reply` has `ok: 1` in any numeric form.
pub fn is_ok(reply: &Document) -> bool {
    match reply.get("ok") {
        Some(bson::Bson::Double(ok)) => *ok == 1.0,
        Some(bson::Bson::Int32(ok)) => *ok == 1,
        Some(bson::Bson::Int64(ok)) => *ok == 1,
        _ => false,
    }
}
