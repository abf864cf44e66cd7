// procctx::testing::Clock: deadlines, stop waits and wait_delay on a clock
// the test moves, with real children (label concurrency: the loop thread
// runs the timers while the test thread advances).
#include <procctx/diagnostics.hpp>
#include <procctx/testing/gtest.hpp>

#include <gmock/gmock.h>

#include <atomic>
#include <csignal>
#include <mutex>
#include <thread>

namespace {

using namespace std::chrono_literals;
using procctx::Stdio;
namespace pt = procctx::testing;

using ClockTest = pt::LeakCheckTest;

TEST_F(ClockTest, AThirtySecondDeadlineStopsATermIgnoringChildInMilliseconds) {
  auto real_start = procctx::Clock::now();
  pt::Clock clock;
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 30s);
  auto p = pt::spawn_ready(pt::child({"ignore=TERM", "sleep=60"}), ctx);
  ASSERT_TRUE(p.ok()) << p.error().message();
  clock.advance(29s);
  EXPECT_FALSE(ctx.done());
  clock.advance(1s);  // the deadline: SIGTERM, which it ignores; the grace starts
  EXPECT_TRUE(ctx.done());
  EXPECT_EQ(p->wait_for(100ms), nullptr) << "it should still run through the grace";
  clock.advance(5s);  // SIGKILL
  const procctx::Completed& c = p->wait();
  pt::expect_stopped_by(c, procctx::StopReason::deadline);
  pt::expect_signals(c, {SIGTERM, SIGKILL});
  pt::expect_killed_by(c, SIGKILL);
  ASSERT_EQ(c.signals.size(), 2u);
  EXPECT_EQ(c.signals[0].at, 30s);  // on the test clock: exactly
  EXPECT_EQ(c.signals[1].at, 35s);
  EXPECT_LT(procctx::Clock::now() - real_start, 10s);
}

TEST_F(ClockTest, AStopSequencesWaitsRunOnTheClock) {
  pt::Clock clock;
  auto p = pt::spawn_ready(pt::child({"ignore=TERM", "sleep=60"}).stop({{SIGTERM, 10s}, {SIGKILL}}));
  ASSERT_TRUE(p.ok()) << p.error().message();
  p->stop();
  clock.advance(9s);
  EXPECT_EQ(p->wait_for(50ms), nullptr);
  clock.advance(1s);
  pt::expect_signals(p->wait(), {SIGTERM, SIGKILL});
}

TEST_F(ClockTest, WaitDelayRunsOnTheClockFromTheMomentTheExitIsSeen) {
  pt::Clock clock;
  auto p = pt::child({"grandchild-holds-output", "print=done"})
               .out(Stdio::capture())
               .wait_delay(30s)
               .spawn(procctx::background());
  ASSERT_TRUE(p.ok()) << p.error().message();
  auto outcome = p->wait_async();
  ASSERT_TRUE(clock.wait_pending(1)) << "wait_delay was never armed";
  EXPECT_EQ(clock.next(), clock.now() + 30s);
  EXPECT_EQ(outcome.wait_for(100ms), std::future_status::timeout);
  clock.advance(30s);
  procctx::Completed c = outcome.get();
  pt::expect_exited(c, 0);
  EXPECT_EQ(c.out.str(), "done\n");
  EXPECT_EQ(c.pipe_holders.size(), 1u);
  pt::expect_no_leftovers(c);
}

TEST_F(ClockTest, TimersArmedBeforeTheClockStayOnRealTime) {
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 100ms);
  pt::Clock clock;
  EXPECT_TRUE(ctx.wait_for(10s)) << "a real-time deadline waited for the test clock";
  EXPECT_EQ(clock.pending(), 0u);
}

TEST_F(ClockTest, TimersPendingWhenTheClockGoesMoveToRealTime) {
  std::optional<procctx::WithCancel> later;
  {
    pt::Clock clock;
    later.emplace(procctx::with_timeout(procctx::background(), 100ms));
    EXPECT_EQ(clock.pending(), 1u);
  }
  EXPECT_TRUE(later->ctx.wait_for(10s));
  EXPECT_EQ(later->ctx.err(), procctx::errc::deadline_exceeded);
}

