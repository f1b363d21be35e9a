//! OP_DELETE (2006): the legacy delete. No reply.

use bson::RawDocumentBuf;

use crate::error::Result;
use crate::flags::wire_flags;
use crate::header::{OpCode, HEADER_LEN};
use crate::reader::WireReader;
use crate::writer::{cstring_len, encode_frame, put_cstring, put_document, put_i32, put_u32};

const WHAT: &str = "OP_DELETE";

wire_flags! {
    /// The flags of OP_DELETE.
    pub struct DeleteFlags;
    /// Remove only the first matching document.
    const SINGLE_REMOVE = 0;
}

/// An OP_DELETE.
#[derive(Debug, Clone, PartialEq)]
pub struct OpDelete {
    /// `<db>.<collection>`.
    pub full_collection_name: String,
    /// The flags.
    pub flags: DeleteFlags,
    /// Which documents to remove.
    pub selector: RawDocumentBuf,
}

impl OpDelete {
    /// Size of the encoded message, header included.
    pub fn encoded_len(&self) -> usize {
        (HEADER_LEN + 4 + 4)
            .saturating_add(cstring_len(&self.full_collection_name))
            .saturating_add(self.selector.as_bytes().len())
    }

    /// Appends the whole message, header included, to `buf`.
    pub fn encode(&self, request_id: i32, response_to: i32, buf: &mut Vec<u8>) -> Result<()> {
        encode_frame(buf, request_id, response_to, OpCode::Delete, |buf| {
            buf.reserve(self.encoded_len().saturating_sub(HEADER_LEN));
            put_i32(buf, 0);
            put_cstring(buf, &self.full_collection_name, "fullCollectionName")?;
            put_u32(buf, self.flags.bits());
            put_document(buf, &self.selector);
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
        let flags = DeleteFlags(r.read_u32("flags")?);
        let selector = r.read_document("selector")?;
        r.finish()?;
        Ok(OpDelete {
            full_collection_name,
            flags,
            selector,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::WireError;
    use crate::header::Header;
    use bson::rawdoc;

    #[test]
    fn round_trips_and_refuses_truncation_and_trailing_bytes() {
        let m = OpDelete {
            full_collection_name: "db.c".into(),
            flags: DeleteFlags::SINGLE_REMOVE,
            selector: rawdoc! { "a": "b" },
        };
        let mut buf = Vec::new();
        m.encode(1, 0, &mut buf).unwrap();
        assert_eq!(buf.len(), m.encoded_len());
        assert_eq!(Header::parse(&buf).unwrap().op_code, 2006);
        let body = &buf[HEADER_LEN..];
        assert_eq!(OpDelete::decode_body(body).unwrap(), m);
        for n in 0..body.len() {
            assert!(OpDelete::decode_body(&body[..n]).is_err(), "{n}");
        }
        let mut long = body.to_vec();
        long.push(1);
        assert!(matches!(
            OpDelete::decode_body(&long),
            Err(WireError::Malformed(_))
        ));
    }
}
