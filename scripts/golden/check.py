#!/usr/bin/env python3
"""Read the golden messages back without PyMongo's message code and hold them to the manifest.

A small reader of its own (struct + the wire layouts) splits every file into its
fields and compares each with what manifest.json says, so the manifest is known to
describe the bytes exactly. Documents are compared three ways: the bytes in the
message, the manifest's bson_hex, and the manifest's canonical Extended JSON
encoded again with the bson package. Exits non-zero on the first mismatch.
"""

import argparse
import json
import os
import struct
import sys
import zlib

import bson
from bson import json_util
from bson.binary import UuidRepresentation

# Decode subtype 3/4 binaries as Binary, never as uuid.UUID, so they encode back unchanged.
EXTJSON = json_util.CANONICAL_JSON_OPTIONS.with_options(uuid_representation=UuidRepresentation.UNSPECIFIED)

COMPRESSOR_IDS = {"noop": 0, "snappy": 1, "zlib": 2, "zstd": 3}


class Mismatch(Exception):
    pass


def expect(what, got, want):
    if got != want:
        raise Mismatch("%s: got %r, manifest says %r" % (what, got, want))


class Reader:
    """Bounds-checked little-endian cursor over one message."""

    def __init__(self, data, pos=0, end=None):
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def take(self, n):
        if n < 0 or self.pos + n > self.end:
            raise Mismatch("read of %d bytes at %d runs past %d" % (n, self.pos, self.end))
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def i32(self):
        return struct.unpack("<i", self.take(4))[0]

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def i64(self):
        return struct.unpack("<q", self.take(8))[0]

    def u8(self):
        return self.take(1)[0]

    def cstring(self):
        nul = self.data.find(b"\x00", self.pos, self.end)
        if nul < 0:
            raise Mismatch("unterminated cstring at %d" % self.pos)
        out = self.data[self.pos : nul].decode("utf-8")
        self.pos = nul + 1
        return out

    def document(self):
        start = self.pos
        length = struct.unpack("<i", self.take(4))[0]
        if length < 5:
            raise Mismatch("document length %d at %d" % (length, start))
        self.pos = start
        doc = self.take(length)
        if doc[-1] != 0:
            raise Mismatch("document at %d does not end in NUL" % start)
        return doc

    def done(self):
        return self.pos == self.end


def check_doc(what, raw, described):
    expect(what + " bytes", raw.hex(), described["bson_hex"])
    from_json = json_util.loads(json.dumps(described["extjson"]), json_options=EXTJSON)
    expect(what + " extjson re-encoded", bson.encode(from_json).hex(), described["bson_hex"])


def check_docs(what, raws, described):
    expect(what + " count", len(raws), len(described))
    for i, (raw, desc) in enumerate(zip(raws, described)):
        check_doc("%s[%d]" % (what, i), raw, desc)


def check_body(opcode, r, f, name):
    """Parse the part of a message after its 16-byte header and compare with `f`."""
    if opcode == 2004:  # OP_QUERY
        expect(name + " flags", r.i32(), f["flags"])
        expect(name + " collection", r.cstring(), f["full_collection_name"])
        expect(name + " numberToSkip", r.i32(), f["number_to_skip"])
        expect(name + " numberToReturn", r.i32(), f["number_to_return"])
        check_doc(name + " query", r.document(), f["query"])
        if r.done():
            expect(name + " returnFieldsSelector", None, f["return_fields_selector"])
        else:
            check_doc(name + " returnFieldsSelector", r.document(), f["return_fields_selector"])
    elif opcode == 2002:  # OP_INSERT
        expect(name + " flags", r.i32(), f["flags"])
        expect(name + " collection", r.cstring(), f["full_collection_name"])
        docs = []
        while not r.done():
            docs.append(r.document())
        check_docs(name + " documents", docs, f["documents"])
    elif opcode == 2001:  # OP_UPDATE
        expect(name + " ZERO", r.i32(), 0)
        expect(name + " collection", r.cstring(), f["full_collection_name"])
        expect(name + " flags", r.i32(), f["flags"])
        check_doc(name + " selector", r.document(), f["selector"])
        check_doc(name + " update", r.document(), f["update"])
    elif opcode == 2006:  # OP_DELETE
        expect(name + " ZERO", r.i32(), 0)
        expect(name + " collection", r.cstring(), f["full_collection_name"])
        expect(name + " flags", r.i32(), f["flags"])
        check_doc(name + " selector", r.document(), f["selector"])
    elif opcode == 2005:  # OP_GET_MORE
        expect(name + " ZERO", r.i32(), 0)
        expect(name + " collection", r.cstring(), f["full_collection_name"])
        expect(name + " numberToReturn", r.i32(), f["number_to_return"])
        expect(name + " cursorID", r.i64(), f["cursor_id"])
    elif opcode == 2007:  # OP_KILL_CURSORS
        expect(name + " ZERO", r.i32(), 0)
        count = r.i32()
        expect(name + " numberOfCursorIDs", count, len(f["cursor_ids"]))
        expect(name + " cursorIDs", [r.i64() for _ in range(count)], f["cursor_ids"])
    elif opcode == 2013:  # OP_MSG
        flags = r.u32()
        expect(name + " flagBits", flags, f["flag_bits"])
        if flags & 1:
            raise Mismatch(name + ": checksumPresent is set; this reader expects no checksum")
        sections = []
        while not r.done():
            kind = r.u8()
            if kind == 0:
                sections.append({"kind": 0, "raw": r.document()})
            elif kind == 1:
                start = r.pos
                size = r.i32()
                seq = Reader(r.data, r.pos, start + size)
                r.take(size - 4)
                identifier = seq.cstring()
                docs = []
                while not seq.done():
                    docs.append(seq.document())
                sections.append({"kind": 1, "identifier": identifier, "raws": docs})
            else:
                raise Mismatch("%s: section kind %d" % (name, kind))
        expect(name + " section count", len(sections), len(f["sections"]))
        for i, (got, want) in enumerate(zip(sections, f["sections"])):
            expect("%s section %d kind" % (name, i), got["kind"], want["kind"])
            if got["kind"] == 0:
                check_doc("%s section %d body" % (name, i), got["raw"], want["body"])
            else:
                expect("%s section %d identifier" % (name, i), got["identifier"], want["identifier"])
                check_docs("%s section %d documents" % (name, i), got["raws"], want["documents"])
    else:
        raise Mismatch("%s: no reader for opcode %d" % (name, opcode))
    if not r.done():
        raise Mismatch("%s: %d trailing bytes" % (name, r.end - r.pos))


