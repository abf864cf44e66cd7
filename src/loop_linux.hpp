// loop_linux.hpp — procctx's one background thread.
//
// The loop owns one epoll set and blocks in exactly one epoll_wait. It
// watches child pidfds and the pipes procctx pumps, drives every timer
// (context deadlines, stop-sequence grace periods, wait delays) from one
// timerfd, and runs closures posted from other threads (woken by an
// eventfd). It is started lazily by the first call that needs it and is
// never stopped: at process exit it simply ends with the process.
//
// Threading: every member is callable from any thread. Watch and timer
// callbacks run on the loop thread, never under the loop's lock, and must
// not block.
#pragma once

#include <procctx/clock.hpp>
#include <procctx/result.hpp>

#include "sys_linux.hpp"
#include "timers.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace procctx::detail {

class Loop final : public Timers {
 public:
  using Id = Timers::Id;
  using WatchFn = std::function<void(std::uint32_t events)>;
  using TimerFn = std::function<void()>;

  // The loop, started on first use. Fails only when the kernel refuses the
  // epoll set, eventfd, timerfd or thread (the next call tries again).
  static Result<Loop*> get();
  // The loop if it is already running, else nullptr (starts nothing).
  static Loop* running() noexcept;

  // Watches `fd` (level-triggered; with EPOLLONESHOT in `events`, once)
  // until unwatch(). The fd must stay open until then. fn runs on the loop
  // thread.
  Result<Id> watch(int fd, std::uint32_t events, WatchFn fn);
  // After unwatch returns, fn is not started again (it may be running now
  // on the loop thread if called from elsewhere). `fd` may be -1 for a
  // one-shot watch whose fd is already closed.
  void unwatch(Id id, int fd) noexcept;
  // Changes what a watch waits for (0: nothing, until changed again).
  Result<void> set_events(Id id, int fd, std::uint32_t events) noexcept;

  // Timers: fn runs on the loop thread at `when` unless cancelled first.
  TimePoint now() const noexcept override { return Clock::now(); }
  Result<Id> add_timer(TimePoint when, TimerFn fn) override;
  bool cancel_timer(Id id) noexcept override;

  // Runs fn on the loop thread soon.
  void post(std::function<void()> fn);
  // Closures posted and not yet taken by the loop (the test clock waits for none to be left).
  std::size_t posted() const;

  // The eventfd that wakes the loop: writing 8 bytes to it (async-signal-
  // safe) makes the loop run `hook` (set once, by the signal watches).
  int wake_fd() const noexcept { return wake_.get(); }
  void set_wake_hook(void (*hook)()) noexcept { wake_hook_.store(hook, std::memory_order_release); }

  bool on_loop_thread() const noexcept { return std::this_thread::get_id() == thread_id_; }
  std::size_t pending_timers() const;
  std::size_t watches() const;

 private:
  Loop() = default;
  Result<void> start();
  Result<void> add_to_epoll(int fd, Id tag);
  void run() noexcept;
  int epoll_timeout() const;
  void fire_timers();
  void run_posted(std::vector<std::function<void()>>& batch);
  void dispatch(Id id, std::uint32_t events);
  sys::Ret arm_locked() noexcept;

  sys::UniqueFd epoll_, wake_, timer_;
  std::thread::id thread_id_;

  mutable std::mutex mu_;
  Id next_id_ = 3;  // 1 and 2 tag the wake eventfd and the timerfd
  std::unordered_map<Id, std::shared_ptr<WatchFn>> watch_fns_;
  std::map<std::pair<TimePoint, Id>, TimerFn> timers_;
  std::unordered_map<Id, TimePoint> timer_when_;
  TimePoint armed_ = TimePoint::max();
  // The timerfd could not be armed for a pending timer: run() then bounds
  // epoll_wait by the earliest timer instead, so no timer is ever stranded.
  bool timer_broken_ = false;
  std::vector<std::function<void()>> posted_;
  std::atomic<void (*)()> wake_hook_{nullptr};
};

}  // namespace procctx::detail
