// procctx in an Asio program (procctx/asio.hpp): a coroutine runs two
// commands one after the other and waits for each with co_await, a callback
// hears of a third, and a fourth is given 200 ms by an Asio timer whose
// cancellation signal stops it with its stop sequence. Everything runs on one
// io_context thread; procctx's loop thread only reaps and hands over.
//
// Standalone Asio (Debian: libasio-dev) here; define PROCCTX_ASIO_BOOST before
// the include for Boost.Asio.
#include <procctx/asio.hpp>
#include <procctx/procctx.hpp>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "expect.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>

using namespace std::chrono_literals;

namespace {

// Runs `cmd` and waits for it without blocking the io_context's thread.
asio::awaitable<procctx::Completed> run_async(procctx::Command cmd) {
  auto p = cmd.spawn();
  if (!p) throw procctx::Exception(p.error());
  co_return co_await procctx::async_wait(*p, asio::use_awaitable);  // *p lives across the co_await
}

asio::awaitable<void> build_steps(std::thread::id io_thread) {
  // Each Command is made before its co_await: GCC 12 rejects an initializer list
  // of string literals inside a co_await expression ("array used as initializer").
  auto configure = procctx::Command{"/bin/sh", {"-c", "echo configure"}}.out(procctx::Stdio::capture());
  auto make = procctx::Command{"/bin/sh", {"-c", "exit 2"}};
  procctx::Completed first = co_await run_async(std::move(configure));
  procctx::Completed second = co_await run_async(std::move(make));
  std::printf("coroutine: '%s' then %s\n", first.out.str().substr(0, 9).c_str(), second.status.to_string().c_str());
  example::expect(first.out.text() == "configure\n" && second.status.code() == 2, "co_await gave each outcome in turn");
  example::expect(std::this_thread::get_id() == io_thread, "the coroutine resumed on the io_context's thread");
}

void demo() {
  asio::io_context io;
  std::thread::id io_thread = std::this_thread::get_id();  // io.run() below runs here

  asio::co_spawn(io, build_steps(io_thread), asio::detached);

  auto tests = procctx::Command{"/bin/sh", {"-c", "exit 0"}}.spawn();
  if (!example::expect(tests.ok(), "spawn sh")) return;
  procctx::async_wait(*tests, asio::bind_executor(io, [&](procctx::Completed c) {
    std::printf("callback: %s\n", c.status.to_string().c_str());
    example::expect(c.status.success() && std::this_thread::get_id() == io_thread,
                    "the callback ran on the io_context's thread");
  }));

  // A deadline from Asio: the timer emits a cancellation, which stops the child.
  auto slow = procctx::Command{"sleep", {"30"}}.spawn();
  if (!example::expect(slow.ok(), "spawn sleep 30")) return;
  asio::cancellation_signal give_up;
  asio::steady_timer deadline{io, 200ms};
  deadline.async_wait([&](std::error_code) { give_up.emit(asio::cancellation_type::terminal); });
  auto started = procctx::Clock::now();
  procctx::async_wait(*slow, asio::bind_cancellation_slot(give_up.slot(), asio::bind_executor(io, [&](procctx::Completed c) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(procctx::Clock::now() - started).count();
    std::printf("cancelled: %s after %lld ms, stop_reason=%s\n", c.status.to_string().c_str(),
                static_cast<long long>(ms), std::string{procctx::to_string(c.stop_reason)}.c_str());
    example::expect(c.status.signaled() && c.status.signal() == SIGTERM, "the cancellation stopped it with SIGTERM");
    example::expect(c.stop_reason == procctx::StopReason::requested, "and the outcome says procctx stopped it");
  })));

  io.run();  // returns once every wait has completed: each counts as work
}

}  // namespace

int main() { return example::run_with_leak_check(demo); }
