//! Any message, as one enum: encoding (plain or wrapped in OP_COMPRESSED), decoding
//! a whole frame (OP_COMPRESSED unwrapped transparently), and the size limits a
//! message must respect before it is sent.

use bson::RawDocument;

use crate::compressor::{may_compress, Compressor};
use crate::error::{Result, WireError};
use crate::header::{Header, OpCode, HEADER_LEN};
use crate::limits::{check_message_length, Limits, COMMAND_OVERHEAD_BYTES};
use crate::op_compressed::{CompressedParts, OpCompressed};
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

/// A decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The header of the frame as received (for a compressed message, the
    /// OP_COMPRESSED header: `request_id` and `response_to` are the same as the
    /// wrapped message's).
    pub header: Header,
    /// The compressor if the frame was OP_COMPRESSED (with the default level).
    pub compressor: Option<Compressor>,
    /// The message.
    pub message: Message,
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

    /// Decodes one whole frame, header included. The announced length must be in
    /// `16..=max_message_size` and equal to `frame.len()`. OP_COMPRESSED is
    /// decompressed (its `uncompressedSize` bounded by `max_message_size` as well) and
    /// the wrapped message returned.
    pub fn decode(frame: &[u8], max_message_size: usize) -> Result<Decoded> {
        let header = Header::parse(frame)?;
        let len = check_message_length(header.message_length, max_message_size)?;
        if len != frame.len() {
            return Err(WireError::Malformed(format!(
                "the header announces {len} bytes but the frame has {}",
                frame.len()
            )));
        }
        let body = frame.get(HEADER_LEN..).unwrap_or_default();
        let op_code = OpCode::try_from(header.op_code)?;
        if op_code != OpCode::Compressed {
            let message = Message::decode_parts(&header, body)?;
            return Ok(Decoded {
                header,
                compressor: None,
                message,
            });
        }
        let parts = CompressedParts::parse(body)?;
        let inner = parts.decompress(max_message_size)?;
        // The header the wrapped message had before compression: OP_MSG checksums
        // cover it.
        let inner_len = inner.len().saturating_add(HEADER_LEN);
        let inner_header = Header {
            message_length: i32::try_from(inner_len).map_err(|_| WireError::MessageLength {
                length: i64::try_from(inner_len).unwrap_or(i64::MAX),
                max: max_message_size,
            })?,
            request_id: header.request_id,
            response_to: header.response_to,
            op_code: parts.original_op_code.as_i32(),
        };
        let message = Message::decode_parts(&inner_header, &inner)?;
        Ok(Decoded {
            header,
            compressor: Some(parts.compressor),
            message,
        })
    }

    /// Decodes the bytes after `header`, by `header.op_code`. The length in the
    /// header is not checked here. OP_COMPRESSED is refused: use [`Message::decode`].
    pub fn decode_parts(header: &Header, body: &[u8]) -> Result<Message> {
        Ok(match OpCode::try_from(header.op_code)? {
            OpCode::Msg => Message::Msg(OpMsg::decode_parts(header, body)?),
            OpCode::Query => Message::Query(OpQuery::decode_body(body)?),
            OpCode::Reply => Message::Reply(OpReply::decode_body(body)?),
            OpCode::Insert => Message::Insert(OpInsert::decode_body(body)?),
            OpCode::Update => Message::Update(OpUpdate::decode_body(body)?),
            OpCode::Delete => Message::Delete(OpDelete::decode_body(body)?),
            OpCode::GetMore => Message::GetMore(OpGetMore::decode_body(body)?),
            OpCode::KillCursors => Message::KillCursors(OpKillCursors::decode_body(body)?),
            OpCode::Compressed => {
                return Err(WireError::Malformed(
                    "OP_COMPRESSED where a plain message was expected".into(),
                ))
            }
        })
    }

    /// Checks the message against the server's limits before it is sent:
    /// - a command body (OP_MSG body, OP_QUERY on `<db>.$cmd`, OP_REPLY documents)
    ///   may be `max_bson_object_size + COMMAND_OVERHEAD_BYTES`;
    /// - every other document (sequences, inserts, update and delete documents,
    ///   non-command queries) at most `max_bson_object_size`;
    ///
    /// all failing with [`WireError::DocumentTooLarge`];
    /// - a document sequence or an OP_INSERT holds at most `max_write_batch_size`
    ///   documents ([`WireError::TooManyDocuments`]);
    /// - the whole uncompressed message is at most `max_message_size_bytes`
    ///   ([`WireError::DocumentTooLarge`] with the message size).
    pub fn check_limits(&self, limits: &Limits) -> Result<()> {
        let command_max = limits
            .max_bson_object_size
            .saturating_add(COMMAND_OVERHEAD_BYTES);
        let doc_max = limits.max_bson_object_size;
        match self {
            Message::Msg(m) => {
                check_document(&m.body, command_max)?;
                for s in &m.sequences {
                    check_documents(&s.documents, doc_max)?;
                    check_count(s.documents.len(), limits.max_write_batch_size)?;
                }
            }
            Message::Query(q) => {
                check_document(&q.query, if q.is_command() { command_max } else { doc_max })?;
                if let Some(fields) = &q.return_fields_selector {
                    check_document(fields, doc_max)?;
                }
            }
            Message::Reply(r) => check_documents(&r.documents, command_max)?,
            Message::Insert(i) => {
                check_documents(&i.documents, doc_max)?;
                check_count(i.documents.len(), limits.max_write_batch_size)?;
            }
            Message::Update(u) => {
                check_document(&u.selector, doc_max)?;
                check_document(&u.update, doc_max)?;
            }
            Message::Delete(d) => check_document(&d.selector, doc_max)?,
            Message::GetMore(_) | Message::KillCursors(_) => {}
        }
        let size = self.encoded_len();
        if size > limits.max_message_size_bytes {
            return Err(WireError::DocumentTooLarge {
                size,
                max: limits.max_message_size_bytes,
            });
        }
        Ok(())
    }
}

fn check_document(doc: &RawDocument, max: usize) -> Result<()> {
    let size = doc.as_bytes().len();
    if size > max {
        return Err(WireError::DocumentTooLarge { size, max });
    }
    Ok(())
}

fn check_documents<D: AsRef<RawDocument>>(docs: &[D], max: usize) -> Result<()> {
    docs.iter().try_for_each(|d| check_document(d.as_ref(), max))
}

fn check_count(count: usize, max: usize) -> Result<()> {
    if count > max {
        return Err(WireError::TooManyDocuments { count, max });
    }
    Ok(())
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
