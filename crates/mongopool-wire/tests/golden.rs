//! Golden bytes: messages written by PyMongo 3.13's own builders (see
//! `scripts/golden/README.md`), which shares no code with this crate.
//!
//! For every message of `tests/golden/manifest.json` our decoder must read the file and
//! find the manifest's fields, and our encoder, given those fields and the manifest's
//! request id, must write the very same bytes. OP_COMPRESSED is compared through its
//! decompressed payload, since zlib/zstd output depends on the library. Each opcode
//! family has its own test; `every_manifest_entry_is_checked` makes sure none is
//! silently skipped.

mod golden_manifest;

use std::collections::BTreeSet;

use mongopool_wire::{
    Compressor, Header, Message, MessageDecoder, OpCode, OpCompressed,
    DEFAULT_MAX_MESSAGE_SIZE_BYTES, HEADER_LEN,
};
use serde_json::Value;

use golden_manifest::expected::expected_message;
use golden_manifest::reading::*;

/// Length of the OP_COMPRESSED prefix that does not depend on the compression library:
/// the header, originalOpcode, uncompressedSize and compressorId.
const COMPRESSED_PREFIX_LEN: usize = HEADER_LEN + 4 + 4 + 1;

/// Every opcode family the tests of this file check, by opcode.
const FAMILIES: [OpCode; 8] = [
    OpCode::Query,
    OpCode::Insert,
    OpCode::Update,
    OpCode::Delete,
    OpCode::GetMore,
    OpCode::KillCursors,
    OpCode::Msg,
    OpCode::Compressed,
];

/// Decodes `bytes` (one message) and re-encodes the manifest's fields; both must agree
/// with the file.
fn check_plain(entry: &Value, bytes: &[u8]) {
    let name = name_of(entry);
    let request_id = i32_field(entry, "request_id");
    let response_to = i32_field(entry, "response_to");
    let want = expected_message(entry);

    let decoded = Message::decode(bytes, DEFAULT_MAX_MESSAGE_SIZE_BYTES)
        .unwrap_or_else(|e| panic!("{name}: our decoder refused PyMongo's bytes: {e}"));
    assert_eq!(
        decoded.header,
        Header {
            message_length: i32::try_from(bytes.len()).unwrap(),
            request_id,
            response_to,
            op_code: i32_field(entry, "opcode"),
        },
        "{name}: header"
    );
    assert_eq!(decoded.compressor, None, "{name}");
    assert_eq!(decoded.message, want, "{name}: decoded fields");

    let mut ours = Vec::new();
    want.encode(request_id, response_to, &mut ours)
        .unwrap_or_else(|e| panic!("{name}: our encoder refused the manifest's fields: {e}"));
    assert_eq!(ours, bytes, "{name}: our bytes differ from PyMongo's");
    assert_eq!(want.encoded_len(), bytes.len(), "{name}: encoded_len");
}

/// Our compressor for an OP_COMPRESSED entry, at the level PyMongo was given (zlib
/// only: PyMongo runs snappy and zstd at library defaults).
fn compressor_of(f: &Value) -> Compressor {
    let name = str_field(f, "compressor");
    let c = match name {
        "zlib" => Compressor::zlib(i32_field(f, "level")).expect("a valid zlib level"),
        other => {
            assert!(f["level"].is_null(), "{other} has no level: {f}");
            Compressor::from_name(other).unwrap_or_else(|| panic!("unknown compressor {other:?}"))
        }
    };
    assert_eq!(c.name(), name);
    assert_eq!(u64::from(c.id()), u64_field(f, "compressor_id"));
    c
}

