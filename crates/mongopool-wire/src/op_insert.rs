//! OP_INSERT (2002): the legacy insert. The server does not reply; a
//! `getLastError` command sent right after tells the outcome.

use crate::documents::Documents;
use crate::error::Result;
use crate::flags::wire_flags;
use crate::header::{OpCode, HEADER_LEN};
use crate::reader::WireReader;
use crate::writer::{cstring_len, encode_frame, put_cstring, put_u32};

const WHAT: &str = "OP_INSERT";

wire_flags! {
    /// The flags of OP_INSERT.
    pub struct InsertFlags;
    /// Keep inserting the following documents after one fails.
    const CONTINUE_ON_ERROR = 0;
}

/// An OP_INSERT.
#[derive(Debug, Clone, PartialEq)]
pub struct OpInsert {
    /// The flags.
    pub flags: InsertFlags,
    /// `<db>.<collection>`.
    pub full_collection_name: String,
    /// The documents to insert.
    pub documents: Documents,
}

impl OpInsert {
    /// Size of the encoded message, header included.
    pub fn encoded_len(&self) -> usize {
        (HEADER_LEN + 4)
            .saturating_add(cstring_len(&self.full_collection_name))
            .saturating_add(self.documents.as_bytes().len())
    }

    /// Appends the whole message, header included, to `buf`.
    pub fn encode(&self, request_id: i32, response_to: i32, buf: &mut Vec<u8>) -> Result<()> {
        encode_frame(buf, request_id, response_to, OpCode::Insert, |buf| {
            buf.reserve(self.encoded_len().saturating_sub(HEADER_LEN));
            put_u32(buf, self.flags.bits());
            put_cstring(buf, &self.full_collection_name, "fullCollectionName")?;
            buf.extend_from_slice(self.documents.as_bytes());
            Ok(())
        })
        .map(drop)
    }

    /// Decodes the bytes after the 16-byte header.
    pub fn decode_body(body: &[u8]) -> Result<Self> {
        let mut r = WireReader::new(body, WHAT);
        let flags = InsertFlags(r.read_u32("flags")?);
        let full_collection_name = r.read_cstring("fullCollectionName")?.to_owned();
        let documents = r.read_documents_to_end("document")?;
        Ok(OpInsert {
            flags,
            full_collection_name,
            documents,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::WireError;
    use crate::header::Header;
    use bson::rawdoc;

    fn insert(n: i32) -> OpInsert {
        OpInsert {
            flags: InsertFlags::CONTINUE_ON_ERROR,
            full_collection_name: "db.c".into(),
            documents: (0..n).map(|i| rawdoc! { "_id": i }).collect(),
        }
    }

    fn body(m: &OpInsert) -> Vec<u8> {
        let mut buf = Vec::new();
        m.encode(1, 0, &mut buf).unwrap();
        assert_eq!(buf.len(), m.encoded_len());
        assert_eq!(Header::parse(&buf).unwrap().op_code, 2002);
        buf.split_off(HEADER_LEN)
    }

    #[test]
    fn round_trips() {
        for n in [0, 1, 4] {
            let m = insert(n);
            assert_eq!(OpInsert::decode_body(&body(&m)).unwrap(), m);
        }
    }

    #[test]
    fn partial_documents_and_fields_are_refused() {
        let b = body(&insert(2));
        let doc_len = rawdoc! { "_id": 0 }.as_bytes().len();
        let fixed = 4 + "db.c".len() + 1;
        for n in 0..b.len() {
            if n == fixed || n == fixed + doc_len {
                continue; // Zero or one whole document: valid.
            }
            assert!(
                matches!(OpInsert::decode_body(&b[..n]), Err(WireError::Malformed(_))),
                "{n}"
            );
        }
    }
}
