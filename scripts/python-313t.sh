#!/bin/bash
# CPython 3.13 free-threaded (3.13t, `--disable-gil`) for the runtime tests, on Debian (amd64):
# built from Debian's source package of python3.13 (its upstream tarball, no Debian patches),
# shared library, pip installed, rpath to its own lib/. Nothing on the system changes: apt runs
# with a private config for Debian sid (the system's own mirror), only to download the source.
# Then adds (or replaces) its entry in the manifest the tests read (test/helpers.js
# `freeThreadedPythons`), keeping the others (scripts/pythons-sid.sh writes 3.14 and 3.15):
#   $ROOT/pythons.json = [..., {"version": "3.13", "patch", "python", "node": "node", "freeThreaded": true}]
# ROOT defaults to ~/.cache/python-ts-pythons (or PYTHON_TS_PYTHONS_ROOT); installs into
# $ROOT/<version>t. The build (about 4 minutes on 2 cores) is skipped when that interpreter works.
#
# `--asan`: the same CPython with the GIL, built with AddressSanitizer and without pymalloc (every
# object a malloc of its own), into $ROOT/<version>-asan, listed in $ROOT/asan.json (not in the
# manifest: it only loads with libasan preloaded) for the memory-error tests that need CPython's
# own frees checked (test/regressions.test.js; test/helpers.js `asanPython`).
set -euo pipefail

ROOT=${PYTHON_TS_PYTHONS_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/python-ts-pythons}
# Debian's source version; the sid pool drops superseded ones: if it is gone, take the one shown
# by `APT_CONFIG=$ROOT/apt/etc/apt-src.conf apt-cache showsrc python3.13`.
SRC=${PY313_SRC:-3.13.15-1}
UP=${SRC%-*}             # upstream version: 3.13.15
ASAN=0
[ "${1:-}" = "--asan" ] && ASAN=1
if [ $ASAN = 1 ]; then
  PREFIX=$ROOT/${UP}-asan
  BUILD=$ROOT/build/${UP}-asan
  CONFIGURE_FLAGS=(--with-address-sanitizer --without-pymalloc)
  KIND="with AddressSanitizer"
else
  PREFIX=$ROOT/${UP}t
  BUILD=$ROOT/build/${UP}t
  CONFIGURE_FLAGS=(--disable-gil)
  KIND="free-threaded"
fi
LIBASAN=$(gcc -print-file-name=libasan.so 2>/dev/null || true)

t0=$(date +%s)
took() { echo "python-313t: $1 ($(( $(date +%s) - t0 )) s since start)"; }

[ -f /etc/debian_version ] || { echo "python-313t: needs Debian" >&2; exit 2; }

# The interpreter works: free-threaded (or sanitized), shared, and the modules the tests need import.
check() {
  if [ $ASAN = 1 ]; then
    LD_PRELOAD=$LIBASAN ASAN_OPTIONS=detect_leaks=0 "$PREFIX/bin/python3" -c '
import sys, sysconfig, ssl, decimal, ctypes
assert "--with-address-sanitizer" in sysconfig.get_config_var("CONFIG_ARGS"), "not an ASan build"
assert sysconfig.get_config_var("Py_ENABLE_SHARED") == 1, "no shared library"
print("python-313t: asan", sys.version.split()[0], sysconfig.get_config_var("INSTSONAME"))'
    return
  fi
  "$PREFIX/bin/python3" -c '
import sys, sysconfig, ssl, sqlite3, decimal, ctypes
assert sysconfig.get_config_var("Py_GIL_DISABLED") == 1, "not a free-threaded build"
assert sysconfig.get_config_var("Py_ENABLE_SHARED") == 1, "no shared library"
print("python-313t:", sys.version.split()[0], "Py_GIL_DISABLED=1,", sysconfig.get_config_var("INSTSONAME") + ",", ssl.OPENSSL_VERSION)'
}

if [ -x "$PREFIX/bin/python3" ] && check 2>/dev/null; then
  echo "python-313t: $PREFIX already built"
