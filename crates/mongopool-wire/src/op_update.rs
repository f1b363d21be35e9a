//! OP_UPDATE (2001): the legacy update. No reply.

use bson::RawDocumentBuf;

use crate::error::Result;
use crate::flags::wire_flags;
use crate::header::{OpCode, HEADER_LEN};
use crate::reader::WireReader;
use crate::writer::{cstring_len, encode_frame, put_cstring, put_document, put_i32, put_u32};

const WHAT: &str = "OP_UPDATE";

wire_flags! {
    /// The flags of OP_UPDATE.
    pub struct UpdateFlags;
    /// Insert the update as a new document if nothing matches.
    const UPSERT = 0;
    /// Update every matching document, not only the first.
    const MULTI_UPDATE = 1;
}

/// An OP_UPDATE.
#[derive(Debug, Clone, PartialEq)]
pub struct OpUpdate {
    /// `<db>.<collection>`.
    pub full_collection_name: String,
    /// The flags.
    pub flags: UpdateFlags,
    /// Which documents to update.
    pub selector: RawDocumentBuf,
    /// The replacement or the update operators.
    pub update: RawDocumentBuf,
}

impl OpUpdate {
    /// Size of the encoded message, header included.
    pub fn encoded_len(&self) -> usize {
        (HEADER_LEN + 4 + 4)
            .saturating_add(cstring_len(&self.full_collection_name))
            .saturating_add(self.selector.as_bytes().len())
            .saturating_add(self.update.as_bytes().len())
    }

    /// Appends the whole message, header included, to `buf`.
    pub fn encode(&self, request_id: i32, response_to: i32, buf: &mut Vec<u8>) -> Result<()> {
        encode_frame(buf, request_id, response_to, OpCode::Update, |buf| {
            buf.reserve(self.encoded_len().saturating_sub(HEADER_LEN));
            put_i32(buf, 0);
            put_cstring(buf, &self.full_collection_name, "fullCollectionName")?;
            put_u32(buf, self.flags.bits());
            put_document(buf, &self.selector);
            put_document(buf, &self.update);
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
        let flags = UpdateFlags(r.read_u32("flags")?);
        let selector = r.read_document("selector")?;
        let update = r.read_document("update")?;
        r.finish()?;
        Ok(OpUpdate {
            full_collection_name,
            flags,
            selector,
            update,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::WireError;
    use crate::header::Header;
    use bson::rawdoc;

    fn update() -> OpUpdate {
        OpUpdate {
            full_collection_name: "db.c".into(),
            flags: UpdateFlags::UPSERT | UpdateFlags::MULTI_UPDATE,
            selector: rawdoc! { "_id": 1 },
            update: rawdoc! { "$set": { "a": 2 } },
        }
    }

    #[test]
    fn round_trips_and_refuses_truncation_and_trailing_bytes() {
        let m = update();
        let mut buf = Vec::new();
        m.encode(1, 0, &mut buf).unwrap();
        assert_eq!(buf.len(), m.encoded_len());
        assert_eq!(Header::parse(&buf).unwrap().op_code, 2001);
        let body = &buf[HEADER_LEN..];
        assert_eq!(&body[..4], &[0, 0, 0, 0]);
        assert_eq!(OpUpdate::decode_body(body).unwrap(), m);
        for n in 0..body.len() {
            assert!(OpUpdate::decode_body(&body[..n]).is_err(), "{n}");
        }
        let mut long = body.to_vec();
        long.extend_from_slice(rawdoc! {}.as_bytes());
        assert!(matches!(
            OpUpdate::decode_body(&long),
            Err(WireError::Malformed(_))
        ));
    }
}
