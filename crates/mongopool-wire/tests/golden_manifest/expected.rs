//! Our message for a manifest entry's opcode and fields, built with the crate's own
//! types (the encoder then must write the file's bytes).

use mongopool_wire::{
    DeleteFlags, DocumentSequence, InsertFlags, Message, MsgFlags, OpCode, OpDelete, OpGetMore,
    OpInsert, OpKillCursors, OpMsg, OpQuery, OpUpdate, QueryFlags, UpdateFlags,
};
use serde_json::Value;

use super::reading::{
    assert_field_names, document, documents, i32_field, i64_field, name_of, opcode_of, str_field,
    u32_field,
};

/// Our message for an entry's `opcode` and `fields`.
pub fn expected_message(entry: &Value) -> Message {
    let f = &entry["fields"];
    match opcode_of(entry) {
        OpCode::Query => {
            assert_field_names(
                f,
                &[
                    "flags",
                    "full_collection_name",
                    "number_to_skip",
                    "number_to_return",
                    "query",
                    "return_fields_selector",
                ],
            );
            OpQuery {
                flags: QueryFlags(u32_field(f, "flags")),
                full_collection_name: str_field(f, "full_collection_name").to_owned(),
                number_to_skip: i32_field(f, "number_to_skip"),
                number_to_return: i32_field(f, "number_to_return"),
                query: document(&f["query"]),
                return_fields_selector: match &f["return_fields_selector"] {
                    Value::Null => None,
                    doc => Some(document(doc)),
                },
            }
            .into()
        }
        OpCode::Insert => {
            assert_field_names(f, &["flags", "full_collection_name", "documents"]);
            OpInsert {
                flags: InsertFlags(u32_field(f, "flags")),
                full_collection_name: str_field(f, "full_collection_name").to_owned(),
                documents: documents(&f["documents"]).into(),
            }
            .into()
        }
        OpCode::Update => {
            assert_field_names(f, &["flags", "full_collection_name", "selector", "update"]);
            OpUpdate {
                full_collection_name: str_field(f, "full_collection_name").to_owned(),
                flags: UpdateFlags(u32_field(f, "flags")),
                selector: document(&f["selector"]),
                update: document(&f["update"]),
            }
            .into()
        }
        OpCode::Delete => {
            assert_field_names(f, &["flags", "full_collection_name", "selector"]);
            OpDelete {
                full_collection_name: str_field(f, "full_collection_name").to_owned(),
                flags: DeleteFlags(u32_field(f, "flags")),
                selector: document(&f["selector"]),
            }
            .into()
        }
        OpCode::GetMore => {
            assert_field_names(
                f,
                &["full_collection_name", "number_to_return", "cursor_id"],
            );
            OpGetMore {
                full_collection_name: str_field(f, "full_collection_name").to_owned(),
                number_to_return: i32_field(f, "number_to_return"),
                cursor_id: i64_field(f, "cursor_id"),
            }
            .into()
        }
        OpCode::KillCursors => {
            assert_field_names(f, &["cursor_ids"]);
            OpKillCursors {
                cursor_ids: f["cursor_ids"]
                    .as_array()
                    .expect("cursor_ids is an array")
                    .iter()
                    .map(|id| id.as_i64().expect("a cursor id is an i64"))
                    .collect(),
            }
            .into()
        }
        OpCode::Msg => {
            assert_field_names(f, &["flag_bits", "sections"]);
            expected_op_msg(f).into()
        }
        other => panic!("{}: no plain message for {other:?}", name_of(entry)),
    }
}

fn expected_op_msg(f: &Value) -> OpMsg {
    let mut body = None;
    let mut sequences = Vec::new();
    for section in f["sections"].as_array().expect("sections is an array") {
        match i64_field(section, "kind") {
            0 => {
                assert_field_names(section, &["kind", "body"]);
                assert!(
                    body.replace(document(&section["body"])).is_none(),
                    "two bodies"
                );
            }
            1 => {
                assert_field_names(section, &["kind", "identifier", "documents"]);
                sequences.push(DocumentSequence::new(
                    str_field(section, "identifier"),
                    documents(&section["documents"]),
                ));
            }
            kind => panic!("unknown section kind {kind}"),
        }
    }
    OpMsg {
        flags: MsgFlags(u32_field(f, "flag_bits")),
        body: body.expect("an OP_MSG has a body section"),
        sequences,
    }
}
