#!/usr/bin/env bash
# What `make demo` shows: procctx's CLI handling the three ways a child
# process usually makes its caller hang or lie — a command that runs too
# long, a child that ignores SIGTERM, and a grandchild that keeps the
# output pipe open — then a batch of jobs with a progress line, a job log
# and an HTML report.
set -uo pipefail

procctx=${1:-./build/release/tools/procctx/procctx}
if [ -t 1 ]; then bold=$'\e[1m' plain=$'\e[0m'; else bold='' plain=''; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
show() { printf '$ %s\n' "$*"; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f s", b - a }'; }
report=$(mktemp /tmp/procctx-demo-XXXXXX.json)
trap 'rm -f "$report"' EXIT

step "1. A timeout. 'sleep 30' is stopped after 1 s; exit 124, as GNU timeout."
show "procctx timeout -v 1 sleep 30"
t=$(date +%s.%N)
"$procctx" timeout -v 1 sleep 30
echo "exit status $? after $(elapsed "$t")"

step "2. A stubborn child. It ignores SIGTERM, so the stop sequence goes on to SIGKILL."
show "procctx run --timeout 1s --stop TERM,1s,KILL -v --json report.json -- sh -c 'trap \"\" TERM; sleep 30'"
t=$(date +%s.%N)
"$procctx" run --timeout 1s --stop TERM,1s,KILL -v --json "$report" -- sh -c 'trap "" TERM; sleep 30'
echo "exit status $? after $(elapsed "$t"); from the report:"
grep -E '"(reason|cause|text|signal|at_seconds|used)"' "$report" | sed 's/^ */    /'

step "3. A held pipe. The command exits at once, but its background 'sleep 30' holds stdout."
echo "With a plain \$(sh -c 'sleep 30 & echo started') the caller would wait 30 s."
show "out=\$(procctx run --wait-delay 500ms --leftovers leave --json report.json -- sh -c 'sleep 30 & echo started')"
t=$(date +%s.%N)
out=$("$procctx" run --wait-delay 500ms --leftovers leave --json "$report" -- sh -c 'sleep 30 & echo started')
echo "exit status $? after $(elapsed "$t"); out='$out'; the report names the holder:"
grep -A4 '"pipe_holders"' "$report" | sed 's/^ */    /'
holder=$(grep -A2 '"pipe_holders"' "$report" | grep -o '"pid": [0-9]*' | grep -o '[0-9]*')
[ -n "$holder" ] && kill "$holder" 2>/dev/null

show "out=\$(procctx run -- sh -c 'sleep 30 & echo started')   # the default, --leftovers kill"
t=$(date +%s.%N)
out=$("$procctx" run --json "$report" -- sh -c 'sleep 30 & echo started')
echo "exit status $? after $(elapsed "$t"); out='$out'; the leftover was stopped with the tree:"
grep -A6 '"leftovers"' "$report" | sed 's/^ */    /'

step "4. A batch. 40 jobs, 4 at a time; job 13 fails, job 27 runs past its 1 s timeout."
out_dir=${DEMO_DIR:-build/demo}
mkdir -p "$out_dir"
show "procctx batch -j4 --timeout 1s --joblog $out_dir/joblog.jsonl --report $out_dir/report.html -- 'sleep 0.\$(( \$\$ % 4 )); [ {} -ne 13 ] && { [ {} -ne 27 ] || sleep 5; } && echo job {} done' ::: \$(seq 40) | tail -3"
t=$(date +%s.%N)
"$procctx" batch -j4 --timeout 1s --joblog "$out_dir/joblog.jsonl" --report "$out_dir/report.html" -- \
  'sleep 0.$(( $$ % 4 )); [ {} -ne 13 ] && { [ {} -ne 27 ] || sleep 5; } && echo job {} done' ::: $(seq 40) | tail -3
echo "exit status ${PIPESTATUS[0]} (the number of failed jobs) after $(elapsed "$t")"
echo "job log: $out_dir/joblog.jsonl ($(wc -l < "$out_dir/joblog.jsonl") lines); report: $out_dir/report.html (open it in a browser)"
