#!/usr/bin/env python3
"""Write golden MongoDB wire messages built by PyMongo 3.13's own encoder.

Every message here comes out of ``pymongo.message`` (the C extension where
PyMongo uses it, its pure-Python builders otherwise), so the Rust encoder in
``mongopool-wire`` can be compared with an implementation it shares no code
with. The output directory gets one ``<name>.bin`` per message and a
``manifest.json`` that describes each message field by field (see README.md
beside this file for the schema).

Run it through ``run.sh``, which pins the package versions; running it twice
with the same versions writes the same bytes (request ids included: Python's
``random`` is seeded and the C extension's ``rand()`` is never seeded).
"""

import argparse
import collections
import datetime
import json
import os
import platform
import random
import struct
import sys
import zlib

import bson
import pymongo
from bson import json_util
from bson.binary import Binary
from bson.codec_options import DEFAULT_CODEC_OPTIONS
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.objectid import ObjectId
from bson.regex import Regex
from bson.son import SON
from bson.timestamp import Timestamp
from pymongo import message
from pymongo.compression_support import SnappyContext, ZlibContext, ZstdContext
from pymongo.read_preferences import Nearest, Primary, ReadPreference, Secondary

# Seeds Python's `random`, which PyMongo's pure-Python paths draw request ids from.
RANDOM_SEED = 20130311

OPTS = DEFAULT_CODEC_OPTIONS
CANONICAL = json_util.CANONICAL_JSON_OPTIONS

OP_UPDATE = 2001
OP_INSERT = 2002
OP_QUERY = 2004
OP_GET_MORE = 2005
OP_DELETE = 2006
OP_KILL_CURSORS = 2007
OP_COMPRESSED = 2012
OP_MSG = 2013
OPCODE_NAMES = {
    OP_UPDATE: "OP_UPDATE",
    OP_INSERT: "OP_INSERT",
    OP_QUERY: "OP_QUERY",
    OP_GET_MORE: "OP_GET_MORE",
    OP_DELETE: "OP_DELETE",
    OP_KILL_CURSORS: "OP_KILL_CURSORS",
    OP_COMPRESSED: "OP_COMPRESSED",
    OP_MSG: "OP_MSG",
}

# OP_QUERY flag bits.
QUERY_TAILABLE = 1 << 1
QUERY_SLAVE_OK = 1 << 2
QUERY_NO_CURSOR_TIMEOUT = 1 << 4
QUERY_AWAIT_DATA = 1 << 5
QUERY_EXHAUST = 1 << 6
QUERY_PARTIAL = 1 << 7
# OP_MSG flag bits.
MSG_MORE_TO_COME = 1 << 1
MSG_EXHAUST_ALLOWED = 1 << 16
# Legacy write flag bits.
INSERT_CONTINUE_ON_ERROR = 1
DELETE_SINGLE_REMOVE = 1

UTC = datetime.timezone.utc
FIXED_OID = ObjectId("5f0c3b2a1d2e3f4a5b6c7d8e")
FIXED_DATETIME = datetime.datetime(2020, 7, 13, 12, 34, 56, 789000, tzinfo=UTC)

# One document that carries every common BSON type, in a fixed key order.
ALL_TYPES_DOC = SON(
    [
        ("_id", FIXED_OID),
        ("int32", 42),
        ("int32_min", -2147483648),
        ("int64", Int64(1099511627776)),
        ("int64_small", Int64(7)),
        ("double", 3.25),
        ("double_exp", 6.02214076e23),
        ("string", "h\u00e9llo, w\u00f6rld \u2713"),
        ("empty_string", ""),
        ("bool_true", True),
        ("bool_false", False),
        ("null", None),
        ("nested", SON([("a", 1), ("b", SON([("c", "deep"), ("d", [])]))])),
        ("array", [1, "two", 3.5, SON([("four", 4)]), [5, 6], None, False]),
        ("binary", Binary(b"\x00\x01\x02\xfe\xff", 0)),
        ("binary_uuid", Binary(bytes.fromhex("00112233445566778899aabbccddeeff"), 4)),
        ("datetime", FIXED_DATETIME),
        ("datetime_pre_epoch", datetime.datetime(1960, 1, 1, tzinfo=UTC)),
        ("timestamp", Timestamp(1594643696, 3)),
        ("decimal128", Decimal128("1234.5678")),
        ("regex", Regex("^mongo", "i")),
    ]
)


