#!/usr/bin/env bash
# abi.exports: libprocctx.so has the SONAME of its major version and exports
# the public API and nothing else (no procctx::detail, no test kit), each
# symbol under the version node PROCCTX_<major> (docs/abi.md).
#   exports.sh LIBRARY MAJOR
set -euo pipefail
lib=$1 major=$2
fail() { echo "FAIL: $*" >&2; exit 1; }

soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "libprocctx.so.$major" ] || fail "the SONAME is '$soname', not libprocctx.so.$major"

# Defined dynamic symbols, without the version node's own (type A) entry.
symbols=$(nm -D --defined-only "$lib" | awk '$2 != "A"')
[ -n "$symbols" ] || fail "no symbol exported"
unversioned=$(grep -v "@@PROCCTX_$major\$" <<<"$symbols" || true)
[ -z "$unversioned" ] || fail "exported outside the version node PROCCTX_$major:"$'\n'"$unversioned"

names=$(nm -DC --defined-only "$lib" | awk '$2 != "A" { $1 = ""; $2 = ""; print }' | sed 's/^ *//; s/@@PROCCTX_[0-9]*$//')
prefix='(typeinfo for |typeinfo name for |vtable for |non-virtual thunk to |virtual thunk to )?'
stray=$(grep -Ev "^${prefix}procctx::" <<<"$names" || true)
[ -z "$stray" ] || fail "exported but not in namespace procctx:"$'\n'"$stray"
private=$(grep -E "^${prefix}procctx::detail::" <<<"$names" || true)
[ -z "$private" ] || fail "procctx::detail exported:"$'\n'"$private"
# The test kit lives in libprocctx-testing.a alone (docs/testing.md).
kit=$(grep -E "^${prefix}procctx::testing::" <<<"$names" || true)
[ -z "$kit" ] || fail "the test kit exported by the shared library:"$'\n'"$kit"

echo "ok: $(basename "$lib"): SONAME $soname, $(wc -l <<<"$symbols") symbols exported, all procctx:: under PROCCTX_$major"
