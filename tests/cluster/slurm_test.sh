#!/usr/bin/env bash
# A real single-node Slurm, brought up from Debian's packages, running one
# job list as an array of `procctx batch` shards: every job exactly once,
# merge, --resume-failed, and Slurm's own time limit with --resume.
#
# Usage: slurm_test.sh PROCCTX_BINARY
# Exit: 0 passed, 1 failed, 77 skipped (the packages cannot be installed).
set -uo pipefail

procctx=$(readlink -f "$1")
work=$(mktemp -d /tmp/procctx-slurm-XXXXXX)
failures=0
started_pids=()

log() { printf 'slurm_test: %s\n' "$*"; }
check() {  # check DESCRIPTION COMMAND...: a named assertion
  local what=$1
  shift
  if "$@"; then
    log "ok: $what"
  else
    log "FAILED: $what"
    failures=$((failures + 1))
  fi
}
cleanup() {
  for pid in "${started_pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${started_pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  pkill -f '[s]leep 12\.000' 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# --- Packages -------------------------------------------------------------
missing=()
for pkg in slurm-wlm munge; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "SKIPPED: ${missing[*]} not installed and not root to install them"
    exit 77
  fi
  log "installing ${missing[*]}"
  if ! (export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}") >"$work/apt.log" 2>&1; then
    log "SKIPPED: cannot install ${missing[*]}:"
    tail -5 "$work/apt.log"
    exit 77
  fi
fi
if [ "$(id -u)" -ne 0 ]; then
  log "SKIPPED: starting slurmctld, slurmd and munged needs root"
  exit 77
fi

# --- munge ----------------------------------------------------------------
key=$work/munge.key
dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
chown munge:munge "$key" && chmod 0400 "$key"
mkdir -p "$work/munge-run" "$work/munge-log" "$work/munge-lib"
chown munge:munge "$work/munge-run" "$work/munge-log" "$work/munge-lib"
chmod 0755 "$work"
socket=$work/munge-run/munge.socket
runuser -u munge -- /usr/sbin/munged --key-file="$key" --socket="$socket" \
  --pid-file="$work/munge-run/munged.pid" --log-file="$work/munge-log/munged.log" \
  --seed-file="$work/munge-lib/munged.seed" || { log "FAILED: munged did not start"; exit 1; }
for _ in $(seq 50); do [ -s "$work/munge-run/munged.pid" ] && break; sleep 0.1; done
started_pids+=("$(cat "$work/munge-run/munged.pid")")

# --- slurm.conf -----------------------------------------------------------
host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
port=$((20000 + RANDOM % 20000))
mkdir -p "$work/state" "$work/spool"
export SLURM_CONF=$work/slurm.conf
cat >"$SLURM_CONF" <<CONF
ClusterName=procctx
SlurmctldHost=$host
SlurmUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MailProg=/bin/true
KillWait=30
OverTimeLimit=0
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

/usr/sbin/slurmctld -f "$SLURM_CONF" || { log "FAILED: slurmctld did not start"; cat "$work/slurmctld.log"; exit 1; }
for _ in $(seq 100); do [ -s "$work/slurmctld.pid" ] && break; sleep 0.1; done
started_pids+=("$(cat "$work/slurmctld.pid")")
/usr/sbin/slurmd -f "$SLURM_CONF" || { log "FAILED: slurmd did not start"; cat "$work/slurmd.log"; exit 1; }
for _ in $(seq 100); do [ -s "$work/slurmd.pid" ] && break; sleep 0.1; done
started_pids+=("$(cat "$work/slurmd.pid")")

idle=no
for _ in $(seq 120); do
  if sinfo -h -o '%T' 2>/dev/null | grep -qx idle; then idle=yes; break; fi
  sleep 0.5
done
if [ "$idle" != yes ]; then
  log "FAILED: the node never became idle"
  sinfo 2>&1; tail -20 "$work/slurmctld.log" "$work/slurmd.log"
  exit 1
fi
log "single-node Slurm up on $host ($cpus CPUs, ${mem} MiB): $(sinfo -h -o '%P %T %c')"

# --- 1. One job list, an array of four shards -------------------------------
cd "$work" || exit 1
mkdir -p logs
planted=" 17 123 250 "
: >jobs.txt
for n in $(seq 300); do
  if [[ "$planted" == *" $n "* ]]; then
    echo "test -e $work/fixed && echo job $n" >>jobs.txt
  else
    echo "echo job $n" >>jobs.txt
  fi
done
cat >shard.sh <<SCRIPT
#!/bin/sh
exec "$procctx" batch -j2 -q --joblog "$work/logs/shard-\$SLURM_ARRAY_TASK_ID.jsonl" \$RESUME "$work/jobs.txt"
SCRIPT
chmod +x shard.sh

t0=$(date +%s.%N)
sbatch --wait --array=0-3 -o "$work/out-%a.txt" -e "$work/err-%a.txt" shard.sh >sbatch.log 2>&1
t1=$(date +%s.%N)
log "array of 4 shards over 300 jobs: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f s", b - a }')"
"$procctx" batch merge -o merged.jsonl --report report.html logs/shard-*.jsonl 2>merge.err
merge_rc=$?
check "merge exits with the number of planted failures (3)" [ "$merge_rc" -eq 3 ]
check "every job ran exactly once" [ "$(grep -o '"id":"[0-9a-f]*"' merged.jsonl | sort | uniq -d | wc -l)" -eq 0 ]
check "the merged log covers all 300 jobs" [ "$(grep -c '"schema":"procctx.joblog/1"' merged.jsonl)" -eq 300 ]
check "each of the 4 shards ran some jobs" [ "$(ls logs/shard-*.jsonl | wc -l)" -eq 4 ]
check "the shards' output holds all 297 successes" [ "$(cat out-*.txt | grep -c '^job ')" -eq 297 ]
check "the HTML report names every job" [ "$(grep -cE '^<tr class=(good|bad) id=j[0-9]+><td>[0-9]+<td>' report.html)" -eq 300 ]
check "shard tasks picked their shard themselves" grep -q '"shard":"3/4"' logs/shard-3.jsonl

