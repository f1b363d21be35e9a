//! The 16-byte header every message starts with, and the opcodes it can name.

use crate::error::{Result, WireError};

/// Length in bytes of the standard message header.
pub const HEADER_LEN: usize = 16;

/// The standard message header: four little-endian int32s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Total length of the message, header included.
    pub message_length: i32,
    /// Identifier the sender chose for this message.
    pub request_id: i32,
    /// `request_id` of the message this one answers (0 for requests).
    pub response_to: i32,
    /// The raw opcode; see [`OpCode`].
    pub op_code: i32,
}

impl Header {
    /// Reads a header from the first 16 bytes of `bytes`.
    ///
    /// Only the presence of 16 bytes is checked: validate `message_length` with
    /// [`check_message_length`](crate::check_message_length) and the opcode with
    /// [`OpCode::try_from`] before trusting either.
    pub fn parse(bytes: &[u8]) -> Result<Header> {
        let field = |at: usize| -> Result<i32> {
            bytes
                .get(at..at + 4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(i32::from_le_bytes)
                .ok_or_else(|| {
                    WireError::Malformed(format!(
                        "a message header needs {HEADER_LEN} bytes, got {}",
                        bytes.len()
                    ))
                })
        };
        Ok(Header {
            message_length: field(0)?,
            request_id: field(4)?,
            response_to: field(8)?,
            op_code: field(12)?,
        })
    }

    /// Appends the 16 header bytes to `buf`.
    pub fn write_to(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&self.to_bytes());
    }

    /// The 16 header bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        let fields = [
            self.message_length,
            self.request_id,
            self.response_to,
            self.op_code,
        ];
        for (slot, field) in out.chunks_exact_mut(4).zip(fields) {
            slot.copy_from_slice(&field.to_le_bytes());
        }
        out
    }
}

/// Every opcode a MongoDB client sends or receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum OpCode {
    /// OP_REPLY: the answer to OP_QUERY and OP_GET_MORE.
    Reply = 1,
    /// OP_UPDATE: legacy update, no reply.
    Update = 2001,
    /// OP_INSERT: legacy insert, no reply.
    Insert = 2002,
    /// OP_QUERY: legacy query or command (`<db>.$cmd`).
    Query = 2004,
    /// OP_GET_MORE: legacy next batch of a cursor.
    GetMore = 2005,
    /// OP_DELETE: legacy delete, no reply.
    Delete = 2006,
    /// OP_KILL_CURSORS: legacy cursor cleanup, no reply.
    KillCursors = 2007,
    /// OP_COMPRESSED: another message, compressed.
    Compressed = 2012,
    /// OP_MSG: the modern, bidirectional message.
    Msg = 2013,
}

impl OpCode {
    /// The value carried in the header.
    pub fn as_i32(self) -> i32 {
        self as i32
    }
}

impl TryFrom<i32> for OpCode {
    type Error = WireError;

    fn try_from(value: i32) -> Result<OpCode> {
        Ok(match value {
            1 => OpCode::Reply,
            2001 => OpCode::Update,
            2002 => OpCode::Insert,
            2004 => OpCode::Query,
            2005 => OpCode::GetMore,
            2006 => OpCode::Delete,
            2007 => OpCode::KillCursors,
            2012 => OpCode::Compressed,
            2013 => OpCode::Msg,
            other => return Err(WireError::UnknownOpCode(other)),
        })
    }
}

impl From<OpCode> for i32 {
    fn from(op: OpCode) -> i32 {
        op as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_little_endian() {
        let h = Header {
            message_length: 0x0102_0304,
            request_id: -7,
            response_to: 42,
            op_code: 2013,
        };
        let mut buf = vec![0xAA];
        h.write_to(&mut buf);
        assert_eq!(buf.len(), 1 + HEADER_LEN);
        assert_eq!(&buf[1..5], &[4, 3, 2, 1]);
        assert_eq!(Header::parse(&buf[1..]).unwrap(), h);
    }

    #[test]
    fn header_parse_ignores_trailing_bytes() {
        let mut buf = Vec::new();
        let h = Header {
            message_length: 20,
            request_id: 1,
            response_to: 2,
            op_code: 1,
        };
        h.write_to(&mut buf);
        buf.extend_from_slice(&[9, 9, 9, 9]);
        assert_eq!(Header::parse(&buf).unwrap(), h);
    }

    #[test]
    fn header_parse_refuses_short_input() {
        for n in 0..HEADER_LEN {
            let bytes = vec![0u8; n];
            assert!(matches!(
                Header::parse(&bytes),
                Err(WireError::Malformed(_))
            ));
        }
    }

    #[test]
    fn opcodes_convert_both_ways() {
        for op in [
            OpCode::Reply,
            OpCode::Update,
            OpCode::Insert,
            OpCode::Query,
            OpCode::GetMore,
            OpCode::Delete,
            OpCode::KillCursors,
            OpCode::Compressed,
            OpCode::Msg,
        ] {
            assert_eq!(OpCode::try_from(op.as_i32()).unwrap(), op);
            assert_eq!(i32::from(op), op.as_i32());
        }
        assert_eq!(OpCode::Msg.as_i32(), 2013);
        assert_eq!(OpCode::Compressed.as_i32(), 2012);
    }

    #[test]
    fn unknown_opcodes_are_refused() {
        for v in [0, 2, 1000, 2003, 2010, 2011, 2014, -1, i32::MAX] {
            assert_eq!(OpCode::try_from(v), Err(WireError::UnknownOpCode(v)));
        }
    }
}
