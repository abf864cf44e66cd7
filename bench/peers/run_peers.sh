#!/usr/bin/env bash
# Runs procctx and its peers on W1, W5 and W6 in one run, interleaved
# (repetition 1 of every side, then repetition 2, ...; in W1 each peer's
# trial runs next to one of procctx's, and the W1 ratios are medians of those
# pairs' ratios, with their range), and prints per-trial figures, then
# "== summary ==" and one line per row in the form bench/run.sh collects. Called by bench/run.sh; runnable alone:
#   bench/peers/run_peers.sh BUILD_DIR/bench
#
# Every side is a program taking "W1 N", "W5" or "W6" and printing
# "W1 <rate> spawns/s[, <cpu> us CPU per spawn]" or "W5|W6 <seconds> s": the
# time until its call returned (and the program's own CPU, every thread),
# measured inside the program. Each trial runs with a marker in its
# environment; 0.2 s after the program ends, every process still carrying the
# marker is a leftover ("left running"): counted, then SIGKILLed. A trial that
# has not returned after PEER_CAP seconds is killed and shown as hung at the
# cap. GNU timeout and procctx timeout (W6, CLI) are timed from outside.
#
# Environment: PEER_REPS (3), PEER_SPAWNS (1000), PEER_CAP (10 seconds),
# PEER_BUDGET (seconds after which W1 stops adding repetitions; 150).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bin=${1:?usage: run_peers.sh BUILD_DIR/bench}
reps=${PEER_REPS:-3}
spawns=${PEER_SPAWNS:-1000}
cap=${PEER_CAP:-10}
budget=${PEER_BUDGET:-150}

python=python3
[ -x /usr/bin/python3 ] && python=/usr/bin/python3
py_version=$($python -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo "")
node_version=$(node --version 2>/dev/null | sed 's/^v//; s/\..*//' || true)
# The Go that built each Go peer, from the build's cache (Go 1.20 or later; 1.19).
go_of() {
  local go
  go=$(sed -n "s/^$1:FILEPATH=//p" "$bin/../CMakeCache.txt" 2>/dev/null)
  [ -n "$go" ] && "$go" version 2>/dev/null | sed -n 's/.*go\([0-9]*\.[0-9]*\).*/\1/p'
}
go_version=$(go_of PROCCTX_GO_1_20)
go119_version=$(go_of PROCCTX_GO_1_19)

# side id | what the row calls it | command (words) | why it is missing, if it is
sides=() labels=() cmds=() missing=()
side() {
  sides+=("$1") labels+=("$2") cmds+=("$3")
  missing+=("${4:-}")
}
have() { [ -x "$1" ] || echo "not built: $2"; }
side procctx "procctx Command.run()" "$bin/procctx_peer" "$(have "$bin/procctx_peer" "procctx_peer")"
side c_spawn "C posix_spawn+waitpid" "$bin/c_peer posix_spawn" "$(have "$bin/c_peer" "c_peer")"
side c_fork "C fork+execve+waitpid" "$bin/c_peer fork_execve" "$(have "$bin/c_peer" "c_peer")"
side go "Go ${go_version:-1.2x} CommandContext+Cancel+WaitDelay" "$bin/workloads_go" \
  "$(have "$bin/workloads_go" "no Go 1.20 or later at configure time (golang-1.23-go from bookworm-backports)")"
side python "Python ${py_version:-?} subprocess.run" "$python bench/peers/python/workloads.py" \
  "$([ -n "$py_version" ] || echo "no python3")"
side boost1 "Boost.Process v1 1.81" "$bin/boost_v1_peer" \
  "$(have "$bin/boost_v1_peer" "no boost/process.hpp at configure time, install libboost1.81-dev")"
side boost2 "Boost.Process v2 1.81" "$bin/boost_v2_peer" \
  "$(have "$bin/boost_v2_peer" "no boost/process/v2.hpp at configure time, install libboost1.81-dev")"
side node "Node ${node_version:-?} child_process" "node bench/peers/node/workloads.js" \
  "$([ -n "$node_version" ] || echo "no node on PATH")"
# The footnote: Debian 12's own Go, without Cmd.Cancel and Cmd.WaitDelay.
side go119 "(footnote) Go ${go119_version:-1.19} os/exec CommandContext" "$bin/workloads_go119" \
  "$(have "$bin/workloads_go119" "no Go 1.19 at configure time (golang-1.19-go)")"

