// Contexts under threads: run under TSan (label `concurrency`).
#include <procctx/context.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

// 8 threads: half register callbacks, half cancel, all at once. Every
// callback registered runs exactly once, whoever wins.
TEST(ContextConcurrency, CallbacksRunExactlyOnceWithEightThreads) {
  constexpr int kRounds = 200;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  for (int round = 0; round < kRounds; ++round) {
    auto [root, cancel_root] = procctx::with_cancel(procctx::background());
    auto [ctx, cancel] = procctx::with_cancel(root);
    std::vector<std::atomic<int>> runs(kThreads * kPerThread);
    std::vector<std::vector<procctx::Registration>> regs(kThreads);
    std::barrier start{kThreads};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t, &c = cancel, &cr = cancel_root, &cx = ctx] {
        start.arrive_and_wait();
        for (int i = 0; i < kPerThread; ++i) {
          auto& counter = runs[static_cast<std::size_t>(t * kPerThread + i)];
          regs[static_cast<std::size_t>(t)].push_back(cx.on_done([&counter] { ++counter; }));
          if (t % 2 == 0 && i == kPerThread / 2) {
            if (t == 0)
              cr("root");
            else
              c("direct");
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    cancel();
    for (auto& r : runs) ASSERT_EQ(r.load(), 1);
    EXPECT_TRUE(ctx.cause() == "root" || ctx.cause() == "direct") << ctx.cause();
  }
}

// Registrations destroyed while another thread cancels: each callback runs
// at most once, and never after reset() said it would not.
TEST(ContextConcurrency, ResetRacingCancelNeverRunsAfterReset) {
  for (int round = 0; round < 300; ++round) {
    auto [ctx, cancel] = procctx::with_cancel(procctx::background());
    constexpr int kN = 64;
    std::vector<std::atomic<int>> runs(kN);
    std::vector<std::optional<procctx::Registration>> regs(kN);
    for (int i = 0; i < kN; ++i) {
      regs[static_cast<std::size_t>(i)] = ctx.on_done([&runs, i] { ++runs[static_cast<std::size_t>(i)]; });
    }
    std::vector<bool> prevented(kN);
    std::thread canceller([&c = cancel] { c(); });
    for (int i = 0; i < kN; ++i) {
      prevented[static_cast<std::size_t>(i)] = regs[static_cast<std::size_t>(i)]->reset();
    }
    canceller.join();
    for (int i = 0; i < kN; ++i) {
      int n = runs[static_cast<std::size_t>(i)].load();
      ASSERT_LE(n, 1);
      if (prevented[static_cast<std::size_t>(i)])
        ASSERT_EQ(n, 0);
      else
        ASSERT_EQ(n, 1);
    }
  }
}

// Children derived while the parent is being cancelled are either linked
// and then cancelled, or born done: none is left live.
TEST(ContextConcurrency, DerivingWhileCancellingLeavesNoLiveChild) {
  for (int round = 0; round < 100; ++round) {
    auto [root, cancel] = procctx::with_cancel(procctx::background());
    std::vector<std::vector<procctx::WithCancel>> made(4);
    std::barrier start{5};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t, &r = root] {
        start.arrive_and_wait();
        for (int i = 0; i < 50; ++i) made[static_cast<std::size_t>(t)].push_back(procctx::with_cancel(r));
      });
    }
    start.arrive_and_wait();
    cancel("stop");
    for (auto& th : threads) th.join();
    for (auto& v : made) {
      for (auto& wc : v) ASSERT_TRUE(wc.ctx.done());
    }
  }
}

// Deadlines firing on the loop thread while other threads wait and cancel.
TEST(ContextConcurrency, DeadlinesAndCancelsFromManyThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> deadline_hits{0}, cancel_hits{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto [ctx, cancel] =
            procctx::with_timeout(procctx::background(), std::chrono::microseconds(100 * (i % 7)));
        auto [child, cc] = procctx::with_cancel(ctx);
        if ((t + i) % 3 == 0) cancel("manual");
        child.wait();
        if (child.err() == procctx::errc::deadline_exceeded)
          ++deadline_hits;
        else
          ++cancel_hits;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(deadline_hits + cancel_hits, 400);
  EXPECT_GT(deadline_hits.load(), 0);
}

}  // namespace
