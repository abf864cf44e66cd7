// Mistake 9: racing the wait against the context.
//
// A hand-made timeout runs two things at once: a wait for the child, and
// a wait for the deadline (select on ctx.Done() beside a goroutine in
// cmd.Wait(), or wait(timeout) then kill). Whichever wins, the other is
// left behind: a child running after you returned, a waiter blocked
// forever, or a kill sent to a child that had just exited by itself, with
// no way to tell afterwards which happened. In procctx there is one wait:
// the context is part of the process, the loop decides the outcome once,
// and the Completed says both how the child ended (status) and whether
// procctx stopped it, and why (stop_reason, cause).
#include <procctx/procctx.hpp>

#include "expect.hpp"

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace std::chrono_literals;

void demo() {

  // The deadline wins: one wait() returns when the stopped child is reaped.
  {
    auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 100ms);
    auto p = procctx::Command{"sleep", {"30"}}.spawn(ctx);
    if (!example::expect(p.ok(), "spawn sleep 30")) return;
    const procctx::Completed& c = p->wait();
    std::printf("deadline first: %s, stop_reason=%s, cause=\"%s\"\n", c.status.to_string().c_str(),
                std::string{procctx::to_string(c.stop_reason)}.c_str(), c.cause.c_str());
    example::expect(c.stop_reason == procctx::StopReason::deadline && c.status.signaled(),
                    "the outcome says the deadline stopped it");
  }

  // The child wins: a cancel that comes later changes nothing.
  {
    auto [ctx, cancel] = procctx::with_cancel(procctx::background());
    auto p = procctx::Command{"true"}.spawn(ctx);
    if (!example::expect(p.ok(), "spawn true")) return;
    const procctx::Completed& c = p->wait();
    cancel("too late");
    example::expect(p->wait().status.success() && c.stop_reason == procctx::StopReason::none,
                    "a finished outcome never changes: exited 0, stop_reason none");
  }

  // A tie: children that exit just as their deadline passes. Whichever the
  // loop sees first, the outcome is consistent: a child that died by a
  // signal was signalled by procctx because of the deadline, and says so.
  {
    std::vector<procctx::Canceler> cancels;
    std::vector<procctx::Process> ps;
    for (int i = 0; i < 10; ++i) {
      auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 50ms);
      auto p = procctx::Command{"sleep", {"0.05"}}.spawn(ctx);
      if (!p) return (void)example::expect(false, "spawn sleep 0.05");
      ps.push_back(std::move(*p));
      cancels.push_back(std::move(cancel));
    }
    int by_itself = 0, stopped = 0;
    bool consistent = true;
    for (const procctx::Process& p : ps) {
      const procctx::Completed& c = p.wait();
      if (c.status.signaled()) {
        ++stopped;
        consistent = consistent && c.stop_reason == procctx::StopReason::deadline && !c.signals.empty();
      } else {
        ++by_itself;
        consistent = consistent && c.status.success();
      }
    }
    std::printf("ties: %d exited by themselves, %d stopped by the deadline\n", by_itself, stopped);
    example::expect(consistent, "every outcome of a tie says how it ended and why");
  }

}

int main() { return example::run_with_leak_check(demo); }
