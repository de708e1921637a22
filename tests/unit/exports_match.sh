#!/usr/bin/env bash
# exports_match.sh LIB SRCDIR — the hooks libgiltrace.so exports are exactly
# the functions its sources define with GT_EXPORT: a hook missing from the
# hook table (preload/gt_hook_table.h) would be compiled but never called.
set -euo pipefail
lib=$1 src=$2
exported=$(nm -D --defined-only "$lib" | awk '{print $3}' | sort)
defined=$(grep -hoE '^GT_EXPORT [a-z_]+ \**[A-Za-z_]+\(' "$src"/*.c |
          sed -E 's/.* \**([A-Za-z_]+)\($/\1/' | sort)
if [[ "$exported" != "$defined" ]]; then
  echo "exported by $lib but not defined with GT_EXPORT, or the other way round:" >&2
  diff <(echo "$defined") <(echo "$exported") >&2 || true
  exit 1
fi
echo "exports_match: $(echo "$exported" | wc -l) hooks"