TEST_F(ClockTest, ATimerHandedToRealTimeCanStillBeCancelled) {
  std::optional<procctx::WithCancel> hour;
  std::size_t before = procctx::stats().pending_timers;
  {
    pt::Clock clock;
    hour.emplace(procctx::with_timeout(procctx::background(), 1h));
  }
  EXPECT_EQ(procctx::stats().pending_timers, before + 1);
  hour->cancel();
  EXPECT_EQ(procctx::stats().pending_timers, before);
}

TEST_F(ClockTest, AdvanceRunsEachTimerInOrderAtItsOwnTime) {
  pt::Clock clock;
  auto start = clock.now();
  std::mutex mu;
  std::vector<procctx::Duration> fired;
  std::vector<procctx::WithCancel> contexts;
  std::vector<procctx::Registration> regs;
  for (auto d : {3s, 1s, 2s}) {
    contexts.push_back(procctx::with_timeout(procctx::background(), d));
    regs.push_back(contexts.back().ctx.on_done([&] {
      std::lock_guard lock{mu};
      fired.push_back(clock.now() - start);
    }));
  }
  EXPECT_EQ(clock.next(), start + 1s);
  clock.advance(2500ms);
  EXPECT_EQ(fired, (std::vector<procctx::Duration>{1s, 2s}));
  clock.advance(1s);
  EXPECT_EQ(fired, (std::vector<procctx::Duration>{1s, 2s, 3s}));
  EXPECT_EQ(clock.now(), start + 3500ms);
  EXPECT_EQ(clock.pending(), 0u);
}

TEST_F(ClockTest, OnlyOneClockAtATime) {
  pt::Clock clock;
  EXPECT_THROW(pt::Clock second, std::logic_error);
}

TEST_F(ClockTest, AdvanceOnTheLoopThreadThrowsInsteadOfWaitingOnItself) {
  pt::Clock clock;
  auto p = pt::child({}).spawn(procctx::background());
  ASSERT_TRUE(p.ok());
  std::promise<bool> threw;
  p->on_exit([&](const procctx::Completed&) {
    try {
      clock.advance(1s);
      threw.set_value(false);
    } catch (const std::logic_error&) {
      threw.set_value(true);
    }
  });
  EXPECT_TRUE(threw.get_future().get());
  (void)p->wait();
}

// procctx's own polls stay real: a tree whose leader is gone is looked at in
// real time, so no test has to advance the clock for a stop to see it empty.
TEST_F(ClockTest, TheStopOfATreeWithoutItsLeaderEndsWithoutAnAdvance) {
  pt::Clock clock;
  // The leader exits at once, leaving in its group a grandchild that ignores SIGTERM and
  // ends by itself 2 s later, well inside an hour of grace on the test clock. (With 0.3 s, a
  // loaded machine noticed the leader's exit only after the grandchild had gone: no leftover
  // was left to stop, and nothing was sent.)
  auto p = pt::spawn_ready(pt::child({"ignore=TERM", "grandchild-holds-output=2", "exit=0"})
                               .leftovers(procctx::Leftovers::kill)
                               .stop({{SIGTERM, 1h}, {SIGKILL}}));
  ASSERT_TRUE(p.ok()) << p.error().message();
  auto outcome = p->wait_async();
  ASSERT_EQ(outcome.wait_for(10s), std::future_status::ready) << "the stop waited on the test clock";
  procctx::Completed c = outcome.get();
  pt::expect_exited(c, 0);
  pt::expect_signals(c, {SIGTERM});
  pt::expect_no_leftovers(c);
}

TEST_F(ClockTest, ManyThreadsArmTimersWhileTheClockAdvances) {
  pt::Clock clock;
  std::atomic<int> ended{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto [ctx, cancel] =
            procctx::with_timeout(procctx::background(), std::chrono::milliseconds(100 * (i % 5)));
        if (i % 3 == 0) cancel();
        if (ctx.wait_for(5s)) ended.fetch_add(1);
      }
    });
  }
  std::atomic<bool> stop{false};
  std::thread mover([&] {
    while (!stop.load()) {
      clock.advance(100ms);
      std::this_thread::sleep_for(1ms);
    }
  });
  for (auto& t : threads) t.join();
  stop.store(true);
  mover.join();
  EXPECT_EQ(ended.load(), 100);
}

}  // namespace