def small_doc(i):
    """A short document for batches; `i` varies the values."""
    return SON(
        [
            ("_id", ObjectId("5f0c3b2a1d2e3f4a5b6c7d%02x" % i)),
            ("n", i),
            ("big", Int64(10_000_000_000 + i)),
            ("score", i + 0.5),
            ("name", "doc-%d" % i),
            ("tags", ["t%d" % i, "all"]),
            ("at", FIXED_DATETIME + datetime.timedelta(seconds=i)),
        ]
    )


BATCH = [small_doc(1), small_doc(2), small_doc(3)]

LEGACY_HELLO = SON(
    [
        ("isMaster", 1),
        ("helloOk", True),
        (
            "client",
            SON(
                [
                    ("application", SON([("name", "golden")])),
                    ("driver", SON([("name", "mongopool"), ("version", "0.1.0")])),
                    (
                        "os",
                        SON(
                            [
                                ("type", "Linux"),
                                ("name", "Linux"),
                                ("architecture", "x86_64"),
                                ("version", "6.1"),
                            ]
                        ),
                    ),
                    ("platform", "golden"),
                ]
            ),
        ),
        ("compression", ["snappy", "zlib", "zstd"]),
    ]
)


def ping():
    return SON([("ping", 1)])


def doc_json(doc):
    """Describe one BSON document: canonical extended JSON plus its exact bytes."""
    canonical = json_util.dumps(doc, json_options=CANONICAL)
    return collections.OrderedDict(
        [
            ("extjson", json.loads(canonical, object_pairs_hook=collections.OrderedDict)),
            ("bson_hex", bson.encode(doc, codec_options=OPTS).hex()),
        ]
    )


def header_of(data):
    return struct.unpack_from("<iiii", data, 0)


def masked(data):
    """The message with its request id zeroed, for comparing two builders."""
    return data[:4] + b"\x00\x00\x00\x00" + data[8:]


def pack_message(opcode, body, request_id):
    return struct.pack("<iiii", 16 + len(body), request_id, 0, opcode) + body


# PyMongo's own pure-Python header writer (module-level, so its name is not mangled).
PY_PACK_MESSAGE = getattr(message, "__pack_message")


