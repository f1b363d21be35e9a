//! Decoding what a hostile peer sends: OP_MSG frames made of many tiny document
//! sequences (each with its own identifier), and an OP_REPLY of tiny documents.
//!
//! The sequence counts grow by 4x: a decoder that is linear in them takes 4x longer
//! per step, a quadratic one 16x. The last case is the worst a 48 MB frame allows
//! (about 4 million sequences); it is only run when `MONGOPOOL_BENCH_WORST_CASE` is
//! set, since a quadratic decoder never finishes it.
//!
//! `cargo bench -p mongopool-wire --bench hostile -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use bson::rawdoc;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mongopool_wire::{Header, Message, OpReply, DEFAULT_MAX_MESSAGE_SIZE_BYTES, HEADER_LEN};

/// An OP_MSG frame: a body, then `count` sequences with distinct identifiers and no
/// documents.
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

fn decode_many_sequences(c: &mut Criterion) {
    let mut group = c.benchmark_group("op_msg_many_sequences");
    let mut counts = vec![1_000, 4_000, 16_000];
    if std::env::var_os("MONGOPOOL_BENCH_WORST_CASE").is_some() {
        // As many 12-byte sequences (6 hex digits of identifier) as a 48 MB frame holds.
        counts.push((DEFAULT_MAX_MESSAGE_SIZE_BYTES - 1000) / 12);
    }
    for count in counts {
        let f = many_sequences(count);
        assert!(f.len() <= DEFAULT_MAX_MESSAGE_SIZE_BYTES);
        group.throughput(Throughput::Bytes(f.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(count), &f, |b, f| {
            b.iter(|| {
                black_box(Message::decode(
                    black_box(f),
                    DEFAULT_MAX_MESSAGE_SIZE_BYTES,
                ))
            })
        });
    }
    group.finish();
}

fn decode_tiny_documents(c: &mut Criterion) {
    let mut group = c.benchmark_group("op_reply_tiny_documents");
    for count in [100_000usize, 1_000_000] {
        let reply = OpReply::new(vec![rawdoc! {}; count]).unwrap();
        let mut f = Vec::new();
        Message::Reply(reply).encode(1, 0, &mut f).unwrap();
        group.throughput(Throughput::Bytes(f.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(count), &f, |b, f| {
            b.iter(|| {
                black_box(Message::decode(
                    black_box(f),
                    DEFAULT_MAX_MESSAGE_SIZE_BYTES,
                ))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decode_many_sequences, decode_tiny_documents);
criterion_main!(benches);
