#!/usr/bin/env bash
# Where procctx's time goes in W3's cancel-all (N sleeping children, one
# cancel, every one waited for), with bench/micro/cancel_profile.cpp:
#
#   1. prices: hand-written C, then C doing also each thing procctx does per
#      child in a stop (pidfd, the waitid precheck, epoll_ctl, the /proc scan
#      for descendants, getpgid; and scan1, a cheaper scan of the main
#      thread's children only), then procctx; interleaved rounds, medians
#      of the parent's CPU per child (every thread) and of the wall time;
#   2. syscalls per child in procctx's cancel phase alone, per thread
#      (strace attached for that phase only), and the files it opens;
#   3. perf record -g of procctx's and C's cancel phases alone (perf's
#      control fifo), the kernel and library functions that cost most.
#
# Not part of make bench; run it after `make bench` has built the release
# preset (or cmake --build build/release --target cancel_profile):
#   bench/profile_cancel.sh [BUILD_DIR]
# Environment: SLEEPERS (1000), ROUNDS (5), PERF_ROUNDS (6), OUT (BUILD_DIR/bench/profile).
# Writes OUT/report.txt (and the raw traces beside it) and prints the report.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${1:-build/release}
drv=$build/bench/cancel_profile
n=${SLEEPERS:-1000}
rounds=${ROUNDS:-5}
perf_rounds=${PERF_ROUNDS:-6}
out=${OUT:-$build/bench/profile}
[ -x "$drv" ] || { echo "profile_cancel.sh: $drv is missing; build the release preset with the benchmarks" >&2; exit 1; }
mkdir -p "$out"
report=$out/report.txt
: >"$report"
say() { echo "$@" | tee -a "$report"; }

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# --- 1. prices
variants=("c:none" "c:pidfd" "c:pidfd,precheck" "c:pidfd,epoll" "c:scan" "c:scan1" "c:getpgid"
  "c:pidfd,precheck,epoll,scan,getpgid" "procctx")
declare -A cpu wall
say "== 1. parent CPU per child in the cancel phase, $n sleepers, $rounds interleaved rounds (medians) =="
for ((r = 1; r <= rounds; r++)); do
  for v in "${variants[@]}"; do
    if [ "$v" = procctx ]; then args=(); else args=(--c "${v#c:}"); fi
    text=$("$drv" --sleepers "$n" "${args[@]}")
    cpu[$v]+=" $(sed -n 's/^  all threads .* \([0-9.]*\) us per child$/\1/p' <<<"$text")"
    wall[$v]+=" $(sed -n 's/.*cancel-all of [0-9]* ([^)]*): \([0-9.]*\) ms.*/\1/p' <<<"$text")"
  done
done
base=$(tr ' ' '\n' <<<"${cpu[c:none]}" | grep -v '^$' | median)
for v in "${variants[@]}"; do
  c=$(tr ' ' '\n' <<<"${cpu[$v]}" | grep -v '^$' | median)
  w=$(tr ' ' '\n' <<<"${wall[$v]}" | grep -v '^$' | median)
  range=$(tr ' ' '\n' <<<"${cpu[$v]}" | grep -v '^$' | sort -g | sed -n '1p;$p' | paste -sd-)
  printf '  %-40s %7s us/child (%s), +%6s us over C; wall %s ms\n' "$v" "$c" "$range" \
    "$(awk -v a="$c" -v b="$base" 'BEGIN { printf "%.1f", a - b }')" "$w" | tee -a "$report"
done

# --- 2. syscalls per child, procctx's cancel phase only
say ""
say "== 2. syscalls per child in procctx's cancel phase (strace -f, attached for that phase only) =="
trace=$out/strace.txt
coproc DRV { exec "$drv" --sleepers "$n" --pause; }
drv_pid=$DRV_PID to_drv=${DRV[1]} from_drv=${DRV[0]}
read -r _ pid <&"$from_drv"
strace -f -qq -p "$pid" -o "$trace" &
spid=$!
# Every thread traced (TracerPid set) before the phase starts.
for _ in $(seq 100); do
  untraced=$( (grep -l '^TracerPid:[[:space:]]*0$' /proc/"$pid"/task/*/status 2>/dev/null || true) | wc -l)
  [ "$untraced" -eq 0 ] && break
  sleep 0.05
done
echo go >&"$to_drv"
read -r _ <&"$from_drv"  # "done"
names=$(for t in /proc/"$pid"/task/*; do echo "$(basename "$t")=$(cat "$t/comm")"; done 2>/dev/null | paste -sd' ')
kill -INT "$spid"
wait "$spid" || true
echo go >&"$to_drv"
cat <&"$from_drv" >"$out/strace-run.txt" || true
wait "$drv_pid" 2>/dev/null || true
# Per thread and per syscall ("---" lines are signals strace reports: under
# ptrace even ignored ones such as SIGCHLD show up, so they are left out).
say "  threads: $names"
awk -v n="$n" '
  $2 ~ /^<\.\.\./ || $2 == "---" || $2 == "+++" { next }
  { tid = $1; call = $2; sub(/\(.*/, "", call); count[tid, call]++; calls[call]; tids[tid]; total[tid]++ }
  END {
    for (t in tids) {
      printf "  thread %s: %.1f syscalls per child\n", t, total[t] / n
      for (c in calls) if ((t, c) in count) printf "    %-18s %6d  %5.2f per child\n", c, count[t, c], count[t, c] / n
    }
  }' "$trace" | tee -a "$report"
say "  files opened, by kind:"
grep -o 'openat(AT_FDCWD, "[^"]*"' "$trace" | sed 's/openat(AT_FDCWD, //; s/[0-9]\{2,\}/N/g' | sort | uniq -c |
  sort -rn | head -10 | sed 's/^/    /' | tee -a "$report"

# --- 3. perf
say ""
if ! command -v perf >/dev/null; then
  say "== 3. perf: SKIPPED (no perf on PATH; apt-get install linux-perf) =="
  exit 0
fi
for side in procctx c; do
  ctl=$out/perf.ctl ack=$out/perf.ack data=$out/perf-$side.data
  rm -f "$ctl" "$ack"
  mkfifo "$ctl" "$ack"
  if [ $side = procctx ]; then args=(); else args=(--c none); fi
  perf record -q -F 15000 -g -D -1 --control "fifo:$ctl,$ack" -o "$data" -- \
    "$drv" --sleepers "$n" --rounds "$perf_rounds" --perf-ctl "$ctl" --perf-ack "$ack" "${args[@]}" >/dev/null 2>&1
  rm -f "$ctl" "$ack"
  say "== 3. perf, $side: where the parent's CPU goes in the cancel phase ($perf_rounds rounds; % of the parent's samples, with callees) =="
  perf report -i "$data" --stdio --children --percentage relative --comms cancel_profile,procctx-loop --sort sym -g none \
    2>/dev/null | grep -E '^ +[0-9.]+%' |
    grep -E '\[k\] (__x64_sys_[a-z0-9_]+|release_task|proc_invalidate_siblings_dcache|proc_flush_pid|path_openat|proc_task_readdir|__kill_pgrp_info|schedule|do_wait|wait_consider_task)$|\[\.\] procctx::' |
    head -25 | tee -a "$report"
done
say ""
say "Written: $report (and $trace, $out/perf-*.data)"