class Golden:
    """Collects messages, checks them as they come, and writes them out."""

    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.messages = []
        self.sequences = []
        self.names = set()

    def _claim(self, name):
        if name in self.names:
            raise SystemExit("duplicate golden name %r" % name)
        self.names.add(name)

    def _write(self, file_name, data):
        with open(os.path.join(self.out_dir, file_name), "wb") as f:
            f.write(data)

    def _describe(self, file_name, data, request_id, opcode, fields):
        length, hdr_rid, response_to, hdr_opcode = header_of(data)
        if length != len(data):
            raise SystemExit("%s: header length %d != %d bytes" % (file_name, length, len(data)))
        if hdr_rid != request_id:
            raise SystemExit(
                "%s: pymongo returned request id %d, header has %d" % (file_name, request_id, hdr_rid)
            )
        if hdr_opcode != opcode:
            raise SystemExit("%s: opcode %d, expected %d" % (file_name, hdr_opcode, opcode))
        return collections.OrderedDict(
            [
                ("file", file_name),
                ("length", len(data)),
                ("opcode", opcode),
                ("opcode_name", OPCODE_NAMES[opcode]),
                ("request_id", request_id),
                ("response_to", response_to),
                ("fields", fields),
            ]
        )

    def add(
        self, name, description, call, implementation, request_id, data, opcode, fields, cross_check=None
    ):
        """Record one message. `cross_check` is (label, bytes) from PyMongo's other builder."""
        self._claim(name)
        if cross_check is not None:
            label, other = cross_check
            if masked(other) != masked(data):
                raise SystemExit("%s: %s builder disagrees:\n%s\n%s" % (name, label, data.hex(), other.hex()))
        file_name = name + ".bin"
        entry = collections.OrderedDict([("name", name), ("description", description)])
        entry.update(self._describe(file_name, data, request_id, opcode, fields))
        entry["pymongo_call"] = call
        entry["implementation"] = implementation
        entry["cross_checked_with"] = cross_check[0] if cross_check else None
        self._write(file_name, data)
        self.messages.append(entry)

    def add_compressed(
        self, name, description, call, request_id, data, compressor, level, inner_fields, inner_body_check
    ):
        """Record an OP_COMPRESSED message and, beside it, its uncompressed inner message."""
        self._claim(name)
        length, rid, response_to, opcode, original_opcode, uncompressed_size, compressor_id = (
            struct.unpack_from("<iiiiiiB", data, 0)
        )
        payload = data[25:]
        body = decompress(compressor, payload)
        if len(body) != uncompressed_size:
            raise SystemExit("%s: uncompressedSize %d but %d bytes" % (name, uncompressed_size, len(body)))
        if body != inner_body_check:
            raise SystemExit("%s: decompressed body differs from PyMongo's uncompressed builder" % name)
        inner_file = name + ".inner.bin"
        inner = pack_message(original_opcode, body, request_id)
        self._write(inner_file, inner)
        fields = collections.OrderedDict(
            [
                ("original_opcode", original_opcode),
                ("original_opcode_name", OPCODE_NAMES[original_opcode]),
                ("uncompressed_size", uncompressed_size),
                ("compressor", compressor),
                ("compressor_id", compressor_id),
                ("level", level),
                ("compressed_size", len(payload)),
                ("inner", self._describe(inner_file, inner, request_id, original_opcode, inner_fields)),
            ]
        )
        file_name = name + ".bin"
        entry = collections.OrderedDict([("name", name), ("description", description)])
        entry.update(self._describe(file_name, data, request_id, OP_COMPRESSED, fields))
        entry["pymongo_call"] = call
        entry["implementation"] = "python"
        entry["cross_checked_with"] = "decompressed payload == python uncompressed builder"
        self._write(file_name, data)
        self.messages.append(entry)

    def add_sequence(
        self, name, description, call, implementation, request_id, data, parts_fields, cross_check
    ):
        """Record back-to-back messages (a legacy write and its getLastError)."""
        self._claim(name)
        label, other = cross_check
        parts = []
        offset = 0
        other_offset = 0
        for opcode, fields in parts_fields:
            (length,) = struct.unpack_from("<i", data, offset)
            part = data[offset : offset + length]
            (other_length,) = struct.unpack_from("<i", other, other_offset)
            if masked(part) != masked(other[other_offset : other_offset + other_length]):
                raise SystemExit("%s: %s builder disagrees at offset %d" % (name, label, offset))
            desc = self._describe(name + ".bin", part, header_of(part)[1], opcode, fields)
            del desc["file"]
            desc["offset"] = offset
            desc.move_to_end("offset", last=False)
            parts.append(desc)
            offset += length
            other_offset += other_length
        if offset != len(data) or other_offset != len(other):
            raise SystemExit("%s: trailing bytes after the described parts" % name)
        if parts[-1]["request_id"] != request_id:
            raise SystemExit("%s: returned request id is not the last part's" % name)
        file_name = name + ".bin"
        self._write(file_name, data)
        self.sequences.append(
            collections.OrderedDict(
                [
                    ("name", name),
                    ("description", description),
                    ("file", file_name),
                    ("length", len(data)),
                    ("request_id", request_id),
                    ("parts", parts),
                    ("pymongo_call", call),
                    ("implementation", implementation),
                    ("cross_checked_with", label),
                ]
            )
        )


def decompress(compressor, payload):
    if compressor == "zlib":
        return zlib.decompress(payload)
    if compressor == "snappy":
        import snappy

        return snappy.uncompress(payload)
    if compressor == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().decompress(payload)
    raise SystemExit("unknown compressor %r" % compressor)


# ---------------------------------------------------------------- field shapes


def query_fields(flags, ns, skip, ntoreturn, query, selector):
    return collections.OrderedDict(
        [
            ("flags", flags),
            ("full_collection_name", ns),
            ("number_to_skip", skip),
            ("number_to_return", ntoreturn),
            ("query", doc_json(query)),
            ("return_fields_selector", doc_json(selector) if selector else None),
        ]
    )


def insert_fields(flags, ns, docs):
    return collections.OrderedDict(
        [("flags", flags), ("full_collection_name", ns), ("documents", [doc_json(d) for d in docs])]
    )


def update_fields(flags, ns, selector, update):
    return collections.OrderedDict(
        [
            ("flags", flags),
            ("full_collection_name", ns),
            ("selector", doc_json(selector)),
            ("update", doc_json(update)),
        ]
    )


def delete_fields(flags, ns, selector):
    return collections.OrderedDict(
        [("flags", flags), ("full_collection_name", ns), ("selector", doc_json(selector))]
    )


def get_more_fields(ns, ntoreturn, cursor_id):
    return collections.OrderedDict(
        [("full_collection_name", ns), ("number_to_return", ntoreturn), ("cursor_id", cursor_id)]
    )


def kill_cursors_fields(cursor_ids):
    return collections.OrderedDict([("cursor_ids", list(cursor_ids))])


