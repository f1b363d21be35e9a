//! Any message, as one enum, and its encoding (plain or wrapped in OP_COMPRESSED).
//! Decoding a whole frame is in `decode`, the limits a message must respect before
//! it is sent in `send_limits`.

mod decode;
mod send_limits;

pub use decode::Decoded;

use crate::compressor::{may_compress, Compressor};
use crate::error::Result;
use crate::header::{OpCode, HEADER_LEN};
use crate::op_compressed::OpCompressed;
use crate::op_delete::OpDelete;
use crate::op_get_more::OpGetMore;
use crate::op_insert::OpInsert;
use crate::op_kill_cursors::OpKillCursors;
use crate::op_msg::OpMsg;
use crate::op_query::OpQuery;
use crate::op_reply::OpReply;
use crate::op_update::OpUpdate;

/// Any message a client sends or receives (OP_COMPRESSED is a wrapping, not a
/// message of its own: see [`Message::encode_compressed`] and [`Decoded::compressor`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// OP_MSG.
    Msg(OpMsg),
    /// OP_QUERY.
    Query(OpQuery),
    /// OP_REPLY.
    Reply(OpReply),
    /// OP_INSERT.
    Insert(OpInsert),
    /// OP_UPDATE.
    Update(OpUpdate),
    /// OP_DELETE.
    Delete(OpDelete),
    /// OP_GET_MORE.
    GetMore(OpGetMore),
    /// OP_KILL_CURSORS.
    KillCursors(OpKillCursors),
}

impl Message {
    /// The opcode this message is sent with (before any compression).
    pub fn op_code(&self) -> OpCode {
        match self {
            Message::Msg(_) => OpCode::Msg,
            Message::Query(_) => OpCode::Query,
            Message::Reply(_) => OpCode::Reply,
            Message::Insert(_) => OpCode::Insert,
            Message::Update(_) => OpCode::Update,
            Message::Delete(_) => OpCode::Delete,
            Message::GetMore(_) => OpCode::GetMore,
            Message::KillCursors(_) => OpCode::KillCursors,
        }
    }

    /// Size of the uncompressed encoded message, header included.
    pub fn encoded_len(&self) -> usize {
        match self {
            Message::Msg(m) => m.encoded_len(),
            Message::Query(m) => m.encoded_len(),
            Message::Reply(m) => m.encoded_len(),
            Message::Insert(m) => m.encoded_len(),
            Message::Update(m) => m.encoded_len(),
            Message::Delete(m) => m.encoded_len(),
            Message::GetMore(m) => m.encoded_len(),
            Message::KillCursors(m) => m.encoded_len(),
        }
    }

    /// The command this message carries: the first key of an OP_MSG body or of an
    /// OP_QUERY on `<db>.$cmd`; `None` for everything else.
    pub fn command_name(&self) -> Option<&str> {
        match self {
            Message::Msg(m) => m.command_name(),
            Message::Query(q) => q.command_name(),
            _ => None,
        }
    }

    /// Whether the spec allows compressing this message: not when it carries a
    /// handshake or authentication command (see [`may_compress`]).
    pub fn may_compress(&self) -> bool {
        self.command_name().is_none_or(may_compress)
    }

    /// Appends the whole message, header included, to `buf`. On error `buf` is left
    /// as it was.
    pub fn encode(&self, request_id: i32, response_to: i32, buf: &mut Vec<u8>) -> Result<()> {
        match self {
            Message::Msg(m) => m.encode(request_id, response_to, buf),
            Message::Query(m) => m.encode(request_id, response_to, buf),
            Message::Reply(m) => m.encode(request_id, response_to, buf),
            Message::Insert(m) => m.encode(request_id, response_to, buf),
            Message::Update(m) => m.encode(request_id, response_to, buf),
            Message::Delete(m) => m.encode(request_id, response_to, buf),
            Message::GetMore(m) => m.encode(request_id, response_to, buf),
            Message::KillCursors(m) => m.encode(request_id, response_to, buf),
        }
    }

    /// Appends the message wrapped in OP_COMPRESSED. Compresses whatever it is given:
    /// the caller checks [`Message::may_compress`] first. An OP_MSG checksum is
    /// computed over the uncompressed message, as the receiver will rebuild it.
    pub fn encode_compressed(
        &self,
        request_id: i32,
        response_to: i32,
        compressor: &Compressor,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        let mut plain = Vec::with_capacity(self.encoded_len());
        self.encode(request_id, response_to, &mut plain)?;
        let body = plain.get(HEADER_LEN..).unwrap_or_default();
        OpCompressed::compress(self.op_code(), body, compressor)?.encode(
            request_id,
            response_to,
            buf,
        )
    }
}

