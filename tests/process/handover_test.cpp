// The loop takes a child only when it needs to: a spawn whose caller waits
// costs the loop nothing (no epoll_ctl, no wake-up); dropping, detaching,
// on_exit and a context that ends hand the child over, without a race.
// Counted at the syscall seam (a fault-injection build), never timed.
#include "support/process_fixture.hpp"

#include "sys_linux.hpp"

#include <procctx/procctx.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

using namespace std::chrono_literals;
using procctx::Command;
using procctx::StopReason;
using procctx::detail::fault::calls;
using procctx::detail::sys::Call;

namespace {

class Handover : public procctx::test::ProcessTest {
 protected:
  void SetUp() override {
    // The loop, started: what it costs to start is not what is counted.
    (void)Command{"/bin/true"}.run();
    procctx::detail::fault::clear();
  }
  // Loop work for one call: epoll registrations and wake-ups (posts write
  // the loop's eventfd).
  struct Cost {
    long epoll_ctl, writes, waitids;
  };
  static Cost cost_of(const std::function<void()>& fn) {
    long e = calls(Call::epoll_ctl), w = calls(Call::write), r = calls(Call::waitid);
    fn();
    return {calls(Call::epoll_ctl) - e, calls(Call::write) - w, calls(Call::waitid) - r};
  }
};

TEST_F(Handover, SpawnThenWaitCostsTheLoopNothing) {
  auto spawn_wait = cost_of([] {
    auto p = Command{"/bin/true"}.spawn();
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->wait().status.success());
  });
  EXPECT_EQ(spawn_wait.epoll_ctl, 0);
  EXPECT_EQ(spawn_wait.writes, 0) << "the loop was woken";
  EXPECT_EQ(spawn_wait.waitids, 2) << "one wait for the exit, one reap, both in the caller's thread";
  auto run = cost_of([] { EXPECT_TRUE(Command{"/bin/true"}.run()->status.success()); });
  EXPECT_EQ(run.epoll_ctl, 0);
  EXPECT_EQ(run.writes, 0);
  // Under a context that can end, but does not: still nothing (the
  // context's own deadline timer is the context's, not the child's).
  auto scope = procctx::with_cancel(procctx::background());
  auto under_context = cost_of([&] { EXPECT_TRUE(Command{"/bin/true"}.run(scope.ctx)->status.success()); });
  EXPECT_EQ(under_context.epoll_ctl, 0);
  EXPECT_EQ(under_context.writes, 0);
}

TEST_F(Handover, ADroppedRunningChildIsStoppedAndReaped) {
  pid_t pid = 0;
  {
    auto p = helper_cmd({"sleep", "30"}).stop({{SIGTERM, 5s}, {SIGKILL}}).spawn();
    ASSERT_TRUE(p);
    pid = p->pid();
  }
  EXPECT_TRUE(procctx::test::live_group_members(pid).empty());
  // The fixture's leak check then sees no zombie either.
}

TEST_F(Handover, ADetachedChildIsReapedWhenItExits) {
  auto before = procctx::stats().children;
  {
    auto p = helper_cmd({"sleep", "0.2"}).spawn();
    ASSERT_TRUE(p);
    p->detach();
  }
  for (int i = 0; i < 500 && procctx::stats().children != before; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(procctx::stats().children, before);
}

TEST_F(Handover, OnExitAskedAfterTheExitStillRuns) {
  auto p = helper_cmd({"exit", "5"}).spawn();
  ASSERT_TRUE(p);
  std::this_thread::sleep_for(100ms);  // exited, and nobody has looked yet
  std::promise<int> code;
  p->on_exit([&](const procctx::Completed& c) { code.set_value(c.status.code()); });
  auto f = code.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(f.get(), 5);
}

TEST_F(Handover, AContextThatEndsLaterStopsAChildTheLoopWasNotWatching) {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  auto p = helper_cmd({"sleep", "30"}).spawn(ctx);
  ASSERT_TRUE(p);
  std::this_thread::sleep_for(50ms);
  cancel("enough");
  const auto* c = p->wait_for(20s);
  ASSERT_NE(c, nullptr) << "the cancel did not reach the child";
  EXPECT_EQ(c->stop_reason, StopReason::canceled);
  EXPECT_EQ(c->cause, "enough");
  EXPECT_EQ(c->status, procctx::ExitStatus::killed_by(SIGTERM));
}

TEST_F(Handover, TryWaitAndWaitForSeeAnExitNobodyWatched) {
  auto p = helper_cmd({"exit", "3"}).spawn();
  ASSERT_TRUE(p);
  const procctx::Completed* c = p->wait_for(10s);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status.code(), 3);
  auto q = helper_cmd({"exit", "4"}).spawn();
  ASSERT_TRUE(q);
  const procctx::Completed* seen = nullptr;
  for (int i = 0; i < 1000 && !seen; ++i) {
    seen = q->try_wait();
    if (!seen) std::this_thread::sleep_for(5ms);
  }
  ASSERT_NE(seen, nullptr);
  EXPECT_EQ(seen->status.code(), 4);
}

// Waiters, on_exit, a cancel and a drop racing for the same children:
// every party sees one outcome, and nothing is left behind.
TEST_F(Handover, EveryPartyRacingForAChildSeesTheSameOutcome) {
  for (int round = 0; round < 100; ++round) {
    auto [ctx, cancel] = procctx::with_cancel(procctx::background());
    auto p = helper_cmd({"exit", std::to_string(round % 7)}).spawn(ctx);
    ASSERT_TRUE(p);
    std::promise<int> via_callback;
    std::atomic<int> via_wait{-1};
    std::thread waiter([&] { via_wait = p->wait().status.code(); });
    p->on_exit([&](const procctx::Completed& c) { via_callback.set_value(c.status.code()); });
    if (round % 3 == 0) cancel("racing");
    const auto& c = p->wait();
    waiter.join();
    auto f = via_callback.get_future();
    ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
    int got = f.get();
    EXPECT_EQ(got, c.status.code());
    EXPECT_EQ(via_wait.load(), c.status.code());
  }
  // And a drop racing with the child's own exit.
  for (int round = 0; round < 100; ++round) {
    auto p = helper_cmd({"exit", "0"}).spawn();
    ASSERT_TRUE(p);
    if (round % 2) std::this_thread::sleep_for(1ms);
  }
}

}  // namespace