def msg_fields(flags, body, identifier, docs):
    sections = [collections.OrderedDict([("kind", 0), ("body", doc_json(body))])]
    if identifier:
        sections.append(
            collections.OrderedDict(
                [("kind", 1), ("identifier", identifier), ("documents", [doc_json(d) for d in docs])]
            )
        )
    return collections.OrderedDict([("flag_bits", flags), ("sections", sections)])


def gle_fields(ns, args):
    cmd = SON([("getlasterror", 1)])
    cmd.update(args)
    return query_fields(0, ns.split(".", 1)[0] + ".$cmd", 0, -1, cmd, None)


def msg_body_and_sequence(command, dbname, read_preference, secondary_ok):
    """What `pymongo.message._op_msg` sends: the body it builds and the sequence it splits off."""
    body = SON(command)
    body["$db"] = dbname
    if read_preference is not None and "$readPreference" not in body:
        if secondary_ok and not read_preference.mode:
            body["$readPreference"] = ReadPreference.PRIMARY_PREFERRED.document
        else:
            body["$readPreference"] = read_preference.document
    identifier = message._FIELD_MAP.get(next(iter(command)), "")
    docs = body.pop(identifier) if identifier else None
    return body, identifier, docs


# ---------------------------------------------------------------- the messages

C_OR_PY = "c_extension" if message._use_c else "python"


def add_queries(g):
    cases = [
        (
            "query_ping_admin",
            "OP_QUERY command {ping: 1} on admin.$cmd, numberToReturn -1.",
            0,
            "admin.$cmd",
            0,
            -1,
            ping(),
            None,
        ),
        (
            "query_ping_secondary_ok",
            "OP_QUERY {ping: 1} with the SlaveOk (secondaryOk) flag.",
            QUERY_SLAVE_OK,
            "admin.$cmd",
            0,
            -1,
            ping(),
            None,
        ),
        (
            "query_legacy_hello",
            "OP_QUERY handshake {isMaster: 1, helloOk, client metadata, compression}.",
            0,
            "admin.$cmd",
            0,
            -1,
            LEGACY_HELLO,
            None,
        ),
        (
            "query_read_preference_wrapper",
            "OP_QUERY count command wrapped as {$query, $readPreference} by pymongo.message._maybe_add_read_preference"
            " (secondary, tag set, maxStalenessSeconds), SlaveOk set.",
            QUERY_SLAVE_OK,
            "test.$cmd",
            0,
            -1,
            message._maybe_add_read_preference(
                SON([("count", "coll"), ("query", SON([("n", SON([("$gte", 2)]))]))]),
                Secondary(tag_sets=[SON([("dc", "ny"), ("rack", "1")]), SON()], max_staleness=120),
            ),
            None,
        ),
        (
            "query_find_fields_selector",
            "OP_QUERY find on test.coll with a returnFieldsSelector.",
            0,
            "test.coll",
            0,
            0,
            SON([("n", SON([("$gt", 1)]))]),
            SON([("_id", 0), ("name", 1), ("nested.b", 1)]),
        ),
        (
            "query_find_skip_limit",
            "OP_QUERY find on test.coll, skip 5, numberToReturn 10, all-types filter.",
            0,
            "test.coll",
            5,
            10,
            ALL_TYPES_DOC,
            None,
        ),
        (
            "query_find_all_flags",
            "OP_QUERY with Tailable|SlaveOk|NoCursorTimeout|AwaitData|Exhaust|Partial, empty filter, negative limit.",
            QUERY_TAILABLE
            | QUERY_SLAVE_OK
            | QUERY_NO_CURSOR_TIMEOUT
            | QUERY_AWAIT_DATA
            | QUERY_EXHAUST
            | QUERY_PARTIAL,
            "db.capped",
            0,
            -3,
            SON(),
            None,
        ),
    ]
    for name, description, flags, ns, skip, ntr, query, selector in cases:
        rid, data, _ = message.query(flags, ns, skip, ntr, query, selector, OPTS)
        body, _ = message._query(flags, ns, skip, ntr, query, selector, OPTS, False)
        other = PY_PACK_MESSAGE(OP_QUERY, body)[1]
        g.add(
            name,
            description,
            "pymongo.message.query(%d, %r, %d, %d, <query>, <selector>, DEFAULT_CODEC_OPTIONS)"
            % (flags, ns, skip, ntr),
            C_OR_PY,
            rid,
            data,
            OP_QUERY,
            query_fields(flags, ns, skip, ntr, query, selector),
            ("python", other),
        )


