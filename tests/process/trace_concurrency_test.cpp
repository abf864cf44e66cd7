// Tracing started and stopped from one thread while others spawn, cancel
// and reap children (and the loop thread emits events): every file written
// must be whole, valid JSON.
#include "support/process_fixture.hpp"
#include "support/trace_file.hpp"

#include <procctx/diagnostics.hpp>
#include <procctx/group.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using procctx::Stdio;

namespace {

class TraceConcurrency : public procctx::test::ProcessTest {};

TEST_F(TraceConcurrency, StartAndStopWhileChildrenRunOnOtherThreads) {
  std::atomic<bool> done{false};
  std::atomic<int> children{0};
  auto worker = [&](int n) {
    while (!done.load()) {
      auto [ctx, cancel] = procctx::with_timeout(procctx::background(), (n % 2) ? 20ms : 1h);
      auto p =
          helper_cmd({"sleep", "30"}).out(Stdio::capture()).stop({{SIGTERM, 50ms}, {SIGKILL}}).spawn(ctx);
      ASSERT_TRUE(p);
      if (n % 2 == 0) cancel("worker cancels");
      (void)p->wait();
      procctx::Group g{procctx::background(), {.limit = 2}};
      g.spawn(helper_cmd({"exit", "0"}));
      g.spawn(helper_cmd({"print", "x"}).out(Stdio::capture()));
      (void)g.wait();
      children += 3;
    }
  };
  std::vector<std::thread> workers;
  for (int i = 0; i < 2; ++i) workers.emplace_back(worker, i);
  std::vector<std::string> paths;
  for (int round = 0; round < 8; ++round) {
    paths.push_back(procctx::test::trace_path("trace_concurrency_" + std::to_string(round)));
    ASSERT_TRUE(procctx::trace::start(paths.back()));
    std::this_thread::sleep_for(60ms);
    ASSERT_TRUE(procctx::trace::stop());
    std::this_thread::sleep_for(10ms);
  }
  done = true;
  for (auto& t : workers) t.join();
  EXPECT_GT(children.load(), 0);
  int events = 0;
  for (const auto& path : paths) {
    procctx::test::TraceFile t{path};
    EXPECT_TRUE(t.ok()) << t.error();
    if (t.ok()) {
      EXPECT_EQ(t.doc["otherData"]["dropped_events"], 0);
      events += static_cast<int>(t.events.size());
    }
    std::remove(path.c_str());
  }
  EXPECT_GT(events, 0);
}

}  // namespace
