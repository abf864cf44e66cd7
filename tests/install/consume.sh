#!/usr/bin/env bash
# Installs procctx from a build tree and uses it from outside, as a project
# would. One mode per ctest test (label install):
#   consume.sh installed     BUILD_DIR SOURCE_DIR   cmake --install; the files; procctx --version
#                                                   (finding libprocctx.so through its RUNPATH);
#                                                   consumers linked each way (below)
#   consume.sh deb           BUILD_DIR SOURCE_DIR   cpack DEB as `make deb` does; the three packages,
#                                                   their fields, dependencies and contents; dpkg -x
#                                                   of all three into a clean root; procctx --version;
#                                                   consumers linked each way against that root
#   consume.sh add_subdirectory  SOURCE_DIR         a consumer that builds procctx from its source
#   consume.sh FetchContent      SOURCE_DIR         the same through FetchContent (no network)
# "Each way": find_package with procctx::procctx (shared) and with
# procctx::procctx_static, pkg-config procctx (shared) and procctx-static;
# each consumer is checked to link what it asked for, and run. The test kit's
# examples (examples/testing: a user's tests) are built with find_package's
# procctx::testing, one of them with pkg-config's procctx-testing, and run:
# the CMake ones find procctx-testchild through the package's own location,
# the pkg-config one through the .pc file's `testchild` variable.
# add_subdirectory also checks that the library built there (without the
# test kit's seam, as every build but procctx's own tests') has none of it.
# The build tree is reused as it is: nothing is rebuilt here but the consumers.
set -euo pipefail
# (Output is searched through <<<"$(...)", never piped into grep -q: grep -q
# quits at the first match, and the writer's SIGPIPE would fail the pipeline.)

mode=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/procctx-consume.XXXXXX")
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
say() { echo "== $*"; }

# cache BUILD_DIR NAME: a value from the build tree's CMakeCache.txt.
cache() { sed -n "s/^$2:[A-Z]*=//p" "$1/CMakeCache.txt"; }

# The test kit's examples (examples/testing/NAME.cpp) built by find_package, and the one built
# by pkg-config. The deb mode builds fewer of them (the installed mode has built them all).
testkit_examples=(deadline_stops_stubborn_child grandchild_holds_stdout spawn_fails_then_retry cancel_reaches_group)
testkit_pkgconfig_example=deadline_stops_stubborn_child

# consumer_cmake HOW [cmake args...]: configures and builds the consumer project.
consumer_cmake() {
  local how=$1 targets=(consumer)
  shift
  [ "$how" = find_package ] && targets+=(consumer_static "${testkit_examples[@]/#/testing_}")
  say "consumer by $how: ${targets[*]}"
  cmake -S "$here/consumer" -B "$work/consumer-$how" -G Ninja -DHOW="$how" "$@" >"$work/configure.log" 2>&1 ||
    { cat "$work/configure.log"; fail "configuring the $how consumer"; }
  cmake --build "$work/consumer-$how" --target "${targets[@]}" -j 2 >"$work/build.log" 2>&1 ||
    { cat "$work/build.log"; fail "building the $how consumer"; }
}

# run_shared BIN LIBDIR: BIN needs libprocctx.so.N, loads it from LIBDIR, and works.
run_shared() {
  local bin=$1 libdir=$2
  grep -q 'NEEDED.*\[libprocctx\.so\.[0-9]*\]' <<<"$(readelf -d "$bin")" || fail "$(basename "$bin") does not link libprocctx.so"
  grep -q "libprocctx\.so\.[0-9]* => $libdir/" <<<"$(LD_LIBRARY_PATH=$libdir ldd "$bin")" ||
    { LD_LIBRARY_PATH=$libdir ldd "$bin"; fail "$(basename "$bin") does not load libprocctx.so from $libdir"; }
  LD_LIBRARY_PATH=$libdir "$bin" || fail "$(basename "$bin") (shared)"
}

# run_static BIN: BIN carries procctx inside it, and works.
run_static() {
  local bin=$1
  if grep -q 'NEEDED.*libprocctx' <<<"$(readelf -d "$bin")"; then fail "$(basename "$bin") links libprocctx.so, not the archive"; fi
  "$bin" || fail "$(basename "$bin") (static)"
}

