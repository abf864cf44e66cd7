// The Boost.Process v2 peer (Boost 1.81, boost/process/v2.hpp), written as
// its reference shows: a process on an asio::io_context, pipes as
// asio::readable_pipe, timeouts as asio::steady_timer.
//
//   W1  process proc(ctx, "/bin/true", {}); proc.wait();
//   W5  stdout into a readable_pipe read with async_read to EOF; a 1 s timer
//       calls proc.terminate() (SIGKILL to the child); the call returns when
//       the read completes
//   W6  async_wait; a 0.5 s timer calls proc.request_exit() (SIGTERM), a
//       second 0.5 s timer proc.terminate() (SIGKILL)
//
// Prints "W1 <rate> spawns/s, <cpu> us CPU per spawn" (every thread of
// this process) or "W5|W6 <seconds> s".
// With std::filesystem (no Boost.Filesystem library to link), 1.81's
// v2/detail/config.hpp forgets to include boost/optional.hpp itself.
#define BOOST_PROCESS_USE_STD_FS 1
#include <boost/optional.hpp>
#include <boost/type_traits.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/process/v2.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../../micro/figures.hpp"

namespace asio = boost::asio;
namespace bpv2 = boost::process::v2;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

static double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

int main(int argc, char** argv) {
  std::string_view w = argc > 1 ? argv[1] : "";
  if (w == "W1") {
    int n = argc > 2 ? std::atoi(argv[2]) : 2000;
    asio::io_context ctx;
    double cpu0 = bench::process_cpu_seconds();
    auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
      bpv2::process proc(ctx, "/bin/true", {});
      if (proc.wait() != 0) return 1;
    }
    double s = since(t0);
    std::printf("W1 %.1f spawns/s, %.1f us CPU per spawn\n", n / s,
                (bench::process_cpu_seconds() - cpu0) * 1e6 / n);
    return 0;
  }
  if (w == "W5") {
    auto t0 = Clock::now();
    asio::io_context ctx;
    asio::readable_pipe rp{ctx};
    bpv2::process proc(ctx, "/bin/sh", {"-c", "sleep 30 & sleep 30"}, bpv2::process_stdio{{}, rp, {}});
    std::string out;
    asio::steady_timer timer{ctx, 1s};
    timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) proc.terminate();
    });
    asio::async_read(rp, asio::dynamic_buffer(out), [&](boost::system::error_code, std::size_t) {
      timer.cancel();
    });
    ctx.run();
    if (proc.running()) proc.wait();
    std::printf("W5 %.3f s\n", since(t0));
    return 0;
  }
  if (w == "W6") {
    auto t0 = Clock::now();
    asio::io_context ctx;
    bpv2::process proc(ctx, "/bin/sh", {"-c", "trap \"\" TERM; sleep 30"});
    asio::steady_timer timer{ctx, 500ms};
    proc.async_wait([&](boost::system::error_code, int) { timer.cancel(); });
    timer.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      proc.request_exit();
      timer.expires_after(500ms);
      timer.async_wait([&](boost::system::error_code ec2) {
        if (!ec2) proc.terminate();
      });
    });
    ctx.run();
    std::printf("W6 %.3f s\n", since(t0));
    return 0;
  }
  std::fprintf(stderr, "usage: boost_v2_peer W1 N | W5 | W6\n");
  return 2;
}
