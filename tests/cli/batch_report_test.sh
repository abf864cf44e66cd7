#!/usr/bin/env bash
# procctx batch's HTML report in a real browser: headless Chromium from
# Debian (installed on demand with scripts/deps.sh browser). A report of a
# real run and one of 10,000 jobs must load, run their script without an
# error, render, stay small, and open quickly; nothing from the jobs may
# become markup.
#
# Usage: batch_report_test.sh PROCCTX_BINARY SOURCE_DIR
# Exit: 0 passed, 1 failed, 77 skipped (Chromium cannot be installed here).
set -uo pipefail

procctx=$(readlink -f "$1")
source_dir=$2
work=$(mktemp -d /tmp/procctx-report-XXXXXX)
failures=0
trap 'rm -rf "$work"' EXIT

log() { printf 'batch_report_test: %s\n' "$*"; }
check() {  # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then
    log "ok: $what"
  else
    log "FAILED: $what"
    failures=$((failures + 1))
  fi
}

# --- Chromium -------------------------------------------------------------------
browser=$(command -v chromium || true)
if [ -z "$browser" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "SKIPPED: chromium is not installed and installing it needs root"
    exit 77
  fi
  log "installing chromium (scripts/deps.sh browser)"
  if ! bash "$source_dir/scripts/deps.sh" browser >"$work/apt.log" 2>&1; then
    log "SKIPPED: chromium cannot be installed here:"
    tail -5 "$work/apt.log"
    exit 77
  fi
  browser=$(command -v chromium || true)
  [ -n "$browser" ] || { log "SKIPPED: the chromium package has no chromium command"; exit 77; }
fi

# Loads FILE, prints the DOM after its script ran; the browser's log in FILE.log.
load() {
  local file=$1
  "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --disable-extensions \
    --user-data-dir="$work/profile-$RANDOM" --enable-logging=stderr --v=0 \
    --virtual-time-budget=5000 --dump-dom "file://$file" 2>"$file.log"
}
screenshot() {
  "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --disable-extensions \
    --user-data-dir="$work/profile-$RANDOM" --window-size=1400,1000 --hide-scrollbars \
    --screenshot="$2" "file://$1" >/dev/null 2>&1
}
no_script_errors() { ! grep -Eiq 'Uncaught|SyntaxError|TypeError|ReferenceError|CONSOLE.*error' "$1.log"; }
loaded() { grep -q 'data-report="ready"' "$1"; }
size_below() { [ "$(stat -c %s "$1")" -lt "$2" ]; }

# --- a report of a real run -------------------------------------------------------
evil='<script>alert(1)</script>'
printf '%s\n' "echo ok" "echo 'bad $evil' >&2; exit 3" "sleep 5" "printf 'x\\377y\\n'" >"$work/jobs"
"$procctx" batch -q -j2 --timeout 300ms --report "$work/run.html" --joblog "$work/run.jsonl" "$work/jobs" >/dev/null
check "a real run wrote its report" test -s "$work/run.html"
load "$work/run.html" >"$work/run.dom"
check "the report loads and its script runs to the end" loaded "$work/run.dom"
check "no script error while it loads" no_script_errors "$work/run.html"
check "a job's stderr is shown as text, not run" grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' "$work/run.dom"
check "no markup from a job" bash -c "! grep -q '<script>alert' '$work/run.dom'"
check "the failed and the timed-out job are listed first" grep -q 'Failed and stopped jobs (2)' "$work/run.dom"
screenshot "$work/run.html" "$work/run.png"
check "it renders (a screenshot of more than a blank page)" bash -c "[ \$(stat -c %s '$work/run.png') -gt 20000 ]"

# --- a report of 10,000 jobs ------------------------------------------------------------
# A job log written as procctx batch writes it, merged into one report.
awk 'BEGIN {
  for (i = 1; i <= 10000; i++) {
    code = (i % 97 == 0) ? 1 : 0; stop = (i % 211 == 0) ? "\"timeout\"" : "null"
    sig = (i % 211 == 0) ? "\"SIGTERM\"" : "null"; ec = (i % 211 == 0) ? "null" : code
    printf "{\"schema\":\"procctx.joblog/1\",\"id\":\"%016x\",\"seq\":%d,\"command\":\"gzip -9 data/part-%05d.csv\",", i, i, i
    printf "\"argv\":[\"gzip\",\"-9\",\"data/part-%05d.csv\"],\"start\":%.3f,\"runtime\":%.3f,", i, 1700000000 + i * 0.05, 0.04 + (i % 7) * 0.01
    printf "\"exit_code\":%s,\"signal\":%s,\"stop\":%s,\"attempt\":1,\"final\":true,", ec, sig, stop
    printf "\"user_cpu\":0.031,\"sys_cpu\":0.004,\"max_rss_kib\":%d,\"stdout_bytes\":0,\"stderr_bytes\":%d,", 2000 + i % 500, code * 40
    printf "\"slot\":%d,\"shard\":\"%d/4\",\"host\":\"node\"", 1 + i % 8, i % 4
    if (code) printf ",\"stderr_tail\":\"gzip: data/part-%05d.csv: No space left on device\\n\"", i
    printf "}\n"
  }
}' >"$work/big.jsonl"
"$procctx" batch merge -o /dev/null --report "$work/big.html" "$work/big.jsonl" 2>/dev/null
head -500 "$work/big.jsonl" >"$work/small.jsonl"
"$procctx" batch merge -o /dev/null --report "$work/small.html" "$work/small.jsonl" 2>/dev/null
bytes=$(stat -c %s "$work/big.html")
log "10,000-job report: $bytes bytes"
check "a 10,000-job report stays under 4 MB" size_below "$work/big.html" 4000000
# How long a page took to open, as it measured it itself (navigation to its load event, layout
# forced): Chromium's start-up and the DOM dump are not the report's cost. The 10,000-job report
# must open in under 10 s by that measure; as one table of 10,000 rows it took 18-22 s on a busy
# 2-core machine where it now takes 2-3.5 s. The 500-job figure is shown beside it, to read the
# machine's speed by.
opened_ms() { sed -n 's/.*data-opened-ms="\([0-9]*\)".*/\1/p' "$1" | head -1; }
load "$work/small.html" >"$work/small.dom"
start=$(date +%s%N)
load "$work/big.html" >"$work/big.dom"
seconds=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
small_ms=$(opened_ms "$work/small.dom")
big_ms=$(opened_ms "$work/big.dom")
log "10,000-job report: opened in ${big_ms:-?} ms by its own measure ($seconds s with Chromium's start-up and the dump); 500 jobs: ${small_ms:-?} ms"
check "it loads and its script runs to the end" loaded "$work/big.dom"
check "no script error while it loads" no_script_errors "$work/big.html"
check "it says how long it took to open" test -n "$big_ms"
check "it opens quickly (under 10 s by its own measure)" test "${big_ms:-99999}" -lt 10000
# Only the jobs that did not succeed (the switch, on from the start through #only-bad): the page
# shrinks to them, with no room kept for the hidden pieces (150 of the 10,000 did not succeed).
height() { sed -n 's/.*data-height="\([0-9]*\)".*/\1/p' "$1" | head -1; }
load_url() {
  "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --disable-extensions \
    --user-data-dir="$work/profile-$RANDOM" --virtual-time-budget=5000 --dump-dom "$1" 2>/dev/null
}
load_url "file://$work/big.html#only-bad" >"$work/bad.dom"
all_px=$(height "$work/big.dom")
bad_px=$(height "$work/bad.dom")
log "10,000-job report: ${all_px:-?} px tall, ${bad_px:-?} px with only the jobs that did not succeed"
check "the switch shows only those jobs, without room for the hidden ones" \
  test -n "$all_px" -a -n "$bad_px" -a "${bad_px:-0}" -gt 0 -a "$((${bad_px:-0} * 4))" -lt "${all_px:-0}"
check "every job is in its table" bash -c "[ \$(grep -c '<tr class=\"' '$work/big.dom') -ge 10000 ]"

if [ "$failures" -gt 0 ]; then
  log "$failures check(s) failed; the browser's log:"
  tail -20 "$work/run.html.log" "$work/big.html.log" 2>/dev/null
  exit 1
fi
log "all checks passed"
