//! An OP_MSG command written straight into the frame: the caller's document, then
//! `$db` (and `$readPreference`) appended in place, with no copy of the document first.
//!
//! Byte for byte what `Message::Msg(OpMsg::new(body)).encode(..)` writes for the
//! same body (the tests hold it to that); only the intermediate `RawDocumentBuf` is
//! gone, which is the copy the hot path paid for every command.

use bson::RawDocument;
use mongopool_wire::{MsgFlags, OpCode, HEADER_LEN};

use crate::error::{Error, Result};

/// BSON element types used here.
const BSON_STRING: u8 = 0x02;
const BSON_DOCUMENT: u8 = 0x03;
/// OP_MSG payload type 0: the body document.
const KIND_BODY: u8 = 0;
/// Where the body document starts: header, flagBits, payload type.
const BODY_START: usize = HEADER_LEN + 4 + 1;

/// The sizes a frame was checked against.
pub(crate) struct FrameLimits {
    /// The largest body document (`maxBsonObjectSize` plus the command overhead).
    pub(crate) max_body: usize,
    /// The largest message (`maxMessageSizeBytes`).
    pub(crate) max_message: usize,
}

/// Appends to `buf` the OP_MSG `{...spec, $db: db, $readPreference: read_pref}` with
/// `flags` and `request_id`. On error `buf` is left as it was.
pub(crate) fn encode_command(
    buf: &mut Vec<u8>,
    request_id: i32,
    flags: MsgFlags,
    spec: &RawDocument,
    db: &str,
    read_pref: Option<&RawDocument>,
    limits: &FrameLimits,
) -> Result<()> {
    let start = buf.len();
    let result = write_command(buf, request_id, flags, spec, db, read_pref, limits);
    if result.is_err() {
        buf.truncate(start);
    }
    result
}

fn write_command(
    buf: &mut Vec<u8>,
    request_id: i32,
    flags: MsgFlags,
    spec: &RawDocument,
    db: &str,
    read_pref: Option<&RawDocument>,
    limits: &FrameLimits,
) -> Result<()> {
    let start = buf.len();
    // The elements of the caller's document: between its length and its final NUL.
    let elements = spec
        .as_bytes()
        .get(4..spec.as_bytes().len().saturating_sub(1))
        .ok_or_else(|| Error::configuration("invalid command document: too short"))?;
    if db.as_bytes().contains(&0) {
        return Err(Error::configuration(
            "invalid database name: it contains a NUL byte",
        ));
    }
    buf.extend_from_slice(&[0; 4]); // messageLength, set below
    buf.extend_from_slice(&request_id.to_le_bytes());
    buf.extend_from_slice(&0i32.to_le_bytes());
    buf.extend_from_slice(&OpCode::Msg.as_i32().to_le_bytes());
    buf.extend_from_slice(&flags.bits().to_le_bytes());
    buf.push(KIND_BODY);
    let body_start = buf.len();
    buf.extend_from_slice(&[0; 4]); // the body's length, set below
    buf.extend_from_slice(elements);
    buf.push(BSON_STRING);
    buf.extend_from_slice(b"$db\0");
    buf.extend_from_slice(&len_i32(db.len() + 1)?.to_le_bytes());
    buf.extend_from_slice(db.as_bytes());
    buf.push(0);
    if let Some(read_pref) = read_pref {
        buf.push(BSON_DOCUMENT);
        buf.extend_from_slice(b"$readPreference\0");
        buf.extend_from_slice(read_pref.as_bytes());
    }
    buf.push(0);
    let body_len = buf.len() - body_start;
    let message_len = buf.len() - start;
    if body_len > limits.max_body {
        return Err(mongopool_wire::WireError::DocumentTooLarge {
            size: body_len,
            max: limits.max_body,
        }
        .into());
    }
    if message_len > limits.max_message {
        return Err(mongopool_wire::WireError::DocumentTooLarge {
            size: message_len,
            max: limits.max_message,
        }
        .into());
    }
    put_i32(buf, body_start, len_i32(body_len)?);
    put_i32(buf, start, len_i32(message_len)?);
    Ok(())
}

fn len_i32(len: usize) -> Result<i32> {
    i32::try_from(len).map_err(|_| Error::configuration("the command is larger than 2 GiB"))
}

fn put_i32(buf: &mut [u8], at: usize, value: i32) {
    if let Some(slot) = buf.get_mut(at..at + 4) {
        slot.copy_from_slice(&value.to_le_bytes());
    }
}

/// The body document of an uncompressed OP_MSG reply frame with one section and no
/// flags but moreToCome, read in place; `None` for anything else (checksums, document
/// sequences, unknown flags, malformed bytes), which the wire crate's full decoder
/// then handles, errors included.
pub(crate) fn body_in_place(frame: &[u8]) -> Option<(&RawDocument, bool)> {
    let op_code = frame.get(12..16)?;
    if op_code != OpCode::Msg.as_i32().to_le_bytes() {
        return None;
    }
    let flags = MsgFlags(u32::from_le_bytes(frame.get(16..20)?.try_into().ok()?));
    if flags.without(MsgFlags::MORE_TO_COME) != MsgFlags::EMPTY {
        return None;
    }
    if *frame.get(BODY_START - 1)? != KIND_BODY {
        return None;
    }
    let body = frame.get(BODY_START..)?;
    let announced = i32::from_le_bytes(body.get(..4)?.try_into().ok()?);
    if usize::try_from(announced).ok()? != body.len() {
        return None;
    }
    let document = RawDocument::from_bytes(body).ok()?;
    Some((document, flags.contains(MsgFlags::MORE_TO_COME)))
}

