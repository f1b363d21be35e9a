//! OP_GET_MORE (2005): the next batch of a legacy cursor; answered by OP_REPLY.

use crate::error::Result;
use crate::header::{OpCode, HEADER_LEN};
use crate::reader::WireReader;
use crate::writer::{cstring_len, encode_frame, put_cstring, put_i32, put_i64};

const WHAT: &str = "OP_GET_MORE";

/// An OP_GET_MORE.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OpGetMore {
    /// `<db>.<collection>` of the cursor.
    pub full_collection_name: String,
    /// Batch size (0: the server's default).
    pub number_to_return: i32,
    /// The cursor, from a previous OP_REPLY.
    pub cursor_id: i64,
}

impl OpGetMore {
    /// Size of the encoded message, header included.
    pub fn encoded_len(&self) -> usize {
        (HEADER_LEN + 4 + 4 + 8).saturating_add(cstring_len(&self.full_collection_name))
    }

    /// Appends the whole message, header included, to `buf`.
    pub fn encode(&self, request_id: i32, response_to: i32, buf: &mut Vec<u8>) -> Result<()> {
        encode_frame(buf, request_id, response_to, OpCode::GetMore, |buf| {
            put_i32(buf, 0);
            put_cstring(buf, &self.full_collection_name, "fullCollectionName")?;
            put_i32(buf, self.number_to_return);
            put_i64(buf, self.cursor_id);
            Ok(())
        })
        .map(drop)
    }

    /// Decodes the bytes after the 16-byte header. The reserved leading int32 is
    /// read and ignored.
    pub fn decode_body(body: &[u8]) -> Result<Self> {
        let mut r = WireReader::new(body, WHAT);
        r.read_i32("ZERO")?;
        let full_collection_name = r.read_cstring("fullCollectionName")?.to_owned();
        let number_to_return = r.read_i32("numberToReturn")?;
        let cursor_id = r.read_i64("cursorID")?;
        r.finish()?;
        Ok(OpGetMore {
            full_collection_name,
            number_to_return,
            cursor_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::WireError;
    use crate::header::Header;

    #[test]
    fn round_trips_and_refuses_truncation_and_trailing_bytes() {
        let m = OpGetMore {
            full_collection_name: "db.c".into(),
            number_to_return: 100,
            cursor_id: -5,
        };
        let mut buf = Vec::new();
        m.encode(1, 0, &mut buf).unwrap();
        assert_eq!(buf.len(), m.encoded_len());
        assert_eq!(Header::parse(&buf).unwrap().op_code, 2005);
        let body = &buf[HEADER_LEN..];
        assert_eq!(OpGetMore::decode_body(body).unwrap(), m);
        for n in 0..body.len() {
            assert!(OpGetMore::decode_body(&body[..n]).is_err(), "{n}");
        }
        let mut long = body.to_vec();
        long.push(1);
        assert!(matches!(
            OpGetMore::decode_body(&long),
            Err(WireError::Malformed(_))
        ));
    }
}
