#!/usr/bin/env bash
# GNU coreutils' own tests of timeout, run against procctx installed under
# the name `timeout`.
#
#   coreutils_timeout.sh PROCCTX SOURCE [--gnulib GNULIB] [--rev REV] [--keep]
#
# PROCCTX  the procctx binary.
# SOURCE   where coreutils' tests come from:
#          - a coreutils source tree (an unpacked release tarball or Debian
#            source package: it has tests/init.sh);
#          - a coreutils git directory (bare, or a checkout's .git), read at
#            REV (default HEAD). A git tree lacks tests/init.sh, which its
#            bootstrap copies from gnulib: it is read from GNULIB (a gnulib
#            git directory) at the commit the coreutils tree records for its
#            gnulib submodule;
#          - "debian" or "debian:SUITE": coreutils' source package from
#            Debian's archive (deb.debian.org; SUITE defaults to forky, Debian
#            testing, whose coreutils is 9.10 as of 2026-12), fetched with
#            apt-get into the scratch directory (the machine's apt setup is
#            not touched).
# Nothing of coreutils is kept or copied into this repository: the files are
# read into a scratch directory that is removed afterwards (--keep keeps it).
#
# The tests: tests/timeout/*, tests/misc/invalid-opt.pl,
# tests/misc/usage_vs_getopt.sh, tests/misc/getopt_vs_usage.sh and
# tests/help/help-version.sh, each where the tree has it.
#
# coreutils' harness is its configured Makefile; the tests read only these
# of its variables, set here as `make check` would for a tree that built
# just `timeout`: built_programs=timeout, VERSION (procctx's own, which the
# help-version test compares with `timeout --version`), srcdir and the abs_*
# directories, CONFIG_HEADER (a config.h holding the one macro a test greps
# for: HAVE_PRCTL, true on Linux), SHELL, PERL, AWK, EGREP, CC, MAKE, EXEEXT,
# CU_TEST_NAME, and PATH with the "build" directory's src/ first. That src/
# holds `timeout` (a symlink to PROCCTX) and `getlimits`, coreutils' helper
# that prints the C limits (TIME_T_OFLOW, LDBL_MAX, ...), made here from a
# dozen lines of C with the same output format. Shell tests run with /bin/sh
# and the perl ones with coreutils' Coreutils.pm, CuSkip.pm and CuTmpdir.pm,
# as tests/local.mk runs them.
#
# Prints one line per test (PASS, FAIL, SKIP) and "N passed, N failed, N
# skipped". Exits 0 when none failed, 1 when some did, 77 when the tests
# cannot be had or run here (said why).
set -uo pipefail

usage() {
  echo "usage: $0 PROCCTX SOURCE|debian [--gnulib GNULIB] [--rev REV] [--keep]" >&2
  exit 2
}
[ $# -ge 2 ] || usage
procctx=$(realpath "$1")
source_arg=$2
shift 2
gnulib="" rev=HEAD keep=""
while [ $# -gt 0 ]; do
  case $1 in
    --gnulib) gnulib=$2; shift 2 ;;
    --rev) rev=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) usage ;;
  esac
done

skip() { echo "coreutils_timeout: SKIP: $*"; exit 77; }
[ -x "$procctx" ] || { echo "coreutils_timeout: $procctx is not executable" >&2; exit 2; }
for tool in perl tar; do command -v $tool >/dev/null || skip "$tool is not installed"; done

scratch=$(mktemp -d "${TMPDIR:-/tmp}/procctx-coreutils.XXXXXX")
[ -n "$keep" ] || trap 'chmod -R u+rwx "$scratch" 2>/dev/null; rm -rf "$scratch"' EXIT
srcdir=$scratch/coreutils
mkdir -p "$srcdir"

# The files of the tree the tests read: tests/, init.cfg, src/timeout.c.
wanted=(tests init.cfg src/timeout.c)

from_git() {
  local git_dir=$1
  git --git-dir="$git_dir" rev-parse --verify -q "$rev^{commit}" >/dev/null || skip "$git_dir has no commit $rev"
  git --git-dir="$git_dir" archive "$rev" "${wanted[@]}" | tar -x -C "$srcdir" || skip "cannot read $git_dir at $rev"
  echo "coreutils: $(git --git-dir="$git_dir" describe --tags "$rev" 2>/dev/null || git --git-dir="$git_dir" rev-parse "$rev")"
  [ -f "$srcdir/tests/init.sh" ] && return
  [ -n "$gnulib" ] || skip "a coreutils git tree has no tests/init.sh: give --gnulib GNULIB (a gnulib git directory)"
  local sub gl_dir
  sub=$(git --git-dir="$git_dir" ls-tree "$rev" gnulib | awk '{print $3}')
  gl_dir=$(git -C "$gnulib" rev-parse --absolute-git-dir 2>/dev/null) || gl_dir=$gnulib
  [ -d "$gl_dir" ] || gl_dir=$gnulib
  git --git-dir="$gl_dir" show "$sub:tests/init.sh" >"$srcdir/tests/init.sh" 2>/dev/null ||
    skip "gnulib at $gnulib has no commit ${sub:-?} (the coreutils tree's gnulib submodule)"
  echo "gnulib: $sub (tests/init.sh)"
}

