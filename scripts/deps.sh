#!/usr/bin/env bash
# Installs what procctx needs to build and test, from Debian, when missing.
# Usage: scripts/deps.sh [build|test|bench|docs|deb|fuzz|memcheck|browser]   (each includes build)
# `browser` is what the HTML report's test needs (Chromium, a large package):
# that test installs it on demand, so `test` does not.
set -euo pipefail

want=(cmake ninja-build g++ make pkg-config nlohmann-json3-dev)
optional=()  # installed when the machine's suites have them; what needs them says SKIPPED otherwise
case "${1:-build}" in
  # dpkg-dev: the .deb test; python3-jsonschema: the report schemas' tests; libasio-dev and
  # libboost1.81-dev: procctx/asio.hpp's tests and example (Boost 1.81 rather than libboost-dev,
  # 1.74, which conflicts with the benchmarks' 1.81); perl, xz-utils: coreutils' own timeout
  # tests (tests/cli/coreutils_timeout.sh); universal-ctags, python3: scripts/structure.sh.
  test)  want+=(clang libgtest-dev libgmock-dev libbenchmark-dev dpkg-dev python3-jsonschema libasio-dev
                libboost1.81-dev perl xz-utils universal-ctags python3) ;;
  docs)  want+=(doxygen) ;;
  deb)   want+=(dpkg-dev) ;;
  # golang-1.23-go: Go as Go users write it today (Cmd.Cancel, Cmd.WaitDelay); from bookworm-backports,
  # see below. golang-1.19-go, Debian 12's own Go, stays as the footnote peer.
  bench) want+=(libbenchmark-dev golang-1.19-go parallel python3 libboost1.81-dev nodejs)
         optional+=(golang-1.23-go) ;;
  fuzz)  want+=(clang-14 libclang-rt-14-dev) ;;
  memcheck) want+=(libgtest-dev libgmock-dev valgrind) ;;
  browser) want+=(chromium) ;;
esac

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=() missing_optional=()
for pkg in "${want[@]}"; do installed "$pkg" || missing+=("$pkg"); done
for pkg in "${optional[@]}"; do installed "$pkg" || missing_optional+=("$pkg"); done
[ ${#missing[@]} -eq 0 ] && [ ${#missing_optional[@]} -eq 0 ] && exit 0

# Debian 12 has golang-1.23 only in its bookworm-backports suite. Adds that suite (one file of its own,
# nothing else touched) when golang-1.23-go is wanted, the release is bookworm, and no apt source names
# bookworm-backports yet; so a second run changes nothing. Backports are pinned at priority 100 by their
# Release file: nothing already installed is upgraded from them, only what is asked for by name.
add_backports_if_wanted() {
  [[ " ${missing_optional[*]} " == *" golang-1.23-go "* ]] || return 0
  local codename
  codename=$(sed -n "s/^VERSION_CODENAME=//p" /etc/os-release 2>/dev/null || true)
  [ "$codename" = bookworm ] || return 0
  grep -rqsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ && return 0
  echo "procctx: adding Debian's bookworm-backports suite (for golang-1.23-go)"
  cat >/etc/apt/sources.list.d/procctx-bookworm-backports.sources <<'SOURCES'
# Added by procctx's scripts/deps.sh for golang-1.23-go (make bench's Go peer).
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
}

if [ "$(id -u)" -ne 0 ]; then
  if [ ${#missing[@]} -eq 0 ]; then
    echo "procctx: note: not root, so not installing ${missing_optional[*]} (the rows that need it say SKIPPED)" >&2
    exit 0
  fi
  echo "procctx: error: need root to install ${missing[*]} (or install them yourself)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
add_backports_if_wanted
apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  echo "procctx: installing missing Debian packages: ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
for pkg in "${missing_optional[@]}"; do
  if apt-cache show "$pkg" >/dev/null 2>&1; then
    echo "procctx: installing $pkg"
    apt-get install -y -qq --no-install-recommends "$pkg"
  else
    echo "procctx: note: no $pkg in this machine's apt suites; the rows that need it say SKIPPED" >&2
  fi
done
