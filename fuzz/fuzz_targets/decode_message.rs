//! Any bytes through `Message::decode`: it must never panic, and whatever it accepts
//! must encode back (plain and, if it came compressed, compressed again) to a frame that
//! decodes to the same message. Encoding is canonical: a second round trip gives the
//! same bytes as the first.
#![no_main]

use bson::{RawBsonRef, RawDocument};
use libfuzzer_sys::fuzz_target;
use mongopool_wire::{Limits, Message};

/// Small, so that the length checks are hit often and no input allocates much.
const MAX_MESSAGE_SIZE: usize = 64 * 1024;

/// Deep enough for anything the corpus holds, shallow enough to stay fast.
const MAX_DEPTH: usize = 16;

fuzz_target!(|data: &[u8]| {
    let Ok(decoded) = Message::decode(data, MAX_MESSAGE_SIZE) else {
        return;
    };
    let message = &decoded.message;
    // What the async layer does with a received message must not panic either.
    let _ = message.command_name();
    let _ = message.may_compress();
    let _ = message.check_limits(&Limits::default());
    for_each_document(message, |doc| walk(doc, 0));

    let (request_id, response_to) = (decoded.header.request_id, decoded.header.response_to);
    let mut plain = Vec::new();
    message
        .encode(request_id, response_to, &mut plain)
        .expect("a decoded message encodes");
    assert_eq!(plain.len(), message.encoded_len());
    // Decompression is bounded by the same maximum, so the plain frame fits it.
    let again = Message::decode(&plain, MAX_MESSAGE_SIZE).expect("our own frame decodes");
    assert_eq!(&again.message, message);
    assert_eq!(again.compressor, None);
    assert_eq!(
        (again.header.request_id, again.header.response_to),
        (request_id, response_to)
    );
    let mut canonical = Vec::new();
    again
        .message
        .encode(request_id, response_to, &mut canonical)
        .expect("a decoded message encodes");
    assert_eq!(canonical, plain, "encoding is not canonical");

    if let Some(compressor) = decoded.compressor {
        let mut compressed = Vec::new();
        message
            .encode_compressed(request_id, response_to, &compressor, &mut compressed)
            .expect("a decoded message compresses");
        // Compressed output may be a little larger than the plain frame.
        let back = Message::decode(&compressed, usize::MAX).expect("our compressed frame decodes");
        assert_eq!(&back.message, message);
        assert_eq!(back.compressor.map(|c| c.id()), Some(compressor.id()));
    }
});

fn for_each_document(message: &Message, mut f: impl FnMut(&RawDocument)) {
    match message {
        Message::Msg(m) => {
            f(&m.body);
            m.sequences
                .iter()
                .flat_map(|s| &s.documents)
                .for_each(|d| f(d));
        }
        Message::Query(q) => {
            f(&q.query);
            if let Some(fields) = &q.return_fields_selector {
                f(fields);
            }
        }
        Message::Reply(r) => r.documents.iter().for_each(|d| f(d)),
        Message::Insert(i) => i.documents.iter().for_each(|d| f(d)),
        Message::Update(u) => {
            f(&u.selector);
            f(&u.update);
        }
        Message::Delete(d) => f(&d.selector),
        Message::GetMore(_) | Message::KillCursors(_) => {}
    }
}

/// Reads every element, as a consumer of the documents would; errors are fine.
fn walk(doc: &RawDocument, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    for element in doc.iter() {
        let Ok((_key, value)) = element else {
            return;
        };
        match value {
            RawBsonRef::Document(d) => walk(d, depth + 1),
            RawBsonRef::Array(a) => {
                for item in a {
                    match item {
                        Ok(RawBsonRef::Document(d)) => walk(d, depth + 1),
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
            }
            _ => {}
        }
    }
}
