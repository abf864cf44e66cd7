#!/usr/bin/env bash
# Installs what procctx needs to build and test, from Debian, when missing.
# Usage: scripts/deps.sh [build|test|bench|docs|deb|fuzz|memcheck|browser]   (each includes build)
# `browser` is what the HTML report's test needs (Chromium, a large package):
# that test installs it on demand, so `test` does not.
set -euo pipefail

want=(cmake ninja-build g++ make pkg-config nlohmann-json3-dev)
case "${1:-build}" in
  # dpkg-dev: the .deb test; python3-jsonschema: the report schemas' tests; libasio-dev and
  # libboost1.81-dev: procctx/asio.hpp's tests and example (Boost 1.81 rather than libboost-dev,
  # 1.74, which conflicts with the benchmarks' 1.81); perl, xz-utils: coreutils' own timeout
  # tests (tests/cli/coreutils_timeout.sh); universal-ctags, python3: scripts/structure.sh.
  test)  want+=(clang libgtest-dev libgmock-dev libbenchmark-dev dpkg-dev python3-jsonschema libasio-dev
                libboost1.81-dev perl xz-utils universal-ctags python3) ;;
  docs)  want+=(doxygen) ;;
  deb)   want+=(dpkg-dev) ;;
  bench) want+=(libbenchmark-dev golang-1.19-go parallel python3 libboost1.81-dev nodejs) ;;
  fuzz)  want+=(clang-14 libclang-rt-14-dev) ;;
  memcheck) want+=(libgtest-dev libgmock-dev valgrind) ;;
  browser) want+=(chromium) ;;
esac

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "procctx: installing missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "procctx: error: need root to install ${missing[*]} (or install them yourself)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
