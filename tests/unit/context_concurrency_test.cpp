// Contexts under threads: run under TSan (label `concurrency`).
#include <procctx/context.hpp>

#include <gtest/gtest.h>

#include <poll.h>
#include <atomic>
#include <barrier>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
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

// The races a context without a mutex opens, each with many threads.

// Registrations made and dropped from four threads while a fifth cancels.
// reset() returning true means the callback never runs; false means it has
// run, and finished, by the time reset() returns (it waits for a callback
// running on the cancelling thread).
TEST(ContextConcurrency, RegisterCancelAndDeregisterFromManyThreads) {
  for (int round = 0; round < 25; ++round) {
    auto [ctx, cancel] = procctx::with_cancel(procctx::background());
    constexpr int kThreads = 4, kEach = 32;
    std::vector<std::atomic<int>> started(kThreads * kEach), finished(kThreads * kEach);
    std::atomic<int> wrong{0};
    std::barrier start{kThreads + 1};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t, &cx = ctx] {
        start.arrive_and_wait();
        for (int i = 0; i < kEach; ++i) {
          auto k = static_cast<std::size_t>(t * kEach + i);
          auto reg = cx.on_done([&, k] {
            ++started[k];
            std::this_thread::yield();  // let reset() find it running
            ++finished[k];
          });
          if (i % 3 == 0) std::this_thread::yield();
          bool prevented = reg.reset();
          if (prevented ? started[k].load() != 0 : finished[k].load() != 1) ++wrong;
        }
      });
    }
    start.arrive_and_wait();
    cancel("go");
    for (auto& th : threads) th.join();
    EXPECT_EQ(wrong.load(), 0);
    for (std::size_t k = 0; k < started.size(); ++k) ASSERT_LE(started[k].load(), 1) << k;
  }
}

// Callbacks that drop their own registration from inside, while other
// threads drop theirs and register more: no deadlock, nothing runs twice,
// nothing dropped runs.
TEST(ContextConcurrency, DeregisterFromInsideTheCallbackWhileOthersDeregister) {
  for (int round = 0; round < 100; ++round) {
    auto [ctx, cancel] = procctx::with_cancel(procctx::background());
    constexpr int kSelf = 32, kOthers = 32;
    std::vector<std::optional<procctx::Registration>> self(kSelf), others(kOthers);
    std::vector<std::atomic<int>> self_runs(kSelf), other_runs(kOthers);
    for (int i = 0; i < kSelf; ++i) {
      auto k = static_cast<std::size_t>(i);
      self[k] = ctx.on_done([&, k] {
        ++self_runs[k];
        self[k].reset();  // the Registration destroyed inside its own callback
      });
    }
    for (int i = 0; i < kOthers; ++i) {
      auto k = static_cast<std::size_t>(i);
      others[k] = ctx.on_done([&, k] { ++other_runs[k]; });
    }
    std::vector<bool> prevented(kOthers);
    std::barrier start{2};
    std::thread canceller([&, &c = cancel] {
      start.arrive_and_wait();
      c();
    });
    start.arrive_and_wait();
    for (int i = kOthers - 1; i >= 0; --i)
      prevented[static_cast<std::size_t>(i)] = others[static_cast<std::size_t>(i)]->reset();
    canceller.join();
    for (int i = 0; i < kSelf; ++i) ASSERT_EQ(self_runs[static_cast<std::size_t>(i)].load(), 1);
    for (int i = 0; i < kOthers; ++i) {
      auto k = static_cast<std::size_t>(i);
      ASSERT_EQ(other_runs[k].load(), prevented[k] ? 0 : 1) << k;
    }
  }
}

// Children derived, given callbacks and cancelled on four threads while a
// fifth cancels their parent: every child ends (with its own cause or the
// parent's), every callback runs exactly once, and a child dropped mid-way
// (its last owner gone while the parent ends) is skipped safely.
TEST(ContextConcurrency, ParentCancelledWhileChildrenAreDerivedAndCancelled) {
  for (int round = 0; round < 50; ++round) {
    auto [root, cancel_root] = procctx::with_cancel(procctx::background());
    auto [parent, cancel_parent] = procctx::with_cancel(root);
    constexpr int kThreads = 4, kEach = 50;
    std::vector<std::atomic<int>> runs(kThreads * kEach);
    std::vector<std::vector<procctx::WithCancel>> kept(kThreads);
    std::vector<std::vector<procctx::Registration>> regs(kThreads);
    std::barrier start{kThreads + 1};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t, &p = parent] {
        start.arrive_and_wait();
        for (int i = 0; i < kEach; ++i) {
          auto k = static_cast<std::size_t>(t * kEach + i);
          auto child = procctx::with_cancel(p);
          auto grandchild = procctx::with_cancel(child.ctx);
          regs[static_cast<std::size_t>(t)].push_back(grandchild.ctx.on_done([&, k] { ++runs[k]; }));
          if (i % 4 == 0) child.cancel("own");
          if (i % 4 == 1) continue;  // dropped: cancelled by its Canceler's destructor
          kept[static_cast<std::size_t>(t)].push_back(std::move(grandchild));
          kept[static_cast<std::size_t>(t)].push_back(std::move(child));
        }
      });
    }
    start.arrive_and_wait();
    cancel_parent("parent");
    for (auto& th : threads) th.join();
    for (auto& v : kept) {
      for (auto& wc : v) {
        ASSERT_TRUE(wc.ctx.done());
        ASSERT_TRUE(wc.ctx.cause() == "own" || wc.ctx.cause() == "parent") << wc.ctx.cause();
      }
    }
    for (auto& r : runs) ASSERT_EQ(r.load(), 1);
    EXPECT_FALSE(root.done());  // a child's end never reaches up
  }
}

// Sleepers in wait_for(), fd() and stop_token() made while another thread
// cancels: every sleeper wakes, the fd is readable and the token stopped,
// whichever came first.
TEST(ContextConcurrency, WaitersFdsAndTokensRacingCancel) {
  for (int round = 0; round < 50; ++round) {
    auto [ctx, cancel] = procctx::with_cancel(procctx::background());
    std::atomic<int> woke{0}, bad{0};
    std::barrier start{6};
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&, &cx = ctx] {
        start.arrive_and_wait();
        if (cx.wait_for(30s)) ++woke;
      });
    }
    threads.emplace_back([&, &cx = ctx] {
      start.arrive_and_wait();
      auto fd = cx.fd();
      if (!fd) {
        ++bad;
        return;
      }
      pollfd p{*fd, POLLIN, 0};
      if (::poll(&p, 1, 30'000) != 1) ++bad;
    });
    threads.emplace_back([&, &cx = ctx] {
      start.arrive_and_wait();
      std::stop_token tok = cx.stop_token();
      std::atomic<bool> stopped{false};
      std::stop_callback cb{tok, [&] { stopped = true; }};
      auto give_up = std::chrono::steady_clock::now() + 30s;  // a bound, only to fail rather than hang
      while (!stopped && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
      if (!stopped) ++bad;
    });
    start.arrive_and_wait();
    cancel();
    for (auto& th : threads) th.join();
    EXPECT_EQ(woke.load(), 3);
    EXPECT_EQ(bad.load(), 0);
  }
}

}  // namespace
