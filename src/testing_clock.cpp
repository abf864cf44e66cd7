// testing_clock.cpp — procctx::testing::Clock: procctx's timers on a clock a
// test moves by hand (procctx/testing/clock.hpp has the rules).
//
// The clock's timers live in one TestTimers, installed as the library's
// Timers (detail::install_timers) when the first Clock is made and never
// removed: children keep a reference to the Timers they were spawned with,
// so it must outlive them all. Without a Clock it hands every new timer to
// the loop, so it only adds one indirection. Its own timers have ids from
// 2^62 up, the loop's count from 3, so a cancel always reaches the owner.
#include <procctx/testing/clock.hpp>

#include "loop_linux.hpp"
#include "timers.hpp"

#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

namespace procctx::detail {
namespace {

constexpr Timers::Id kFirstTestId = Timers::Id{1} << 62;
// A stream of posts from elsewhere must not keep advance() from returning.
constexpr int kMostSettleRounds = 64;

TimePoint later(TimePoint t, Duration d) { return d >= TimePoint::max() - t ? TimePoint::max() : t + d; }

class TestTimers final : public Timers {
 public:
  TimePoint now() const noexcept override {
    return active_.load(std::memory_order_acquire) ? TimePoint{Duration{now_.load(std::memory_order_acquire)}}
                                                   : Clock::now();
  }
  Result<Id> add_timer(TimePoint when, std::function<void()> fn) override;
  bool cancel_timer(Id id) noexcept override;

  void activate();
  void deactivate();
  void advance(Duration d);
  std::size_t pending() const;
  std::optional<TimePoint> next() const;
  bool wait_pending(std::size_t n, Duration timeout) const;

 private:
  using Key = std::pair<TimePoint, Id>;
  void set_now_locked(TimePoint t) { now_.store(t.time_since_epoch().count(), std::memory_order_release); }
  void fire_due();
  void hand_over_locked(Loop& loop, Key key, std::function<void()> fn);
  void run_on_loop(Loop& loop, bool fire);

