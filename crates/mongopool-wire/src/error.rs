//! The one error type of the sans-IO layer.
//!
//! Everything here is about bytes: a message that is malformed, too large, or that
//! fails a check. The async crate wraps these into its own `Error` (as a protocol
//! violation, or as "document too large").

use std::fmt;

/// What went wrong while encoding or decoding a message, or running SCRAM.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// A message header announced a length outside `16..=max`.
    /// Refused before anything was allocated.
    MessageLength {
        /// The announced `messageLength`.
        length: i64,
        /// The largest length that was acceptable.
        max: usize,
    },
    /// A document is larger than the server accepts.
    DocumentTooLarge {
        /// Size of the offending document, in bytes.
        size: usize,
        /// The largest size that was acceptable.
        max: usize,
    },
    /// A batch holds more documents than the server accepts in one write
    /// (`maxWriteBatchSize`). A caller-side error, like [`WireError::DocumentTooLarge`].
    TooManyDocuments {
        /// Number of documents in the batch.
        count: usize,
        /// The largest number that was acceptable.
        max: usize,
    },
    /// The bytes do not form a valid message of the announced kind.
    Malformed(String),
    /// An opcode this crate does not know.
    UnknownOpCode(i32),
    /// OP_MSG with a required flag bit (0-15) that this client does not understand.
    UnsupportedRequiredFlags(u32),
    /// OP_MSG checksum present but wrong.
    ChecksumMismatch {
        /// The checksum carried by the message.
        expected: u32,
        /// The checksum computed over the received bytes.
        computed: u32,
    },
    /// A compressor id that is not 0 (noop), 1 (snappy), 2 (zlib) or 3 (zstd).
    UnknownCompressor(u8),
    /// An OP_COMPRESSED used a compressor that was not negotiated for the connection
    /// (its id; 0 to 3 are the known ones).
    CompressorNotNegotiated(u8),
    /// Compression or decompression failed, or the decompressed size did not match.
    Compression(String),
    /// The SCRAM conversation failed (the server is not who it claims, or it said no).
    Authentication(String),
    /// The caller passed something that cannot be encoded (bad name, bad level...).
    InvalidArgument(String),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::MessageLength { length, max } => write!(
                f,
                "message length {length} is outside the accepted range 16..={max}"
            ),
            WireError::DocumentTooLarge { size, max } => write!(
                f,
                "document of {size} bytes is larger than the maximum of {max} bytes"
            ),
            WireError::TooManyDocuments { count, max } => write!(
                f,
                "batch of {count} documents is larger than the maximum of {max} documents"
            ),
            WireError::Malformed(m) => write!(f, "malformed message: {m}"),
            WireError::UnknownOpCode(op) => write!(f, "unknown opcode {op}"),
            WireError::UnsupportedRequiredFlags(bits) => {
                write!(f, "OP_MSG has unsupported required flag bits {bits:#06x}")
            }
            WireError::ChecksumMismatch { expected, computed } => write!(
                f,
                "OP_MSG checksum mismatch: message says {expected:#010x}, computed {computed:#010x}"
            ),
            WireError::UnknownCompressor(id) => write!(f, "unknown compressor id {id}"),
            WireError::CompressorNotNegotiated(id) => write!(
                f,
                "OP_COMPRESSED with compressor id {id}, which was not negotiated for this connection"
            ),
            WireError::Compression(m) => write!(f, "compression error: {m}"),
            WireError::Authentication(m) => write!(f, "authentication failed: {m}"),
            WireError::InvalidArgument(m) => write!(f, "invalid argument: {m}"),
        }
    }
}

impl std::error::Error for WireError {}

/// Result alias of this crate.
pub type Result<T, E = WireError> = std::result::Result<T, E>;
