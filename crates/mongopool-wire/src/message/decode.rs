//! Decoding a whole frame: its length checked, OP_COMPRESSED unwrapped transparently
//! (and, for a reply, refused unless its compressor was negotiated), the message
//! decoded by its opcode.

use crate::compressor::Compressor;
use crate::error::{Result, WireError};
use crate::header::{Header, OpCode, HEADER_LEN};
use crate::limits::check_message_length;
use crate::op_compressed::CompressedParts;
use crate::op_delete::OpDelete;
use crate::op_get_more::OpGetMore;
use crate::op_insert::OpInsert;
use crate::op_kill_cursors::OpKillCursors;
use crate::op_msg::OpMsg;
use crate::op_query::OpQuery;
use crate::op_reply::OpReply;
use crate::op_update::OpUpdate;

use super::Message;

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
}

#[cfg(test)]
mod tests {
    use super::super::tests::{one_of_each, MAX};
    use super::*;
    use crate::op_msg::MsgFlags;
    use bson::rawdoc;

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
}