/// Checks one OP_COMPRESSED entry. Returns whether our compressed bytes happen to be
/// identical to PyMongo's (informative only: they may differ by library).
fn check_compressed(entry: &Value, bytes: &[u8]) -> bool {
    let name = name_of(entry);
    let f = &entry["fields"];
    assert_field_names(
        f,
        &[
            "original_opcode",
            "original_opcode_name",
            "uncompressed_size",
            "compressor",
            "compressor_id",
            "level",
            "compressed_size",
            "inner",
        ],
    );
    let request_id = i32_field(entry, "request_id");
    let response_to = i32_field(entry, "response_to");
    let compressor = compressor_of(f);
    let inner_entry = &f["inner"];
    assert_eq!(
        i32_field(inner_entry, "opcode"),
        i32_field(f, "original_opcode"),
        "{name}"
    );
    assert_eq!(i32_field(inner_entry, "request_id"), request_id, "{name}");

    // The uncompressed message PyMongo compressed: itself a golden message.
    let inner_bytes = read_file(inner_entry);
    check_plain(inner_entry, &inner_bytes);
    let payload = inner_bytes.get(HEADER_LEN..).expect("inner has a header");
    let inner_message = expected_message(inner_entry);

    // PyMongo's frame, field by field, and its payload through our decompressor.
    let header = Header::parse(bytes).expect("a header");
    assert_eq!(
        header,
        Header {
            message_length: i32::try_from(bytes.len()).unwrap(),
            request_id,
            response_to,
            op_code: OpCode::Compressed.as_i32(),
        },
        "{name}: header"
    );
    let theirs = OpCompressed::decode_body(&bytes[HEADER_LEN..])
        .unwrap_or_else(|e| panic!("{name}: our decoder refused PyMongo's OP_COMPRESSED: {e}"));
    assert_eq!(
        theirs.original_op_code.as_i32(),
        i32_field(f, "original_opcode"),
        "{name}"
    );
    assert_eq!(
        theirs.uncompressed_size,
        i32_field(f, "uncompressed_size"),
        "{name}"
    );
    assert_eq!(
        i64::from(theirs.uncompressed_size),
        i64::try_from(payload.len()).unwrap(),
        "{name}: uncompressedSize vs inner payload"
    );
    assert_eq!(theirs.compressor.id(), compressor.id(), "{name}");
    assert_eq!(
        theirs.compressed_message.len() as u64,
        u64_field(f, "compressed_size"),
        "{name}"
    );
    assert_eq!(
        theirs
            .decompress(DEFAULT_MAX_MESSAGE_SIZE_BYTES)
            .unwrap_or_else(|e| panic!("{name}: our decompressor refused PyMongo's data: {e}")),
        payload,
        "{name}: PyMongo's payload decompresses to something else"
    );
    let decoded = Message::decode(bytes, DEFAULT_MAX_MESSAGE_SIZE_BYTES)
        .unwrap_or_else(|e| panic!("{name}: Message::decode refused PyMongo's frame: {e}"));
    assert_eq!(decoded.header, header, "{name}");
    assert_eq!(
        decoded.compressor.map(|c| c.id()),
        Some(compressor.id()),
        "{name}"
    );
    assert_eq!(decoded.message, inner_message, "{name}: decoded fields");

    // Our frame: same prefix except messageLength, and a payload that decompresses to
    // the same uncompressed message.
    let mut ours = Vec::new();
    inner_message
        .encode_compressed(request_id, response_to, &compressor, &mut ours)
        .unwrap_or_else(|e| panic!("{name}: our encoder failed: {e}"));
    assert!(ours.len() >= COMPRESSED_PREFIX_LEN, "{name}");
    assert_eq!(
        ours[4..COMPRESSED_PREFIX_LEN],
        bytes[4..COMPRESSED_PREFIX_LEN],
        "{name}: OP_COMPRESSED prefix (messageLength excluded)"
    );
    assert_eq!(
        Header::parse(&ours).unwrap().message_length,
        i32::try_from(ours.len()).unwrap(),
        "{name}"
    );
    let mine = OpCompressed::decode_body(&ours[HEADER_LEN..]).expect("our own OP_COMPRESSED");
    assert_eq!(
        mine.decompress(DEFAULT_MAX_MESSAGE_SIZE_BYTES).unwrap(),
        payload,
        "{name}: our compressed payload decompresses to something else"
    );
    ours == bytes
}

/// Checks every message of one opcode; returns how many were checked.
fn check_family(op: OpCode) -> usize {
    let manifest = manifest();
    let entries: Vec<&Value> = messages(&manifest)
        .iter()
        .filter(|e| opcode_of(e) == op)
        .collect();
    assert!(
        !entries.is_empty(),
        "the manifest has no {op:?} message: the golden set lost a family"
    );
    let mut checked = 0;
    let mut identical = Vec::new();
    for entry in &entries {
        let bytes = read_file(entry);
        if op == OpCode::Compressed {
            if check_compressed(entry, &bytes) {
                identical.push(name_of(entry));
            }
        } else {
            check_plain(entry, &bytes);
        }
        checked += 1;
    }
    assert_eq!(checked, entries.len());
    println!("{op:?}: {checked} golden messages checked");
    if op == OpCode::Compressed {
        println!(
            "OP_COMPRESSED: our compressed bytes equal PyMongo's for {} of {checked}: {identical:?}",
            identical.len()
        );
    }
    checked
}

