// Mistake 6: a derived context never cancelled.
//
// A derived context holds resources until it ends: a timer for its
// deadline and a link in its parent. Go's context.WithTimeout hands back a
// cancel function the caller must remember to call (go vet has a check for
// forgetting); forget it in a loop and every iteration leaks until its
// deadline. procctx's Canceler cancels when it is destroyed, so leaving the
// scope is enough, and discarding with_timeout's result is a compile warning
// ([[nodiscard]]).
#include <procctx/procctx.hpp>

#include "expect.hpp"

#include <chrono>
#include <cstdio>
#include <thread>

using namespace std::chrono_literals;

void demo() {
  auto [parent, cancel_parent] = procctx::with_cancel(procctx::background());
  const procctx::Stats before = procctx::stats();

  procctx::Context kept;  // a copy that outlives the scope below
  std::size_t while_live = 0;
  for (int i = 0; i < 1000; ++i) {
    auto [ctx, cancel] = procctx::with_timeout(parent, 1h);  // cancel is never called by hand
    if (i == 0) {
      kept = ctx;
      while_live = procctx::stats().pending_timers;
    }
  }  // each Canceler cancels here

  example::expect(kept.done() && kept.err() == procctx::errc::canceled,
                  "a context whose Canceler went out of scope is cancelled");
  // The deadline timers are released by procctx's loop thread: give it a moment.
  procctx::Stats after = procctx::stats();
  for (int i = 0; i < 200 && after.pending_timers > before.pending_timers; ++i) {
    std::this_thread::sleep_for(10ms);
    after = procctx::stats();
  }
  std::printf("1000 contexts with a 1h deadline derived and dropped: pending timers %zu, %zu while one lived, %zu after\n",
              before.pending_timers, while_live, after.pending_timers);
  example::expect(while_live == before.pending_timers + 1, "a live deadline holds a timer");
  example::expect(after.pending_timers == before.pending_timers, "none of their deadline timers is left");
  example::expect(!parent.done(), "the parent is untouched");

  // Letting a context live to its deadline is a choice you write down.
  auto [lives_on, canceler] = procctx::with_timeout(parent, 50ms);
  canceler.release();
  example::expect(!lives_on.done(), "release(): the context lives on without its Canceler");
  example::expect(lives_on.wait_for(5s) && lives_on.err() == procctx::errc::deadline_exceeded,
                  "and ends at its deadline");

}

int main() { return example::run_with_leak_check(demo); }
