# shellcheck shell=bash
# tools/deps.sh: the Debian 12 packages refpos needs, in one place. Sourced by
# tools/demo and tools/test (never run on its own), so the two cannot drift.
#
#   refpos_ensure_deps   installs what is missing when run as root (quietly,
#                        and only if something is missing); as another user,
#                        prints the apt-get command and exits 2.

REFPOS_APT_PACKAGES=(
  cmake ninja-build g++ clang libclang-rt-14-dev binutils pkg-config  # toolchain
  libboost-dev nlohmann-json3-dev libsqlite3-dev libssl-dev           # libraries
  libqrcodegencpp-dev libpng-dev libcli11-dev doctest-dev
  libpq-dev           # head office on PostgreSQL (tools/hq/pg_storage.cpp)
  postgresql-15       # tests: a throwaway cluster per test process (tests/support/pg_cluster.cpp)
  haproxy             # tests: two refpos-hq behind it in TLS passthrough (tests/scale/, assets/haproxy/)
  console-setup-linux  # receipt preview font (public domain), read at build time
  zbar-tools sqlite3 openssl                                          # tests and demo
  chromium                                      # tests: the HTML report in a real browser
  python3 python3-pytest default-jdk-headless libjna-java             # SDK bindings
  abi-dumper abi-compliance-checker                                   # ABI checks
)

# Prints the packages of REFPOS_APT_PACKAGES that are not installed.
refpos_missing_deps() {
  local package
  for package in "${REFPOS_APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
      echo "$package"
    fi
  done
}

refpos_ensure_deps() {
  if ! command -v dpkg-query >/dev/null; then
    echo "note: not a Debian system; make sure these (or their equivalents) are installed:" >&2
    echo "  ${REFPOS_APT_PACKAGES[*]}" >&2
    return 0
  fi
  local missing
  mapfile -t missing < <(refpos_missing_deps)
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  if ((EUID != 0)); then
    echo "missing packages: ${missing[*]}" >&2
    echo "install them as root:  apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 2
  fi
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
