#!/bin/sh
# Runs a binary of this bundle (reproduce, gumbel-gadgets) against libtorch 2.11.0: the torch of the
# machine's python3, or the libtorch folder in $LIBTORCH. Usage: ./run.sh BINARY [ARGS...]
# Errors are one line on stderr with exit code 2.
set -eu

fail() {
    echo "run.sh: $*" >&2
    exit 2
}

here=$(cd "$(dirname "$0")" && pwd)
[ "$#" -gt 0 ] || fail "usage: run.sh BINARY [ARGS...], BINARY one of: $(ls "$here/bin" | tr '\n' ' ')"
name=$1
shift
binary="$here/bin/$name"
case "$name" in
    */* | .*) fail "no binary '$name' in this bundle (it has: $(ls "$here/bin" | tr '\n' ' '))" ;;
esac
[ -f "$binary" ] && [ -x "$binary" ] ||
    fail "no binary '$name' in this bundle (it has: $(ls "$here/bin" | tr '\n' ' '))"

version=2.11.0
if [ -n "${LIBTORCH:-}" ]; then
    torch=$LIBTORCH
    source="LIBTORCH=$LIBTORCH"
else
    command -v python3 >/dev/null 2>&1 ||
        fail "no torch $version found: no python3 on PATH and LIBTORCH is not set (pip install torch==$version, or set LIBTORCH to a libtorch $version folder)"
    torch=$(python3 -c "import importlib.util as u; s = u.find_spec('torch'); print(s.submodule_search_locations[0] if s else '')" 2>/dev/null) || torch=
    [ -n "$torch" ] ||
        fail "no torch $version found: $(command -v python3) has no torch and LIBTORCH is not set (pip install torch==$version, or set LIBTORCH to a libtorch $version folder)"
    source="the torch of $(command -v python3)"
fi
[ -f "$torch/lib/libtorch.so" ] || fail "no torch $version found: $source ($torch) has no lib/libtorch.so"
found=$(cat "$torch/version.py" "$torch/build-version" 2>/dev/null || true)
case "$found" in
    *"$version+"* | *"'$version'"* | "$version") ;;
    *) fail "no torch $version found: $source ($torch) is another version; these binaries need exactly torch $version" ;;
esac

export LD_LIBRARY_PATH="$torch/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The git revision the binaries were built from, which reproduce stamps on its results.
if [ -f "$here/REVISION" ]; then
    GUMBEL_GADGETS_REVISION=$(cat "$here/REVISION")
    export GUMBEL_GADGETS_REVISION
fi
# glibc malloc keeps libtorch's per-step buffers instead of returning them to the kernel (as cargo does
# for the workspace's programs, .cargo/config.toml).
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-268435456}"
export MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-1073741824}"
exec "$binary" "$@"
