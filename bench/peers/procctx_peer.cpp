// procctx's side of the peer workloads, in the same form as the peers
// (bench/peers/run_peers.sh runs every side the same way):
//
//   procctx_peer W1 N   Command{"/bin/true"}.run(), N times
//   procctx_peer W5     sh -c 'sleep 30 & sleep 30', stdout captured, under
//                       with_timeout(1s), wait_delay(0.5s), the default stop
//                       sequence (SIGTERM to the process group, 5 s, SIGKILL)
//   procctx_peer W6     sh -c 'trap "" TERM; sleep 30' under with_timeout(0.5s),
//                       stop({{SIGTERM, 0.5s}, {SIGKILL}})
//
// Prints "W1 <rate> spawns/s, <cpu> us CPU per spawn" (every thread of this
// process, procctx's loop included) or "W5|W6 <seconds> s" (until run()
// returned; run() returns with the child reaped).
#include <procctx/procctx.hpp>

#include "../micro/figures.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

int fail(const procctx::Error& e) {
  std::fprintf(stderr, "procctx_peer: %s\n", e.message().c_str());
  return 1;
}

// The W5/W6 lines: time until run() returned, and how the child ended.
int report(const char* workload, double seconds, const procctx::Result<procctx::Completed>& done) {
  if (!done) return fail(done.error());
  std::printf("%s %.3f s\n", workload, seconds);
  std::printf("note: %s, stop_reason=%s\n", done->status.to_string().c_str(),
              std::string{procctx::to_string(done->stop_reason)}.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string_view w = argc > 1 ? argv[1] : "";
  if (w == "W1") {
    int n = argc > 2 ? std::atoi(argv[2]) : 2000;
    double cpu0 = bench::process_cpu_seconds();
    auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
      auto done = procctx::Command{"/bin/true"}.run();
      if (!done) return fail(done.error());
      if (!done->status.success()) return 1;
    }
    double s = since(t0);
    std::printf("W1 %.1f spawns/s, %.1f us CPU per spawn\n", n / s,
                (bench::process_cpu_seconds() - cpu0) * 1e6 / n);
    return 0;
  }
  if (w == "W5") {
    auto t0 = Clock::now();
    auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 1s);
    auto done = procctx::Command{"/bin/sh", {"-c", "sleep 30 & sleep 30"}}
                    .out(procctx::Stdio::capture())
                    .wait_delay(500ms)
                    .run(ctx);
    return report("W5", since(t0), done);
  }
  if (w == "W6") {
    auto t0 = Clock::now();
    auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 500ms);
    auto done = procctx::Command{"/bin/sh", {"-c", "trap \"\" TERM; sleep 30"}}
                    .stop({{SIGTERM, 500ms}, {SIGKILL}})
                    .run(ctx);
    return report("W6", since(t0), done);
  }
  std::fprintf(stderr, "usage: procctx_peer W1 N | W5 | W6\n");
  return 2;
}
