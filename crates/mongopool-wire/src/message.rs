//! Any message, as one enum: encoding (plain or wrapped in OP_COMPRESSED), decoding
//! a whole frame (OP_COMPRESSED unwrapped transparently), and the size limits a
//! message must respect before it is sent.

use bson::RawDocument;

use crate::compressor::{may_compress, Compressor};
use crate::documents::Documents;
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
        Message::decode_inner(frame, max_message_size, None)
    }

    /// [`Message::decode`] for a reply on a connection that negotiated `negotiated`
    /// (or no compressor): an OP_COMPRESSED whose compressor is not that one fails with
    /// [`WireError::CompressorNotNegotiated`] before any decompression, so that a peer
    /// reaches only the decompressor the connection agreed to.
    pub fn decode_reply(
        frame: &[u8],
        max_message_size: usize,
        negotiated: Option<&Compressor>,
    ) -> Result<Decoded> {
        Message::decode_inner(
            frame,
            max_message_size,
            Some(negotiated.map(Compressor::id)),
        )
    }

    /// `allowed`: `None` accepts any compressor, `Some(None)` none, `Some(Some(id))`
    /// only that one.
    fn decode_inner(
        frame: &[u8],
        max_message_size: usize,
        allowed: Option<Option<u8>>,
    ) -> Result<Decoded> {
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
        if let Some(allowed) = allowed {
            if allowed != Some(parts.compressor.id()) {
                return Err(WireError::CompressorNotNegotiated(parts.compressor.id()));
            }
        }
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

fn check_documents(docs: &Documents, max: usize) -> Result<()> {
    docs.iter().try_for_each(|d| check_document(d, max))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op_delete::DeleteFlags;
    use crate::op_insert::InsertFlags;
    use crate::op_msg::{DocumentSequence, MsgFlags};
    use crate::op_update::UpdateFlags;
    use bson::{rawdoc, RawDocumentBuf};

    const MAX: usize = 1 << 20;

    fn one_of_each() -> Vec<Message> {
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

    fn compressors() -> [Compressor; 4] {
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
    fn a_corrupted_compressed_checksummed_msg_is_caught() {
        let m: Message = OpMsg::new(rawdoc! { "ping": 1 })
            .with_flags(MsgFlags::CHECKSUM_PRESENT)
            .into();
        let mut buf = Vec::new();
        m.encode_compressed(5, 6, &Compressor::Noop, &mut buf)
            .unwrap();
        // Change the requestID: the checksum covers the rebuilt header.
        buf[4] ^= 1;
        assert!(matches!(
            Message::decode(&buf, MAX),
            Err(WireError::ChecksumMismatch { .. })
        ));
    }

    fn frame(op_code: i32, body: &[u8]) -> Vec<u8> {
        let mut f = Vec::new();
        Header {
            message_length: (HEADER_LEN + body.len()) as i32,
            request_id: 1,
            response_to: 0,
            op_code,
        }
        .write_to(&mut f);
        f.extend_from_slice(body);
        f
    }

    fn compressed_body(original: i32, size: i32, id: u8, data: &[u8]) -> Vec<u8> {
        let mut b = original.to_le_bytes().to_vec();
        b.extend_from_slice(&size.to_le_bytes());
        b.push(id);
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn frame_lengths_are_checked() {
        let mut buf = Vec::new();
        one_of_each()[6].encode(1, 0, &mut buf).unwrap();
        for bad in [0i32, 15, -16, i32::MIN] {
            let mut f = buf.clone();
            f[..4].copy_from_slice(&bad.to_le_bytes());
            assert_eq!(
                Message::decode(&f, MAX),
                Err(WireError::MessageLength {
                    length: i64::from(bad),
                    max: MAX
                })
            );
        }
        assert_eq!(
            Message::decode(&buf, buf.len() - 1),
            Err(WireError::MessageLength {
                length: buf.len() as i64,
                max: buf.len() - 1
            })
        );
        assert!(Message::decode(&buf, buf.len()).is_ok());
        // Announced length and real length disagree.
        let mut longer = buf.clone();
        longer.push(0);
        assert!(matches!(
            Message::decode(&longer, MAX),
            Err(WireError::Malformed(_))
        ));
        assert!(matches!(
            Message::decode(&buf[..buf.len() - 1], MAX),
            Err(WireError::Malformed(_))
        ));
        assert!(matches!(
            Message::decode(&buf[..8], MAX),
            Err(WireError::Malformed(_))
        ));
    }

    #[test]
    fn unknown_opcodes_are_refused() {
        for op in [0, 2003, 2010, 9999] {
            assert_eq!(
                Message::decode(&frame(op, b""), MAX),
                Err(WireError::UnknownOpCode(op))
            );
        }
    }

    #[test]
    fn bad_op_compressed_fields_are_refused() {
        let mut inner = Vec::new();
        one_of_each()[6].encode(1, 0, &mut inner).unwrap();
        let inner_body = &inner[HEADER_LEN..];
        let size = inner_body.len() as i32;
        let ok = frame(2012, &compressed_body(2005, size, 0, inner_body));
        assert!(Message::decode(&ok, MAX).is_ok());
        assert_eq!(
            Message::decode(
                &frame(2012, &compressed_body(2005, size, 4, inner_body)),
                MAX
            ),
            Err(WireError::UnknownCompressor(4))
        );
        assert_eq!(
            Message::decode(&frame(2012, &compressed_body(5, size, 0, inner_body)), MAX),
            Err(WireError::UnknownOpCode(5))
        );
        assert!(matches!(
            Message::decode(
                &frame(2012, &compressed_body(2012, size, 0, inner_body)),
                MAX
            ),
            Err(WireError::Malformed(_))
        ));
        for wrong in [size - 1, size + 1, 0] {
            assert!(
                matches!(
                    Message::decode(
                        &frame(2012, &compressed_body(2005, wrong, 0, inner_body)),
                        MAX
                    ),
                    Err(WireError::Compression(_))
                ),
                "{wrong}"
            );
        }
        assert!(matches!(
            Message::decode(&frame(2012, &compressed_body(2005, -1, 0, inner_body)), MAX),
            Err(WireError::Malformed(_))
        ));
        assert!(matches!(
            Message::decode(
                &frame(2012, &compressed_body(2005, MAX as i32, 1, b"x")),
                MAX
            ),
            Err(WireError::MessageLength { .. })
        ));
        // The decompressed body must itself be a valid message of the original kind.
        assert!(matches!(
            Message::decode(&frame(2012, &compressed_body(2005, 3, 0, b"abc")), MAX),
            Err(WireError::Malformed(_))
        ));
        assert!(matches!(
            Message::decode(&frame(2012, &[1, 2]), MAX),
            Err(WireError::Malformed(_))
        ));
    }

    #[test]
    fn decode_parts_refuses_op_compressed() {
        let h = Header {
            message_length: 16,
            request_id: 0,
            response_to: 0,
            op_code: 2012,
        };
        assert!(matches!(
            Message::decode_parts(&h, b""),
            Err(WireError::Malformed(_))
        ));
    }

    fn doc_of_size(size: usize) -> RawDocumentBuf {
        // {"s": "<n chars>"}: 4 + (1 + 2 + 4 + n + 1) + 1 bytes.
        let s = "x".repeat(size - 13);
        let d = rawdoc! { "s": s };
        assert_eq!(d.as_bytes().len(), size);
        d
    }

    #[test]
    fn limits_allow_the_command_overhead_only_on_command_bodies() {
        let limits = Limits {
            max_bson_object_size: 100,
            max_message_size_bytes: 10_000,
            max_write_batch_size: 3,
        };
        let at_bson_max = doc_of_size(100);
        let over_bson_max = doc_of_size(101);
        let at_command_max = doc_of_size(100 + COMMAND_OVERHEAD_BYTES);
        let over_command_max = doc_of_size(101 + COMMAND_OVERHEAD_BYTES);
        let big = Limits {
            max_message_size_bytes: 1 << 20,
            ..limits
        };

        let msg = |body: RawDocumentBuf, seq: Vec<RawDocumentBuf>| -> Message {
            OpMsg::new(body)
                .with_sequence(DocumentSequence::new("documents", seq))
                .into()
        };
        assert!(msg(at_command_max.clone(), vec![at_bson_max.clone()])
            .check_limits(&big)
            .is_ok());
        assert_eq!(
            msg(over_command_max.clone(), vec![]).check_limits(&big),
            Err(WireError::DocumentTooLarge {
                size: 101 + COMMAND_OVERHEAD_BYTES,
                max: 100 + COMMAND_OVERHEAD_BYTES
            })
        );
        assert_eq!(
            msg(rawdoc! {}, vec![over_bson_max.clone()]).check_limits(&big),
            Err(WireError::DocumentTooLarge {
                size: 101,
                max: 100
            })
        );
        assert_eq!(
            msg(rawdoc! {}, vec![rawdoc! {}; 4]).check_limits(&big),
            Err(WireError::TooManyDocuments { count: 4, max: 3 })
        );

        let command = OpQuery::command("db", at_command_max.clone());
        assert!(Message::from(command).check_limits(&big).is_ok());
        let mut query = OpQuery::command("db", over_bson_max.clone());
        query.full_collection_name = "db.c".into();
        assert!(matches!(
            Message::from(query).check_limits(&big),
            Err(WireError::DocumentTooLarge {
                size: 101,
                max: 100
            })
        ));

        let insert = |docs: Vec<RawDocumentBuf>| -> Message {
            OpInsert {
                flags: InsertFlags::EMPTY,
                full_collection_name: "db.c".into(),
                documents: docs.into(),
            }
            .into()
        };
        assert!(insert(vec![at_bson_max.clone(); 3])
            .check_limits(&big)
            .is_ok());
        assert!(insert(vec![over_bson_max.clone()])
            .check_limits(&big)
            .is_err());
        assert_eq!(
            insert(vec![rawdoc! {}; 4]).check_limits(&big),
            Err(WireError::TooManyDocuments { count: 4, max: 3 })
        );
        let update: Message = OpUpdate {
            full_collection_name: "db.c".into(),
            flags: UpdateFlags::EMPTY,
            selector: rawdoc! {},
            update: over_bson_max.clone(),
        }
        .into();
        assert!(update.check_limits(&big).is_err());
        let delete: Message = OpDelete {
            full_collection_name: "db.c".into(),
            flags: DeleteFlags::EMPTY,
            selector: over_bson_max,
        }
        .into();
        assert!(delete.check_limits(&big).is_err());

        // The whole message against maxMessageSizeBytes.
        let whole = msg(rawdoc! {}, vec![at_bson_max.clone(); 3]);
        let size = whole.encoded_len();
        let tight = Limits {
            max_message_size_bytes: size,
            ..limits
        };
        assert!(whole.check_limits(&tight).is_ok());
        let tighter = Limits {
            max_message_size_bytes: size - 1,
            ..limits
        };
        assert_eq!(
            whole.check_limits(&tighter),
            Err(WireError::DocumentTooLarge {
                size,
                max: size - 1
            })
        );
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
