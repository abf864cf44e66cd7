// procctx::on_signal and signal_context: signals to this process as
// callbacks on the loop thread and as contexts that end.
#include "support/process_fixture.hpp"

#include <procctx/procctx.hpp>
#include <procctx/signals.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <thread>

#include <unistd.h>

using namespace std::chrono_literals;
using procctx::Stdio;

namespace {

class Signals : public procctx::test::ProcessTest {
 protected:
  // Waits until `pred()` holds (the loop thread runs callbacks a moment later).
  template <class Pred>
  static bool eventually(Pred pred) {
    for (int i = 0; i < 500 && !pred(); ++i) std::this_thread::sleep_for(10ms);
    return pred();
  }
  static void send(int sig) { ASSERT_EQ(::kill(::getpid(), sig), 0); }
};

TEST_F(Signals, CallbacksRunOnTheLoopThreadOncePerDelivery) {
  std::atomic<int> calls{0};
  std::atomic<bool> on_caller_thread{false};
  const auto caller = std::this_thread::get_id();
  auto w = procctx::on_signal({SIGUSR1, SIGUSR2}, [&](int sig) {
    if (std::this_thread::get_id() == caller) on_caller_thread = true;
    calls += sig == SIGUSR1 ? 1 : 100;
  });
  ASSERT_TRUE(w) << w.error().message();
  send(SIGUSR1);
  ASSERT_TRUE(eventually([&] { return calls == 1; }));
  send(SIGUSR2);
  ASSERT_TRUE(eventually([&] { return calls == 101; }));
  EXPECT_FALSE(on_caller_thread);
  EXPECT_EQ(w->count(), 2u);
  EXPECT_EQ(w->first(), SIGUSR1);
  EXPECT_EQ(w->last(), SIGUSR2);
}

TEST_F(Signals, ThePreviousDispositionComesBack) {
  static std::atomic<int> own_handler_ran{0};
  struct sigaction own {};
  own.sa_handler = [](int) { ++own_handler_ran; };
  sigemptyset(&own.sa_mask);
  struct sigaction before {};
  ASSERT_EQ(::sigaction(SIGUSR2, &own, &before), 0);
  {
    auto w = procctx::on_signal({SIGUSR2});
    ASSERT_TRUE(w);
    send(SIGUSR2);
    ASSERT_TRUE(eventually([&] { return w->count() == 1; }));
    EXPECT_EQ(own_handler_ran, 0) << "the watch takes the signal over while it lives";
  }
  send(SIGUSR2);
  EXPECT_TRUE(eventually([&] { return own_handler_ran == 1; }));
  ASSERT_EQ(::sigaction(SIGUSR2, &before, nullptr), 0);
}

TEST_F(Signals, EveryWatchOfASignalSeesIt) {
  auto a = procctx::on_signal({SIGUSR1});
  auto b = procctx::on_signal({SIGUSR1, SIGUSR1});
  ASSERT_TRUE(a && b);
  send(SIGUSR1);
  EXPECT_TRUE(eventually([&] { return a->count() == 1 && b->count() == 1; }));
  a->reset();
  send(SIGUSR1);
  EXPECT_TRUE(eventually([&] { return b->count() == 2; }));
  EXPECT_EQ(a->count(), 0u) << "a reset watch is empty";
}

TEST_F(Signals, ContextEndsAtTheFirstSignalAndStopsItsChildren) {
  auto sc = procctx::signal_context(procctx::background(), {SIGUSR1, SIGHUP});
  ASSERT_TRUE(sc) << sc.error().message();
  EXPECT_FALSE(sc->ctx.done());
  auto p = helper_cmd({"sleep", "30"}).stop({{SIGTERM, 5s}, {SIGKILL}}).spawn(sc->ctx);
  ASSERT_TRUE(p);
  send(SIGHUP);
  ASSERT_TRUE(sc->ctx.wait_for(10s));
  EXPECT_EQ(sc->ctx.err(), procctx::errc::canceled);
  EXPECT_EQ(sc->ctx.cause(), "received SIGHUP");
  const auto& c = p->wait();
  EXPECT_EQ(c.stop_reason, procctx::StopReason::canceled);
  EXPECT_EQ(c.cause, "received SIGHUP");
  EXPECT_EQ(c.status, procctx::ExitStatus::killed_by(SIGTERM));
  // A second one is seen too, and changes nothing about the context.
  send(SIGUSR1);
  EXPECT_TRUE(eventually([&] { return sc->watch.count() == 2; }));
  EXPECT_EQ(sc->watch.first(), SIGHUP);
  EXPECT_EQ(sc->watch.last(), SIGUSR1);
  EXPECT_EQ(sc->ctx.cause(), "received SIGHUP");
}

TEST_F(Signals, CancelingItIsNotASignal) {
  auto sc = procctx::signal_context(procctx::background(), {SIGUSR1});
  ASSERT_TRUE(sc);
  sc->cancel("done");
  EXPECT_TRUE(sc->ctx.done());
  EXPECT_EQ(sc->ctx.cause(), "done");
  EXPECT_EQ(sc->watch.count(), 0u);
}

TEST_F(Signals, ChildrenGetDefaultDispositions) {
  auto w = procctx::on_signal({SIGINT, SIGTERM});
  ASSERT_TRUE(w);
  auto c = helper_cmd({"sigstate"}).out(Stdio::capture()).run();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->out.str(), "blocked=0000000000000000 ignored=0000000000000000\n");
  // And a TERM kills such a child as usual.
  auto p = helper_cmd({"sleep", "30"}).spawn();
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->signal(SIGTERM));
  EXPECT_EQ(p->wait().status, procctx::ExitStatus::killed_by(SIGTERM));
}

TEST_F(Signals, SignalsNoHandlerCanTakeAreRefused) {
  for (int bad : {SIGKILL, SIGSTOP, 0, -3, 99}) {
    auto w = procctx::on_signal({SIGUSR1, bad});
    ASSERT_FALSE(w) << bad;
    EXPECT_EQ(w.error().code(), procctx::errc::invalid_argument);
  }
  // Nothing was left installed by the refused calls.
  struct sigaction now {};
  ASSERT_EQ(::sigaction(SIGUSR1, nullptr, &now), 0);
  EXPECT_EQ(now.sa_handler, SIG_DFL);
}

}  // namespace
