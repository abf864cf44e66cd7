#include <procctx/context.hpp>

#include "loop_linux.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <optional>
#include <thread>
#include <vector>

#include <poll.h>

using namespace std::chrono_literals;
using procctx::Clock;
using procctx::errc;

namespace {

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

std::size_t pending_timers() {
  auto* loop = procctx::detail::Loop::running();
  return loop ? loop->pending_timers() : 0;
}

TEST(Background, NeverEndsAndAllocatesNothing) {
  auto bg = procctx::background();
  EXPECT_FALSE(bg.done());
  EXPECT_FALSE(bg.err());
  EXPECT_EQ(bg.cause(), "");
  EXPECT_FALSE(bg.deadline().has_value());
  EXPECT_FALSE(bg.wait_for(10ms));
  EXPECT_EQ(*bg.fd(), -1);
  EXPECT_FALSE(bg.stop_token().stop_possible());
  EXPECT_EQ(bg, procctx::Context{});
  bool ran = false;
  auto reg = bg.on_done([&] { ran = true; });
  EXPECT_FALSE(reg.active());
  EXPECT_FALSE(ran);
}

TEST(WithCancel, CancelEndsWithCanceledAndCause) {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  EXPECT_FALSE(ctx.done());
  EXPECT_FALSE(ctx.err());
  cancel("user pressed stop");
  EXPECT_TRUE(ctx.done());
  EXPECT_EQ(ctx.err(), errc::canceled);
  EXPECT_EQ(ctx.cause(), "user pressed stop");
  EXPECT_TRUE(ctx.wait_for(0s));
}

TEST(WithCancel, CauseDefaultsToTheErrorMessage) {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  cancel();
  EXPECT_EQ(ctx.cause(), "context canceled");
}

TEST(WithCancel, SecondCancelIsANoOpThatKeepsTheFirstCause) {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  cancel("first");
  cancel("second");
  cancel.cancel("third");
  EXPECT_EQ(ctx.cause(), "first");
  EXPECT_EQ(ctx.err(), errc::canceled);
}

TEST(WithCancel, DroppingTheCancelerCancels) {
  procctx::Context ctx;
  {
    auto wc = procctx::with_cancel(procctx::background());
    ctx = wc.ctx;
    EXPECT_FALSE(ctx.done());
  }
  EXPECT_TRUE(ctx.done());
  EXPECT_EQ(ctx.err(), errc::canceled);
}

TEST(WithCancel, ReleasedCancelerDoesNotCancel) {
  auto [parent, cancel_parent] = procctx::with_cancel(procctx::background());
  procctx::Context ctx;
  {
    auto wc = procctx::with_cancel(parent);
    ctx = wc.ctx;
    wc.cancel.release();
  }
  EXPECT_FALSE(ctx.done());
  cancel_parent("parent");
  EXPECT_TRUE(ctx.done());
  EXPECT_EQ(ctx.cause(), "parent");
}

TEST(WithCancel, MovedCancelerCancelsOnce) {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  procctx::Canceler other = std::move(cancel);
  EXPECT_FALSE(ctx.done());
  other("moved");
  EXPECT_EQ(ctx.cause(), "moved");
}

TEST(Tree, ChildEndsWithParentsErrorAndCause) {
  auto [parent, cancel] = procctx::with_cancel(procctx::background());
  auto [child, cancel_child] = procctx::with_cancel(parent);
  auto [grandchild, cancel_gc] = procctx::with_cancel(child);
  cancel("shutdown");
  EXPECT_TRUE(child.done());
  EXPECT_TRUE(grandchild.done());
  EXPECT_EQ(grandchild.err(), errc::canceled);
  EXPECT_EQ(grandchild.cause(), "shutdown");
}

TEST(Tree, CancellingAChildLeavesParentAndSiblingsAlone) {
  auto [parent, cancel] = procctx::with_cancel(procctx::background());
  auto [a, cancel_a] = procctx::with_cancel(parent);
  auto [b, cancel_b] = procctx::with_cancel(parent);
  cancel_a("only a");
  EXPECT_TRUE(a.done());
  EXPECT_FALSE(parent.done());
  EXPECT_FALSE(b.done());
  cancel();
  EXPECT_TRUE(b.done());
  EXPECT_EQ(a.cause(), "only a");  // the first end stays
}

TEST(Tree, ChildOfADoneParentIsBornDone) {
  auto [parent, cancel] = procctx::with_cancel(procctx::background());
  cancel("gone");
  auto [child, cancel_child] = procctx::with_cancel(parent);
  EXPECT_TRUE(child.done());
  EXPECT_EQ(child.cause(), "gone");
}

TEST(Tree, ThousandDeepChainCancelledFromTheRoot) {
  auto [root, cancel] = procctx::with_cancel(procctx::background());
  std::vector<procctx::WithCancel> chain;
  chain.reserve(1000);
  procctx::Context at = root;
  for (int i = 0; i < 1000; ++i) {
    chain.push_back(procctx::with_cancel(at));
    at = chain.back().ctx;
  }
  cancel("root");
  for (const auto& link : chain) {
    ASSERT_TRUE(link.ctx.done());
    ASSERT_EQ(link.ctx.cause(), "root");
  }
}

TEST(Tree, TenThousandWideFanOutCancelledFromTheRoot) {
  auto [root, cancel] = procctx::with_cancel(procctx::background());
  std::vector<procctx::WithCancel> children;
  std::atomic<int> callbacks{0};
  std::vector<procctx::Registration> regs;
  for (int i = 0; i < 10'000; ++i) {
    children.push_back(procctx::with_cancel(root));
    regs.push_back(children.back().ctx.on_done([&] { ++callbacks; }));
  }
  cancel("fan-out");
  EXPECT_EQ(callbacks.load(), 10'000);
  for (const auto& c : children) ASSERT_EQ(c.ctx.err(), errc::canceled);
}

TEST(Deadline, ChildDeadlineIsTheEarlierOfItsOwnAndItsParents) {
  auto [parent, cancel] = procctx::with_timeout(procctx::background(), 1h);
  auto [early, c1] = procctx::with_timeout(parent, 1min);
  auto [late, c2] = procctx::with_timeout(parent, 2h);
  ASSERT_TRUE(parent.deadline() && early.deadline() && late.deadline());
  EXPECT_LT(*early.deadline(), *parent.deadline());
  EXPECT_EQ(*late.deadline(), *parent.deadline());
  auto [plain, c3] = procctx::with_cancel(parent);
  EXPECT_EQ(plain.deadline(), parent.deadline());
}

TEST(Deadline, LaterChildDeadlineNeedsNoTimerOfItsOwn) {
  auto [parent, cancel] = procctx::with_timeout(procctx::background(), 1h);
  auto before = pending_timers();
  auto [late, c] = procctx::with_timeout(parent, 2h);
  EXPECT_EQ(pending_timers(), before);
}

TEST(Deadline, NegativeOrZeroTimeoutIsAlreadyExpired) {
  auto [a, ca] = procctx::with_timeout(procctx::background(), -5s);
  EXPECT_TRUE(a.done());
  EXPECT_EQ(a.err(), errc::deadline_exceeded);
  auto [b, cb] = procctx::with_timeout(procctx::background(), 0s);
  EXPECT_EQ(b.err(), errc::deadline_exceeded);
  auto [c, cc] = procctx::with_deadline(procctx::background(), Clock::now() - 1s);
  EXPECT_EQ(c.err(), errc::deadline_exceeded);
  ca("too late");  // a no-op: the deadline came first
  EXPECT_EQ(a.err(), errc::deadline_exceeded);
  EXPECT_EQ(a.cause(), "context deadline exceeded");
}

TEST(Deadline, FiresWithin50msOfDueWithNobodyWaiting) {
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 100ms);
  std::promise<Clock::time_point> fired;
  auto reg = ctx.on_done([&] { fired.set_value(Clock::now()); });
  auto f = fired.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  auto late = f.get() - *ctx.deadline();
  EXPECT_GE(late, 0ms);
  EXPECT_LT(late, 50ms);
  EXPECT_EQ(ctx.err(), errc::deadline_exceeded);
  // It fired on procctx's loop thread, the library's only thread.
  EXPECT_NE(procctx::detail::Loop::running(), nullptr);
}

TEST(Deadline, ParentDeadlineEndsChildWithDeadlineExceeded) {
  auto [parent, cp] = procctx::with_timeout(procctx::background(), 20ms);
  auto [child, cc] = procctx::with_cancel(parent);
  EXPECT_TRUE(child.wait_for(5s));
  EXPECT_EQ(child.err(), errc::deadline_exceeded);
}

TEST(Deadline, CancelledOrDroppedContextsLeaveNoTimer) {
  auto before = pending_timers();
  {
    auto [a, ca] = procctx::with_timeout(procctx::background(), 1h);
    auto [b, cb] = procctx::with_timeout(procctx::background(), 1h);
    EXPECT_EQ(pending_timers(), before + 2);
    ca();
    EXPECT_EQ(pending_timers(), before + 1);
  }
  EXPECT_EQ(pending_timers(), before);
}

TEST(Deadline, WaitReturnsAtTheDeadline) {
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 30ms);
  ctx.wait();
  EXPECT_TRUE(ctx.done());
  EXPECT_GE(Clock::now(), *ctx.deadline());
}