# run_testkit BIN [VAR=VALUE...]: BIN (a test-kit example) carries procctx inside it, finds
# procctx-testchild itself (nothing but the given variables in its environment says where),
# and passes.
run_testkit() {
  local bin=$1
  shift
  if grep -q 'NEEDED.*libprocctx' <<<"$(readelf -d "$bin")"; then fail "$(basename "$bin") links libprocctx.so, not the kit's archive"; fi
  env -u PROCCTX_TESTCHILD "$@" "$bin" || fail "$(basename "$bin") (test kit)"
}

# check_symbols ARCHIVE with|without: ARCHIVE defines the fault-injection seam, the test
# clock's hook and the kit's API, or none of them (`injected` may stay as the constexpr 0
# that an unoptimised build emits as a weak inline copy, never as a function of its own).
check_symbols() {
  local archive=$1 want=$2 defined seam
  defined=$(nm -C --defined-only "$archive" 2>/dev/null)
  seam=$(grep -E ' T procctx::detail::sys::injected|procctx::detail::fault::|install_timers|procctx::testing::' <<<"$defined" || true)
  if [ "$want" = with ]; then
    for s in 'T procctx::detail::sys::injected' 'procctx::detail::fault::arm' 'install_timers' 'procctx::testing::fail_next' \
      'procctx::testing::Clock::advance'; do
      grep -qF "$s" <<<"$seam" || fail "$(basename "$archive") lacks $s"
    done
  elif [ -n "$seam" ]; then
    fail "$(basename "$archive") carries test-kit code:"$'\n'"$seam"
  fi
  echo "$(basename "$archive"): $want the seam, the test clock and the kit ($(grep -c . <<<"$seam" || true) symbols)"
}

# consume_all PREFIX LIBDIR: consumers of the procctx installed at PREFIX (libraries in LIBDIR),
# linked every way a project can.
consume_all() {
  local prefix=$1 libdir=$2 flags e
  consumer_cmake find_package -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
    -DTESTKIT_EXAMPLES="$source/examples/testing"
  run_shared "$work/consumer-find_package/consumer" "$libdir"
  run_static "$work/consumer-find_package/consumer_static"
  for e in "${testkit_examples[@]}"; do run_testkit "$work/consumer-find_package/testing_$e"; done
  check_symbols "$libdir/libprocctx-testing.a" with
  say "test kit by pkg-config procctx-testing"
  flags=$(PKG_CONFIG_LIBDIR=$libdir/pkgconfig pkg-config --cflags --libs procctx-testing) || fail "pkg-config procctx-testing"
  echo "pkg-config --cflags --libs procctx-testing: $flags"
  # shellcheck disable=SC2086  # the flags are words
  c++ "$source/examples/testing/$testkit_pkgconfig_example.cpp" -o "$work/testkit-pkg-config" $flags ||
    fail "building the pkg-config procctx-testing consumer"
  run_testkit "$work/testkit-pkg-config" \
    PROCCTX_TESTCHILD="$(PKG_CONFIG_LIBDIR=$libdir/pkgconfig pkg-config --variable=testchild procctx-testing)"
  for pc in procctx procctx-static; do
    say "consumer by pkg-config $pc"
    # PKG_CONFIG_LIBDIR replaces the default search path: a procctx installed on this machine is not seen.
    flags=$(PKG_CONFIG_LIBDIR=$libdir/pkgconfig pkg-config --cflags --libs "$pc") || fail "pkg-config $pc"
    echo "pkg-config --cflags --libs $pc: $flags"
    # shellcheck disable=SC2086  # the flags are words
    c++ "$here/consumer/main.cpp" -o "$work/consumer-$pc" $flags || fail "building the pkg-config $pc consumer"
  done
  run_shared "$work/consumer-procctx" "$libdir"
  run_static "$work/consumer-procctx-static"
}

# expect_files ROOT PATH...: each PATH (a glob) exists under ROOT.
expect_files() {
  local root=$1 f
  shift
  for f in "$@"; do
    compgen -G "$root/$f" >/dev/null || fail "not installed: $f"
  done
}

