//! OP_REPLY (1): the answer to OP_QUERY and OP_GET_MORE.

use crate::documents::Documents;
use crate::error::{Result, WireError};
use crate::flags::wire_flags;
use crate::header::{OpCode, HEADER_LEN};
use crate::reader::WireReader;
use crate::writer::{encode_frame, put_i32, put_i64, put_u32};

const WHAT: &str = "OP_REPLY";

wire_flags! {
    /// The `responseFlags` of OP_REPLY.
    pub struct ReplyFlags;
    /// The cursor of an OP_GET_MORE no longer exists.
    const CURSOR_NOT_FOUND = 0;
    /// The query failed; the one document is `{$err: ...}`.
    const QUERY_FAILURE = 1;
    /// mongos only: the shard configuration is stale.
    const SHARD_CONFIG_STALE = 2;
    /// The server supports `AWAIT_DATA` (always set since 1.6).
    const AWAIT_CAPABLE = 3;
}

/// An OP_REPLY.
#[derive(Debug, Clone, PartialEq)]
pub struct OpReply {
    /// The response flags.
    pub flags: ReplyFlags,
    /// The cursor to continue with, or 0.
    pub cursor_id: i64,
    /// Position of the first document in the cursor.
    pub starting_from: i32,
    /// Number of documents; equals `documents.len()` (checked by encode and decode).
    pub number_returned: i32,
    /// The documents.
    pub documents: Documents,
}

impl OpReply {
    /// A reply carrying `documents`, no cursor, no flag.
    pub fn new(documents: impl Into<Documents>) -> Result<Self> {
        let documents = documents.into();
        let number_returned = count_as_i32(documents.len())?;
        Ok(OpReply {
            flags: ReplyFlags::EMPTY,
            cursor_id: 0,
            starting_from: 0,
            number_returned,
            documents,
        })
    }

    /// Size of the encoded message, header included.
    pub fn encoded_len(&self) -> usize {
        (HEADER_LEN + 4 + 8 + 4 + 4).saturating_add(self.documents.as_bytes().len())
    }

    /// Appends the whole message, header included, to `buf`. Fails with
    /// `InvalidArgument` if `number_returned` is not the number of documents.
    pub fn encode(&self, request_id: i32, response_to: i32, buf: &mut Vec<u8>) -> Result<()> {
        if usize::try_from(self.number_returned).ok() != Some(self.documents.len()) {
            return Err(WireError::InvalidArgument(format!(
                "OP_REPLY numberReturned is {} but it carries {} documents",
                self.number_returned,
                self.documents.len()
            )));
        }
        encode_frame(buf, request_id, response_to, OpCode::Reply, |buf| {
            buf.reserve(self.encoded_len().saturating_sub(HEADER_LEN));
            put_u32(buf, self.flags.bits());
            put_i64(buf, self.cursor_id);
            put_i32(buf, self.starting_from);
            put_i32(buf, self.number_returned);
            buf.extend_from_slice(self.documents.as_bytes());
            Ok(())
        })
        .map(drop)
    }

    /// Decodes the bytes after the 16-byte header; `numberReturned` must match the
    /// documents really present.
    pub fn decode_body(body: &[u8]) -> Result<Self> {
        let mut r = WireReader::new(body, WHAT);
        let flags = ReplyFlags(r.read_u32("responseFlags")?);
        let cursor_id = r.read_i64("cursorID")?;
        let starting_from = r.read_i32("startingFrom")?;
        let number_returned = r.read_i32("numberReturned")?;
        let documents = r.read_documents_to_end("document")?;
        if usize::try_from(number_returned).ok() != Some(documents.len()) {
            return Err(r.error(format_args!(
                "numberReturned is {number_returned} but {} documents follow",
                documents.len()
            )));
        }
        Ok(OpReply {
            flags,
            cursor_id,
            starting_from,
            number_returned,
            documents,
        })
    }
}

fn count_as_i32(count: usize) -> Result<i32> {
    i32::try_from(count).map_err(|_| WireError::TooManyDocuments {
        count,
        max: i32::MAX as usize,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::Header;
    use bson::rawdoc;

    fn reply(n: usize) -> OpReply {
        let docs: Vec<_> = (0..n as i32).map(|i| rawdoc! { "i": i }).collect();
        let mut r = OpReply::new(docs).unwrap();
        r.flags = ReplyFlags::AWAIT_CAPABLE;
        r.cursor_id = 1 << 40;
        r.starting_from = 3;
        r
    }

    fn body(r: &OpReply) -> Vec<u8> {
        let mut buf = Vec::new();
        r.encode(1, 77, &mut buf).unwrap();
        assert_eq!(buf.len(), r.encoded_len());
        let h = Header::parse(&buf).unwrap();
        assert_eq!((h.response_to, h.op_code), (77, 1));
        buf.split_off(HEADER_LEN)
    }

    #[test]
    fn round_trips() {
        for n in [0, 1, 3] {
            let r = reply(n);
            assert_eq!(OpReply::decode_body(&body(&r)).unwrap(), r);
        }
    }

    #[test]
    fn number_returned_must_match_the_documents() {
        let b = body(&reply(2));
        for wrong in [0i32, 1, 3, -1, i32::MAX] {
            let mut bad = b.clone();
            bad[16..20].copy_from_slice(&wrong.to_le_bytes());
            let err = OpReply::decode_body(&bad).unwrap_err();
            assert!(
                matches!(&err, WireError::Malformed(m) if m.contains("numberReturned")),
                "{wrong}: {err:?}"
            );
        }
        let mut r = reply(2);
        r.number_returned = 5;
        let mut buf = Vec::new();
        assert!(matches!(
            r.encode(1, 0, &mut buf),
            Err(WireError::InvalidArgument(_))
        ));
        assert!(buf.is_empty());
    }

    #[test]
    fn truncations_are_refused() {
        let b = body(&reply(2));
        let one_doc = body(&reply(1)).len();
        for n in 0..b.len() {
            if n == one_doc {
                continue; // Fixed fields plus one whole document: a count mismatch.
            }
            assert!(OpReply::decode_body(&b[..n]).is_err(), "{n}");
        }
        assert!(OpReply::decode_body(&b[..one_doc]).is_err());
    }
}