def add_legacy_writes(g):
    inserts = [
        ("insert_one", "OP_INSERT of one all-types document, flags 0.", [ALL_TYPES_DOC], False),
        ("insert_many", "OP_INSERT of three documents, flags 0.", BATCH, False),
        ("insert_many_continue_on_error", "OP_INSERT of three documents with ContinueOnError.", BATCH, True),
    ]
    for name, description, docs, coe in inserts:
        rid, data, _ = message.insert("test.coll", docs, True, False, None, coe, OPTS)
        body, _ = message._insert("test.coll", docs, True, int(coe), OPTS)
        other = PY_PACK_MESSAGE(OP_INSERT, body)[1]
        g.add(
            name,
            description,
            "pymongo.message.insert('test.coll', <docs>, True, False, None, %r, DEFAULT_CODEC_OPTIONS)" % coe,
            C_OR_PY,
            rid,
            data,
            OP_INSERT,
            insert_fields(int(coe), "test.coll", docs),
            ("python", other),
        )

    selector = SON([("_id", FIXED_OID)])
    set_update = SON([("$set", SON([("name", "renamed"), ("n", Int64(9))])), ("$inc", SON([("count", 1)]))])
    updates = [
        ("update_plain", "OP_UPDATE with a $set/$inc update, flags 0.", False, False, selector, set_update),
        ("update_upsert", "OP_UPDATE replacement with Upsert.", True, False, selector, ALL_TYPES_DOC),
        (
            "update_multi",
            "OP_UPDATE with MultiUpdate.",
            False,
            True,
            SON([("n", SON([("$lt", 10)]))]),
            set_update,
        ),
        ("update_upsert_multi", "OP_UPDATE with Upsert|MultiUpdate.", True, True, SON(), set_update),
    ]
    for name, description, upsert, multi, spec, doc in updates:
        flags = (1 if upsert else 0) | (2 if multi else 0)
        rid, data, _ = message.update("test.coll", upsert, multi, spec, doc, False, None, False, OPTS)
        body, _ = message._update("test.coll", upsert, multi, spec, doc, False, OPTS)
        other = PY_PACK_MESSAGE(OP_UPDATE, body)[1]
        g.add(
            name,
            description,
            "pymongo.message.update('test.coll', %r, %r, <selector>, <update>, False, None, False,"
            " DEFAULT_CODEC_OPTIONS)" % (upsert, multi),
            C_OR_PY,
            rid,
            data,
            OP_UPDATE,
            update_fields(flags, "test.coll", spec, doc),
            ("python", other),
        )

    deletes = [
        ("delete_plain", "OP_DELETE, flags 0.", SON([("n", SON([("$in", [1, 2, Int64(3)])]))]), 0),
        ("delete_single_remove", "OP_DELETE with SingleRemove.", selector, DELETE_SINGLE_REMOVE),
    ]
    for name, description, spec, flags in deletes:
        # PyMongo has no C builder for OP_DELETE; its one builder is the reference.
        rid, data, _ = message.delete("test.coll", spec, False, None, OPTS, flags)
        g.add(
            name,
            description,
            "pymongo.message.delete('test.coll', <selector>, False, None, DEFAULT_CODEC_OPTIONS, %d)" % flags,
            "python",
            rid,
            data,
            OP_DELETE,
            delete_fields(flags, "test.coll", spec),
        )

    gle_args = SON([("w", 1), ("wtimeout", 1000)])
    rid, data, _ = message.insert("test.coll", [BATCH[0]], True, True, gle_args, False, OPTS)
    ins, _ = message._insert("test.coll", [BATCH[0]], True, 0, OPTS)
    gle = message.query(
        0, "test.$cmd", 0, -1, SON([("getlasterror", 1), ("w", 1), ("wtimeout", 1000)]), None, OPTS
    )[1]
    g.add_sequence(
        "sequence_insert_then_getlasterror",
        "An acknowledged legacy insert: OP_INSERT then OP_QUERY {getlasterror: 1, w: 1, wtimeout: 1000},"
        " back to back in one buffer.",
        "pymongo.message.insert('test.coll', [<doc>], True, True, {w: 1, wtimeout: 1000}, False, DEFAULT_CODEC_OPTIONS)",
        C_OR_PY,
        rid,
        data,
        [
            (OP_INSERT, insert_fields(0, "test.coll", [BATCH[0]])),
            (OP_QUERY, gle_fields("test.coll", gle_args)),
        ],
        ("python", PY_PACK_MESSAGE(OP_INSERT, ins)[1] + gle),
    )
    rid, data, _ = message.delete("test.coll", selector, True, gle_args, OPTS, DELETE_SINGLE_REMOVE)
    dele, _ = message._delete("test.coll", selector, OPTS, DELETE_SINGLE_REMOVE)
    g.add_sequence(
        "sequence_delete_then_getlasterror",
        "An acknowledged legacy delete (SingleRemove): OP_DELETE then OP_QUERY getlasterror, back to back.",
        "pymongo.message.delete('test.coll', <selector>, True, {w: 1, wtimeout: 1000}, DEFAULT_CODEC_OPTIONS, 1)",
        "python",
        rid,
        data,
        [
            (OP_DELETE, delete_fields(DELETE_SINGLE_REMOVE, "test.coll", selector)),
            (OP_QUERY, gle_fields("test.coll", gle_args)),
        ],
        ("python", PY_PACK_MESSAGE(OP_DELETE, dele)[1] + gle),
    )


