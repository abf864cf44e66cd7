// Process::on_exit: be told when a child ends instead of waiting for it.
//
// The callback runs once, on procctx's loop thread, as soon as the outcome is
// known (soon after on_exit() if it already is). That thread serves every
// child and timer, so the callback only records what it needs and wakes whoever
// waits: here, a counter under a mutex and a condition variable. The Completed
// it receives is valid during the call; copy what you keep.
#include <procctx/procctx.hpp>

#include "expect.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

void demo() {
  std::mutex mu;
  std::condition_variable changed;
  std::map<std::string, int> codes;  // name -> exit code, filled by the callbacks
  std::vector<std::thread::id> threads;

  std::vector<procctx::Process> running;
  for (const char* step : {"exit 0", "sleep 0.2; exit 1", "sleep 0.1; exit 2"}) {
    auto p = procctx::Command{"/bin/sh", {"-c", step}}.spawn();
    if (!example::expect(p.ok(), "spawn sh")) return;
    p->on_exit([&, name = std::string{step}](const procctx::Completed& c) {
      std::lock_guard lock{mu};  // short, never blocking: this is the loop thread
      codes[name] = c.status.code();
      threads.push_back(std::this_thread::get_id());
      changed.notify_all();
    });
    running.push_back(std::move(*p));
  }

  std::unique_lock lock{mu};
  bool all = changed.wait_for(lock, 30s, [&] { return codes.size() == 3; });
  example::expect(all, "every callback ran");
  for (const auto& [name, code] : codes) std::printf("  '%s' -> exited %d\n", name.c_str(), code);
  example::expect(codes["exit 0"] == 0 && codes["sleep 0.2; exit 1"] == 1 && codes["sleep 0.1; exit 2"] == 2,
                  "each callback got its own child's outcome");
  bool off_main = !threads.empty() && threads[0] != std::this_thread::get_id();
  for (auto id : threads) off_main = off_main && id == threads[0];
  example::expect(off_main, "all of them on one thread that is not main's: procctx's loop thread");
  lock.unlock();

  // A callback registered after the child ended still runs, on the same thread.
  std::promise<int> late;
  running[0].on_exit([&](const procctx::Completed& c) { late.set_value(c.status.code()); });
  auto f = late.get_future();
  example::expect(f.wait_for(30s) == std::future_status::ready && f.get() == 0,
                  "on_exit after the exit still runs (soon)");
}

int main() { return example::run_with_leak_check(demo); }
