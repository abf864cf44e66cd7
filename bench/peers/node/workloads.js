// The Node peer of W1, W5 and W6, written as the child_process
// documentation shows:
//
//   W1  child_process.spawnSync('/bin/true'), N times (the synchronous API
//       is the one documented for running commands one after another)
//   W5  child_process.execFile('/bin/sh', ['-c', 'sleep 30 & sleep 30'],
//       { timeout: 1000 }, callback): stdout is buffered for the callback
//   W6  child_process.execFile('/bin/sh', ['-c', 'trap "" TERM; sleep 30'],
//       { timeout: 500 }, callback)
//
// The timeout option sends killSignal (SIGTERM by default) to the direct
// child once; there is no escalation to SIGKILL and no grace period.
//
// Prints "W1 <rate> spawns/s, <cpu> us CPU per spawn" (process.cpuUsage():
// every thread of this process) or "W5|W6 <seconds> s".
// Usage: node workloads.js W1 [N] | W5 | W6
'use strict';
const { spawnSync, execFile } = require('node:child_process');

const what = process.argv[2] || '';
const t0 = process.hrtime.bigint();
const seconds = () => Number(process.hrtime.bigint() - t0) / 1e9;

if (what === 'W1') {
  const n = Number(process.argv[3] || 2000);
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const r = spawnSync('/bin/true');
    if (r.status !== 0) process.exit(1);
  }
  const s = seconds();
  const cpu = process.cpuUsage(cpu0);
  console.log(`W1 ${(n / s).toFixed(1)} spawns/s, ${((cpu.user + cpu.system) / n).toFixed(1)} us CPU per spawn`);
} else if (what === 'W5') {
  execFile('/bin/sh', ['-c', 'sleep 30 & sleep 30'], { timeout: 1000 }, (err) => {
    console.log(`W5 ${seconds().toFixed(3)} s`);
    console.log(`note: killed=${err && err.killed} signal=${err && err.signal}`);
    process.exit(0);
  });
} else if (what === 'W6') {
  execFile('/bin/sh', ['-c', 'trap "" TERM; sleep 30'], { timeout: 500 }, (err) => {
    console.log(`W6 ${seconds().toFixed(3)} s`);
    console.log(`note: killed=${err && err.killed} signal=${err && err.signal}; no escalation to SIGKILL`);
    process.exit(0);
  });
} else {
  console.error('usage: node workloads.js W1 [N] | W5 | W6');
  process.exit(2);
}
