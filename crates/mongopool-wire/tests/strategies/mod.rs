//! proptest strategies for documents, every message kind and compressors, shared by
//! the property tests of this directory.
#![allow(dead_code)]

use bson::raw::CStr;
use bson::RawDocumentBuf;
use mongopool_wire::{
    Compressor, DeleteFlags, DocumentSequence, InsertFlags, Message, MsgFlags, OpDelete, OpGetMore,
    OpInsert, OpKillCursors, OpMsg, OpQuery, OpReply, OpUpdate, QueryFlags, ReplyFlags,
    UpdateFlags,
};
use proptest::collection::{btree_set, vec};
use proptest::option;
use proptest::prelude::*;

/// Largest frame the tests accept.
pub const MAX: usize = 1 << 22;

#[derive(Debug, Clone)]
enum Value {
    I32(i32),
    I64(i64),
    Str(String),
    Bool(bool),
    F64(f64),
    Doc(RawDocumentBuf),
}

fn append(doc: &mut RawDocumentBuf, key: &str, value: &Value) {
    let key = <&CStr>::try_from(key).expect("generated keys have no NUL");
    match value {
        Value::I32(v) => doc.append(key, *v),
        Value::I64(v) => doc.append(key, *v),
        Value::Str(v) => doc.append(key, v.as_str()),
        Value::Bool(v) => doc.append(key, *v),
        Value::F64(v) => doc.append(key, *v),
        Value::Doc(v) => doc.append(key, v),
    }
}

fn flat_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i32>().prop_map(Value::I32),
        any::<i64>().prop_map(Value::I64),
        "\\PC{0,12}".prop_map(Value::Str),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>().prop_map(Value::F64),
    ]
}

fn build(fields: Vec<(String, Value)>) -> RawDocumentBuf {
    let mut doc = RawDocumentBuf::new();
    for (k, v) in &fields {
        append(&mut doc, k, v);
    }
    doc
}

fn key() -> impl Strategy<Value = String> {
    "[a-zA-Z_$][a-zA-Z0-9_]{0,7}"
}

/// A document with a few fields, one level of nesting at most.
pub fn document() -> impl Strategy<Value = RawDocumentBuf> {
    let nested = vec((key(), flat_value()), 0..3).prop_map(|f| Value::Doc(build(f)));
    let value = prop_oneof![4 => flat_value(), 1 => nested];
    vec((key(), value), 0..5).prop_map(build)
}

pub fn namespace() -> impl Strategy<Value = String> {
    "[a-z]{1,6}\\.(\\$cmd|[a-z]{1,8})"
}

pub fn op_msg() -> impl Strategy<Value = OpMsg> {
    let sequences = btree_set("[a-z]{0,9}", 0..3).prop_flat_map(|ids| {
        let ids: Vec<String> = ids.into_iter().collect();
        let n = ids.len();
        vec(vec(document(), 0..4), n).prop_map(move |docs| {
            ids.iter()
                .cloned()
                .zip(docs)
                .map(|(id, d)| DocumentSequence::new(id, d))
                .collect::<Vec<_>>()
        })
    });
    // Required bits 0 and 1 and any optional bit: everything the crate can encode.
    let flags = (any::<bool>(), any::<bool>(), any::<u16>()).prop_map(|(c, m, high)| {
        let mut f = MsgFlags(u32::from(high) << 16);
        f.set(MsgFlags::CHECKSUM_PRESENT, c);
        f.set(MsgFlags::MORE_TO_COME, m);
        f
    });
    (flags, document(), sequences).prop_map(|(flags, body, sequences)| OpMsg {
        flags,
        body,
        sequences,
    })
}

pub fn op_query() -> impl Strategy<Value = OpQuery> {
    (
        any::<u32>(),
        namespace(),
        any::<i32>(),
        any::<i32>(),
        document(),
        option::of(document()),
    )
        .prop_map(|(flags, ns, skip, ret, query, fields)| OpQuery {
            flags: QueryFlags(flags),
            full_collection_name: ns,
            number_to_skip: skip,
            number_to_return: ret,
            query,
            return_fields_selector: fields,
        })
}

pub fn op_reply() -> impl Strategy<Value = OpReply> {
    (
        any::<u32>(),
        any::<i64>(),
        any::<i32>(),
        vec(document(), 0..5),
    )
        .prop_map(|(flags, cursor_id, starting_from, documents)| OpReply {
            flags: ReplyFlags(flags),
            cursor_id,
            starting_from,
            number_returned: documents.len() as i32,
            documents: documents.into(),
        })
}

pub fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        op_msg().prop_map(Message::Msg),
        op_query().prop_map(Message::Query),
        op_reply().prop_map(Message::Reply),
        (any::<u32>(), namespace(), vec(document(), 0..5)).prop_map(|(f, ns, documents)| {
            Message::Insert(OpInsert {
                flags: InsertFlags(f),
                full_collection_name: ns,
                documents: documents.into(),
            })
        }),
        (namespace(), any::<u32>(), document(), document()).prop_map(|(ns, f, s, u)| {
            Message::Update(OpUpdate {
                full_collection_name: ns,
                flags: UpdateFlags(f),
                selector: s,
                update: u,
            })
        }),
        (namespace(), any::<u32>(), document()).prop_map(|(ns, f, s)| {
            Message::Delete(OpDelete {
                full_collection_name: ns,
                flags: DeleteFlags(f),
                selector: s,
            })
        }),
        (namespace(), any::<i32>(), any::<i64>()).prop_map(|(ns, n, c)| {
            Message::GetMore(OpGetMore {
                full_collection_name: ns,
                number_to_return: n,
                cursor_id: c,
            })
        }),
        vec(any::<i64>(), 0..6)
            .prop_map(|cursor_ids| Message::KillCursors(OpKillCursors { cursor_ids })),
    ]
}

pub fn compressor() -> impl Strategy<Value = Compressor> {
    prop_oneof![
        Just(Compressor::Noop),
        Just(Compressor::Snappy),
        option::of(-1..=9i32).prop_map(|level| Compressor::Zlib { level }),
        option::of(1..=9i32).prop_map(|level| Compressor::Zstd { level }),
    ]
}
