//! Throughput of the codec on the shapes a driver sees most: a 16 MB OP_MSG reply
//! (a `find` whose `firstBatch` fills the maximum document), the same reply arriving
//! in 64 KiB reads through the streaming decoder, an OP_REPLY of 100 small documents,
//! an insert of 1,000 small documents encoded into a reused buffer, and a compressed
//! round trip per compressor.
//!
//! `cargo bench -p mongopool-wire --bench codec -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use bson::raw::CStr;
use bson::{rawdoc, RawArrayBuf, RawDocumentBuf};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mongopool_wire::{
    Compressor, DocumentSequence, Message, MessageDecoder, OpMsg, OpReply,
    DEFAULT_MAX_MESSAGE_SIZE_BYTES,
};

/// A socket read: what the streaming decoder is fed at a time.
const READ_CHUNK: usize = 64 * 1024;

/// The size of the `firstBatch` of the big reply: as much as fits in one 16 MiB BSON
/// document with room for the envelope.
const BIG_BATCH_BYTES: usize = 16 * 1024 * 1024 - 4 * 1024;

fn key(name: &str) -> &CStr {
    <&CStr>::try_from(name).expect("keys have no NUL")
}

/// A document like a user collection's, of about `payload + 100` bytes.
fn user_document(i: i64, payload: usize) -> RawDocumentBuf {
    let mut tags = RawArrayBuf::new();
    tags.push("alpha");
    tags.push("beta");
    let mut doc = rawdoc! { "_id": i, "name": format!("user-{i:08}"), "score": i as f64 * 0.5 };
    doc.append(key("tags"), tags);
    doc.append(key("payload"), "x".repeat(payload).as_str());
    doc
}

fn small_document(i: i64) -> RawDocumentBuf {
    rawdoc! { "_id": i, "name": format!("user-{i:08}"), "active": true, "score": i as f64 * 0.5 }
}

fn encode(message: &Message) -> Vec<u8> {
    let mut frame = Vec::with_capacity(message.encoded_len());
    message
        .encode(7, 3, &mut frame)
        .expect("benchmark messages encode");
    frame
}

/// A `find` reply: `{cursor: {firstBatch: [...], id: 0, ns}, ok: 1}` of ~16 MB.
fn big_find_reply() -> Vec<u8> {
    let mut batch = RawArrayBuf::new();
    let mut size = 0;
    let mut i = 0;
    while size < BIG_BATCH_BYTES - 2048 {
        let doc = user_document(i, 900);
        size += doc.as_bytes().len() + 8;
        batch.push(doc);
        i += 1;
    }
    let mut cursor = RawDocumentBuf::new();
    cursor.append(key("firstBatch"), batch);
    cursor.append(key("id"), 0i64);
    cursor.append(key("ns"), "db.users");
    let mut body = RawDocumentBuf::new();
    body.append(key("cursor"), cursor);
    body.append(key("ok"), 1.0);
    encode(&Message::Msg(OpMsg::new(body)))
}

fn insert_command(count: i64) -> Message {
    Message::Msg(
        OpMsg::new(rawdoc! { "insert": "users", "ordered": true, "$db": "db" }).with_sequence(
            DocumentSequence::new(
                "documents",
                (0..count).map(small_document).collect::<Vec<_>>(),
            ),
        ),
    )
}

fn decode_big_op_msg(c: &mut Criterion) {
    let frame = big_find_reply();
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Bytes(frame.len() as u64));
    group.sample_size(20);
    group.bench_function("op_msg_16mb", |b| {
        b.iter(|| Message::decode(black_box(&frame), DEFAULT_MAX_MESSAGE_SIZE_BYTES).unwrap())
    });
    group.finish();

    let mut group = c.benchmark_group("stream_decoder");
    group.throughput(Throughput::Bytes(frame.len() as u64));
    group.sample_size(20);
    // One decoder for the whole run, as a connection keeps one.
    let mut decoder = MessageDecoder::new(DEFAULT_MAX_MESSAGE_SIZE_BYTES);
    group.bench_function("op_msg_16mb_in_64k_reads", |b| {
        b.iter(|| {
            let mut got = None;
            for chunk in frame.chunks(READ_CHUNK) {
                decoder.push(black_box(chunk));
                if let Some(m) = decoder.next_message().unwrap() {
                    got = Some(m);
                }
            }
            got.expect("the whole frame was pushed")
        })
    });
    group.finish();
}

fn decode_op_reply(c: &mut Criterion) {
    let reply = OpReply::new((0..100).map(small_document).collect::<Vec<_>>()).unwrap();
    let frame = encode(&Message::Reply(reply));
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Bytes(frame.len() as u64));
    group.bench_function("op_reply_100_small_docs", |b| {
        b.iter(|| Message::decode(black_box(&frame), DEFAULT_MAX_MESSAGE_SIZE_BYTES).unwrap())
    });
    group.finish();
}

fn encode_insert(c: &mut Criterion) {
    let insert = insert_command(1000);
    let mut buf = Vec::new();
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Bytes(insert.encoded_len() as u64));
    group.bench_function("op_msg_insert_1000_small_docs", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&insert).encode(1, 0, &mut buf).unwrap();
            black_box(buf.len())
        })
    });
    group.finish();
}

fn compressed_round_trip(c: &mut Criterion) {
    let insert = insert_command(100);
    let mut group = c.benchmark_group("compressed_round_trip");
    group.throughput(Throughput::Bytes(insert.encoded_len() as u64));
    for compressor in [
        Compressor::Zstd { level: None },
        Compressor::Snappy,
        Compressor::Zlib { level: None },
    ] {
        let mut buf = Vec::new();
        group.bench_function(format!("insert_100_docs_{compressor}"), |b| {
            b.iter(|| {
                buf.clear();
                black_box(&insert)
                    .encode_compressed(1, 0, &compressor, &mut buf)
                    .unwrap();
                Message::decode(black_box(&buf), DEFAULT_MAX_MESSAGE_SIZE_BYTES).unwrap()
            })
        });
        // Outside the timing (and whether or not a filter skipped the benchmark): the
        // round trip is lossless.
        buf.clear();
        insert
            .encode_compressed(1, 0, &compressor, &mut buf)
            .unwrap();
        let back = Message::decode(&buf, DEFAULT_MAX_MESSAGE_SIZE_BYTES).unwrap();
        assert_eq!(back.message, insert);
        assert_eq!(back.compressor.map(|c| c.id()), Some(compressor.id()));
    }
    group.finish();
}

criterion_group!(
    benches,
    decode_big_op_msg,
    decode_op_reply,
    encode_insert,
    compressed_round_trip
);
criterion_main!(benches);