/// Where the body document lies in a frame accepted by [`body_in_place`].
pub(crate) const BODY_OFFSET: usize = BODY_START;

#[cfg(test)]
mod tests {
    use bson::raw::cstr;
    use bson::{rawdoc, RawDocumentBuf};
    use mongopool_wire::{Message, OpMsg};

    use super::*;

    const ROOMY: FrameLimits = FrameLimits {
        max_body: 1 << 20,
        max_message: 1 << 20,
    };

    fn through_the_wire_crate(
        spec: &RawDocument,
        db: &str,
        read_pref: Option<&RawDocument>,
        flags: MsgFlags,
    ) -> Vec<u8> {
        let mut body = spec.to_owned();
        body.append(cstr!("$db"), db);
        if let Some(rp) = read_pref {
            body.append(cstr!("$readPreference"), rp.to_owned());
        }
        let mut buf = Vec::new();
        Message::Msg(OpMsg::new(body).with_flags(flags))
            .encode(42, 0, &mut buf)
            .unwrap();
        buf
    }

    #[test]
    fn writes_what_the_wire_crate_writes() {
        let rp = rawdoc! {"mode": "secondary", "tags": [{"dc": "x"}]};
        let cases: Vec<(RawDocumentBuf, &str, Option<&RawDocument>, MsgFlags)> = vec![
            (rawdoc! {"ping": 1}, "admin", None, MsgFlags::EMPTY),
            (rawdoc! {}, "", None, MsgFlags::MORE_TO_COME),
            (
                rawdoc! {"find": "c", "filter": {"a": {"$gt": 1}}},
                "test",
                Some(&rp),
                MsgFlags::EXHAUST_ALLOWED,
            ),
        ];
        for (spec, db, read_pref, flags) in cases {
            let mut ours = vec![9, 9]; // appends after what is there
            encode_command(&mut ours, 42, flags, &spec, db, read_pref, &ROOMY).unwrap();
            let expected = through_the_wire_crate(&spec, db, read_pref, flags);
            assert_eq!(&ours[2..], &expected[..], "{spec:?} on {db:?}");
            let decoded = Message::decode(&ours[2..], 1 << 20).unwrap();
            assert!(matches!(decoded.message, Message::Msg(_)));
        }
    }

    #[test]
    fn limits_are_checked_and_leave_the_buffer_as_it_was() {
        let spec = rawdoc! {"insert": "c", "pad": "x".repeat(100)};
        let tight = FrameLimits {
            max_body: 64,
            max_message: 1 << 20,
        };
        let mut buf = vec![1, 2, 3];
        let err =
            encode_command(&mut buf, 1, MsgFlags::EMPTY, &spec, "db", None, &tight).unwrap_err();
        assert!(
            matches!(err.kind(), crate::ErrorKind::DocumentTooLarge { .. }),
            "{err:?}"
        );
        assert_eq!(buf, vec![1, 2, 3]);
        let tight = FrameLimits {
            max_body: 1 << 20,
            max_message: 64,
        };
        assert!(encode_command(&mut buf, 1, MsgFlags::EMPTY, &spec, "db", None, &tight).is_err());
        assert!(encode_command(&mut buf, 1, MsgFlags::EMPTY, &spec, "d\0b", None, &ROOMY).is_err());
        assert_eq!(buf, vec![1, 2, 3]);
    }

    #[test]
    fn a_plain_reply_is_read_in_place_and_anything_else_is_left_to_the_decoder() {
        let reply = rawdoc! {"ok": 1.0};
        let mut frame = Vec::new();
        Message::Msg(OpMsg::new(reply.clone()))
            .encode(7, 42, &mut frame)
            .unwrap();
        let (document, more) = body_in_place(&frame).unwrap();
        assert_eq!((document, more), (reply.as_ref(), false));
        assert_eq!(&frame[BODY_OFFSET..], reply.as_bytes());

        let mut more_frame = Vec::new();
        Message::Msg(OpMsg::new(reply.clone()).with_flags(MsgFlags::MORE_TO_COME))
            .encode(7, 42, &mut more_frame)
            .unwrap();
        assert!(body_in_place(&more_frame).unwrap().1);

        let mut checksummed = Vec::new();
        Message::Msg(OpMsg::new(reply.clone()).with_flags(MsgFlags::CHECKSUM_PRESENT))
            .encode(7, 42, &mut checksummed)
            .unwrap();
        assert!(body_in_place(&checksummed).is_none());
        let mut short = frame.clone();
        short.pop();
        assert!(body_in_place(&short).is_none());
        let mut query = frame.clone();
        query[12] = 1; // OP_REPLY
        assert!(body_in_place(&query).is_none());
        assert!(body_in_place(&frame[..10]).is_none());
    }
}
