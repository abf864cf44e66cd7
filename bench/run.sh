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
# The W1, W5 and W6 rows "vs <peer>" come from bench/peers/run_peers.sh:
# procctx beside hand-written C, Go, Python, Boost.Process v1/v2 and Node,
# each written as its own documentation recommends. In W5 and W6 the
# reference cell also says how many processes the peer left running after
# its call returned, and "hung until killed at the cap" for a call that had
# not returned after PEER_CAP seconds; "SKIPPED (why)" marks a peer that is
# not there or cannot do the workload. latest.log has every repetition.
#
# Environment:
#   BUILD_DIR         where the release build is (default build/release)
#   SPAWN_BENCH_ARGS  extra options for spawn_bench, e.g. "--big-gib 2"
#   GO_PEER_ARGS      extra options for the Go peer, e.g. "-reps 1"
#   GROUP_BENCH_ARGS  extra options for group_bench, e.g. "--jobs 3000"
#   BATCH_BENCH_ARGS  extra options for batch_bench, e.g. "--jobs 3000 --reps 5"
#   SCALE_BENCH_ARGS  options for scale_bench (default "--reps 1 --batch-jobs 2000", to stay within
#                     15 minutes; "--batch-jobs 10000" for the full batch row)
#   TRACE_BENCH_ARGS  extra options for trace_bench, e.g. "--reps 5"
#   PEER_REPS, PEER_SPAWNS, PEER_CAP, PEER_BUDGET  for bench/peers/run_peers.sh
#                     (3 repetitions, 2000 spawns, a 10 s cap on W5/W6, 150 s for W1)
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
#   NAME: procctx X unit (target <= T unit) MET|MISSED                       (or "(info)")
#   NAME: SKIPPED (why)
parse_summary_line() {
  local line=$1
  local ratio_re='^([^:]+): (.+) (vs|/) (.+) = ([0-9.]+x) \(([^)]*)\)( (MET|MISSED))?$'
  local value_re='^([^:]+): procctx (.+) \(([^)]*)\)( (MET|MISSED))?$'
  local skipped_re='^([^:]+): SKIPPED \((.*)\)$'
  if [[ $line =~ $ratio_re ]]; then
    add_row "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]#procctx }" "${BASH_REMATCH[4]}" "${BASH_REMATCH[5]}" \
      "${BASH_REMATCH[6]#target }" "${BASH_REMATCH[8]:-info}"
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
  # context_bench's reporter colours its table whatever the flags say.
  "$@" 2>&1 | sed -u 's/\x1b\[[0-9;]*m//g' | tee "$out" | tee -a "$log" || status=$?
  if [ "$status" -ne 0 ]; then
    add_row "$name" "-" "-" "-" "-" "FAILED (exit $status)"
  fi
  last_output=$(cat "$out")
  rm -f "$out"
}

# The value of a column ("11212 ms") of the first row whose workload starts with $1.
row_value() {
  local prefix=$1 i
  for i in "${!rows_workload[@]}"; do
    if [[ ${rows_workload[$i]} == "$prefix"* ]]; then
      echo "${rows_ours[$i]}"
      return
    fi
  done
}

ratio_of() {
  awk -v a="${1%% *}" -v b="${2%% *}" 'BEGIN { if (b <= 0) print "-"; else if (a / b < 0.1) printf "%.4fx", a / b; else printf "%.2fx", a / b }'
}

# --- context_bench: derive + register + cancel against std::stop_source
last_output=
run_tool context_bench "$bench_dir/context_bench" --benchmark_color=false
while IFS= read -r line; do parse_summary_line "$line"; done < <(grep '^context ratio:' <<<"$last_output" || true)

# --- spawn_bench: W1, W2, W4, W3 against hand-written C in the same run
last_output=
# shellcheck disable=SC2086  # the extra options are meant to split
run_tool spawn_bench "$bench_dir/spawn_bench" ${SPAWN_BENCH_ARGS:-}
while IFS= read -r line; do parse_summary_line "$line"; done < <(sed -n '/^== summary ==$/,$p' <<<"$last_output")

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

# --- the Go peer of W3 (only when a Go toolchain was found at configure time)
go_note="not built (no Go toolchain at configure time)"
if [ -x "$bench_dir/cancel_all_go" ]; then
  last_output=
  # shellcheck disable=SC2086
  run_tool "go peer" "$bench_dir/cancel_all_go" ${GO_PEER_ARGS:-}
  go_cancel=$(sed -n 's/^go cancel-all: //p' <<<"$last_output")
  go_threads=$(sed -n 's/^go threads while running: //p' <<<"$last_output")
  go_start=$(sed -n 's/^go start-all: //p' <<<"$last_output")
  go_note=$(sed -n 's/^go note: //p' <<<"$last_output")
  ours_cancel=$(row_value "W3 cancel-all (SIGKILL) vs C")
  ours_threads=$(row_value "W3 parent threads")
  ours_start=$(row_value "W3 start")
  if [ -n "$go_cancel" ]; then
    add_row "W3 cancel-all (SIGKILL) vs Go 1.19 peer" "${ours_cancel:--}" "Go $go_cancel" \
      "$(ratio_of "${ours_cancel:-0}" "$go_cancel")" "info" "info"
    add_row "W3 parent threads vs Go 1.19 peer" "${ours_threads:--}" "Go $go_threads threads" \
      "$(ratio_of "${ours_threads:-0}" "$go_threads")" "info" "info"
    add_row "W3 start all vs Go 1.19 peer" "${ours_start:--}" "Go $go_start" \
      "$(ratio_of "${ours_start:-0}" "$go_start")" "info" "info"
  fi
fi

# --- results
elapsed=$((SECONDS - started))
cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build_dir/CMakeCache.txt" 2>/dev/null || true)
compiler=$("${cxx:-c++}" --version 2>/dev/null | head -n 1 || echo unknown)
go_version=$( (/usr/lib/go-1.19/bin/go version || go version) 2>/dev/null | head -n 1 || echo none)
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
  echo "Go peer: $go_note."
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
  echo "  \"go_peer_note\": $(json_str "$go_note"),"
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