  mutable std::mutex mu_;
  mutable std::condition_variable added_;
  std::atomic<bool> active_{false};
  std::atomic<Duration::rep> now_{0};
  Id next_id_ = kFirstTestId;
  std::map<Key, std::function<void()>> timers_;
  std::unordered_map<Id, TimePoint> when_;
  std::unordered_map<Id, Id> handed_;  // ours -> the loop's, after the Clock went
  std::mutex advancing_;               // one advance at a time
};

TestTimers& hub() {
  // Never destroyed: children and contexts keep using it until the process ends.
  static TestTimers* t = [] {
    auto* made = new TestTimers;
    install_timers(made);
    return made;
  }();
  return *t;
}

Result<Timers::Id> TestTimers::add_timer(TimePoint when, std::function<void()> fn) {
  std::unique_lock lock{mu_};
  if (!active_.load(std::memory_order_relaxed)) {
    lock.unlock();
    auto loop = Loop::get();
    if (!loop) return std::move(loop).error();
    return (*loop)->add_timer(when, std::move(fn));
  }
  Id id = next_id_++;
  timers_.emplace(Key{when, id}, std::move(fn));
  when_.emplace(id, when);
  added_.notify_all();
  return id;
}

bool TestTimers::cancel_timer(Id id) noexcept {
  Loop* loop = Loop::running();
  if (id < kFirstTestId) return loop && loop->cancel_timer(id);
  std::function<void()> fn;  // destroyed outside the lock
  std::unique_lock lock{mu_};
  if (auto it = when_.find(id); it != when_.end()) {
    if (auto t = timers_.find(Key{it->second, id}); t != timers_.end()) {
      fn = std::move(t->second);
      timers_.erase(t);
    }
    when_.erase(it);
    return true;
  }
  auto h = handed_.find(id);
  if (h == handed_.end()) return false;
  Id theirs = h->second;
  handed_.erase(h);
  lock.unlock();
  return loop && loop->cancel_timer(theirs);
}

void TestTimers::activate() {
  std::lock_guard lock{mu_};
  if (active_.load(std::memory_order_relaxed)) {
    throw std::logic_error("procctx::testing::Clock: another Clock is installed (one per process at a time)");
  }
  set_now_locked(Clock::now());
  active_.store(true, std::memory_order_release);
}

void TestTimers::hand_over_locked(Loop& loop, Key key, std::function<void()> fn) {
  TimePoint real = later(Clock::now(), key.first - TimePoint{Duration{now_.load(std::memory_order_relaxed)}});
  Id ours = key.second;
  auto theirs = loop.add_timer(real, [this, ours, fn] {
    {
      std::lock_guard lock{mu_};
      handed_.erase(ours);
    }
    fn();
  });
  if (theirs) {
    handed_.emplace(ours, *theirs);
  } else {
    loop.post(std::move(fn));  // no timer to be had: run it now rather than never
  }
}

void TestTimers::deactivate() {
  auto loop = Loop::get();
  std::lock_guard lock{mu_};
  active_.store(false, std::memory_order_release);
  while (!timers_.empty()) {
    auto first = timers_.begin();
    Key key = first->first;
    std::function<void()> fn = std::move(first->second);
    timers_.erase(first);
    when_.erase(key.second);
    if (loop) hand_over_locked(**loop, key, std::move(fn));
  }
}

// On the loop thread, as the loop's own timers fire: one at a time, each
// taken out before it runs, so one that cancels a later one wins.
void TestTimers::fire_due() {
  for (;;) {
    std::function<void()> fn;
    {
      std::lock_guard lock{mu_};
      TimePoint now{Duration{now_.load(std::memory_order_relaxed)}};
      if (timers_.empty() || timers_.begin()->first.first > now) return;
      auto first = timers_.begin();
      when_.erase(first->first.second);
      fn = std::move(first->second);
      timers_.erase(first);
    }
    fn();
  }
}

// Runs fire_due() (when `fire`) on the loop thread, then waits until the
// loop has run what that posted, and what that posted in turn.
void TestTimers::run_on_loop(Loop& loop, bool fire) {
  for (int round = 0; round < kMostSettleRounds; ++round) {
    std::promise<bool> more;
    loop.post([&, first = round == 0] {
      if (first && fire) fire_due();
      more.set_value(loop.posted() > 0);
    });
    if (!more.get_future().get()) return;
  }
}

void TestTimers::advance(Duration d) {
  auto loop = Loop::get();
  if (!loop) throw std::runtime_error("procctx::testing::Clock::advance: " + loop.error().message());
  if ((*loop)->on_loop_thread()) {
    throw std::logic_error("procctx::testing::Clock::advance on procctx's loop thread would wait on itself");
  }
  std::lock_guard serial{advancing_};
  TimePoint target;
  {
    std::lock_guard lock{mu_};
    target = later(TimePoint{Duration{now_.load(std::memory_order_relaxed)}}, d);
  }
  for (;;) {
    {
      std::lock_guard lock{mu_};
      TimePoint now{Duration{now_.load(std::memory_order_relaxed)}};
      if (timers_.empty() || timers_.begin()->first.first > target) {
        set_now_locked(target);
        return;
      }
      if (timers_.begin()->first.first > now) set_now_locked(timers_.begin()->first.first);
    }
    run_on_loop(**loop, true);
  }
}

std::size_t TestTimers::pending() const {
  std::lock_guard lock{mu_};
  return timers_.size();
}

std::optional<TimePoint> TestTimers::next() const {
  std::lock_guard lock{mu_};
  if (timers_.empty()) return std::nullopt;
  return timers_.begin()->first.first;
}

bool TestTimers::wait_pending(std::size_t n, Duration timeout) const {
  std::unique_lock lock{mu_};
  return added_.wait_for(lock, timeout, [&] { return timers_.size() >= n; });
}

}  // namespace
}  // namespace procctx::detail

namespace procctx::testing {

using detail::hub;

Clock::Clock() { hub().activate(); }
Clock::~Clock() { hub().deactivate(); }
TimePoint Clock::now() const noexcept { return hub().now(); }
void Clock::advance(Duration d) { hub().advance(d); }
std::size_t Clock::pending() const { return hub().pending(); }
std::optional<TimePoint> Clock::next() const { return hub().next(); }
bool Clock::wait_pending(std::size_t n, Duration timeout) const { return hub().wait_pending(n, timeout); }

}  // namespace procctx::testing
