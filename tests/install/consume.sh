#!/usr/bin/env bash
# Installs procctx from a build tree and uses it from outside, as a project
# would. One mode per ctest test (label install):
#   consume.sh installed     BUILD_DIR SOURCE_DIR   cmake --install; the files; procctx --version;
#                                                   a consumer by find_package and one by pkg-config
#   consume.sh deb           BUILD_DIR SOURCE_DIR   cpack DEB; its contents; dpkg -x into a clean
#                                                   root; procctx --version; a find_package consumer
#   consume.sh add_subdirectory  SOURCE_DIR         a consumer that builds procctx from its source
#   consume.sh FetchContent      SOURCE_DIR         the same through FetchContent (no network)
# The build tree is reused as it is: nothing is rebuilt here but the consumers.
set -euo pipefail

mode=$1
shift
work=$(mktemp -d "${TMPDIR:-/tmp}/procctx-consume.XXXXXX")
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
say() { echo "== $*"; }

# consumer_cmake HOW [cmake args...]: configures, builds and runs the consumer.
consumer_cmake() {
  local how=$1 src
  shift
  src=$(dirname "$0")/consumer
  say "consumer by $how"
  cmake -S "$src" -B "$work/consumer-$how" -G Ninja -DHOW="$how" "$@" >"$work/configure.log" 2>&1 ||
    { cat "$work/configure.log"; fail "configuring the $how consumer"; }
  cmake --build "$work/consumer-$how" --target consumer -j 2 >"$work/build.log" 2>&1 ||
    { cat "$work/build.log"; fail "building the $how consumer"; }
  "$work/consumer-$how/consumer" || fail "the $how consumer"
}

# expect_files ROOT PATH...: each PATH (a glob) exists under ROOT.
expect_files() {
  local root=$1 f
  shift
  for f in "$@"; do
    compgen -G "$root/$f" >/dev/null || fail "not installed: $f"
  done
}

installed_files=(
  'lib*/libprocctx.*' 'include/procctx/procctx.hpp' 'include/procctx/export.hpp'
  'lib*/cmake/procctx/procctx-config.cmake' 'lib*/pkgconfig/procctx.pc'
  'bin/procctx' 'share/man/man1/procctx.1'
  'share/bash-completion/completions/procctx' 'share/zsh/vendor-completions/_procctx'
)

case $mode in
installed)
  build=$1 source=$2
  prefix=$work/prefix
  say "cmake --install $build --prefix $prefix"
  cmake --install "$build" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log"; fail "install"; }
  expect_files "$prefix" "${installed_files[@]}"
  "$prefix/bin/procctx" --version
  if command -v man >/dev/null; then
    man -l "$prefix/share/man/man1/procctx.1" 2>/dev/null | grep -q 'procctx' || fail "the man page does not render"
  fi
  bash -n "$prefix/share/bash-completion/completions/procctx" || fail "bash completion syntax"
  if command -v zsh >/dev/null; then zsh -n "$prefix/share/zsh/vendor-completions/_procctx" || fail "zsh completion syntax"; fi
  consumer_cmake find_package -DCMAKE_PREFIX_PATH="$prefix"
  say "consumer by pkg-config"
  pc_dir=$(dirname "$(find "$prefix" -name procctx.pc)")
  flags=$(PKG_CONFIG_PATH=$pc_dir pkg-config --cflags --libs procctx) || fail "pkg-config procctx"
  echo "pkg-config --cflags --libs procctx: $flags"
  # shellcheck disable=SC2086  # the flags are words
  c++ "$(dirname "$0")/consumer/main.cpp" -o "$work/consumer-pc" $flags || fail "building the pkg-config consumer"
  "$work/consumer-pc" || fail "the pkg-config consumer"
  ;;
deb)
  build=$1 source=$2
  say "cpack -G DEB from $build"
  # The package as `make deb` makes it (the same CPackConfig.cmake: name,
  # version, dependencies, description), but from the tree as built: cpack
  # takes a `cmake --install` of it rather than first rebuilding every
  # target, which would relink binaries other tests may be running.
  cmake --install "$build" --prefix "$work/stage" >"$work/install.log" || { cat "$work/install.log"; fail "install"; }
  (cd "$build" && cpack -G DEB -B "$work/pkg" -D CPACK_INSTALL_CMAKE_PROJECTS= \
    -D "CPACK_INSTALLED_DIRECTORIES=$work/stage;usr" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack"; }
  deb=$(find "$work/pkg" -maxdepth 1 -name 'procctx_*.deb')
  [ -n "$deb" ] || fail "no procctx_*.deb in $work/pkg"
  echo "$(basename "$deb"): $(dpkg-deb -f "$deb" Package Version Architecture Depends | tr '\n' ' ')"
  dpkg-deb -c "$deb" >/dev/null || fail "dpkg-deb -c"
  root=$work/root
  dpkg -x "$deb" "$root"
  expect_files "$root/usr" "${installed_files[@]}"
  "$root/usr/bin/procctx" --version
  consumer_cmake find_package -DCMAKE_PREFIX_PATH="$root/usr"
  ;;
add_subdirectory | FetchContent)
  source=$1
  # These build libprocctx from source; a unity build keeps that to a few
  # compiler runs.
  consumer_cmake "$mode" -DPROCCTX_SOURCE_DIR="$source" -DCMAKE_UNITY_BUILD=ON
  ;;
*)
  fail "unknown mode $mode"
  ;;
esac
echo "ok: $mode"