TEST(OnDone, RunsExactlyOnceAndInlineWhenAlreadyDone) {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  int runs = 0;
  auto reg = ctx.on_done([&] { ++runs; });
  EXPECT_TRUE(reg.active());
  EXPECT_EQ(runs, 0);
  cancel();
  cancel();
  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(reg.active());
  int inline_runs = 0;
  auto late = ctx.on_done([&] { ++inline_runs; });
  EXPECT_EQ(inline_runs, 1);
  EXPECT_FALSE(late.active());
}

TEST(OnDone, CallbacksRunInRegistrationOrder) {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  std::vector<int> order;
  auto r1 = ctx.on_done([&] { order.push_back(1); });
  auto r2 = ctx.on_done([&] { order.push_back(2); });
  auto r3 = ctx.on_done([&] { order.push_back(3); });
  cancel();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(OnDone, ResetBeforeDoneMeansNeverRuns) {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  bool ran = false;
  auto reg = ctx.on_done([&] { ran = true; });
  EXPECT_TRUE(reg.reset());
  EXPECT_FALSE(reg.reset());
  cancel();
  EXPECT_FALSE(ran);
}

TEST(OnDone, RegistrationOutlivesItsContext) {
  procctx::Registration reg;
  bool ran = false;
  {
    auto [ctx, cancel] = procctx::with_cancel(procctx::background());
    reg = ctx.on_done([&] { ran = true; });
  }  // the Canceler's destructor ends the context
  EXPECT_TRUE(ran);
}

TEST(OnDone, DestroyingRegistrationWaitsForCallbackRunningElsewhere) {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  std::atomic<bool> started{false}, finished{false};
  std::optional<procctx::Registration> reg = ctx.on_done([&] {
    started = true;
    std::this_thread::sleep_for(100ms);
    finished = true;
  });
  std::thread canceller([&, &c = cancel] { c(); });
  while (!started) std::this_thread::yield();
  reg.reset();  // must block until the callback has returned
  EXPECT_TRUE(finished.load());
  canceller.join();
}

TEST(OnDone, RegisterAndUnregisterFromInsideCallbacks) {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  std::optional<procctx::Registration> self, other;
  int nested = 0, other_runs = 0;
  self = ctx.on_done([&, c = ctx] {
    self.reset();                               // destroying our own registration from inside: no deadlock
    other.reset();                              // unregistering a callback that has not run yet
    auto inner = c.on_done([&] { ++nested; });  // context is done: runs inline
  });
  other = ctx.on_done([&] { ++other_runs; });
  cancel();
  EXPECT_EQ(nested, 1);
  EXPECT_EQ(other_runs, 0);
}

TEST(OnDone, ACallbackMayDestroyTheCancelerThatEndsIt) {
  // The owner of both the Canceler and the Registration dies in the
  // callback: the context must stay valid until cancelling is over.
  struct Job {
    procctx::Canceler cancel;
    procctx::Registration reg;
  };
  auto* job = new Job;
  bool ran = false;
  {
    auto [ctx, cancel] = procctx::with_cancel(procctx::background());
    job->cancel = std::move(cancel);
    job->reg = ctx.on_done([job, &ran] {
      ran = true;
      delete job;
    });
  }
  job->cancel("owner goes");  // (under ASan a use-after-free would show here)
  EXPECT_TRUE(ran);
}

TEST(Fd, BecomesReadableWhenDone) {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  auto fd = ctx.fd();
  ASSERT_TRUE(fd.ok()) << fd.error().message();
  EXPECT_GE(*fd, 3);
  EXPECT_FALSE(readable(*fd));
  EXPECT_EQ(*ctx.fd(), *fd);  // one fd per context
  cancel();
  EXPECT_TRUE(readable(*fd));
}

TEST(Fd, OfAnAlreadyDoneContextIsReadable) {
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), -1s);
  EXPECT_TRUE(readable(*ctx.fd()));
}

TEST(StopToken, ContextToTokenAndBack) {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  std::stop_token tok = ctx.stop_token();
  EXPECT_TRUE(tok.stop_possible());
  EXPECT_FALSE(tok.stop_requested());
  cancel();
  EXPECT_TRUE(tok.stop_requested());

  std::stop_source src;
  auto from = procctx::Context::from(src.get_token());
  auto [child, cc] = procctx::with_cancel(from);
  EXPECT_FALSE(child.done());
  src.request_stop();
  EXPECT_TRUE(child.done());
  EXPECT_EQ(child.err(), errc::canceled);
  EXPECT_EQ(child.cause(), "stop requested");
}

TEST(StopToken, AlreadyStoppedTokenGivesADoneContext) {
  std::stop_source src;
  src.request_stop();
  EXPECT_TRUE(procctx::Context::from(src.get_token()).done());
  EXPECT_FALSE(procctx::Context::from(std::stop_token{}).done());
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  cancel();
  EXPECT_TRUE(ctx.stop_token().stop_requested());
}

}  // namespace
