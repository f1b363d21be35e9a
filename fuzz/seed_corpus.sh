#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with the starting inputs of each target: the golden
# PyMongo messages (tests/golden/*.bin of mongopool-wire) and the SCRAM exchanges of
# fuzz/seeds/. Safe to rerun: files are named by content, existing ones are kept.
set -euo pipefail
cd "$(dirname "$0")"
golden=../crates/mongopool-wire/tests/golden

mkdir -p corpus/decode_message corpus/stream_decoder corpus/scram_server_messages \
    corpus/reply_path corpus/connection_string

for f in "$golden"/*.bin; do
    cp "$f" corpus/decode_message/
    # stream_decoder: a leading 0 (no cut), then the stream; and the same stream cut
    # at 3 points (count 3, offsets 1, 7 and 20).
    name=$(basename "$f" .bin)
    { printf '\x00'; cat "$f"; } > "corpus/stream_decoder/$name"
    { printf '\x03\x01\x00\x07\x00\x14\x00'; cat "$f"; } > "corpus/stream_decoder/$name.cut"
done
# Several frames back to back (the uncompressed ones: each is under the target's 4 KiB
# limit), so the decoder has to find the boundaries.
{ printf '\x00'; cat "$golden"/msg_*.bin "$golden"/query_*.bin; } > corpus/stream_decoder/many_frames

cp seeds/scram_server_messages/* corpus/scram_server_messages/

# reply_path: each golden frame with each negotiated compressor (selector 0-3), and
# with exhaust allowed (selector 4).
for f in "$golden"/*.bin; do
    name=$(basename "$f" .bin)
    for selector in 0 1 2 3 4; do
        { printf "\\x0$selector"; cat "$f"; } > "corpus/reply_path/$name.$selector"
    done
done
cp seeds/reply_path/* corpus/reply_path/ 2>/dev/null || true

# connection_string: every URI of the vendored connection-string and URI-options specs.
python3 - <<'PY'
import glob, hashlib, json, os
for path in glob.glob("../crates/mongopool/tests/spec/connection-string/*.json") + \
        glob.glob("../crates/mongopool/tests/spec/uri-options/*.json"):
    for test in json.load(open(path)).get("tests", []):
        uri = test.get("uri")
        if uri:
            name = hashlib.sha1(uri.encode()).hexdigest()[:16]
            with open(os.path.join("corpus/connection_string", name), "w") as out:
                out.write(uri)
PY
cp seeds/connection_string/* corpus/connection_string/ 2>/dev/null || true
echo "seeded: $(ls corpus/decode_message | wc -l) decode_message," \
    "$(ls corpus/stream_decoder | wc -l) stream_decoder," \
    "$(ls corpus/scram_server_messages | wc -l) scram_server_messages," \
    "$(ls corpus/reply_path | wc -l) reply_path," \
    "$(ls corpus/connection_string | wc -l) connection_string"
