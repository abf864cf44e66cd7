// W3 of spawn_bench: many sleeping children under one context, then cancel
// them all; procctx beside hand-written C (kill(-pgid) + waitpid) and any
// number of peer programs, in interleaved repetitions.
#pragma once

#include <string>
#include <vector>

namespace bench {

// A cancel-all peer: a program run as `ARGV... -n N -reps 1` that starts N
// `sleep 60` children, cancels them all and prints
//   rep 1: start-all X ms, cancel-all Y ms, threads T, K/N killed by SIGNAME[, cancel CPU Z ms]
// (bench/peers/go/cancel_all.go). procctx's figure it is compared with is
// the one that sent the same signal.
struct CancelPeer {
  std::string label;              // "Go 1.23 Cmd.Cancel"
  std::vector<std::string> argv;  // program and its own options
};

// "LABEL=PROGRAM ARG...", split at the first '=' and then at spaces.
CancelPeer parse_cancel_peer(const std::string& spec);

struct SleeperOptions {
  int sleepers = 1000;
  int reps = 7;
  std::vector<CancelPeer> peers;
};

// Runs the repetitions and adds W3's summary lines.
void run_sleepers_workload(const SleeperOptions& o);

}  // namespace bench
