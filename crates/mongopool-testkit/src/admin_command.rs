//! A minimal, blocking OP_MSG command client for setting up test servers.
//!
//! Independent of mongopool on purpose: fixtures (seed users, fail points) must work
//! even when the code under test does not. Plain TCP only, no auth, no compression.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use bson::{Bson, Document};

use crate::error::{Error, Result};

const OP_MSG: i32 = 2013;
const HEADER_LEN: usize = 16;
/// flagBits (4) + section kind (1).
const MSG_PREFIX_LEN: usize = 5;
const CHECKSUM_PRESENT: u32 = 1;
const MORE_TO_COME: u32 = 1 << 1;
/// The server's maxMessageSizeBytes; anything larger is a protocol error, not a reply.
const MAX_MESSAGE_LEN: usize = 48_000_000;

static NEXT_REQUEST_ID: AtomicI32 = AtomicI32::new(1);

/// Sends `command` to database `db` on `address` and returns the reply document.
/// A reply with `ok` other than 1 is [`Error::CommandFailed`].
pub(crate) fn run_command(
    address: SocketAddr,
    db: &str,
    command: &Document,
    timeout: Duration,
) -> Result<Document> {
    let context = |what: &str| format!("{what} {address} (command {command})");
    let mut stream = TcpStream::connect_timeout(&address, timeout)
        .map_err(|err| Error::io(context("could not connect to"), err))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|err| Error::io(context("could not set timeouts on"), err))?;

    let request_id = NEXT_REQUEST_ID.fetch_add(1, Ordering::Relaxed);
    let message = encode_op_msg(request_id, db, command)?;
    stream
        .write_all(&message)
        .map_err(|err| Error::io(context("could not send to"), err))?;

    let mut header = [0u8; HEADER_LEN];
    stream
        .read_exact(&mut header)
        .map_err(|err| Error::io(context("no reply header from"), err))?;
    let body_len = reply_body_len(&header, request_id)?;
    let mut body = vec![0u8; body_len];
    stream
        .read_exact(&mut body)
        .map_err(|err| Error::io(context("truncated reply from"), err))?;
    let reply = decode_op_msg_body(&body)?;
    if reply_ok(&reply) {
        Ok(reply)
    } else {
        Err(Error::CommandFailed { reply })
    }
}

fn encode_op_msg(request_id: i32, db: &str, command: &Document) -> Result<Vec<u8>> {
    let mut body = command.clone();
    body.insert("$db", db);
    let document = body
        .to_vec()
        .map_err(|err| Error::Protocol(format!("could not encode {body}: {err}")))?;
    let total = HEADER_LEN + MSG_PREFIX_LEN + document.len();
    let total = i32::try_from(total)
        .map_err(|_| Error::Protocol(format!("command of {total} bytes is too large")))?;
    let mut message = Vec::with_capacity(total as usize);
    message.extend_from_slice(&total.to_le_bytes());
    message.extend_from_slice(&request_id.to_le_bytes());
    message.extend_from_slice(&0i32.to_le_bytes());
    message.extend_from_slice(&OP_MSG.to_le_bytes());
    message.extend_from_slice(&0u32.to_le_bytes());
    message.push(0);
    message.extend_from_slice(&document);
    Ok(message)
}

