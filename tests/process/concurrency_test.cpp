// Processes under threads (label `concurrency`, so TSan runs these too).
#include "support/process_fixture.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <thread>
#include <vector>

#include <sys/resource.h>

using namespace std::chrono_literals;
using procctx::Stdio;

namespace {

class Concurrency : public procctx::test::ProcessTest {};

TEST_F(Concurrency, WaitForTimesOutThenSucceeds) {
  auto p = helper_cmd({"sleep", "0.3"}).spawn();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->try_wait(), nullptr);
  EXPECT_EQ(p->wait_for(20ms), nullptr);
  const procctx::Completed* c = p->wait_for(10s);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->status.success());
}

TEST_F(Concurrency, SpawningFromManyThreadsAtOnce) {
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        auto c = helper_cmd({"print", std::to_string(t * 1000 + i)}).out(Stdio::capture()).run();
        if (c && c->out.text() == std::to_string(t * 1000 + i)) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 160);
}

TEST_F(Concurrency, ThousandSleepingChildrenShareOneLibraryThread) {
  rlimit nofile{};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  if (nofile.rlim_cur < 2100 && nofile.rlim_max >= 2100) {
    nofile.rlim_cur = 2100;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  std::vector<procctx::Process> children;
  children.reserve(1000);
  for (int i = 0; i < 1000; ++i) {
    auto p = helper_cmd({"sleep", "60"}).stop({{SIGKILL}}).spawn(ctx);
    ASSERT_TRUE(p) << "child " << i << ": " << p.error().message();
    children.push_back(std::move(*p));
  }
  auto res = procctx::test::Resources::now();
  EXPECT_EQ(res.loop_threads, 1);
  EXPECT_EQ(res.children.size(), 1000u);
  cancel("test over");
  for (auto& p : children) {
    const auto& c = p.wait();
    ASSERT_EQ(c.status.signal(), SIGKILL);
    ASSERT_EQ(c.stop_reason, procctx::StopReason::canceled);
  }
}

}  // namespace