def add_cursor_ops(g):
    for name, description, ntr, cursor_id in [
        ("get_more_basic", "OP_GET_MORE on test.coll, numberToReturn 0.", 0, 1234567890123),
        (
            "get_more_batch",
            "OP_GET_MORE, numberToReturn 100, a cursor id with the top bit set.",
            100,
            -0x0123456789ABCDEF,
        ),
        ("get_more_max_cursor_id", "OP_GET_MORE, numberToReturn -1, cursor id i64::MAX.", -1, 2**63 - 1),
    ]:
        rid, data = message.get_more("test.coll", ntr, cursor_id)
        other = PY_PACK_MESSAGE(OP_GET_MORE, message._get_more("test.coll", ntr, cursor_id))[1]
        g.add(
            name,
            description,
            "pymongo.message.get_more('test.coll', %d, %d)" % (ntr, cursor_id),
            C_OR_PY,
            rid,
            data,
            OP_GET_MORE,
            get_more_fields("test.coll", ntr, cursor_id),
            ("python", other),
        )

    for name, description, ids in [
        ("kill_cursors_one", "OP_KILL_CURSORS with one cursor id.", [1234567890123]),
        (
            "kill_cursors_several",
            "OP_KILL_CURSORS with four cursor ids (incl. negative and extremes).",
            [1, -2, 2**63 - 1, -(2**63)],
        ),
    ]:
        rid, data = message.kill_cursors(ids)
        g.add(
            name,
            description,
            "pymongo.message.kill_cursors(%r)" % (ids,),
            "python",
            rid,
            data,
            OP_KILL_CURSORS,
            kill_cursors_fields(ids),
        )


def op_msg(g, name, description, flags, command, dbname, read_preference=None, secondary_ok=False):
    body, identifier, docs = msg_body_and_sequence(command, dbname, read_preference, secondary_ok)
    rid, data, _, _ = message._op_msg(flags, SON(command), dbname, read_preference, secondary_ok, False, OPTS)
    py_body, _, _ = message._op_msg_no_header(flags, body, identifier, docs, False, OPTS)
    other = PY_PACK_MESSAGE(OP_MSG, py_body)[1]
    g.add(
        name,
        description,
        "pymongo.message._op_msg(%d, <command>, %r, %s, %r, False, DEFAULT_CODEC_OPTIONS)"
        % (flags, dbname, "None" if read_preference is None else repr(read_preference), secondary_ok),
        C_OR_PY,
        rid,
        data,
        OP_MSG,
        msg_fields(flags, body, identifier, docs),
        ("python", other),
    )


def insert_command(w0=False):
    cmd = SON([("insert", "coll"), ("ordered", True)])
    if w0:
        cmd["writeConcern"] = SON([("w", 0)])
    cmd["documents"] = BATCH
    return cmd


