// procctx::async_wait (procctx/asio.hpp) with real children: where the
// handler runs, each kind of completion token, and cancellation through
// Asio's cancellation slots. Built twice: against standalone Asio and, with
// PROCCTX_ASIO_BOOST, against Boost.Asio (asio_wait_test, boost_asio_wait_test).
#include <procctx/asio.hpp>

#if defined(PROCCTX_ASIO_BOOST)
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
namespace net = boost::asio;
#else
#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
namespace net = asio;
#endif

#include "loop_linux.hpp"
#include "support/process_fixture.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <future>
#include <optional>
#include <thread>

namespace procctx::test {
namespace {

using namespace std::chrono_literals;

// Where a handler ran, and with what.
struct Seen {
  std::optional<Completed> outcome;
  std::thread::id thread;
  bool on_loop_thread = true;

  void record(Completed c) {
    outcome = std::move(c);
    thread = std::this_thread::get_id();
    on_loop_thread = detail::Loop::running()->on_loop_thread();
  }
  // A completion handler that records here.
  auto recorder() {
    return [this](Completed c) { record(std::move(c)); };
  }
};

Process spawn_helper(std::vector<std::string> args) {
  auto p = Command{helper(), std::move(args)}.spawn();
  if (!p) throw Exception(p.error());
  return std::move(p).value();
}

// A coroutine that runs the helper with `args` and records what co_await gives.
net::awaitable<void> wait_in_coroutine(std::vector<std::string> args, Seen& seen) {
  Process p = spawn_helper(std::move(args));
  seen.record(co_await procctx::async_wait(p, net::use_awaitable));
}

using AsioWaitTest = ProcessTest;

TEST_F(AsioWaitTest, CallbackRunsOnTheIoContextThread) {
  net::io_context io;
  Process p = spawn_helper({"exit", "3"});
  Seen seen;
  procctx::async_wait(p, net::bind_executor(io, seen.recorder()));
  std::thread::id io_thread;
  // run() returns only once the handler has run: the wait is outstanding work.
  std::thread runner{[&] {
    io_thread = std::this_thread::get_id();
    io.run();
  }};
  runner.join();
  ASSERT_TRUE(seen.outcome);
  EXPECT_EQ(seen.outcome->status, ExitStatus::exited_with(3));
  EXPECT_EQ(seen.thread, io_thread);
  EXPECT_FALSE(seen.on_loop_thread);
}

TEST_F(AsioWaitTest, ExecutorArgumentServesAPlainCallback) {
  net::io_context io;
  Process p = spawn_helper({"exit", "0"});
  Seen seen;
  procctx::async_wait(io.get_executor(), p, seen.recorder());
  io.run();
  ASSERT_TRUE(seen.outcome);
  EXPECT_TRUE(seen.outcome->status.success());
  EXPECT_EQ(seen.thread, std::this_thread::get_id());
  EXPECT_FALSE(seen.on_loop_thread);
}

TEST_F(AsioWaitTest, AKnownOutcomeStillCompletesThroughTheExecutor) {
  net::io_context io;
  Process p = spawn_helper({"exit", "4"});
  (void)p.wait();
  Seen seen;
  procctx::async_wait(p, net::bind_executor(io, seen.recorder()));
  EXPECT_FALSE(seen.outcome) << "the handler ran inside async_wait()";
  io.run();
  ASSERT_TRUE(seen.outcome);
  EXPECT_EQ(seen.outcome->status, ExitStatus::exited_with(4));
  EXPECT_EQ(seen.thread, std::this_thread::get_id());
}

TEST_F(AsioWaitTest, UseFutureGivesTheOutcome) {
  auto p = helper_cmd({"print", "from the child"}).out(Stdio::capture()).spawn();
  ASSERT_TRUE(p) << p.error().message();
  std::future<Completed> f = procctx::async_wait(*p, net::use_future);
  ASSERT_EQ(f.wait_for(60s), std::future_status::ready);
  Completed c = f.get();
  EXPECT_TRUE(c.status.success());
  EXPECT_EQ(c.out.text(), "from the child");
}

TEST_F(AsioWaitTest, UseAwaitableResumesTheCoroutineOnItsExecutor) {
  net::io_context io;
  Seen seen;
  net::co_spawn(io, wait_in_coroutine({"exit", "5"}, seen), net::detached);
  io.run();
  ASSERT_TRUE(seen.outcome);
  EXPECT_EQ(seen.outcome->status, ExitStatus::exited_with(5));
  EXPECT_EQ(seen.thread, std::this_thread::get_id());
  EXPECT_FALSE(seen.on_loop_thread);
}

TEST_F(AsioWaitTest, CancellationSignalStopsTheChildWithItsStopSequence) {
  net::io_context io;
  Process p = spawn_helper({"sleep", "30"});
  net::cancellation_signal cancel;
  Seen seen;
  procctx::async_wait(p, net::bind_cancellation_slot(cancel.slot(), net::bind_executor(io, seen.recorder())));
  // Emitted on the handler's executor, as Asio asks.
  net::post(io, [&] { cancel.emit(net::cancellation_type::terminal); });
  auto start = Clock::now();
  io.run();
  ASSERT_TRUE(seen.outcome);
  EXPECT_EQ(seen.outcome->status, ExitStatus::killed_by(SIGTERM));
  EXPECT_EQ(seen.outcome->stop_reason, StopReason::requested);
  EXPECT_LT(Clock::now() - start, 20s);
  EXPECT_EQ(seen.thread, std::this_thread::get_id());
}

TEST_F(AsioWaitTest, CancellingTheCoroutineStopsTheChild) {
  net::io_context io;
  net::cancellation_signal cancel;
  Seen seen;
  net::co_spawn(io, wait_in_coroutine({"sleep", "30"}, seen), net::bind_cancellation_slot(cancel.slot(), net::detached));
  net::post(io, [&] { cancel.emit(net::cancellation_type::terminal); });
  io.run();
  ASSERT_TRUE(seen.outcome);
  EXPECT_EQ(seen.outcome->status, ExitStatus::killed_by(SIGTERM));
  EXPECT_EQ(seen.outcome->stop_reason, StopReason::requested);
}

TEST_F(AsioWaitTest, TotalCancellationAloneLeavesTheChildRunning) {
  net::io_context io;
  Process p = spawn_helper({"sleep", "30"});
  net::cancellation_signal cancel;
  Seen seen;
  procctx::async_wait(p, net::bind_cancellation_slot(cancel.slot(), net::bind_executor(io, seen.recorder())));
  net::steady_timer later{io, 300ms};
  bool running_after_total = false;
  net::post(io, [&] {
    cancel.emit(net::cancellation_type::total);
    later.async_wait([&](auto) {
      running_after_total = p.try_wait() == nullptr;
      cancel.emit(net::cancellation_type::terminal);
    });
  });
  io.run();
  EXPECT_TRUE(running_after_total);
  ASSERT_TRUE(seen.outcome);
  EXPECT_EQ(seen.outcome->status, ExitStatus::killed_by(SIGTERM));
}

TEST_F(AsioWaitTest, ACancellationAfterTheOutcomeChangesNothing) {
  net::io_context io;
  Process p = spawn_helper({"exit", "0"});
  net::cancellation_signal cancel;
  Seen seen;
  procctx::async_wait(p, net::bind_cancellation_slot(cancel.slot(), net::bind_executor(io, [&](Completed c) {
                                                       seen.record(std::move(c));
                                                       cancel.emit(net::cancellation_type::terminal);
                                                     })));
  io.run();
  ASSERT_TRUE(seen.outcome);
  EXPECT_TRUE(seen.outcome->status.success());
  EXPECT_EQ(seen.outcome->stop_reason, StopReason::none);
}

}  // namespace
}  // namespace procctx::test