from_tree() {
  local tree=$1
  [ -f "$tree/tests/init.sh" ] || skip "$tree is not a coreutils source tree (no tests/init.sh)"
  (cd "$tree" && tar -c "${wanted[@]}") | tar -x -C "$srcdir"
  echo "coreutils: $(sed -n 's/^AC_INIT(\[GNU coreutils\], *\[\{0,1\}\([^],]*\).*/\1/p' "$tree/configure.ac" 2>/dev/null |
    head -1) ($tree)"
}

from_debian() {
  local suite=${1:-forky}
  command -v apt-get >/dev/null || skip "no apt-get: not a Debian system"
  local apt=$scratch/apt
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/sources" "$apt/dl"
  cat >"$apt/sources/src.sources" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  local opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt/sources"
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root -qq)
  apt-get "${opts[@]}" update >"$apt/log" 2>&1 || skip "Debian's archive cannot be reached: $(tail -1 "$apt/log")"
  (cd "$apt/dl" && apt-get "${opts[@]}" source --download-only coreutils >>"$apt/log" 2>&1) ||
    skip "apt-get source coreutils failed: $(tail -1 "$apt/log")"
  local orig
  orig=$(ls "$apt/dl"/coreutils_*.orig.tar.* 2>/dev/null | head -1)
  [ -n "$orig" ] || skip "no coreutils source tarball came"
  local top
  top=$(tar -tf "$orig" | head -1 | cut -d/ -f1)
  tar -xf "$orig" -C "$scratch" "${wanted[@]/#/$top/}" 2>>"$apt/log" || skip "cannot unpack $orig"
  rm -rf "$srcdir" && mv "$scratch/$top" "$srcdir"
  echo "coreutils: $(basename "$(ls "$apt/dl"/coreutils_*.dsc)" .dsc) (Debian source package, $suite)"
}