def add_op_msgs(g):
    op_msg(g, "msg_ping", "OP_MSG body {ping: 1, $db: 'admin'}, flags 0.", 0, ping(), "admin")
    op_msg(
        g,
        "msg_hello_primary_preferred",
        "OP_MSG {hello: 1} with secondaryOk on a primary read preference: $readPreference primaryPreferred.",
        0,
        SON([("hello", 1), ("helloOk", True)]),
        "admin",
        Primary(),
        True,
    )
    op_msg(
        g,
        "msg_insert_sequence",
        "OP_MSG insert: body {insert, ordered, $db} + kind-1 sequence 'documents' of 3 docs.",
        0,
        insert_command(),
        "test",
    )
    op_msg(
        g,
        "msg_insert_more_to_come",
        "OP_MSG unacknowledged insert (writeConcern w:0) with the moreToCome flag, 'documents' sequence.",
        MSG_MORE_TO_COME,
        insert_command(w0=True),
        "test",
    )
    op_msg(
        g,
        "msg_update_sequence",
        "OP_MSG update with a kind-1 'updates' sequence of 2 statements.",
        0,
        SON(
            [
                ("update", "coll"),
                ("ordered", False),
                (
                    "updates",
                    [
                        SON(
                            [
                                ("q", SON([("_id", FIXED_OID)])),
                                ("u", SON([("$set", SON([("n", 1)]))])),
                                ("upsert", True),
                            ]
                        ),
                        SON([("q", SON()), ("u", ALL_TYPES_DOC), ("multi", False)]),
                    ],
                ),
            ]
        ),
        "test",
    )
    op_msg(
        g,
        "msg_delete_sequence",
        "OP_MSG delete with a kind-1 'deletes' sequence of 1 statement.",
        0,
        SON([("delete", "coll"), ("deletes", [SON([("q", SON([("n", SON([("$gt", 2)]))])), ("limit", 1)])])]),
        "test",
    )
    op_msg(
        g,
        "msg_find_exhaust_allowed",
        "OP_MSG find with exhaustAllowed and a $readPreference (nearest, tag set).",
        MSG_EXHAUST_ALLOWED,
        SON([("find", "coll"), ("filter", ALL_TYPES_DOC), ("batchSize", 2)]),
        "test",
        Nearest(tag_sets=[SON([("dc", "ny")])]),
        False,
    )


def add_compressed(g):
    have = ["zlib"]
    for module, compressor in (("snappy", "snappy"), ("zstandard", "zstd")):
        try:
            __import__(module)
            have.append(compressor)
        except ImportError:
            print("note: %s not importable, no %s messages" % (module, compressor), file=sys.stderr)

    contexts = [
        ("zlib6", "zlib", 6, ZlibContext(6)),
        ("zlib_default", "zlib", -1, ZlibContext(-1)),
        ("zlib0", "zlib", 0, ZlibContext(0)),
    ]
    if "snappy" in have:
        contexts.append(("snappy", "snappy", None, SnappyContext()))
    if "zstd" in have:
        contexts.append(("zstd", "zstd", None, ZstdContext()))

    ctx_repr = {"zlib": "ZlibContext(%s)", "snappy": "SnappyContext()", "zstd": "ZstdContext()"}

    for tag, compressor, level, ctx in contexts:
        ctx_str = ctx_repr[compressor] % level if compressor == "zlib" else ctx_repr[compressor]
        # A compressed OP_QUERY: {ping: 1}.
        rid, data, _ = message.query(0, "admin.$cmd", 0, -1, ping(), None, OPTS, False, ctx)
        body, _ = message._query(0, "admin.$cmd", 0, -1, ping(), None, OPTS, False)
        g.add_compressed(
            "compressed_%s_query_ping" % tag,
            "OP_COMPRESSED (%s) around OP_QUERY {ping: 1} on admin.$cmd." % tag,
            "pymongo.message.query(0, 'admin.$cmd', 0, -1, {ping: 1}, None, DEFAULT_CODEC_OPTIONS,"
            " False, %s)" % ctx_str,
            rid,
            data,
            compressor,
            level,
            query_fields(0, "admin.$cmd", 0, -1, ping(), None),
            body,
        )
        # A compressed OP_MSG: the insert with a document sequence.
        cmd = insert_command()
        mbody, identifier, docs = msg_body_and_sequence(cmd, "test", None, False)
        rid, data, _, _ = message._op_msg(0, SON(cmd), "test", None, False, False, OPTS, ctx)
        raw, _, _ = message._op_msg_no_header(0, mbody, identifier, docs, False, OPTS)
        g.add_compressed(
            "compressed_%s_msg_insert" % tag,
            "OP_COMPRESSED (%s) around the OP_MSG insert with a 'documents' sequence." % tag,
            "pymongo.message._op_msg(0, <insert command>, 'test', None, False, False,"
            " DEFAULT_CODEC_OPTIONS, %s)" % ctx_str,
            rid,
            data,
            compressor,
            level,
            msg_fields(0, mbody, identifier, docs),
            raw,
        )

    # The legacy writes and getMore can be compressed too (PyMongo did so for unacknowledged writes).
    ctx = ZlibContext(6)
    rid, data = message.get_more("test.coll", 100, 1234567890123, ctx)
    g.add_compressed(
        "compressed_zlib6_get_more",
        "OP_COMPRESSED (zlib 6) around OP_GET_MORE.",
        "pymongo.message.get_more('test.coll', 100, 1234567890123, ZlibContext(6))",
        rid,
        data,
        "zlib",
        6,
        get_more_fields("test.coll", 100, 1234567890123),
        message._get_more("test.coll", 100, 1234567890123),
    )
    rid, data, _ = message.insert("test.coll", BATCH, True, False, None, True, OPTS, ctx)
    g.add_compressed(
        "compressed_zlib6_insert_many",
        "OP_COMPRESSED (zlib 6) around OP_INSERT of 3 docs, ContinueOnError.",
        "pymongo.message.insert('test.coll', <3 docs>, True, False, None, True, DEFAULT_CODEC_OPTIONS,"
        " ZlibContext(6))",
        rid,
        data,
        "zlib",
        6,
        insert_fields(INSERT_CONTINUE_ON_ERROR, "test.coll", BATCH),
        message._insert("test.coll", BATCH, True, 1, OPTS)[0],
    )
    spec, upd = SON([("_id", FIXED_OID)]), SON([("$set", SON([("n", 2)]))])
    rid, data, _ = message.update("test.coll", True, False, spec, upd, False, None, False, OPTS, ctx)
    g.add_compressed(
        "compressed_zlib6_update_upsert",
        "OP_COMPRESSED (zlib 6) around OP_UPDATE with Upsert.",
        "pymongo.message.update('test.coll', True, False, <selector>, <update>, False, None, False,"
        " DEFAULT_CODEC_OPTIONS, ZlibContext(6))",
        rid,
        data,
        "zlib",
        6,
        update_fields(1, "test.coll", spec, upd),
        message._update("test.coll", True, False, spec, upd, False, OPTS)[0],
    )
    rid, data, _ = message.delete("test.coll", spec, False, None, OPTS, DELETE_SINGLE_REMOVE, ctx)
    g.add_compressed(
        "compressed_zlib6_delete",
        "OP_COMPRESSED (zlib 6) around OP_DELETE with SingleRemove.",
        "pymongo.message.delete('test.coll', <selector>, False, None, DEFAULT_CODEC_OPTIONS, 1,"
        " ZlibContext(6))",
        rid,
        data,
        "zlib",
        6,
        delete_fields(1, "test.coll", spec),
        message._delete("test.coll", spec, OPTS, DELETE_SINGLE_REMOVE)[0],
    )


