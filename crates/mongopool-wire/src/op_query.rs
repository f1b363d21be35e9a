//! OP_QUERY (2004): the legacy query, and the way commands reach servers that speak
//! nothing newer (and the hello handshake of every server).

use bson::RawDocumentBuf;

use crate::error::Result;
use crate::flags::wire_flags;
use crate::header::{OpCode, HEADER_LEN};
use crate::reader::WireReader;
use crate::writer::{cstring_len, encode_frame, put_cstring, put_document, put_i32, put_u32};

const WHAT: &str = "OP_QUERY";

wire_flags! {
    /// The flags of OP_QUERY. Bit 0 is reserved.
    pub struct QueryFlags;
    /// Leave the cursor open after the last document (capped collections).
    const TAILABLE_CURSOR = 1;
    /// Allow the query on a secondary (a.k.a. `SlaveOk`).
    const SECONDARY_OK = 2;
    /// Internal replication flag; do not set.
    const OPLOG_REPLAY = 3;
    /// Keep the cursor alive past the idle timeout.
    const NO_CURSOR_TIMEOUT = 4;
    /// With a tailable cursor, block a while for more data.
    const AWAIT_DATA = 5;
    /// Stream all batches without waiting for OP_GET_MORE.
    const EXHAUST = 6;
    /// Return partial results from mongos if some shards are down.
    const PARTIAL = 7;
}

impl QueryFlags {
    /// The old name of [`QueryFlags::SECONDARY_OK`].
    pub const SLAVE_OK: QueryFlags = QueryFlags::SECONDARY_OK;
}

/// An OP_QUERY.
#[derive(Debug, Clone, PartialEq)]
pub struct OpQuery {
    /// The flags.
    pub flags: QueryFlags,
    /// `<db>.<collection>`, or `<db>.$cmd` for a command.
    pub full_collection_name: String,
    /// Documents to skip.
    pub number_to_skip: i32,
    /// Batch size; -1 for a command (one document, close the cursor).
    pub number_to_return: i32,
    /// The query, or the command.
    pub query: RawDocumentBuf,
    /// Projection, if any.
    pub return_fields_selector: Option<RawDocumentBuf>,
}

impl OpQuery {
    /// A command on `db`: `<db>.$cmd`, skip 0, numberToReturn -1, no flag.
    pub fn command(db: &str, command: RawDocumentBuf) -> Self {
        OpQuery {
            flags: QueryFlags::EMPTY,
            full_collection_name: format!("{db}.$cmd"),
            number_to_skip: 0,
            number_to_return: -1,
            query: command,
            return_fields_selector: None,
        }
    }

    /// Whether this query is a command (its namespace is `<db>.$cmd`).
    pub fn is_command(&self) -> bool {
        self.full_collection_name.ends_with(".$cmd")
    }

    /// The command name (the first key of `query`), if this is a command.
    pub fn command_name(&self) -> Option<&str> {
        if !self.is_command() {
            return None;
        }
        match self.query.iter().next() {
            Some(Ok((key, _))) => Some(key.as_str()),
            _ => None,
        }
    }

    /// Size of the encoded message, header included.
    pub fn encoded_len(&self) -> usize {
        (HEADER_LEN + 4 + 4 + 4)
            .saturating_add(cstring_len(&self.full_collection_name))
            .saturating_add(self.query.as_bytes().len())
            .saturating_add(
                self.return_fields_selector
                    .as_ref()
                    .map_or(0, |d| d.as_bytes().len()),
            )
    }

    /// Appends the whole message, header included, to `buf`.
    pub fn encode(&self, request_id: i32, response_to: i32, buf: &mut Vec<u8>) -> Result<()> {
        encode_frame(buf, request_id, response_to, OpCode::Query, |buf| {
            buf.reserve(self.encoded_len().saturating_sub(HEADER_LEN));
            put_u32(buf, self.flags.bits());
            put_cstring(buf, &self.full_collection_name, "fullCollectionName")?;
            put_i32(buf, self.number_to_skip);
            put_i32(buf, self.number_to_return);
            put_document(buf, &self.query);
            if let Some(fields) = &self.return_fields_selector {
                put_document(buf, fields);
            }
            Ok(())
        })
        .map(drop)
    }

    /// Decodes the bytes after the 16-byte header.
    pub fn decode_body(body: &[u8]) -> Result<Self> {
        let mut r = WireReader::new(body, WHAT);
        let flags = QueryFlags(r.read_u32("flags")?);
        let full_collection_name = r.read_cstring("fullCollectionName")?.to_owned();
        let number_to_skip = r.read_i32("numberToSkip")?;
        let number_to_return = r.read_i32("numberToReturn")?;
        let query = r.read_document("query")?;
        let return_fields_selector = if r.is_empty() {
            None
        } else {
            Some(r.read_document("returnFieldsSelector")?)
        };
        r.finish()?;
        Ok(OpQuery {
            flags,
            full_collection_name,
            number_to_skip,
            number_to_return,
            query,
            return_fields_selector,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::WireError;
    use crate::header::Header;
    use bson::rawdoc;

    fn query(selector: bool) -> OpQuery {
        OpQuery {
            flags: QueryFlags::SECONDARY_OK | QueryFlags::EXHAUST,
            full_collection_name: "db.coll".into(),
            number_to_skip: 5,
            number_to_return: -3,
            query: rawdoc! { "x": { "$gt": 1 } },
            return_fields_selector: selector.then(|| rawdoc! { "x": 1 }),
        }
    }

    fn encode(q: &OpQuery) -> Vec<u8> {
        let mut buf = Vec::new();
        q.encode(11, 0, &mut buf).unwrap();
        assert_eq!(buf.len(), q.encoded_len());
        let h = Header::parse(&buf).unwrap();
        assert_eq!((h.message_length as usize, h.op_code), (buf.len(), 2004));
        buf
    }

    #[test]
    fn round_trips_with_and_without_a_selector() {
        for q in [query(false), query(true)] {
            let f = encode(&q);
            assert_eq!(OpQuery::decode_body(&f[HEADER_LEN..]).unwrap(), q);
        }
    }

    #[test]
    fn commands_go_to_dollar_cmd() {
        let q = OpQuery::command("admin", rawdoc! { "isMaster": 1 });
        assert_eq!(q.full_collection_name, "admin.$cmd");
        assert_eq!(q.number_to_return, -1);
        assert!(q.is_command());
        assert_eq!(q.command_name(), Some("isMaster"));
        assert_eq!(query(false).command_name(), None);
        assert_eq!(QueryFlags::SLAVE_OK.bits(), 4);
        assert_eq!(QueryFlags::PARTIAL.bits(), 128);
    }

    #[test]
    fn truncations_and_trailing_bytes_are_refused() {
        let q = query(true);
        let f = encode(&q);
        let without_selector = encode(&query(false)).len();
        for n in (HEADER_LEN..f.len()).filter(|&n| n != without_selector) {
            assert!(OpQuery::decode_body(&f[HEADER_LEN..n]).is_err(), "{n}");
        }
        let mut long = f[HEADER_LEN..].to_vec();
        long.push(0);
        assert!(matches!(
            OpQuery::decode_body(&long),
            Err(WireError::Malformed(_))
        ));
    }

    #[test]
    fn a_name_with_a_nul_cannot_be_encoded() {
        let mut q = query(false);
        q.full_collection_name = "db\0c".into();
        let mut buf = Vec::new();
        assert!(matches!(
            q.encode(1, 0, &mut buf),
            Err(WireError::InvalidArgument(_))
        ));
        assert!(buf.is_empty());
    }
}
