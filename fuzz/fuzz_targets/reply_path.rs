//! The path a reply takes through a connection: a frame from the server is decoded
//! with the connection's negotiated compressor (any other is refused before
//! decompression), its `responseTo` checked, its document taken out (OP_MSG body or
//! OP_REPLY's first document, QueryFailure and unexpected moreToCome refused), then
//! read by mongopool's reply checks (`check_command_reply`) and, as the handshake
//! does, by `HelloReply::parse`. Nothing may panic, a decompressed reply must have
//! used the negotiated compressor, and a parsed hello's limits stay under the ceiling.
//!
//! Input layout: byte 0 bits 0-1 pick the negotiated compressor (none, snappy, zlib,
//! zstd), bit 2 says whether the request allowed exhaust; the rest is the frame, which
//! must answer request 1.
#![no_main]

use bson::RawDocumentBuf;
use libfuzzer_sys::fuzz_target;
use mongopool::check_command_reply;
use mongopool::HelloReply;
use mongopool_wire::{Compressor, Message, MsgFlags, ReplyFlags};

/// Small, so that refused lengths are common; the ceiling the hello is clamped to.
const MAX_MESSAGE_SIZE: usize = 64 * 1024;
const REQUEST_ID: i32 = 1;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, frame)) = data.split_first() else {
        return;
    };
    let negotiated = match selector & 3 {
        0 => None,
        1 => Some(Compressor::Snappy),
        2 => Some(Compressor::Zlib { level: None }),
        _ => Some(Compressor::Zstd { level: None }),
    };
    let exhaust_allowed = selector & 4 != 0;
    let Ok(decoded) = Message::decode_reply(frame, MAX_MESSAGE_SIZE, negotiated.as_ref()) else {
        return;
    };
    if let Some(used) = decoded.compressor {
        assert_eq!(Some(used.id()), negotiated.map(|c| c.id()), "not negotiated");
    }
    if decoded.header.response_to != REQUEST_ID {
        return;
    }
    let Some(document) = reply_document(decoded.message, exhaust_allowed) else {
        return;
    };
    let _ = check_command_reply(&document, &[]);
    if let Ok(hello) = HelloReply::parse_with_ceiling(document, MAX_MESSAGE_SIZE) {
        assert!(hello.max_message_size_bytes <= MAX_MESSAGE_SIZE);
        assert!(hello.max_bson_object_size <= MAX_MESSAGE_SIZE);
        let _ = hello.server_version_hint();
    }
});

/// The document a connection takes out of a reply, or `None` where it refuses it.
fn reply_document(message: Message, exhaust_allowed: bool) -> Option<RawDocumentBuf> {
    match message {
        Message::Msg(m) => {
            if m.flags.contains(MsgFlags::MORE_TO_COME) && !exhaust_allowed {
                return None;
            }
            Some(m.body)
        }
        Message::Reply(r) => {
            let first = r.documents.first()?.to_owned();
            // A query failure becomes an error carrying the document; read it as the
            // error path does.
            if r.flags.contains(ReplyFlags::QUERY_FAILURE) {
                let _ = first.get_i32("code");
                let _ = first.get_str("$err");
            }
            Some(first)
        }
        _ => None,
    }
}
