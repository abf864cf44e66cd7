// The Boost.Process v1 peer (Boost 1.81), written as its tutorial shows:
//
//   W1  bp::child c("/bin/true"); c.wait();
//   W5  stdout into a std::future<std::string> on an asio::io_context
//       (the tutorial's asynchronous I/O), c.wait_for(1s), then
//       c.terminate() — SIGKILL to the child; the call returns when the
//       output is complete
//   W6  c.wait_for(0.5s), then c.terminate(): v1 has no way to send SIGTERM
//       first, so there is no grace period
//
// Prints "W1 <rate> spawns/s, <cpu> us CPU per spawn" (every thread of
// this process) or "W5|W6 <seconds> s".
#define BOOST_PROCESS_USE_STD_FS 1
#include <boost/asio/io_context.hpp>
#include <boost/process.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <string_view>
#include <thread>

#include "../../micro/figures.hpp"

namespace bp = boost::process;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

static double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

int main(int argc, char** argv) {
  std::string_view w = argc > 1 ? argv[1] : "";
  if (w == "W1") {
    int n = argc > 2 ? std::atoi(argv[2]) : 2000;
    double cpu0 = bench::process_cpu_seconds();
    auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
      bp::child c("/bin/true");
      c.wait();
      if (c.exit_code() != 0) return 1;
    }
    double s = since(t0);
    std::printf("W1 %.1f spawns/s, %.1f us CPU per spawn\n", n / s,
                (bench::process_cpu_seconds() - cpu0) * 1e6 / n);
    return 0;
  }
  if (w == "W5") {
    auto t0 = Clock::now();
    boost::asio::io_context ios;
    std::future<std::string> out;
    bp::child c(bp::exe = "/bin/sh", bp::args = {"-c", "sleep 30 & sleep 30"}, bp::std_out > out, ios);
    std::thread io([&] { ios.run(); });
    if (!c.wait_for(1s)) c.terminate();
    io.join();
    std::string text = out.get();
    std::printf("W5 %.3f s\n", since(t0));
    return 0;
  }
  if (w == "W6") {
    auto t0 = Clock::now();
    bp::child c(bp::exe = "/bin/sh", bp::args = {"-c", "trap \"\" TERM; sleep 30"});
    if (!c.wait_for(500ms)) c.terminate();
    std::printf("W6 %.3f s\n", since(t0));
    std::printf("note: no grace: child::terminate() is SIGKILL and v1 has no SIGTERM call\n");
    return 0;
  }
  std::fprintf(stderr, "usage: boost_v1_peer W1 N | W5 | W6\n");
  return 2;
}
