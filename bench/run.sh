#!/usr/bin/env bash
# Runs procctx's benchmarks and their peers, and writes what they report to
#   bench/results/latest.md    a table: workload, procctx, reference, ratio, target, MET/MISSED
#   bench/results/latest.json  the same, with the machine and the date
#   bench/results/latest.log   everything the programs printed (per-repetition figures)
#
# It builds nothing: `make bench` builds the release preset with the
# benchmarks first, then calls this. About 10 to 14 minutes on 2 cores.
#
# How to read the table. Each row compares procctx with one reference
# measured in the same run, interleaved with it: "procctx" and "reference"
# are medians over the repetitions, "ratio" is procctx / reference (for
# rates higher is better, for times lower is better), and "target" is the
# issue's bar for that row, judged MET or MISSED; "info" rows only report.
# A ratio with a range after it ("1.04x [0.97-1.12]") is the median of the
# ratios of each repetition, whose two sides ran side by side, and the
# range is how far those went: how noisy the machine was. It can differ a
# little from procctx / reference, which are medians taken separately.
# The W1, W5 and W6 rows "vs <peer>" come from bench/peers/run_peers.sh:
# procctx beside hand-written C, Go, Python, Boost.Process v1/v2 and Node,
# each written as its own documentation recommends; Go as Go users write it
# today (1.20 or later: CommandContext, Setpgid, Cmd.Cancel, Cmd.WaitDelay),
# with Debian 12's own Go 1.19 in "(footnote)" rows. The W3 rows "vs Go"
# come from spawn_bench, which runs the Go cancel-all programs inside W3's
# repetitions, interleaved with C and procctx. In W5 and W6 the
# reference cell also says how many processes the peer left running after
# its call returned, and "hung until killed at the cap" for a call that had
# not returned after PEER_CAP seconds; "SKIPPED (why)" marks a peer that is
# not there or cannot do the workload. latest.log has every repetition.
#
# Environment:
#   BUILD_DIR         where the release build is (default build/release)
#   SPAWN_BENCH_ARGS  extra options for spawn_bench, e.g. "--big-gib 2"
#   CONTEXT_BENCH_ARGS  extra options for context_bench, e.g. "--reps 25"
#   PATHS_BENCH_ARGS  extra options for paths_bench, e.g. "--reps 15"
#   GROUP_BENCH_ARGS  extra options for group_bench, e.g. "--jobs 3000"
#   BATCH_BENCH_ARGS  extra options for batch_bench, e.g. "--jobs 3000 --reps 5"
#   SCALE_BENCH_ARGS  options for scale_bench (default "--reps 1 --batch-jobs 2000", to stay within
#                     15 minutes; "--batch-jobs 10000" for the full batch row)
#   TRACE_BENCH_ARGS  extra options for trace_bench, e.g. "--reps 5"
#   PEER_REPS, PEER_SPAWNS, PEER_CAP, PEER_BUDGET  for bench/peers/run_peers.sh
#                     (3 repetitions, 1000 spawns, a 10 s cap on W5/W6, 150 s for W1)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
build_dir=${BUILD_DIR:-build/release}
bench_dir=$build_dir/bench
results=bench/results
mkdir -p "$results"
log=$results/latest.log
: >"$log"
started=$SECONDS

for tool in context_bench spawn_bench procctx_flood; do
  if [ ! -x "$bench_dir/$tool" ]; then
    echo "run.sh: $bench_dir/$tool is missing; build first (make bench)" >&2
    exit 1
  fi
done

# One row per summary line: workload | procctx | reference | ratio | target | status.
rows_workload=() rows_ours=() rows_ref=() rows_ratio=() rows_target=() rows_status=()
add_row() {
  rows_workload+=("$1") rows_ours+=("$2") rows_ref+=("$3") rows_ratio+=("$4") rows_target+=("$5")
  rows_status+=("$6")
}

