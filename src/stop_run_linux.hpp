// stop_run_linux.hpp — one run of a child's stop sequence.
//
// Each step sends its signal to the tree, then waits its time before the
// next; the run is over as soon as the tree is gone (the leader's exit says
// when for the leader; the rest of a group or cgroup is polled, 5 ms
// doubling to 100 ms, once the leader is gone), or when the last step has
// been sent. What a step needs of its child comes through StopHost.
//
// Threads: every member is called with the owning child's lock held.
#pragma once

#include <procctx/command.hpp>

#include "timers.hpp"

namespace procctx::detail {

enum class StopTimer { step, poll };

class StopHost {
 public:
  virtual bool tree_alive() = 0;
  virtual void send_step(int sig, int stage) = 0;
  // A timer that calls StopRun::on_timer(which) under the child's lock; 0
  // when none could be armed.
  virtual Timers::Id arm(Duration after, StopTimer which) = 0;
  virtual void disarm(Timers::Id id) = 0;

 protected:
  ~StopHost() = default;
};

class StopRun {
 public:
  enum class State { idle, signalling, over };

  // Begins with the first step.
  void start(const StopSequence& steps, StopHost& host);
  // Begins without sending anything: nothing is left to signal.
  void mark_begun() noexcept {
    if (state_ == State::idle) state_ = State::over;
  }
  void on_timer(StopTimer which, StopHost& host);
  // The leader was reaped: the run ends when the rest of the tree is gone.
  void leader_gone(StopHost& host);
  void cancel(StopHost& host);

  bool begun() const noexcept { return state_ != State::idle; }
  // Begun, and the tree may still be alive.
  bool active() const noexcept { return state_ == State::signalling; }
  // Index of the last step sent (-1: none).
  int stage() const noexcept { return stage_; }

 private:
  void next_steps(StopHost& host);
  void schedule_poll(StopHost& host);
  void end(StopHost& host);

  const StopSequence* steps_ = nullptr;
  State state_ = State::idle;
  int stage_ = -1;
  Timers::Id step_timer_ = 0, poll_timer_ = 0;
  Duration poll_interval_{};
};

}  // namespace procctx::detail
