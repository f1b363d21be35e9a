//! OP_COMPRESSED (2012): another message's body, compressed, behind the opcode it
//! replaces and the size it expands to.

use crate::compressor::Compressor;
use crate::error::{Result, WireError};
use crate::header::{OpCode, HEADER_LEN};
use crate::reader::WireReader;
use crate::writer::{encode_frame, put_i32};

const WHAT: &str = "OP_COMPRESSED";

/// An OP_COMPRESSED.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpCompressed {
    /// The opcode of the wrapped message (never `Compressed`).
    pub original_op_code: OpCode,
    /// Length of the wrapped message without its header.
    pub uncompressed_size: i32,
    /// The algorithm; decoded ones carry the default level.
    pub compressor: Compressor,
    /// The wrapped message without its header, compressed.
    pub compressed_message: Vec<u8>,
}

impl OpCompressed {
    /// Compresses `body`, a message of kind `original_op_code` without its header.
    pub fn compress(
        original_op_code: OpCode,
        body: &[u8],
        compressor: &Compressor,
    ) -> Result<Self> {
        if original_op_code == OpCode::Compressed {
            return Err(WireError::InvalidArgument(
                "OP_COMPRESSED cannot wrap another OP_COMPRESSED".into(),
            ));
        }
        let uncompressed_size =
            i32::try_from(body.len()).map_err(|_| WireError::DocumentTooLarge {
                size: body.len(),
                max: i32::MAX as usize,
            })?;
        Ok(OpCompressed {
            original_op_code,
            uncompressed_size,
            compressor: *compressor,
            compressed_message: compressor.compress(body)?,
        })
    }

    /// Size of the encoded message, header included.
    pub fn encoded_len(&self) -> usize {
        (HEADER_LEN + 4 + 4 + 1).saturating_add(self.compressed_message.len())
    }

    /// Appends the whole message, header included, to `buf`.
    pub fn encode(&self, request_id: i32, response_to: i32, buf: &mut Vec<u8>) -> Result<()> {
        encode_frame(buf, request_id, response_to, OpCode::Compressed, |buf| {
            buf.reserve(self.encoded_len().saturating_sub(HEADER_LEN));
            put_i32(buf, self.original_op_code.as_i32());
            put_i32(buf, self.uncompressed_size);
            buf.push(self.compressor.id());
            buf.extend_from_slice(&self.compressed_message);
            Ok(())
        })
        .map(drop)
    }

    /// Decodes the bytes after the 16-byte header (without decompressing).
    pub fn decode_body(body: &[u8]) -> Result<Self> {
        let parts = CompressedParts::parse(body)?;
        Ok(OpCompressed {
            original_op_code: parts.original_op_code,
            uncompressed_size: parts.uncompressed_size,
            compressor: parts.compressor,
            compressed_message: parts.compressed.to_vec(),
        })
    }

    /// The wrapped message's body, decompressed. `uncompressed_size` is checked against
    /// `max_message_size` (with the header it replaces) before anything is allocated,
    /// and against what the data really expands to.
    pub fn decompress(&self, max_message_size: usize) -> Result<Vec<u8>> {
        CompressedParts {
            original_op_code: self.original_op_code,
            uncompressed_size: self.uncompressed_size,
            compressor: self.compressor,
            compressed: &self.compressed_message,
        }
        .decompress(max_message_size)
    }
}

/// OP_COMPRESSED fields borrowed from the received bytes, so that decoding a frame
/// does not copy the compressed data.
pub(crate) struct CompressedParts<'a> {
    pub(crate) original_op_code: OpCode,
    pub(crate) uncompressed_size: i32,
    pub(crate) compressor: Compressor,
    pub(crate) compressed: &'a [u8],
}

impl<'a> CompressedParts<'a> {
    pub(crate) fn parse(body: &'a [u8]) -> Result<Self> {
        let mut r = WireReader::new(body, WHAT);
        let original = r.read_i32("originalOpcode")?;
        let original_op_code = OpCode::try_from(original)?;
        if original_op_code == OpCode::Compressed {
            return Err(r.error("originalOpcode is OP_COMPRESSED itself"));
        }
        let uncompressed_size = r.read_i32("uncompressedSize")?;
        let compressor = Compressor::from_id(r.read_u8("compressorId")?)?;
        let compressed = r.take(r.remaining(), "compressedMessage")?;
        Ok(CompressedParts {
            original_op_code,
            uncompressed_size,
            compressor,
            compressed,
        })
    }

