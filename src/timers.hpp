// timers.hpp — the one thing contexts and children need from time: what
// time it is, and a callback at a time.
//
// procctx's loop implements it (one timerfd, an ordered set of timers). A
// build of the test kit (procctx::testing, PROCCTX_TESTING) may install a
// clock a test moves by hand instead; nothing else in the library knows
// which one it talks to.
#pragma once

#include <procctx/clock.hpp>
#include <procctx/result.hpp>

#include <cstdint>
#include <functional>

namespace procctx::detail {

class Timers {
 public:
  using Id = std::uint64_t;  // never 0, never reused
  virtual ~Timers() = default;
  // Now, on the clock these timers keep.
  virtual TimePoint now() const noexcept = 0;
  // Runs fn on procctx's loop thread at `when` unless cancelled first.
  virtual Result<Id> add_timer(TimePoint when, std::function<void()> fn) = 0;
  // True when the timer was pending and now never runs.
  virtual bool cancel_timer(Id id) noexcept = 0;
};

// The timers in use: the loop's (started on first use), or a test clock.
Result<Timers*> timers();
// The timers in use if any have been started, else nullptr (starts nothing).
Timers* running_timers() noexcept;
// Now on the timers' clock (Clock::now() unless a test clock is installed).
TimePoint now() noexcept;

#ifdef PROCCTX_TESTING
// Installs `t` (nullptr: back to the loop's). For procctx::testing::Clock.
void install_timers(Timers* t) noexcept;
#endif

}  // namespace procctx::detail
