#!/usr/bin/env bash
# Regenerate crates/mongopool-wire/tests/golden/ with PyMongo 3.13.0's own message builders,
# then read every message back with check.py. Uses a throwaway virtualenv in a temp dir,
# removed on exit. Needs python3 (with venv) and PyPI; no network beyond the package index.
#
# Usage: scripts/golden/run.sh [output-dir]   (default: crates/mongopool-wire/tests/golden)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${1:-$repo/crates/mongopool-wire/tests/golden}"
python="${PYTHON:-python3}"

# Pinned so that a rerun writes the same bytes. python-snappy and zstandard let PyMongo build
# snappy and zstd OP_COMPRESSED messages; pymongo.compression_support imports them by name.
packages=(pymongo==3.13.0 python-snappy==0.7.3 cramjam==2.14.0 zstandard==0.25.0)

venv="$(mktemp -d "${TMPDIR:-/tmp}/mongopool-golden-venv.XXXXXX")"
trap 'rm -rf "$venv"' EXIT

"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir "${packages[@]}"

cd "$repo"
"$venv/bin/python" "$here/generate.py" --out "$out" --command "scripts/golden/run.sh"
"$venv/bin/python" "$here/check.py" "$out"