/// Validates the reply header and returns how many bytes follow it.
fn reply_body_len(header: &[u8; HEADER_LEN], request_id: i32) -> Result<usize> {
    let field = |at: usize| {
        i32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let (length, response_to, op_code) = (field(0), field(8), field(12));
    if op_code != OP_MSG {
        return Err(Error::Protocol(format!(
            "opCode {op_code}, expected OP_MSG"
        )));
    }
    if response_to != request_id {
        return Err(Error::Protocol(format!(
            "responseTo {response_to}, expected {request_id}"
        )));
    }
    match usize::try_from(length) {
        Ok(length) if (HEADER_LEN + MSG_PREFIX_LEN..=MAX_MESSAGE_LEN).contains(&length) => {
            Ok(length - HEADER_LEN)
        }
        _ => Err(Error::Protocol(format!(
            "messageLength {length} out of range"
        ))),
    }
}

/// Reads the body section of an OP_MSG reply (everything after the header).
fn decode_op_msg_body(body: &[u8]) -> Result<Document> {
    let (flags, rest) = body
        .split_first_chunk::<4>()
        .ok_or_else(|| Error::Protocol("reply shorter than its flagBits".to_owned()))?;
    let flags = u32::from_le_bytes(*flags);
    if flags & MORE_TO_COME != 0 {
        return Err(Error::Protocol("unexpected moreToCome reply".to_owned()));
    }
    let sections = if flags & CHECKSUM_PRESENT != 0 {
        rest.len()
            .checked_sub(4)
            .and_then(|len| rest.get(..len))
            .ok_or_else(|| Error::Protocol("reply shorter than its checksum".to_owned()))?
    } else {
        rest
    };
    match sections.split_first() {
        Some((0, mut document)) => Document::from_reader(&mut document)
            .map_err(|err| Error::Protocol(format!("reply body is not a document: {err}"))),
        Some((kind, _)) => Err(Error::Protocol(format!(
            "first reply section has kind {kind}, expected 0"
        ))),
        None => Err(Error::Protocol("reply has no sections".to_owned())),
    }
}

fn reply_ok(reply: &Document) -> bool {
    match reply.get("ok") {
        Some(Bson::Double(ok)) => *ok == 1.0,
        Some(Bson::Int32(ok)) => *ok == 1,
        Some(Bson::Int64(ok)) => *ok == 1,
        Some(Bson::Boolean(ok)) => *ok,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn encodes_header_flags_and_db() {
        let message = encode_op_msg(7, "admin", &doc! { "ping": 1 }).unwrap();
        let document = doc! { "ping": 1, "$db": "admin" }.to_vec().unwrap();
        assert_eq!(message.len(), 21 + document.len());
        assert_eq!(&message[0..4], &(message.len() as i32).to_le_bytes());
        assert_eq!(&message[4..8], &7i32.to_le_bytes());
        assert_eq!(&message[8..12], &0i32.to_le_bytes());
        assert_eq!(&message[12..16], &2013i32.to_le_bytes());
        assert_eq!(&message[16..21], &[0, 0, 0, 0, 0]);
        assert_eq!(&message[21..], &document[..]);
    }

    fn header(length: i32, response_to: i32, op_code: i32) -> [u8; 16] {
        let mut header = [0u8; 16];
        header[0..4].copy_from_slice(&length.to_le_bytes());
        header[8..12].copy_from_slice(&response_to.to_le_bytes());
        header[12..16].copy_from_slice(&op_code.to_le_bytes());
        header
    }

    #[test]
    fn checks_the_reply_header() {
        assert_eq!(reply_body_len(&header(100, 3, 2013), 3).unwrap(), 84);
        assert!(reply_body_len(&header(100, 3, 1), 3).is_err());
        assert!(reply_body_len(&header(100, 4, 2013), 3).is_err());
        assert!(reply_body_len(&header(20, 3, 2013), 3).is_err());
        assert!(reply_body_len(&header(-1, 3, 2013), 3).is_err());
        assert!(reply_body_len(&header(i32::MAX, 3, 2013), 3).is_err());
    }

    #[test]
    fn decodes_body_with_and_without_checksum() {
        let document = doc! { "ok": 1.0 }.to_vec().unwrap();
        let mut body = vec![0, 0, 0, 0, 0];
        body.extend_from_slice(&document);
        assert_eq!(decode_op_msg_body(&body).unwrap(), doc! { "ok": 1.0 });

        let mut with_checksum = vec![1, 0, 0, 0, 0];
        with_checksum.extend_from_slice(&document);
        with_checksum.extend_from_slice(&[9, 9, 9, 9]);
        assert_eq!(
            decode_op_msg_body(&with_checksum).unwrap(),
            doc! { "ok": 1.0 }
        );
    }

    #[test]
    fn rejects_malformed_bodies_without_panicking() {
        for body in [
            &[][..],
            &[0, 0, 0][..],
            &[0, 0, 0, 0][..],
            &[1, 0, 0, 0][..],
            &[2, 0, 0, 0, 0, 5, 0, 0, 0, 0][..],
            &[0, 0, 0, 0, 1, 5, 0, 0, 0, 0][..],
            &[0, 0, 0, 0, 0, 200, 0, 0, 0, 0][..],
        ] {
            assert!(decode_op_msg_body(body).is_err(), "{body:?}");
        }
    }

    #[test]
    fn ok_field_forms() {
        assert!(reply_ok(&doc! { "ok": 1.0 }));
        assert!(reply_ok(&doc! { "ok": 1 }));
        assert!(!reply_ok(&doc! { "ok": 0.0 }));
        assert!(!reply_ok(&doc! {}));
    }
}