# check_cli PREFIX: the command's man page and completions are usable.
check_cli() {
  local prefix=$1
  if command -v man >/dev/null; then
    grep -q 'procctx' <<<"$(man -l "$prefix/share/man/man1/procctx.1" 2>/dev/null)" || fail "the man page does not render"
  fi
  bash -n "$prefix/share/bash-completion/completions/procctx" || fail "bash completion syntax"
  if command -v zsh >/dev/null; then zsh -n "$prefix/share/zsh/vendor-completions/_procctx" || fail "zsh completion syntax"; fi
  python3 -c 'import json, sys; [json.load(open(f)) for f in sys.argv[1:]]' "$prefix"/share/procctx/schemas/*.schema.json ||
    fail "the report schemas are not JSON"
}

# package_files DEB: the paths of the files and links in DEB, one a line, without the leading ./
package_files() { dpkg-deb -c "$1" | awk '$1 !~ /^d/ { print $6 }' | sed 's|^\./||' | sort; }

# expect_only DEB REGEX: every file of DEB matches REGEX (a package holds only what is its own).
expect_only() {
  local stray
  stray=$(package_files "$1" | grep -Ev "$2" || true)
  [ -z "$stray" ] || fail "$(basename "$1") holds files that are not its own: $stray"
}

case $mode in
installed)
  build=$1 source=$2
  prefix=$work/prefix
  libdir=$(cache "$build" CMAKE_INSTALL_LIBDIR)
  libexecdir=$(cache "$build" CMAKE_INSTALL_LIBEXECDIR)
  say "cmake --install $build --prefix $prefix"
  cmake --install "$build" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log"; fail "install"; }
  expect_files "$prefix" "$libdir/libprocctx.so" "$libdir/libprocctx.so.[0-9]*" "$libdir/libprocctx.a" \
    'include/procctx/procctx.hpp' 'include/procctx/export.hpp' 'include/procctx/asio.hpp' \
    "$libdir/cmake/procctx/procctx-config.cmake" "$libdir/pkgconfig/procctx.pc" "$libdir/pkgconfig/procctx-static.pc" \
    'bin/procctx' 'share/man/man1/procctx.1' 'share/doc/procctx/abi.md' \
    'share/bash-completion/completions/procctx' 'share/zsh/vendor-completions/_procctx' \
    'share/procctx/schemas/procctx.run-1.schema.json' "$libdir/libprocctx-testing.a" \
    "$libdir/pkgconfig/procctx-testing.pc" "$libexecdir/procctx/procctx-testchild" 'include/procctx/testing.hpp' \
    'include/procctx/testing/gtest.hpp' 'share/doc/procctx/testing.md'
  # Outside the linker's search path: the command finds its library through $ORIGIN.
  "$prefix/bin/procctx" --version || fail "the installed procctx does not start"
  check_cli "$prefix"
  consume_all "$prefix" "$prefix/$libdir"
  ;;
deb)
  build=$1 source=$2
  version=$(cache "$build" CMAKE_PROJECT_VERSION)
  major=${version%%.*}
  libdir=$(cache "$build" CMAKE_INSTALL_LIBDIR)
  libexecdir=$(cache "$build" CMAKE_INSTALL_LIBEXECDIR)
  runtime=libprocctx$major
  say "cpack -G DEB from $build"
  # The packages as `make deb` makes them (the same CPackConfig.cmake), from the
  # tree as built: with Ninja, cpack installs each component without building.
  (cd "$build" && cpack -G DEB -B "$work/pkg" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack"; }
  for p in "$runtime" libprocctx-dev procctx; do
    deb=$(compgen -G "$work/pkg/${p}_${version}_*.deb") || fail "no ${p}_${version}_*.deb in $work/pkg"
    echo "$(basename "$deb"): $(dpkg-deb -f "$deb" Package Version Section Depends | tr '\n' ' ')"
  done
  deb_runtime=$(compgen -G "$work/pkg/${runtime}_${version}_*.deb")
  deb_dev=$(compgen -G "$work/pkg/libprocctx-dev_${version}_*.deb")
  deb_cli=$(compgen -G "$work/pkg/procctx_${version}_*.deb")

  say "fields and dependencies"
  maintainer=$(cache "$build" PROCCTX_DEB_MAINTAINER)
  homepage=$(cache "$build" PROCCTX_HOMEPAGE)
  for deb in "$deb_runtime" "$deb_dev" "$deb_cli"; do
    [ "$(dpkg-deb -f "$deb" Maintainer)" = "$maintainer" ] || fail "$(basename "$deb"): Maintainer is not '$maintainer'"
    [ "$(dpkg-deb -f "$deb" Homepage)" = "$homepage" ] || fail "$(basename "$deb"): Homepage is not '$homepage'"
  done
  grep -qF "$runtime (= $version)" <<<"$(dpkg-deb -f "$deb_dev" Depends)" || fail "libprocctx-dev does not depend on $runtime (= $version)"
  grep -q 'libc6' <<<"$(dpkg-deb -f "$deb_runtime" Depends)" || fail "$runtime does not depend on libc6"
  [ "$(dpkg-deb --ctrl-tarfile "$deb_runtime" | tar -xO ./shlibs)" = "libprocctx $major $runtime (>= $version)" ] ||
    fail "$runtime: DEBIAN/shlibs is not 'libprocctx $major $runtime (>= $version)'"

  say "contents"
  ma="${libdir//./\\.}"
  expect_only "$deb_runtime" "^usr/$ma/libprocctx\.so\.$major(\.[0-9]+)*$"
  expect_only "$deb_dev" "^usr/(include/procctx/|$ma/(libprocctx\.so|libprocctx\.a|libprocctx-testing\.a|cmake/procctx/|pkgconfig/procctx)|$libexecdir/procctx/procctx-testchild\$|share/doc/procctx/)"
  expect_only "$deb_cli" "^usr/(bin/procctx|share/(man/man1/procctx\.1|bash-completion/|zsh/vendor-completions/|procctx/schemas/))"

  root=$work/root
  testkit_examples=(cancel_reaches_group)
  testkit_pkgconfig_example=spawn_fails_then_retry
  for deb in "$deb_runtime" "$deb_dev" "$deb_cli"; do dpkg -x "$deb" "$root"; done
  expect_files "$root/usr" "$libdir/libprocctx.so.$version" "$libdir/libprocctx.a" 'include/procctx/asio.hpp' \
    "$libdir/libprocctx-testing.a" "$libdir/pkgconfig/procctx-testing.pc" "$libexecdir/procctx/procctx-testchild" \
    "$libdir/cmake/procctx/procctx-config.cmake" "$libdir/pkgconfig/procctx.pc" "$libdir/pkgconfig/procctx-static.pc" \
    'bin/procctx' 'share/man/man1/procctx.1' 'share/doc/procctx/abi.md' 'share/procctx/schemas/procctx.run-1.schema.json'
  grep -qF "Library soname: [libprocctx.so.$major]" <<<"$(readelf -d "$root/usr/$libdir/libprocctx.so.$version")" ||
    fail "libprocctx.so.$version has no SONAME libprocctx.so.$major"
  if grep -q 'NEEDED.*libprocctx\.so' <<<"$(readelf -d "$root/usr/bin/procctx")"; then
    grep -qF "$runtime (>= $version)" <<<"$(dpkg-deb -f "$deb_cli" Depends)" || fail "procctx links libprocctx.so but does not depend on $runtime"
  fi
  if grep -q 'R.*PATH' <<<"$(readelf -d "$root/usr/bin/procctx")"; then fail "the packaged procctx has a RUNPATH"; fi
  LD_LIBRARY_PATH=$root/usr/$libdir "$root/usr/bin/procctx" --version || fail "the packaged procctx does not start"
  check_cli "$root/usr"
  consume_all "$root/usr" "$root/usr/$libdir"
  if command -v apt-get >/dev/null; then
    say "apt-get --simulate install of the three packages"
    apt-get -s -o Debug::NoLocking=1 install "$deb_runtime" "$deb_dev" "$deb_cli" >"$work/apt.log" 2>&1 ||
      { cat "$work/apt.log"; fail "the three packages cannot be installed together"; }
  fi
  ;;
add_subdirectory | FetchContent)
  source=$1
  # These build libprocctx from source; a unity build keeps that to a few
  # compiler runs.
  consumer_cmake "$mode" -DPROCCTX_SOURCE_DIR="$source" -DCMAKE_UNITY_BUILD=ON
  run_static "$work/consumer-$mode/consumer"
  # Built as a subproject, as everywhere but in procctx's own test builds: without the seam.
  if [ "$mode" = add_subdirectory ]; then check_symbols "$work/consumer-$mode/procctx/src/libprocctx.a" without; fi
  ;;
*)
  fail "unknown mode $mode"
  ;;
esac
echo "ok: $mode"