# Understands the three forms the programs print:
#   NAME: procctx X unit vs|/ REF Y unit = R.RRx (target >= T) MET|MISSED   (or "(info)")
#     where "R.RRx [A.AA-B.BB]" is a median of per-repetition ratios and their range
#   NAME: procctx X unit (target <= T unit) MET|MISSED                       (or "(info)")
#   NAME: SKIPPED (why)
parse_summary_line() {
  local line=$1
  local ratio_re='^([^:]+): (.+) (vs|/) (.+) = ([0-9.]+x)( \[[0-9.]+-[0-9.]+\])? \(([^)]*)\)( (MET|MISSED))?$'
  local value_re='^([^:]+): procctx (.+) \(([^)]*)\)( (MET|MISSED))?$'
  local skipped_re='^([^:]+): SKIPPED \((.*)\)$'
  if [[ $line =~ $ratio_re ]]; then
    add_row "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]#procctx }" "${BASH_REMATCH[4]}" \
      "${BASH_REMATCH[5]}${BASH_REMATCH[6]}" "${BASH_REMATCH[7]#target }" "${BASH_REMATCH[9]:-info}"
  elif [[ $line =~ $skipped_re ]]; then
    add_row "${BASH_REMATCH[1]}" "-" "-" "-" "-" "SKIPPED: ${BASH_REMATCH[2]}"
  elif [[ $line =~ $value_re ]]; then
    add_row "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "-" "-" "${BASH_REMATCH[3]#target }" \
      "${BASH_REMATCH[5]:-info}"
  fi
}

# Runs one program, echoing and logging its output; a failure becomes a row
# instead of ending the run, so the other figures are still written.
run_tool() {
  local name=$1
  shift
  echo "== $name: $*" | tee -a "$log"
  local out status=0
  out=$(mktemp)
  # (Colour codes, should a program print any, are taken out.)
  "$@" 2>&1 | sed -u 's/\x1b\[[0-9;]*m//g' | tee "$out" | tee -a "$log" || status=$?
  if [ "$status" -ne 0 ]; then
    add_row "$name" "-" "-" "-" "-" "FAILED (exit $status)"
  fi
  last_output=$(cat "$out")
  rm -f "$out"
}

# The version ("1.23") of the Go in the build's cache variable $1, if any.
go_of() {
  local go
  go=$(sed -n "s/^$1:FILEPATH=//p" "$build_dir/CMakeCache.txt" 2>/dev/null)
  [ -x "$go" ] && "$go" version 2>/dev/null | sed -n 's/.*go\([0-9]*\.[0-9]*\).*/\1/p'
}

# --- context_bench: derive + register + cancel against std::stop_source, CPU per operation
last_output=
# shellcheck disable=SC2086
run_tool context_bench "$bench_dir/context_bench" ${CONTEXT_BENCH_ARGS:-}
while IFS= read -r line; do parse_summary_line "$line"; done < <(sed -n '/^== summary ==$/,$p' <<<"$last_output")

# --- spawn_bench: W1, W2, W4, W3 against hand-written C in the same run; the
# Go peers of W3 (when a Go toolchain was found at configure time) run inside
# W3's repetitions, interleaved with C and procctx
cancel_peers=()
if [ -x "$bench_dir/cancel_all_go" ]; then
  cancel_peers+=(--cancel-peer "Go $(go_of PROCCTX_GO_1_20) Cmd.Cancel=$bench_dir/cancel_all_go -sig TERM")
fi
if [ -x "$bench_dir/cancel_all_go119" ]; then
  cancel_peers+=(--cancel-peer "(footnote) Go $(go_of PROCCTX_GO_1_19)=$bench_dir/cancel_all_go119 -sig KILL")
fi
last_output=
# shellcheck disable=SC2086  # the extra options are meant to split
run_tool spawn_bench "$bench_dir/spawn_bench" "${cancel_peers[@]}" ${SPAWN_BENCH_ARGS:-}
while IFS= read -r line; do parse_summary_line "$line"; done < <(sed -n '/^== summary ==$/,$p' <<<"$last_output")

# --- paths_bench: every way of waiting (run, spawn+wait, a deadline, on_exit,
# wait_async, co_await) beside posix_spawn+waitpid, rate and parent CPU
if [ -x "$bench_dir/paths_bench" ]; then
  last_output=
  # shellcheck disable=SC2086
  run_tool paths_bench "$bench_dir/paths_bench" ${PATHS_BENCH_ARGS:-}
  while IFS= read -r line; do parse_summary_line "$line"; done < <(sed -n '/^== summary ==$/,$p' <<<"$last_output")
fi

# --- trace_bench: W1 with tracing never started, started and stopped, and on
if [ -x "$bench_dir/trace_bench" ]; then
  last_output=
  # shellcheck disable=SC2086
  run_tool trace_bench "$bench_dir/trace_bench" ${TRACE_BENCH_ARGS:-}
  while IFS= read -r line; do parse_summary_line "$line"; done < <(sed -n '/^== summary ==$/,$p' <<<"$last_output")
fi

# --- group_bench: W7, many short jobs at concurrency 2 beside xargs and GNU parallel
if [ -x "$bench_dir/group_bench" ]; then
  last_output=
  # shellcheck disable=SC2086
  run_tool group_bench "$bench_dir/group_bench" ${GROUP_BENCH_ARGS:-}
  while IFS= read -r line; do parse_summary_line "$line"; done < <(sed -n '/^== summary ==$/,$p' <<<"$last_output")
fi

# --- batch_bench: W7b, procctx batch on a job list beside xargs, GNU parallel and a Group
if [ -x "$bench_dir/batch_bench" ]; then
  last_output=
  # shellcheck disable=SC2086
  run_tool batch_bench "$bench_dir/batch_bench" ${BATCH_BENCH_ARGS:-}
  while IFS= read -r line; do parse_summary_line "$line"; done < <(sed -n '/^== summary ==$/,$p' <<<"$last_output")
fi

# --- the peers: W1, W5 and W6 for procctx, hand-written C, Go, Python,
# Boost.Process v1 and v2 and Node, interleaved in one run
last_output=
run_tool peers bench/peers/run_peers.sh "$bench_dir"
while IFS= read -r line; do parse_summary_line "$line"; done < <(sed -n '/^== summary ==$/,$p' <<<"$last_output")

# --- scale_bench: 10,000 children under one Group beside hand-written C, and procctx batch -j 10000
if [ -x "$bench_dir/scale_bench" ]; then
  last_output=
  # shellcheck disable=SC2086
  run_tool scale_bench "$bench_dir/scale_bench" ${SCALE_BENCH_ARGS:---reps 1 --batch-jobs 2000}
  while IFS= read -r line; do parse_summary_line "$line"; done < <(sed -n '/^== summary ==$/,$p' <<<"$last_output")
fi

# --- results
elapsed=$((SECONDS - started))
cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build_dir/CMakeCache.txt" 2>/dev/null || true)
compiler=$("${cxx:-c++}" --version 2>/dev/null | head -n 1 || echo unknown)
go_version="Go $(go_of PROCCTX_GO_1_20 || true) (footnote: $(go_of PROCCTX_GO_1_19 || true))"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
boost_version=$(sed -n 's/^#define BOOST_LIB_VERSION "\(.*\)"/\1/p' /usr/include/boost/version.hpp 2>/dev/null | tr _ .)
peer_versions="$($py --version 2>&1 | head -n 1), Node $(node --version 2>/dev/null || echo none), Boost ${boost_version:-none}, $(ldd --version 2>/dev/null | head -n 1 | sed 's/^ldd //')"

md_cell() { local s=${1//|/\\|}; printf '%s' "$s"; }
{
  echo "# procctx benchmarks ($date_utc)"
  echo
  echo "$(nproc) CPUs ($cpu), Linux $(uname -r), $compiler, $go_version; run took ${elapsed} s."
  echo "Each reference is measured in the same run as procctx; read the ratios, not the absolute figures."
  echo "Go peers: Go 1.20 or later as Go users write it today (CommandContext, Setpgid, Cmd.Cancel sending SIGTERM to the group, Cmd.WaitDelay 0.5 s); the footnote rows are Debian 12's own Go 1.19 (no Cmd.Cancel: a goroutine per command kills the group on ctx.Done())."
  echo "Peers: $peer_versions."
  echo
  echo "| workload | procctx | reference | ratio | target | status |"
  echo "|---|---|---|---|---|---|"
  for i in "${!rows_workload[@]}"; do
    printf '| %s | %s | %s | %s | %s | %s |\n' "$(md_cell "${rows_workload[$i]}")" \
      "$(md_cell "${rows_ours[$i]}")" "$(md_cell "${rows_ref[$i]}")" "$(md_cell "${rows_ratio[$i]}")" \
      "$(md_cell "${rows_target[$i]}")" "$(md_cell "${rows_status[$i]}")"
  done
} >"$results/latest.md"

json_str() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}
{
  echo "{"
  echo "  \"date\": $(json_str "$date_utc"),"
  echo "  \"machine\": {"
  echo "    \"nproc\": $(nproc),"
  echo "    \"cpu\": $(json_str "$cpu"),"
  echo "    \"kernel\": $(json_str "$(uname -r)"),"
  echo "    \"compiler\": $(json_str "$compiler"),"
  echo "    \"go\": $(json_str "$go_version"),"
  echo "    \"peers\": $(json_str "$peer_versions")"
  echo "  },"
  echo "  \"run_seconds\": $elapsed,"
  echo "  \"results\": ["
  n=${#rows_workload[@]}
  for i in "${!rows_workload[@]}"; do
    sep=","
    [ "$i" -eq $((n - 1)) ] && sep=""
    printf '    {"workload": %s, "procctx": %s, "reference": %s, "ratio": %s, "target": %s, "status": %s}%s\n' \
      "$(json_str "${rows_workload[$i]}")" "$(json_str "${rows_ours[$i]}")" "$(json_str "${rows_ref[$i]}")" \
      "$(json_str "${rows_ratio[$i]}")" "$(json_str "${rows_target[$i]}")" "$(json_str "${rows_status[$i]}")" "$sep"
  done
  echo "  ]"
  echo "}"
} >"$results/latest.json"

echo
cat "$results/latest.md"
echo
echo "Written: $results/latest.md, $results/latest.json, $log (${elapsed} s)"
