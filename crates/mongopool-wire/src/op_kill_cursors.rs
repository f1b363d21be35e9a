//! OP_KILL_CURSORS (2007): close legacy cursors. No reply.

use crate::error::{Result, WireError};
use crate::header::{OpCode, HEADER_LEN};
use crate::reader::WireReader;
use crate::writer::{encode_frame, put_i32, put_i64};

const WHAT: &str = "OP_KILL_CURSORS";

/// An OP_KILL_CURSORS.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OpKillCursors {
    /// The cursors to close.
    pub cursor_ids: Vec<i64>,
}

impl OpKillCursors {
    /// Size of the encoded message, header included.
    pub fn encoded_len(&self) -> usize {
        (HEADER_LEN + 4 + 4).saturating_add(self.cursor_ids.len().saturating_mul(8))
    }

    /// Appends the whole message, header included, to `buf`.
    pub fn encode(&self, request_id: i32, response_to: i32, buf: &mut Vec<u8>) -> Result<()> {
        let count =
            i32::try_from(self.cursor_ids.len()).map_err(|_| WireError::TooManyDocuments {
                count: self.cursor_ids.len(),
                max: i32::MAX as usize,
            })?;
        encode_frame(buf, request_id, response_to, OpCode::KillCursors, |buf| {
            buf.reserve(self.encoded_len().saturating_sub(HEADER_LEN));
            put_i32(buf, 0);
            put_i32(buf, count);
            for id in &self.cursor_ids {
                put_i64(buf, *id);
            }
            Ok(())
        })
        .map(drop)
    }

    /// Decodes the bytes after the 16-byte header. The count must match the ids
    /// really present. The reserved leading int32 is read and ignored.
    pub fn decode_body(body: &[u8]) -> Result<Self> {
        let mut r = WireReader::new(body, WHAT);
        r.read_i32("ZERO")?;
        let announced = r.read_i32("numberOfCursorIDs")?;
        let present = r.remaining() / 8;
        if usize::try_from(announced).ok() != Some(present) || r.remaining() % 8 != 0 {
            return Err(r.error(format_args!(
                "numberOfCursorIDs is {announced} but {} bytes of ids follow",
                r.remaining()
            )));
        }
        let mut cursor_ids = Vec::with_capacity(present);
        for _ in 0..present {
            cursor_ids.push(r.read_i64("cursorID")?);
        }
        r.finish()?;
        Ok(OpKillCursors { cursor_ids })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::Header;

    fn body(m: &OpKillCursors) -> Vec<u8> {
        let mut buf = Vec::new();
        m.encode(1, 0, &mut buf).unwrap();
        assert_eq!(buf.len(), m.encoded_len());
        assert_eq!(Header::parse(&buf).unwrap().op_code, 2007);
        buf.split_off(HEADER_LEN)
    }

    #[test]
    fn round_trips() {
        for ids in [vec![], vec![1], vec![i64::MIN, 0, i64::MAX]] {
            let m = OpKillCursors { cursor_ids: ids };
            assert_eq!(OpKillCursors::decode_body(&body(&m)).unwrap(), m);
        }
    }

    #[test]
    fn the_count_must_match_the_ids() {
        let b = body(&OpKillCursors {
            cursor_ids: vec![1, 2],
        });
        for wrong in [0i32, 1, 3, -1, i32::MAX, i32::MIN] {
            let mut bad = b.clone();
            bad[4..8].copy_from_slice(&wrong.to_le_bytes());
            assert!(
                matches!(
                    OpKillCursors::decode_body(&bad),
                    Err(WireError::Malformed(_))
                ),
                "{wrong}"
            );
        }
        // A partial id, and truncations of the fixed fields.
        for n in 0..b.len() {
            assert!(OpKillCursors::decode_body(&b[..n]).is_err(), "{n}");
        }
        let mut extra = b.clone();
        extra.push(0);
        assert!(OpKillCursors::decode_body(&extra).is_err());
    }
}
