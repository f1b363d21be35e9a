//! Appending one whole message to a caller-owned buffer: the header is written
//! with a placeholder length that is patched once the body is known, and a failure
//! leaves the buffer as it was.

use bson::RawDocument;

use crate::error::{Result, WireError};
use crate::header::{Header, OpCode};

/// Appends a header and whatever `write_body` writes, then patches `messageLength`.
/// Returns the offset in `buf` where the message starts. On error `buf` is truncated
/// back to its original length.
pub(crate) fn encode_frame(
    buf: &mut Vec<u8>,
    request_id: i32,
    response_to: i32,
    op_code: OpCode,
    write_body: impl FnOnce(&mut Vec<u8>) -> Result<()>,
) -> Result<usize> {
    let start = buf.len();
    Header {
        message_length: 0,
        request_id,
        response_to,
        op_code: op_code.as_i32(),
    }
    .write_to(buf);
    let result = write_body(buf).and_then(|()| patch_length(buf, start));
    match result {
        Ok(()) => Ok(start),
        Err(e) => {
            buf.truncate(start);
            Err(e)
        }
    }
}

fn patch_length(buf: &mut [u8], start: usize) -> Result<()> {
    let len = buf.len().saturating_sub(start);
    let len32 = i32::try_from(len).map_err(|_| WireError::DocumentTooLarge {
        size: len,
        max: i32::MAX as usize,
    })?;
    let slot = buf
        .get_mut(start..start + 4)
        .ok_or_else(|| WireError::Malformed("message header vanished while encoding".into()))?;
    slot.copy_from_slice(&len32.to_le_bytes());
    Ok(())
}

/// Appends `s` and a NUL; a NUL inside `s` cannot be encoded.
pub(crate) fn put_cstring(buf: &mut Vec<u8>, s: &str, field: &str) -> Result<()> {
    if s.as_bytes().contains(&0) {
        return Err(WireError::InvalidArgument(format!(
            "{field} {s:?} contains a NUL byte"
        )));
    }
    buf.extend_from_slice(s.as_bytes());
    buf.push(0);
    Ok(())
}

pub(crate) fn put_i32(buf: &mut Vec<u8>, v: i32) {
    buf.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_u32(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_i64(buf: &mut Vec<u8>, v: i64) {
    buf.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_document(buf: &mut Vec<u8>, doc: &RawDocument) {
    buf.extend_from_slice(doc.as_bytes());
}

/// Size on the wire of a cstring: its bytes and the NUL.
pub(crate) fn cstring_len(s: &str) -> usize {
    s.len().saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_length_is_patched_and_appended() {
        let mut buf = vec![1, 2, 3];
        let start = encode_frame(&mut buf, 5, 6, OpCode::Msg, |b| {
            put_i32(b, 9);
            Ok(())
        })
        .unwrap();
        assert_eq!(start, 3);
        let h = Header::parse(&buf[3..]).unwrap();
        assert_eq!(h.message_length, 20);
        assert_eq!((h.request_id, h.response_to, h.op_code), (5, 6, 2013));
        assert_eq!(buf.len(), 23);
    }

    #[test]
    fn a_failed_body_leaves_the_buffer_untouched() {
        let mut buf = vec![1, 2, 3];
        let err = encode_frame(&mut buf, 5, 6, OpCode::Query, |b| {
            put_i32(b, 0);
            put_cstring(b, "a\0b", "name")
        })
        .unwrap_err();
        assert!(matches!(err, WireError::InvalidArgument(_)));
        assert_eq!(buf, vec![1, 2, 3]);
    }
}
