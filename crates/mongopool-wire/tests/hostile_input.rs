//! What a hostile peer can send the decoder: bounded work and bounded memory.
//!
//! Memory is measured with a counting allocator ([`peak_alloc`]); the tests run one
//! at a time (a lock) so that one test's allocations do not count for another.

use std::sync::Mutex;

use bson::rawdoc;
use mongopool_wire::op_msg::MAX_DOCUMENT_SEQUENCES;
use mongopool_wire::{
    DocumentSequence, Header, Message, OpMsg, OpReply, WireError, DEFAULT_MAX_MESSAGE_SIZE_BYTES,
    HEADER_LEN,
};
use peak_alloc::PeakAlloc;

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn frame(op_code: i32, parts: &[&[u8]]) -> Vec<u8> {
    let len = HEADER_LEN + parts.iter().map(|p| p.len()).sum::<usize>();
    let mut f = Vec::with_capacity(len);
    Header {
        message_length: len as i32,
        request_id: 1,
        response_to: 0,
        op_code,
    }
    .write_to(&mut f);
    for p in parts {
        f.extend_from_slice(p);
    }
    f
}

/// An OP_MSG with a body and `count` empty sequences with distinct identifiers.
fn many_sequences(count: usize) -> Vec<u8> {
    let mut sections = vec![0u8];
    sections.extend_from_slice(rawdoc! { "ok": 1 }.as_bytes());
    for i in 0..count {
        let id = format!("{i:x}");
        sections.push(1);
        sections.extend_from_slice(&((4 + id.len() + 1) as i32).to_le_bytes());
        sections.extend_from_slice(id.as_bytes());
        sections.push(0);
    }
    frame(2013, &[&0u32.to_le_bytes(), &sections])
}

/// An OP_REPLY of `count` empty documents (5 bytes each).
fn tiny_documents(count: usize) -> Vec<u8> {
    let fixed = [
        0u32.to_le_bytes().as_slice(),
        0i64.to_le_bytes().as_slice(),
        0i32.to_le_bytes().as_slice(),
        (count as i32).to_le_bytes().as_slice(),
    ]
    .concat();
    let docs = [5u8, 0, 0, 0, 0].repeat(count);
    frame(1, &[&fixed, &docs])
}

#[test]
fn more_document_sequences_than_the_cap_are_refused() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let at_cap = Message::decode(
        &many_sequences(MAX_DOCUMENT_SEQUENCES),
        DEFAULT_MAX_MESSAGE_SIZE_BYTES,
    )
    .unwrap();
    assert!(
        matches!(at_cap.message, Message::Msg(m) if m.sequences.len() == MAX_DOCUMENT_SEQUENCES)
    );
    let over = Message::decode(
        &many_sequences(MAX_DOCUMENT_SEQUENCES + 1),
        DEFAULT_MAX_MESSAGE_SIZE_BYTES,
    );
    assert!(
        matches!(&over, Err(WireError::Malformed(m)) if m.contains("document sequences")),
        "{over:?}"
    );
    // The encoder refuses what the decoder would.
    let mut msg = OpMsg::new(rawdoc! { "insert": "c" });
    for i in 0..=MAX_DOCUMENT_SEQUENCES {
        msg = msg.with_sequence(DocumentSequence::new(format!("s{i}"), vec![]));
    }
    assert!(matches!(
        msg.encode(1, 0, &mut Vec::new()),
        Err(WireError::InvalidArgument(_))
    ));
}

#[test]
fn a_48_mb_frame_of_millions_of_sequences_is_refused_after_the_cap() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // About 4 million sequences; with a linear scan per sequence (quadratic in all)
    // this decode would run for hours.
    let f = many_sequences((DEFAULT_MAX_MESSAGE_SIZE_BYTES - 1000) / 12);
    assert!(f.len() <= DEFAULT_MAX_MESSAGE_SIZE_BYTES);
    assert!(Message::decode(&f, DEFAULT_MAX_MESSAGE_SIZE_BYTES).is_err());
}

/// The largest memory / wire-size factor of a decoded reply, stated in the docs of
/// `Documents`: its bytes are the wire bytes, in one buffer.
const MAX_MEMORY_OVER_WIRE: f64 = 1.1;

#[test]
fn a_reply_of_millions_of_tiny_documents_costs_about_its_wire_size() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let count = 2_000_000;
    let f = tiny_documents(count);
    ALLOCATOR.reset_peak_usage();
    let before = ALLOCATOR.current_usage();
    let decoded = Message::decode(&f, DEFAULT_MAX_MESSAGE_SIZE_BYTES).unwrap();
    let peak = ALLOCATOR.peak_usage().saturating_sub(before);
    let held = ALLOCATOR.current_usage().saturating_sub(before);
    let Message::Reply(reply) = &decoded.message else {
        panic!("{:?}", decoded.message.op_code());
    };
    assert_eq!(reply.documents.len(), count);
    assert_eq!(reply.documents.iter().count(), count);
    let factor = peak as f64 / f.len() as f64;
    println!(
        "{count} documents, {} wire bytes: peak {peak} B while decoding ({factor:.3}x), \
         {held} B held after",
        f.len()
    );
    assert!(
        factor <= MAX_MEMORY_OVER_WIRE,
        "peak {factor:.2}x the wire size"
    );
    drop(decoded);
    let _ = OpReply::new(vec![rawdoc! {}]).unwrap();
}