def versions():
    out = collections.OrderedDict(
        [
            ("pymongo", pymongo.version),
            ("pymongo_c_extension", bool(message._use_c)),
            ("bson_c_extension", bool(bson.has_c())),
            ("python", platform.python_version()),
            ("zlib", zlib.ZLIB_RUNTIME_VERSION),
        ]
    )
    try:
        import snappy

        out["python-snappy"] = getattr(snappy, "__version__", "unknown")
        try:
            import cramjam

            out["cramjam"] = cramjam.__version__
        except ImportError:
            pass
    except ImportError:
        out["python-snappy"] = None
    try:
        import zstandard

        out["zstandard"] = zstandard.__version__
        out["libzstd"] = ".".join(str(p) for p in zstandard.ZSTD_VERSION)
    except ImportError:
        out["zstandard"] = None
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", required=True, help="output directory (its *.bin and manifest.json are replaced)"
    )
    parser.add_argument("--command", default=None, help="the command line to record in the manifest")
    args = parser.parse_args()

    random.seed(RANDOM_SEED)
    os.makedirs(args.out, exist_ok=True)
    for stale in os.listdir(args.out):
        if stale.endswith(".bin") or stale == "manifest.json":
            os.remove(os.path.join(args.out, stale))

    g = Golden(args.out)
    add_queries(g)
    add_legacy_writes(g)
    add_cursor_ops(g)
    add_op_msgs(g)
    add_compressed(g)

    manifest = collections.OrderedDict(
        [
            ("format", "mongopool-golden-wire/1"),
            ("schema", "scripts/golden/README.md"),
            ("generated_by", "scripts/golden/generate.py"),
            ("generation_command", args.command or " ".join([os.path.basename(sys.executable)] + sys.argv)),
            ("versions", versions()),
            ("random_seed", RANDOM_SEED),
            (
                "notes",
                [
                    "All integers are little-endian on the wire; request_id is the one PyMongo returned and wrote.",
                    "Documents: extjson is canonical Extended JSON (relaxed=false); bson_hex is the exact bytes.",
                    "Compressed bytes depend on the compression library; compare decompressed payloads, "
                    "not compressed bytes, against another compressor.",
                ],
            ),
            ("messages", g.messages),
            ("sequences", g.sequences),
        ]
    )
    with open(os.path.join(args.out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print("wrote %d messages and %d sequences to %s" % (len(g.messages), len(g.sequences), args.out))


if __name__ == "__main__":
    main()
