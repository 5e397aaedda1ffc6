# Sourced by pythons-sid.sh and python-313t.sh: a private apt config that reads Debian sid from
# this machine's own Debian mirror, only to download (nothing on the system changes).
#   sid_apt_config CONF SOURCES KIND...   writes CONF and SOURCES ("deb", "deb-src" lines) under $ROOT/apt
sid_apt_config() {
  local conf=$1 sources=$2 kind mirror
  shift 2
  mkdir -p "$ROOT"/apt/{etc/parts.d,lists/partial,cache/archives/partial}
  mirror=$(grep -h -m1 '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | head -1 || true)
  [ -n "$mirror" ] || mirror=$(grep -h -m1 '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' || true)
  [ -n "$mirror" ] || { echo "$(basename "$0"): no Debian mirror in the apt sources" >&2; exit 2; }
  : > "$sources"
  for kind in "$@"; do
    echo "$kind [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror sid main" >> "$sources"
  done
  cat > "$conf" <<EOF
Dir::Etc::SourceList "$sources";
Dir::Etc::SourceParts "$ROOT/apt/etc/parts.d";
Dir::State::Lists "$ROOT/apt/lists";
Dir::Cache "$ROOT/apt/cache";
Acquire::Languages "none";
APT::Sandbox::User "root";
EOF
}