if [ "$source_arg" = debian ] || [ "${source_arg#debian:}" != "$source_arg" ]; then
  suite=${source_arg#debian}
  from_debian "${suite#:}"
elif git --git-dir="$source_arg" rev-parse --git-dir >/dev/null 2>&1 ||
  git --git-dir="$source_arg/.git" rev-parse --git-dir >/dev/null 2>&1; then
  [ -d "$source_arg/.git" ] && source_arg=$source_arg/.git
  from_git "$source_arg"
elif [ -d "$source_arg" ]; then
  from_tree "$source_arg"
else
  skip "$source_arg is neither a coreutils source tree nor a git directory"
fi

# The "build" directory: src/timeout, src/getlimits, config.h.
build=$scratch/build
mkdir -p "$build/src"
ln -s "$procctx" "$build/src/timeout"
echo '#define HAVE_PRCTL 1' >"$build/config.h"
cc=$(command -v cc || command -v gcc || command -v c++ || true)
[ -n "$cc" ] || skip "no C compiler for the getlimits helper"
cat >"$scratch/getlimits.c" <<'EOF'
/* coreutils' getlimits, for the variables its tests read: TYPE_MAX,
   TYPE_OFLOW (max + 1), TYPE_MIN, TYPE_UFLOW (min - 1), FLOATTYPE_MIN/MAX
   (the shortest text that reads back as the value). */
#include <float.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
static void add_one(const char *name, const char *suffix, char *num) {
  /* |num| + 1 in decimal, keeping the sign. */
  char buf[64] = "0";
  int neg = num[0] == '-';
  strcpy(buf + 1, num + neg);
  char *p = buf + strlen(buf);
  while (*--p == '9') *p = '0';
  ++*p;
  printf("%s_%s=%s%s\n", name, suffix, neg ? "-" : "", buf[0] == '0' ? buf + 1 : buf);
}
static void u(const char *name, uintmax_t max) {
  char b[64];
  snprintf(b, sizeof b, "%ju", max);
  printf("%s_MAX=%s\n", name, b);
  add_one(name, "OFLOW", b);
}
static void s(const char *name, intmax_t max, intmax_t min) {
  char b[64];
  u(name, (uintmax_t)max);
  snprintf(b, sizeof b, "%jd", min);
  printf("%s_MIN=%s\n", name, b);
  add_one(name, "UFLOW", b);
}
static void f(const char *name, long double min, long double max, int digits) {
  long double v[2] = {min, max};
  for (int i = 0; i < 2; i++) {
    char b[64];
    for (int p = 1; p <= digits; p++) {
      snprintf(b, sizeof b, "%.*Lg", p, v[i]);
      if (strtold(b, NULL) == v[i]) break;
    }
    printf("%s_%s=%s\n", name, i ? "MAX" : "MIN", b);
  }
}
#define TMAX(t) ((t)~((t)1 << (sizeof(t) * CHAR_BIT - 1)))
int main(void) {
  s("CHAR", CHAR_MAX, CHAR_MIN); s("SCHAR", SCHAR_MAX, SCHAR_MIN); u("UCHAR", UCHAR_MAX);
  s("SHRT", SHRT_MAX, SHRT_MIN); s("INT", INT_MAX, INT_MIN); u("UINT", UINT_MAX);
  s("LONG", LONG_MAX, LONG_MIN); u("ULONG", ULONG_MAX); u("SIZE", SIZE_MAX);
  s("SSIZE", TMAX(ssize_t), -TMAX(ssize_t) - 1); s("TIME_T", TMAX(time_t), -TMAX(time_t) - 1);
  u("UID_T", (uid_t)-1); u("GID_T", (gid_t)-1); s("PID_T", TMAX(pid_t), -TMAX(pid_t) - 1);
  s("OFF_T", TMAX(off_t), -TMAX(off_t) - 1); s("INTMAX", INTMAX_MAX, INTMAX_MIN); u("UINTMAX", UINTMAX_MAX);
  f("FLT", FLT_MIN, FLT_MAX, 9); f("DBL", DBL_MIN, DBL_MAX, 17); f("LDBL", LDBL_MIN, LDBL_MAX, 21);
  return 0;
}
EOF
"$cc" -x c -O1 -o "$build/src/getlimits" "$scratch/getlimits.c" || skip "cannot build the getlimits helper"

version=$("$procctx" --version | sed -n '1s/.* //p;q')
tests=()
for t in $(cd "$srcdir" && ls tests/timeout/*.sh tests/timeout/*.pl 2>/dev/null) tests/misc/invalid-opt.pl \
  tests/misc/usage_vs_getopt.sh tests/misc/getopt_vs_usage.sh tests/help/help-version.sh; do
  [ -f "$srcdir/$t" ] && tests+=("$t") && mkdir -p "$build/$(dirname "$t")"  # CuTmpdir makes its dir there
done
[ ${#tests[@]} -gt 0 ] || skip "the tree has none of the timeout tests"

# The programs a test checks were built (its print_ver_ line): timeout, and
# helpers such as env, which come from the machine (GNU coreutils'). Tests
# that walk $built_programs (invalid-opt, help-version...) see only timeout.
built_for() {
  local extra
  extra=$(sed -n 's/^print_ver_ //p' "$srcdir/$1" | tr ' ' '\n' | grep -vx timeout | tr '\n' ' ')
  echo "timeout${extra:+ $extra}" | sed 's/ *$//'
}

# One test, in the environment tests/local.mk's TESTS_ENVIRONMENT makes.
run_one() {
  local t=$1
  cd "$build" || return 99
  . "$srcdir/tests/lang-default"
  tmp__=${TMPDIR-/tmp}
  test -d "$tmp__" && test -w "$tmp__" || tmp__=.
  . "$srcdir/tests/envvar-check"
  TMPDIR=$tmp__
  export TMPDIR VERSION=$version abs_top_builddir=$build abs_top_srcdir=$srcdir abs_srcdir=$srcdir \
    built_programs="$(built_for "$t")" fail=0 host_os=linux-gnu srcdir=$srcdir top_srcdir=$srcdir \
    CONFIG_HEADER=$build/config.h CU_TEST_NAME="coreutils,$(echo "$t" | sed 's,/,-,g')" CC=$cc \
    AWK=$(command -v gawk || command -v mawk || echo awk) EGREP="grep -E" EXEEXT= MAKE=make \
    PACKAGE_VERSION=$version PERL=perl SHELL=$(command -v bash) PATH="$build/src:$PATH"
  case $t in
    *.sh) bash "$srcdir/$t" ;;
    *.pl) perl -w -I"$srcdir/tests" -MCuSkip -MCoreutils -M"CuTmpdir qw($t)" -- "$srcdir/$t" ;;
  esac
}

passed=0 failed=0 skipped=0
for t in "${tests[@]}"; do
  log=$scratch/$(echo "$t" | tr / -).log
  (run_one "$t") </dev/null >"$log" 2>&1 9>&2
  rc=$?
  case $rc in
    0) echo "PASS: $t"; passed=$((passed + 1)) ;;
    77) echo "SKIP: $t ($(grep -m1 -i 'skip' "$log" | cut -c1-120))"; skipped=$((skipped + 1)) ;;
    *) echo "FAIL: $t (exit $rc)"; failed=$((failed + 1)); sed 's/^/  | /' "$log" | tail -40 ;;
  esac
done
echo "$passed passed, $failed failed, $skipped skipped"
[ -n "$keep" ] && echo "scratch directory kept: $scratch"
[ $failed -eq 0 ]