    pub(crate) fn decompress(&self, max_message_size: usize) -> Result<Vec<u8>> {
        let size = usize::try_from(self.uncompressed_size).map_err(|_| {
            WireError::Malformed(format!(
                "{WHAT}: uncompressedSize is negative ({})",
                self.uncompressed_size
            ))
        })?;
        let whole = size.saturating_add(HEADER_LEN);
        if whole > max_message_size {
            return Err(WireError::MessageLength {
                length: i64::from(self.uncompressed_size) + HEADER_LEN as i64,
                max: max_message_size,
            });
        }
        self.compressor.decompress(self.compressed, size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::Header;

    fn body() -> Vec<u8> {
        (0..300u32).map(|i| (i % 7) as u8).collect()
    }

    #[test]
    fn encode_decode_decompress() {
        for c in [
            Compressor::Noop,
            Compressor::Snappy,
            Compressor::Zlib { level: None },
            Compressor::Zstd { level: None },
        ] {
            let m = OpCompressed::compress(OpCode::Msg, &body(), &c).unwrap();
            let mut buf = Vec::new();
            m.encode(3, 4, &mut buf).unwrap();
            let h = Header::parse(&buf).unwrap();
            assert_eq!(h.op_code, 2012);
            assert_eq!(h.message_length as usize, buf.len());
            assert_eq!(buf.len(), m.encoded_len());
            let back = OpCompressed::decode_body(&buf[HEADER_LEN..]).unwrap();
            assert_eq!(back, m);
            assert_eq!(back.decompress(1000).unwrap(), body());
        }
    }

    fn raw(original: i32, size: i32, id: u8, data: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&original.to_le_bytes());
        b.extend_from_slice(&size.to_le_bytes());
        b.push(id);
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn bad_fields_are_refused() {
        assert_eq!(
            OpCompressed::decode_body(&raw(2013, 3, 9, b"abc")),
            Err(WireError::UnknownCompressor(9))
        );
        assert_eq!(
            OpCompressed::decode_body(&raw(77, 3, 0, b"abc")),
            Err(WireError::UnknownOpCode(77))
        );
        assert!(matches!(
            OpCompressed::decode_body(&raw(2012, 3, 0, b"abc")),
            Err(WireError::Malformed(_))
        ));
        for n in 0..9 {
            assert!(matches!(
                OpCompressed::decode_body(&raw(2013, 3, 0, b"abc")[..n]),
                Err(WireError::Malformed(_))
            ));
        }
    }

    #[test]
    fn uncompressed_size_is_checked_before_and_after() {
        let negative = OpCompressed::decode_body(&raw(2013, -1, 0, b"abc")).unwrap();
        assert!(matches!(
            negative.decompress(1000),
            Err(WireError::Malformed(_))
        ));
        let huge = OpCompressed::decode_body(&raw(2013, i32::MAX, 1, b"abc")).unwrap();
        assert_eq!(
            huge.decompress(1000),
            Err(WireError::MessageLength {
                length: i64::from(i32::MAX) + 16,
                max: 1000
            })
        );
        // Exactly at the limit: header + 3 bytes.
        let exact = OpCompressed::decode_body(&raw(2013, 3, 0, b"abc")).unwrap();
        assert_eq!(exact.decompress(19).unwrap(), b"abc");
        assert!(matches!(
            exact.decompress(18),
            Err(WireError::MessageLength { .. })
        ));
        let wrong = OpCompressed::decode_body(&raw(2013, 4, 0, b"abc")).unwrap();
        assert!(matches!(
            wrong.decompress(1000),
            Err(WireError::Compression(_))
        ));
    }

    #[test]
    fn nesting_is_refused_when_encoding() {
        assert!(matches!(
            OpCompressed::compress(OpCode::Compressed, b"x", &Compressor::Noop),
            Err(WireError::InvalidArgument(_))
        ));
    }
}