/// Checks every legacy-write sequence; returns how many were checked.
fn check_sequences() -> usize {
    let manifest = manifest();
    let seqs = sequences(&manifest);
    assert!(!seqs.is_empty(), "the manifest has no sequence");
    for seq in seqs {
        let name = str_field(seq, "name");
        let bytes = read_file(seq);
        let parts = seq["parts"].as_array().expect("parts is an array");
        assert_eq!(parts.len(), 2, "{name}: a write and its getlasterror");
        assert_eq!(
            i32_field(parts.last().unwrap(), "request_id"),
            i32_field(seq, "request_id"),
            "{name}: the id PyMongo returned is the last part's"
        );

        // Parts tile the file, and each one is a golden message by itself.
        let mut expected = Vec::new();
        let mut end = 0;
        for part in parts {
            let offset = usize::try_from(u64_field(part, "offset")).unwrap();
            let len = usize::try_from(u64_field(part, "length")).unwrap();
            assert_eq!(offset, end, "{name}: parts are back to back");
            end = offset + len;
            check_plain(part, &bytes[offset..end]);
            let message = expected_message(part);
            expected.push((i32_field(part, "request_id"), message));
        }
        assert_eq!(end, bytes.len(), "{name}: parts cover the file");

        // The streaming decoder, fed the whole file at once and one byte at a time.
        for chunk in [bytes.len(), 1, 7] {
            let mut decoder = MessageDecoder::new(DEFAULT_MAX_MESSAGE_SIZE_BYTES);
            let mut got = Vec::new();
            for piece in bytes.chunks(chunk) {
                decoder.push(piece);
                while let Some(d) = decoder.next_message().unwrap() {
                    assert_eq!(d.compressor, None, "{name}");
                    got.push((d.header.request_id, d.message));
                }
            }
            assert_eq!(decoder.buffered(), 0, "{name}");
            assert_eq!(got, expected, "{name}: chunks of {chunk}");
        }

        let mut ours = Vec::new();
        for (request_id, message) in &expected {
            message.encode(*request_id, 0, &mut ours).unwrap();
        }
        assert_eq!(ours, bytes, "{name}: our sequence differs from PyMongo's");
    }
    println!("sequences: {} golden sequences checked", seqs.len());
    seqs.len()
}

#[test]
fn op_query_matches_pymongo() {
    check_family(OpCode::Query);
}

#[test]
fn op_insert_matches_pymongo() {
    check_family(OpCode::Insert);
}

#[test]
fn op_update_matches_pymongo() {
    check_family(OpCode::Update);
}

#[test]
fn op_delete_matches_pymongo() {
    check_family(OpCode::Delete);
}

#[test]
fn op_get_more_matches_pymongo() {
    check_family(OpCode::GetMore);
}

#[test]
fn op_kill_cursors_matches_pymongo() {
    check_family(OpCode::KillCursors);
}

#[test]
fn op_msg_matches_pymongo() {
    check_family(OpCode::Msg);
}

#[test]
fn op_compressed_matches_pymongo() {
    check_family(OpCode::Compressed);
}

#[test]
fn legacy_write_sequences_match_pymongo() {
    check_sequences();
}

#[test]
fn every_manifest_entry_is_checked() {
    let manifest = manifest();
    // No entry of an opcode the family tests do not look at.
    for entry in messages(&manifest) {
        assert!(
            FAMILIES.contains(&opcode_of(entry)),
            "{}: opcode {:?} has no golden test",
            name_of(entry),
            opcode_of(entry)
        );
    }
    let names: BTreeSet<&str> = messages(&manifest)
        .iter()
        .chain(sequences(&manifest))
        .map(|e| str_field(e, "name"))
        .collect();
    assert_eq!(
        names.len(),
        messages(&manifest).len() + sequences(&manifest).len(),
        "names are unique"
    );
    let checked: usize =
        FAMILIES.iter().map(|&op| check_family(op)).sum::<usize>() + check_sequences();
    let listed = messages(&manifest).len() + sequences(&manifest).len();
    println!("golden: {checked} of {listed} manifest entries checked");
    assert_eq!(checked, listed);
    // Every .bin file in the directory is named by the manifest.
    let mut files: BTreeSet<String> = BTreeSet::new();
    for entry in messages(&manifest).iter().chain(sequences(&manifest)) {
        files.insert(str_field(entry, "file").to_owned());
        if let Some(inner) = entry["fields"].get("inner") {
            files.insert(str_field(inner, "file").to_owned());
        }
    }
    let on_disk: BTreeSet<String> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".bin"))
        .collect();
    assert_eq!(on_disk, files, "every .bin file is in the manifest");
}
