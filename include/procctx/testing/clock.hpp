/// @file
/// @brief A clock a test moves by hand, for contexts' deadlines, stop sequences' waits and
/// wait_delay.
///
/// @code
///   procctx::testing::Clock clock;                                   // installed until it goes
///   auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 30s);
///   auto p = procctx::testing::spawn_ready(procctx::testing::child({"ignore=TERM", "sleep=60"}), ctx);
///   clock.advance(30s);   // the deadline fires: SIGTERM (ignored); the 5 s grace starts
///   clock.advance(5s);    // SIGKILL
///   const procctx::Completed& c = p->wait();   // milliseconds after the test began
/// @endcode
///
/// While a Clock is installed, every timer procctx arms runs on it: a context's deadline
/// (with_timeout, with_deadline), the wait after each stop step, wait_delay, and the delay
/// before a relay whose reader went away stops its child. advance(d) moves the clock forward
/// and runs, on procctx's loop thread and in time order, each timer that comes due, then what
/// they set off (a context's end posts the stop to the loop; the stop sends its first signal
/// and arms its grace), and returns once all of that has run.
///
/// The rules, exactly:
/// - A timer runs on the clock that was installed when it was armed. Timers armed before the
///   Clock stay on real time; a with_timeout() made before it ends in real time.
/// - When the Clock goes, the timers still pending on it are handed to real time, at the same
///   distance from now as they had on the Clock: nothing armed under it is stranded.
/// - The clock moves only by advance(). It starts at the real time it was made.
/// - Times procctx reports while it is installed are on the Clock: Context::deadline(),
///   SignalSent::at and Completed::wall (so a grace of 5 s reads exactly 5 s).
/// - It does not move: the children (a child's own sleep=30 takes 30 s), Process::wait_for(d)
///   and Context::wait_for(d) (both wait d of real time, though a context that ends meanwhile
///   wakes the second at once), LeakCheck's grace, and procctx's internal polls (a tree whose
///   leader is gone is looked at every 5-100 ms of real time; a child the loop could not watch,
///   every 50 ms), so nothing waits on an advance() that no test would think of.
/// - What happens because a child did something (it exited; wait_delay starts then) happens
///   when the child does it, in real time: wait_pending() waits for such a timer to be armed.
///
/// Threads: advance() from any thread but procctx's loop thread (an on_exit callback); one
/// advance at a time. One Clock at a time in a process.
#pragma once

#include <procctx/clock.hpp>

#include <chrono>
#include <cstddef>
#include <optional>

namespace procctx::testing {

/// The test clock: installing it (constructing) makes procctx's new timers run on it; see the
/// top of this file for what it moves and what it does not.
class Clock {
 public:
  /// Installs the clock at the real time now. Throws std::logic_error when another Clock is
  /// installed (there is one timeline per process).
  Clock();
  Clock(const Clock&) = delete;
  Clock& operator=(const Clock&) = delete;
  /// Uninstalls it: timers still pending move to real time, at the same distance from now.
  ~Clock();

  /// The time on this clock.
  TimePoint now() const noexcept;
  /// Moves the clock forward by `d`, running every timer due on the way, in order, on
  /// procctx's loop thread, each with the clock at its own time; then returns once what they
  /// posted to the loop has run. Throws std::logic_error on the loop thread (it would wait on
  /// itself).
  void advance(Duration d);
  /// Timers pending on this clock.
  std::size_t pending() const;
  /// When the earliest pending timer is due, if any.
  std::optional<TimePoint> next() const;
  /// Waits (in real time, at most `timeout`) until at least `n` timers are pending: for a timer
  /// armed by something a child does, such as wait_delay, armed when the child's exit is seen.
  /// False when the time ran out first.
  bool wait_pending(std::size_t n = 1, Duration timeout = std::chrono::seconds(10)) const;
};

}  // namespace procctx::testing