def decompress(compressor, payload):
    if compressor == "zlib":
        return zlib.decompress(payload)
    if compressor == "snappy":
        import cramjam  # python-snappy's own backend; a different entry point than pymongo used

        return bytes(cramjam.snappy.decompress_raw(payload))
    if compressor == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().decompress(payload)
    raise Mismatch("unknown compressor %r" % compressor)


def check_message(data, entry, name, directory):
    """Check one whole message (header included) against its description."""
    r = Reader(data)
    expect(name + " length field", r.i32(), len(data))
    expect(name + " length", len(data), entry["length"])
    expect(name + " requestID", r.i32(), entry["request_id"])
    expect(name + " responseTo", r.i32(), entry["response_to"])
    opcode = r.i32()
    expect(name + " opCode", opcode, entry["opcode"])
    f = entry["fields"]
    if opcode != 2012:
        check_body(opcode, r, f, name)
        return
    expect(name + " originalOpcode", r.i32(), f["original_opcode"])
    uncompressed_size = r.i32()
    expect(name + " uncompressedSize", uncompressed_size, f["uncompressed_size"])
    expect(name + " compressorId", r.u8(), f["compressor_id"])
    expect(name + " compressor name", COMPRESSOR_IDS[f["compressor"]], f["compressor_id"])
    payload = r.take(r.end - r.pos)
    expect(name + " compressed size", len(payload), f["compressed_size"])
    body = decompress(f["compressor"], payload)
    expect(name + " decompressed size", len(body), uncompressed_size)
    inner = f["inner"]
    expect(name + " inner opcode", inner["opcode"], f["original_opcode"])
    expect(name + " inner request id", inner["request_id"], entry["request_id"])
    with open(os.path.join(directory, inner["file"]), "rb") as fh:
        inner_data = fh.read()
    expect(name + " inner body", inner_data[16:], body)
    check_message(inner_data, inner, name + " inner", directory)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", help="directory holding manifest.json and the .bin files")
    args = parser.parse_args()
    with open(os.path.join(args.dir, "manifest.json"), encoding="utf-8") as fh:
        manifest = json.load(fh)

    referenced = set()
    checked = 0
    try:
        for entry in manifest["messages"]:
            with open(os.path.join(args.dir, entry["file"]), "rb") as fh:
                data = fh.read()
            check_message(data, entry, entry["name"], args.dir)
            referenced.add(entry["file"])
            if entry["opcode"] == 2012:
                referenced.add(entry["fields"]["inner"]["file"])
            checked += 1
        for seq in manifest["sequences"]:
            with open(os.path.join(args.dir, seq["file"]), "rb") as fh:
                data = fh.read()
            expect(seq["name"] + " length", len(data), seq["length"])
            pos = 0
            for i, part in enumerate(seq["parts"]):
                expect("%s part %d offset" % (seq["name"], i), pos, part["offset"])
                (length,) = struct.unpack_from("<i", data, pos)
                check_message(data[pos : pos + length], part, "%s part %d" % (seq["name"], i), args.dir)
                pos += length
            expect(seq["name"] + " end", pos, len(data))
            expect(seq["name"] + " request id", seq["parts"][-1]["request_id"], seq["request_id"])
            referenced.add(seq["file"])
            checked += 1
    except Mismatch as e:
        print("MISMATCH: %s" % e, file=sys.stderr)
        sys.exit(1)

    on_disk = {n for n in os.listdir(args.dir) if n.endswith(".bin")}
    if on_disk != referenced:
        print("files not matching the manifest: %s" % sorted(on_disk ^ referenced), file=sys.stderr)
        sys.exit(1)
    print("checked %d golden entries (%d files) against manifest.json" % (checked, len(on_disk)))


if __name__ == "__main__":
    main()