# --- 2. --resume-failed after fixing the planted failures -------------------
touch fixed
before=$(cat logs/shard-*.jsonl | wc -l)
RESUME=--resume-failed sbatch --wait --export=ALL,RESUME=--resume-failed --array=0-3 \
  -o "$work/out2-%a.txt" shard.sh >>sbatch.log 2>&1
after=$(cat logs/shard-*.jsonl | wc -l)
check "only the 3 failed jobs ran again" [ $((after - before)) -eq 3 ]
"$procctx" batch merge -o merged2.jsonl logs/shard-*.jsonl 2>>merge.err
check "now every job has succeeded (merge exits 0)" [ $? -eq 0 ]

# --- 3. Slurm's own time limit, then --resume -------------------------------
: >long.txt
# Durations of 12.000N s (8 of them at -j2 outlast the 30 s before the limit), so that `pgrep -f '[s]leep 12\.000'` finds them (and not itself).
for n in $(seq 8); do echo "sleep 12.000$n" >>long.txt; done
cat >long.sh <<SCRIPT
#!/bin/sh
exec "$procctx" batch -j2 -q --on-signal now --joblog "$work/long.jsonl" \$RESUME "$work/long.txt"
SCRIPT
chmod +x long.sh
t0=$(date +%s.%N)
jobid=$(sbatch --parsable --wait --time=1 --signal=B:TERM@30 -o "$work/long-out.txt" long.sh 2>>sbatch.log)
t1=$(date +%s.%N)
log "time-limited task returned after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f s", b - a }')"
state=$(scontrol show job "$jobid" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
check "procctx batch exited before Slurm's time limit killed it (state $state, not TIMEOUT)" [ "$state" != TIMEOUT ]
check "the running jobs were stopped and logged (stop: halt)" grep -q '"stop":"halt"' long.jsonl
done_before=$(grep -c '"exit_code":0' long.jsonl)
check "not every job had finished when the limit came ($done_before of 8)" [ "$done_before" -lt 8 ]
sleep 1
check "nothing of the jobs is left running on the node" bash -c '! pgrep -f "[s]leep 12\.000" >/dev/null'
t0=$(date +%s.%N)
sbatch --wait --export=ALL,RESUME="--resume -j8" -o "$work/long-out2.txt" long.sh >>sbatch.log 2>&1
t1=$(date +%s.%N)
log "resubmission with --resume returned after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f s", b - a }')"
check "the resubmission ran 8 at a time (-j8 from RESUME)" grep -q '"slot":8' long.jsonl
check "with --resume every job has now succeeded once" [ "$(grep -c '"exit_code":0' long.jsonl)" -eq 8 ]
check "no job that had succeeded ran again" [ "$(grep '"exit_code":0' long.jsonl | grep -o '"id":"[0-9a-f]*"' | sort | uniq -d | wc -l)" -eq 0 ]
check "nothing is left running on the node" bash -c '! pgrep -f "[s]leep 12\.000" >/dev/null'

if [ "$failures" -gt 0 ]; then
  log "$failures check(s) failed; logs in $work are removed, slurmctld.log tail:"
  tail -20 "$work/slurmctld.log"
  exit 1
fi
log "all checks passed"
exit 0
