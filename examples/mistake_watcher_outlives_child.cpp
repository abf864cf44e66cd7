// Mistake 7: a watcher outliving its child.
//
// The usual timeout is a watcher beside the child: a thread, a timer or a
// goroutine that kills it when time is up. When the child ends first, the
// watcher lingers (a thread per child, a timer still armed) and, if it
// fires, signals a pid that may belong to someone else by then. In procctx
// nothing watches a child but the one loop thread: the stop is armed when
// the child starts and disarmed when it is reaped, signals go through the
// child's pidfd, and a callback you register yourself lives exactly as
// long as its Registration.
#include <procctx/procctx.hpp>

#include "expect.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

void demo() {
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 1h);  // outlives every child below
  const procctx::Stats before = procctx::stats();

  std::vector<procctx::Process> done;
  for (int i = 0; i < 50; ++i) {
    auto p = procctx::Command{"true"}.spawn(ctx);
    if (!p) return (void)example::expect(false, "spawn true");
    (void)p->wait();
    done.push_back(std::move(*p));
  }
  // The loop releases a child's registration just after its outcome is
  // published: give it a moment.
  procctx::Stats after = procctx::stats();
  for (int i = 0; i < 200 && (after.registrations != before.registrations ||
                              after.pending_timers != before.pending_timers); ++i) {
    std::this_thread::sleep_for(10ms);
    after = procctx::stats();
  }
  std::printf("50 children ran under a 1h context: registrations %zu -> %zu, timers %zu -> %zu, threads %zu\n",
              before.registrations, after.registrations, before.pending_timers, after.pending_timers,
              after.threads);
  example::expect(after.registrations == before.registrations,
                  "no child still watches the context once it is reaped");
  example::expect(after.pending_timers == before.pending_timers, "no timer is left armed for them");
  example::expect(after.threads == 1, "one library thread served all of them");

  auto late = done.front().signal(SIGKILL);
  std::printf("signal after the child was reaped: %s\n", late ? "sent" : late.error().message().c_str());
  example::expect(!late && late.error().code() == procctx::errc::process_exited,
                  "a signal to a reaped child is refused, never sent to a reused pid");

  // A watcher of your own: it lives as long as its Registration.
  std::atomic<int> fired{0};
  auto [job, cancel_job] = procctx::with_cancel(ctx);
  {
    auto reg = job.on_done([&] { fired.fetch_add(1); });
  }  // unregistered here
  cancel_job("job finished");
  example::expect(fired.load() == 0, "a callback whose Registration is gone never runs");

}

int main() { return example::run_with_leak_check(demo); }
