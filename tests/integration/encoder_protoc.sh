#!/usr/bin/env bash
# encoder_protoc.sh — decodes the sample trace with protoc and the
# hand-written schema subset (tests/proto/perfetto_subset.proto) and compares
# it with tests/golden/encoder_sample.txt. protoc knows nothing of our code,
# so a wrong field number or wire type shows up here as a diff.
# Usage: encoder_protoc.sh ENCODE_SAMPLE TESTS_DIR  (GOLDEN_UPDATE=1 rewrites)
set -euo pipefail
encode=$1 tests=$2
command -v protoc >/dev/null || { echo "protoc is missing (tools/install-deps.sh installs it)" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$encode" "$tmp/sample.pftrace"
protoc -I "$tests/proto" --decode=perfetto.protos.Trace perfetto_subset.proto \
  < "$tmp/sample.pftrace" > "$tmp/sample.txt"
# Unknown fields would show up as bare numbers: the subset must name them all.
if grep -nE '^ *[0-9]+:' "$tmp/sample.txt"; then
  echo "the trace has fields the schema subset does not name" >&2; exit 1
fi
if [[ "${GOLDEN_UPDATE:-}" == 1 ]]; then
  cp "$tmp/sample.txt" "$tests/golden/encoder_sample.txt"; exit 0
fi
diff -u "$tests/golden/encoder_sample.txt" "$tmp/sample.txt"