else
  # Build dependencies: checked, never installed here.
  missing=()
  for p in gcc make pkg-config xz-utils libssl-dev libffi-dev zlib1g-dev libbz2-dev liblzma-dev libsqlite3-dev; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "python-313t: missing build dependencies: ${missing[*]} (install them: apt-get install ${missing[*]})" >&2
    exit 2
  fi

  # The source: Debian's python3.13 from sid. The private apt state is pythons-sid.sh's layout
  # ($ROOT/apt), with this script's own config and sources file (deb and deb-src lines), so the
  # order the two scripts run in does not matter.
  mkdir -p "$ROOT/src"
  tarball=$(ls "$ROOT"/src/python3.13_"$UP".orig.tar.* 2>/dev/null | head -1 || true)
  if [ -z "$tarball" ]; then
    conf=$ROOT/apt/etc/apt-src.conf
    # shellcheck source=scripts/sid-apt.sh
    . "$(dirname "$0")/sid-apt.sh"
    sid_apt_config "$conf" "$ROOT/apt/etc/sources-src.list" deb deb-src
    APT_CONFIG=$conf apt-get -q update >/dev/null
    ( cd "$ROOT/src" && APT_CONFIG=$conf apt-get -q source --download-only "python3.13=$SRC" >/dev/null )
    tarball=$(ls "$ROOT"/src/python3.13_"$UP".orig.tar.* 2>/dev/null | head -1 || true)
    [ -n "$tarball" ] || { echo "python-313t: no python3.13_$UP.orig.tar.* after apt-get source" >&2; exit 1; }
    took "downloaded $(basename "$tarball")"
  fi
  src=$ROOT/src/Python-$UP
  rm -rf "$src"
  tar -C "$ROOT/src" -xf "$tarball"
  [ -x "$src/configure" ] || { echo "python-313t: $tarball has no Python-$UP/configure" >&2; exit 1; }

  # Out-of-tree, shared, rpath to its own lib/ (no LD_LIBRARY_PATH needed).
  echo "python-313t: building CPython $UP $KIND into $PREFIX (logs in $BUILD)"
  rm -rf "$BUILD" "$PREFIX"
  mkdir -p "$BUILD"
  s=$(date +%s)
  step() {
    local name=$1; shift
    if ! ( cd "$BUILD" && "$@" > "$name.log" 2>&1 ); then
      tail -30 "$BUILD/$name.log" >&2
      echo "python-313t: $name failed (see $BUILD/$name.log)" >&2
      exit 1
    fi
    took "$name done"
  }
  if [ $ASAN = 1 ]; then
    [ -f "$LIBASAN" ] || { echo "python-313t: gcc has no libasan.so (install libasan8)" >&2; exit 2; }
    # No pip: ensurepip under ASan is slow and the tests need none.
    step configure "$src/configure" --prefix="$PREFIX" "${CONFIGURE_FLAGS[@]}" --enable-shared --with-ensurepip=no \
      LDFLAGS="-Wl,-rpath,$PREFIX/lib"
    # The build runs the new interpreter (setup of the modules): it needs libasan first.
    export ASAN_OPTIONS=detect_leaks=0
  else
    step configure "$src/configure" --prefix="$PREFIX" "${CONFIGURE_FLAGS[@]}" --enable-shared --with-ensurepip=install \
      LDFLAGS="-Wl,-rpath,$PREFIX/lib"
  fi
  step make make -j"$(nproc)"
  step install make install
  echo "python-313t: built in $(( $(date +%s) - s )) s"
  check || { echo "python-313t: the built interpreter fails the check" >&2; exit 1; }
fi

if [ $ASAN = 1 ]; then
  printf '{"version": "3.13", "patch": "%s", "python": "%s", "preload": "%s"}\n' "$UP" "$PREFIX/bin/python3" "$(readlink -f "$LIBASAN")" > "$ROOT/asan.json"
  took "listed in $ROOT/asan.json"
  exit 0
fi

# The manifest: replace any 3.13 free-threaded entry, keep every other one.
python3 - "$ROOT/pythons.json" "$PREFIX/bin/python3" "$UP" <<'EOF'
import json, os, sys
path, exe, patch = sys.argv[1:]
try:
    with open(path) as f:
        entries = json.load(f)
except FileNotFoundError:
    entries = []
entries = [e for e in entries if not (e.get("freeThreaded") and str(e.get("version")) == "3.13")]
entries.append({"version": "3.13", "patch": patch, "python": exe, "node": "node", "freeThreaded": True})
tmp = path + ".tmp"
with open(tmp, "w") as f:
    f.write("[\n" + ",\n".join("  " + json.dumps(e) for e in entries) + "\n]\n")
os.replace(tmp, path)
EOF
took "3.13t listed in $ROOT/pythons.json"