macro_rules! message_from {
    ($($variant:ident($ty:ty)),* $(,)?) => {
        $(
            impl From<$ty> for Message {
                fn from(m: $ty) -> Message {
                    Message::$variant(m)
                }
            }
        )*
    };
}

message_from!(
    Msg(OpMsg),
    Query(OpQuery),
    Reply(OpReply),
    Insert(OpInsert),
    Update(OpUpdate),
    Delete(OpDelete),
    GetMore(OpGetMore),
    KillCursors(OpKillCursors),
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op_delete::DeleteFlags;
    use crate::op_insert::InsertFlags;
    use crate::op_msg::{DocumentSequence, MsgFlags};
    use crate::op_update::UpdateFlags;
    use bson::rawdoc;

    pub(super) const MAX: usize = 1 << 20;

    pub(super) fn one_of_each() -> Vec<Message> {
        vec![
            OpMsg::new(rawdoc! { "find": "c", "$db": "db" })
                .with_flags(MsgFlags::CHECKSUM_PRESENT)
                .with_sequence(DocumentSequence::new("documents", vec![rawdoc! { "a": 1 }]))
                .into(),
            OpQuery::command("admin", rawdoc! { "ping": 1 }).into(),
            OpReply::new(vec![rawdoc! { "ok": 1 }]).unwrap().into(),
            OpInsert {
                flags: InsertFlags::EMPTY,
                full_collection_name: "db.c".into(),
                documents: vec![rawdoc! { "_id": 1 }].into(),
            }
            .into(),
            OpUpdate {
                full_collection_name: "db.c".into(),
                flags: UpdateFlags::UPSERT,
                selector: rawdoc! {},
                update: rawdoc! { "b": 2 },
            }
            .into(),
            OpDelete {
                full_collection_name: "db.c".into(),
                flags: DeleteFlags::EMPTY,
                selector: rawdoc! { "c": 3 },
            }
            .into(),
            OpGetMore {
                full_collection_name: "db.c".into(),
                number_to_return: 0,
                cursor_id: 42,
            }
            .into(),
            OpKillCursors {
                cursor_ids: vec![1, 2],
            }
            .into(),
        ]
    }

    pub(super) fn compressors() -> [Compressor; 4] {
        [
            Compressor::Noop,
            Compressor::Snappy,
            Compressor::zlib(1).unwrap(),
            Compressor::zstd(1).unwrap(),
        ]
    }

    #[test]
    fn every_kind_round_trips_plain() {
        for m in one_of_each() {
            let mut buf = Vec::new();
            m.encode(5, 6, &mut buf).unwrap();
            assert_eq!(buf.len(), m.encoded_len());
            let d = Message::decode(&buf, MAX).unwrap();
            assert_eq!(d.message, m);
            assert_eq!(d.compressor, None);
            assert_eq!(d.header.op_code, m.op_code().as_i32());
            assert_eq!((d.header.request_id, d.header.response_to), (5, 6));
        }
    }

    #[test]
    fn every_kind_round_trips_compressed() {
        for m in one_of_each() {
            for c in compressors() {
                let mut buf = vec![0xEE];
                m.encode_compressed(5, 6, &c, &mut buf).unwrap();
                let d = Message::decode(&buf[1..], MAX).unwrap();
                assert_eq!(d.message, m, "{c:?}");
                assert_eq!(d.compressor.map(|c| c.id()), Some(c.id()));
                assert_eq!(d.header.op_code, 2012);
                assert_eq!((d.header.request_id, d.header.response_to), (5, 6));
            }
        }
    }

    #[test]
    fn auth_and_handshake_messages_may_not_be_compressed() {
        let hello: Message = OpMsg::new(rawdoc! { "hello": 1 }).into();
        let legacy: Message = OpQuery::command("admin", rawdoc! { "isMaster": 1 }).into();
        let sasl: Message = OpMsg::new(rawdoc! { "saslContinue": 1 }).into();
        let find: Message = OpMsg::new(rawdoc! { "find": "c" }).into();
        assert!(!hello.may_compress());
        assert!(!legacy.may_compress());
        assert!(!sasl.may_compress());
        assert!(find.may_compress());
        assert_eq!(legacy.command_name(), Some("isMaster"));
        let get_more = &one_of_each()[6];
        assert_eq!(get_more.command_name(), None);
        assert!(get_more.may_compress());
    }
}