w5_cmd="sleep 30 & sleep 30"
w6_cmd='trap "" TERM; sleep 30'

# One trial: sets t_value (seconds or spawns/s; empty if none), t_cpu (W1:
# parent CPU microseconds per spawn, if the side says), t_capped, t_left
# (processes left running), t_note.
trial() {
  local cmd=$1 workload=$2
  shift 2
  local tag out rc t0 t1 limit=$cap
  # W1 is long by design; its cap only catches a wedged run.
  [ "$workload" = W1 ] && limit=600
  tag="procctx-bench-$$-$RANDOM$RANDOM"
  out=$(mktemp)
  t0=$(date +%s%N)
  # --foreground: on the cap, kill the program only, not what it left behind
  # shellcheck disable=SC2086  # cmd is words
  (PROCCTX_BENCH_TRIAL=$tag timeout --foreground -s KILL "$limit" $cmd "$workload" "$@" >"$out" 2>&1
    exit $?) 2>/dev/null
  rc=$?
  t1=$(date +%s%N)
  sleep 0.2
  local pids=()
  mapfile -t pids < <(grep -lsa -- "PROCCTX_BENCH_TRIAL=$tag" /proc/[0-9]*/environ | cut -d/ -f3)
  t_left=${#pids[@]}
  [ "$t_left" -gt 0 ] && kill -KILL "${pids[@]}" 2>/dev/null
  t_capped=0 t_note=
  t_value=$(sed -n "s/^$workload \([0-9.]*\) .*/\1/p" "$out" | head -n 1)
  t_cpu=$(sed -n "s/^W1 [0-9.]* spawns\/s, \([0-9.]*\) us CPU per spawn.*/\1/p" "$out" | head -n 1)
  t_note=$(sed -n 's/^note: //p' "$out" | head -n 1)
  if [ "$rc" -eq 137 ] && [ $(((t1 - t0) / 1000000)) -ge $((limit * 1000 - 50)) ]; then
    t_capped=1 t_value=$limit
    [ "$workload" = W1 ] && t_value= t_note="killed after $limit s"
  elif [ -z "$t_value" ]; then
    t_value=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    [ "$rc" -ne 0 ] && t_note="exit $rc: $(head -c 200 "$out" | tr '\n' ' ')"
  fi
  if grep -q '^unsupported: ' "$out"; then t_value= t_note=$(sed -n 's/^unsupported: //p' "$out"); fi
  rm -f "$out"
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
fmt() { awk -v v="$1" 'BEGIN { if (v >= 100) printf "%.0f", v; else if (v >= 10) printf "%.1f", v; else printf "%.2f", v }'; }
# " [A.AA-B.BB]": the range of the per-repetition ratios in $1.
range() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | sed -n '1p;$p' | paste -sd' ' | awk '{ if (NF) printf " [%.2f-%.2f]", $1, ($2 == "" ? $1 : $2) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "0.00x"; else if (a / b < 0.1) printf "%.4fx", a / b; else printf "%.2fx", a / b }'; }

declare -A values capped left notes
started=$SECONDS

# --- W1: every peer's trial next to one of procctx's (which goes first
# alternates), so that each ratio compares two runs seconds apart: this
# machine's speed changes more than that from one trial to the next.
w1_trial() {
  local i=$1 r=$2
  trial "${cmds[$i]}" W1 "$spawns"
  echo "W1 rep $r ${labels[$i]}: ${t_value:-?} spawns/s${t_cpu:+, $t_cpu us CPU per spawn}${t_note:+ ($t_note)}"
  values[W1,$i]+=" $t_value"
  values[W1cpu,$i]+=" $t_cpu"
  w1_rate=$t_value w1_cpu=$t_cpu
}
for ((r = 1; r <= reps; r++)); do
  if [ "$r" -gt 1 ] && [ $((SECONDS - started)) -gt "$budget" ]; then
    echo "W1: stopping after $((r - 1)) repetitions: past the ${budget} s budget"
    break
  fi
  [ -n "${missing[0]}" ] && break
  for i in "${!sides[@]}"; do
    [ "$i" -eq 0 ] || [ -n "${missing[$i]}" ] && continue
    if [ $(((r + i) % 2)) -eq 0 ]; then
      w1_trial 0 "$r"; our_rate=$w1_rate our_cpu=$w1_cpu
      w1_trial "$i" "$r"
    else
      w1_trial "$i" "$r"
      their_rate=$w1_rate their_cpu=$w1_cpu
      w1_trial 0 "$r"; our_rate=$w1_rate our_cpu=$w1_cpu
      w1_rate=$their_rate w1_cpu=$their_cpu
    fi
    if [ -n "$our_rate" ] && [ -n "$w1_rate" ]; then
      values[W1ratio,$i]+=" $(awk -v a="$our_rate" -v b="$w1_rate" 'BEGIN { if (b > 0) printf "%.4f", a / b }')"
    fi
    if [ -n "$our_cpu" ] && [ -n "$w1_cpu" ]; then
      values[W1cpuratio,$i]+=" $(awk -v a="$our_cpu" -v b="$w1_cpu" 'BEGIN { if (b > 0) printf "%.4f", a / b }')"
    fi
  done
done

# --- W5 and W6: interleaved repetitions
stop_sides=("${!sides[@]}")
for ((r = 1; r <= reps; r++)); do
  for w in W5 W6; do
    for i in "${stop_sides[@]}"; do
      [ -n "${missing[$i]}" ] && continue
      trial "${cmds[$i]}" "$w"
      if [ -z "$t_value" ]; then
        notes[$w,$i]=$t_note
        continue
      fi
      echo "$w rep $r ${labels[$i]}: ${t_value} s$([ "$t_capped" = 1 ] && echo ", hung: killed at the cap"), $t_left left running${t_note:+ ($t_note)}"
      values[$w,$i]+=" $t_value"
      capped[$w,$i]=$((${capped[$w,$i]:-0} + t_capped))
      [ "${left[$w,$i]:-0}" -lt "$t_left" ] && left[$w,$i]=$t_left
      [ -n "$t_note" ] && notes[$w,$i]=$t_note
    done
    if [ "$w" = W6 ]; then
      # The CLI: GNU timeout and procctx timeout, same command, same limits.
      for cli in gnu procctx; do
        if [ "$cli" = gnu ]; then c="timeout"; else c="$bin/../tools/procctx/procctx timeout"; fi
        [ "$cli" = procctx ] && [ ! -x "$bin/../tools/procctx/procctx" ] && continue
        tag="procctx-bench-$$-$RANDOM$RANDOM"
        t0=$(date +%s%N)
        # shellcheck disable=SC2086
        (PROCCTX_BENCH_TRIAL=$tag timeout --foreground -s KILL "$cap" $c -k 0.5 0.5 /bin/sh -c "$w6_cmd"
          exit $?) 2>/dev/null
        rc=$?
        t1=$(date +%s%N)
        sleep 0.2
        mapfile -t pids < <(grep -lsa -- "PROCCTX_BENCH_TRIAL=$tag" /proc/[0-9]*/environ | cut -d/ -f3)
        [ ${#pids[@]} -gt 0 ] && kill -KILL "${pids[@]}" 2>/dev/null
        v=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
        echo "W6 rep $r $cli timeout -k 0.5 0.5: $v s, exit $rc, ${#pids[@]} left running"
        values[W6,cli_$cli]+=" $v"
        # 137 is also what timeout -k itself exits with after its SIGKILL
        [ $(((t1 - t0) / 1000000)) -ge $((cap * 1000 - 50)) ] && capped[W6,cli_$cli]=$((${capped[W6,cli_$cli]:-0} + 1))
        [ "${left[W6,cli_$cli]:-0}" -lt "${#pids[@]}" ] && left[W6,cli_$cli]=${#pids[@]}
      done
    fi
  done
done

echo
echo "== summary =="
w1_name="W1 spawn+wait /bin/true x$spawns"
ours_w1=$(median <<<"${values[W1,0]:-}")
for i in "${!sides[@]}"; do
  [ "$i" -eq 0 ] && continue
  name="$w1_name vs ${labels[$i]}"
  if [ -n "${missing[0]}" ] || [ -n "${missing[$i]}" ]; then
    echo "$name: SKIPPED (${missing[$i]:-${missing[0]}})"
    continue
  fi
  theirs=$(median <<<"${values[W1,$i]:-}")
  if [ -z "$ours_w1" ] || [ -z "$theirs" ]; then
    echo "$name: SKIPPED (no figure: ${notes[W1,$i]:-see latest.log})"
    continue
  fi
  rt=$(median <<<"${values[W1ratio,$i]:-}")
  want=1.00
  [ "${sides[$i]}" = c_spawn ] && want=0.95
  status=$(awk -v r="$rt" -v w="$want" 'BEGIN { print (r >= w) ? "MET" : "MISSED" }')
  echo "$name: procctx $(fmt "$ours_w1") spawns/s vs ${labels[$i]} $(fmt "$theirs") spawns/s = $(ratio "$rt" 1)$(range "${values[W1ratio,$i]:-}") (target >= ${want}x) $status"
done
# Parent CPU per spawn (all threads of the program) for the sides that say it.
ours_cpu=$(median <<<"${values[W1cpu,0]:-}")
for i in "${!sides[@]}"; do
  [ "$i" -eq 0 ] && continue
  theirs=$(median <<<"${values[W1cpu,$i]:-}")
  rt=$(median <<<"${values[W1cpuratio,$i]:-}")
  if [ -z "$ours_cpu" ] || [ -z "$theirs" ] || [ -z "$rt" ]; then continue; fi
  echo "W1 parent CPU per spawn vs ${labels[$i]}: procctx $(fmt "$ours_cpu") us vs ${labels[$i]} $(fmt "$theirs") us = $(ratio "$rt" 1)$(range "${values[W1cpuratio,$i]}") (info)"
done

# $1 workload, $2 key: "X s, N left running" with "hung" when the cap was hit
describe() {
  local m
  m=$(median <<<"${values[$1,$2]:-}")
  local text
  text="$(fmt "$m") s"
  if [ "${capped[$1,$2]:-0}" -gt 0 ]; then text="at least $cap s, hung until killed at the cap"; fi
  echo "$text, ${left[$1,$2]:-0} left running"
}

stop_rows() {
  local w=$1 name=$2 limit=$3
  local ours
  ours=$(median <<<"${values[$w,0]:-}")
  if [ -z "$ours" ]; then
    echo "$name: SKIPPED (${missing[0]:-${notes[$w,0]:-procctx side failed}})"
    return
  fi
  local status
  status=$(awk -v t="$ours" -v l="$limit" -v n="${left[$w,0]:-0}" -v c="${capped[$w,0]:-0}" \
    'BEGIN { print (t <= l && n == 0 && c == 0) ? "MET" : "MISSED" }')
  echo "$name: procctx $(describe "$w" 0) (target <= $limit s, nothing left running) $status"
  for i in "${!sides[@]}"; do
    [ "$i" -eq 0 ] && continue
    if [ -n "${missing[$i]}" ]; then
      echo "$name vs ${labels[$i]}: SKIPPED (${missing[$i]})"
      continue
    fi
    local theirs
    theirs=$(median <<<"${values[$w,$i]:-}")
    if [ -z "$theirs" ]; then
      echo "$name vs ${labels[$i]}: SKIPPED (${notes[$w,$i]:-no figure, see latest.log})"
      continue
    fi
    echo "$name vs ${labels[$i]}: procctx $(fmt "$ours") s vs $(describe "$w" "$i")${notes[$w,$i]:+; ${notes[$w,$i]}} = $(ratio "$ours" "$theirs") (info)"
  done
}
stop_rows W5 "W5 sh -c 'sleep 30 & sleep 30' captured, 1 s timeout, wait_delay 0.5 s" 1.7
stop_rows W6 "W6 sh -c 'trap \"\" TERM; sleep 30', 0.5 s timeout + 0.5 s grace" 1.2
if [ -n "${values[W6,cli_gnu]:-}" ] && [ -n "${values[W6,cli_procctx]:-}" ]; then
  ours=$(median <<<"${values[W6,cli_procctx]}")
  theirs=$(median <<<"${values[W6,cli_gnu]}")
  echo "W6 CLI procctx timeout -k 0.5 0.5 vs GNU timeout -k 0.5 0.5: procctx $(describe W6 cli_procctx) vs GNU timeout $(describe W6 cli_gnu) = $(ratio "$ours" "$theirs") (info)"
elif [ -n "${values[W6,cli_gnu]:-}" ]; then
  echo "W6 CLI procctx timeout vs GNU timeout: SKIPPED (procctx CLI not built)"
fi
exit 0
