//! Reading the manifest: its entries, their typed fields, the documents they hold (by
//! their exact bytes) and the check that no field goes uncompared.

use std::collections::BTreeSet;
use std::path::PathBuf;

use bson::RawDocumentBuf;
use mongopool_wire::OpCode;
use serde_json::Value;

pub fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

pub fn manifest() -> Value {
    let path = golden_dir().join("manifest.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let manifest: Value = serde_json::from_str(&text).expect("manifest.json is JSON");
    assert_eq!(manifest["format"], "mongopool-golden-wire/1");
    manifest
}

pub fn read_file(entry: &Value) -> Vec<u8> {
    let path = golden_dir().join(str_field(entry, "file"));
    let bytes =
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert_eq!(
        bytes.len() as u64,
        u64_field(entry, "length"),
        "{}: file length differs from the manifest",
        path.display()
    );
    bytes
}

pub fn messages(manifest: &Value) -> &[Value] {
    manifest["messages"]
        .as_array()
        .expect("manifest has a messages array")
}

pub fn sequences(manifest: &Value) -> &[Value] {
    manifest["sequences"]
        .as_array()
        .expect("manifest has a sequences array")
}

pub fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {v}"))
}

pub fn i64_field(v: &Value, key: &str) -> i64 {
    v[key]
        .as_i64()
        .unwrap_or_else(|| panic!("{key} is not an integer in {v}"))
}

pub fn u64_field(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not a non-negative integer in {v}"))
}

pub fn i32_field(v: &Value, key: &str) -> i32 {
    i32::try_from(i64_field(v, key)).unwrap_or_else(|_| panic!("{key} does not fit an i32"))
}

pub fn u32_field(v: &Value, key: &str) -> u32 {
    u32::try_from(u64_field(v, key)).unwrap_or_else(|_| panic!("{key} does not fit a u32"))
}

pub fn opcode_of(entry: &Value) -> OpCode {
    OpCode::try_from(i32_field(entry, "opcode")).expect("the manifest names a known opcode")
}

pub fn name_of(entry: &Value) -> &str {
    entry["name"].as_str().unwrap_or("<inner>")
}

pub fn hex_decode(hex: &str) -> Vec<u8> {
    assert!(hex.len() % 2 == 0, "odd-length hex {hex:?}");
    hex.as_bytes()
        .chunks_exact(2)
        .map(|pair| {
            let digits = std::str::from_utf8(pair).expect("hex is ASCII");
            u8::from_str_radix(digits, 16).unwrap_or_else(|_| panic!("bad hex digits {digits:?}"))
        })
        .collect()
}

/// A `<doc>` of the manifest: its exact bytes are `bson_hex`.
pub fn document(doc: &Value) -> RawDocumentBuf {
    let bytes = hex_decode(str_field(doc, "bson_hex"));
    RawDocumentBuf::from_bytes(bytes).expect("bson_hex is a BSON document")
}

pub fn documents(docs: &Value) -> Vec<RawDocumentBuf> {
    docs.as_array()
        .expect("documents is an array")
        .iter()
        .map(document)
        .collect()
}

/// Fails if `fields` has keys other than `expected` (or lacks one): a field this test
/// does not compare would otherwise pass unnoticed.
pub fn assert_field_names(fields: &Value, expected: &[&str]) {
    let got: BTreeSet<&str> = fields
        .as_object()
        .expect("fields is an object")
        .keys()
        .map(String::as_str)
        .collect();
    let want: BTreeSet<&str> = expected.iter().copied().collect();
    assert_eq!(got, want, "unexpected field names in {fields}");
}
