//! Sans-IO MongoDB wire protocol.
//!
//! Bytes in, bytes out: every message a MongoDB client sends or receives, encoded into
//! a caller-owned buffer and decoded from borrowed bytes, with no sockets and no
//! runtime. Decoding never panics on any input; lengths are checked before anything is
//! allocated. The async crate `mongopool` drives this one.
//!
//! ```
//! use bson::rawdoc;
//! use mongopool_wire::{Message, OpMsg, DEFAULT_MAX_MESSAGE_SIZE_BYTES};
//!
//! let ping = Message::Msg(OpMsg::new(rawdoc! { "ping": 1, "$db": "admin" }));
//! let mut buf = Vec::new();
//! ping.encode(1, 0, &mut buf)?;
//! let decoded = Message::decode(&buf, DEFAULT_MAX_MESSAGE_SIZE_BYTES)?;
//! assert_eq!(decoded.message, ping);
//! # Ok::<(), mongopool_wire::WireError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod mongodb_cr;
pub mod plain;
pub mod saslprep;
pub mod scram;

mod flags;
mod reader;
mod writer;
#[cfg(feature = "zstd")]
mod zstd_contexts;

pub mod compressor;
pub mod decoder;
pub mod documents;
pub mod header;
pub mod limits;
pub mod message;
pub mod op_compressed;
pub mod op_delete;
pub mod op_get_more;
pub mod op_insert;
pub mod op_kill_cursors;
pub mod op_msg;
pub mod op_query;
pub mod op_reply;
pub mod op_update;

pub use compressor::{may_compress, Compressor};
pub use decoder::MessageDecoder;
pub use documents::{Documents, DocumentsIter};
pub use error::{Result, WireError};
pub use header::{Header, OpCode, HEADER_LEN};
pub use limits::{
    check_message_length, Limits, COMMAND_OVERHEAD_BYTES, DEFAULT_MAX_BSON_OBJECT_SIZE,
    DEFAULT_MAX_MESSAGE_SIZE_BYTES, DEFAULT_MAX_MESSAGE_SIZE_CEILING, DEFAULT_MAX_WRITE_BATCH_SIZE,
};
pub use message::{Decoded, Message};
pub use op_compressed::OpCompressed;
pub use op_delete::{DeleteFlags, OpDelete};
pub use op_get_more::OpGetMore;
pub use op_insert::{InsertFlags, OpInsert};
pub use op_kill_cursors::OpKillCursors;
pub use op_msg::{DocumentSequence, MsgFlags, OpMsg};
pub use op_query::{OpQuery, QueryFlags};
pub use op_reply::{OpReply, ReplyFlags};
pub use op_update::{OpUpdate, UpdateFlags};
