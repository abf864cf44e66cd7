#include "stop_run_linux.hpp"

#include <algorithm>

namespace procctx::detail {
namespace {
constexpr Duration kFirstPoll = std::chrono::milliseconds(5);
constexpr Duration kLongestPoll = std::chrono::milliseconds(100);
}  // namespace

void StopRun::start(const StopSequence& steps, StopHost& host) {
  if (state_ != State::idle) return;
  steps_ = &steps;
  state_ = State::signalling;
  next_steps(host);
}

void StopRun::next_steps(StopHost& host) {
  const auto& steps = steps_->steps();
  while (host.tree_alive() && stage_ + 1 < static_cast<int>(steps.size())) {
    ++stage_;
    const StopStep& step = steps[static_cast<std::size_t>(stage_)];
    host.send_step(step.signal, stage_);
    if (step.wait > Duration::zero()) {
      step_timer_ = host.arm(step.wait, StopTimer::step);
      if (step_timer_) return;
      // No timer: skip the grace rather than never escalate.
    }
  }
  // Every step sent (the last one, SIGKILL, cannot be refused) or nothing
  // is left to signal.
  end(host);
}

void StopRun::on_timer(StopTimer which, StopHost& host) {
  if (which == StopTimer::step) {
    step_timer_ = 0;
    if (active()) next_steps(host);
    return;
  }
  poll_timer_ = 0;
  if (!active()) return;
  if (host.tree_alive()) {
    schedule_poll(host);
  } else {
    end(host);
  }
}

void StopRun::leader_gone(StopHost& host) {
  if (!active()) return;
  if (host.tree_alive()) {
    schedule_poll(host);
  } else {
    end(host);
  }
}

// No pidfd tells when the rest of a tree goes: look again, backing off.
void StopRun::schedule_poll(StopHost& host) {
  if (poll_timer_ || !active()) return;
  poll_interval_ = poll_interval_ == Duration::zero() ? kFirstPoll : std::min(poll_interval_ * 2, kLongestPoll);
  poll_timer_ = host.arm(poll_interval_, StopTimer::poll);
}

void StopRun::end(StopHost& host) {
  state_ = State::over;
  cancel(host);
}

void StopRun::cancel(StopHost& host) {
  if (step_timer_) host.disarm(std::exchange(step_timer_, 0));
  if (poll_timer_) host.disarm(std::exchange(poll_timer_, 0));
}

}  // namespace procctx::detail
