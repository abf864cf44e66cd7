#include "loop_linux.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

namespace procctx::detail {
namespace {

constexpr Loop::Id kWakeTag = 1;
constexpr Loop::Id kTimerTag = 2;

std::mutex start_mu;
std::atomic<Loop*> instance{nullptr};

#ifdef PROCCTX_TESTING
std::atomic<Timers*> installed{nullptr};
#endif

}  // namespace

Loop* Loop::running() noexcept { return instance.load(std::memory_order_acquire); }

Result<Loop*> Loop::get() {
  if (Loop* l = instance.load(std::memory_order_acquire)) return l;
  std::lock_guard lock{start_mu};
  if (Loop* l = instance.load(std::memory_order_relaxed)) return l;
  // Never destroyed: the thread runs until the process ends, and static
  // destructors of other objects may still spawn or wait.
  auto* loop = new Loop;
  if (auto r = loop->start(); !r) {
    delete loop;
    return std::move(r).error();
  }
  instance.store(loop, std::memory_order_release);
  return loop;
}

Result<Timers*> timers() {
#ifdef PROCCTX_TESTING
  if (Timers* t = installed.load(std::memory_order_acquire)) return t;
#endif
  auto loop = Loop::get();
  if (!loop) return std::move(loop).error();
  return static_cast<Timers*>(*loop);
}

Timers* running_timers() noexcept {
#ifdef PROCCTX_TESTING
  if (Timers* t = installed.load(std::memory_order_acquire)) return t;
#endif
  return Loop::running();
}

TimePoint now() noexcept {
#ifdef PROCCTX_TESTING
  if (Timers* t = installed.load(std::memory_order_acquire)) return t->now();
#endif
  return Clock::now();
}

#ifdef PROCCTX_TESTING
void install_timers(Timers* t) noexcept { installed.store(t, std::memory_order_release); }
#endif

Result<void> Loop::add_to_epoll(int fd, Id tag) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag;
  sys::Ret r = sys::call(sys::Call::epoll_ctl, [&] { return ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev); });
  if (!r.ok()) return sys::error(r, "procctx loop: epoll_ctl");
  return {};
}

Result<void> Loop::start() {
  using sys::Call;
  sys::Ret r = sys::call(Call::epoll_create, [] { return ::epoll_create1(EPOLL_CLOEXEC); });
  if (!r.ok()) return sys::error(r, "procctx loop: epoll_create1");
  epoll_.reset(static_cast<int>(r.value));
  r = sys::call(Call::eventfd, [] { return ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); });
  if (!r.ok()) return sys::error(r, "procctx loop: eventfd");
  wake_.reset(static_cast<int>(r.value));
  r = sys::call(Call::timerfd_create,
                [] { return ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK); });
  if (!r.ok()) return sys::error(r, "procctx loop: timerfd_create");
  timer_.reset(static_cast<int>(r.value));
  if (auto a = add_to_epoll(wake_.get(), kWakeTag); !a) return a;
  if (auto a = add_to_epoll(timer_.get(), kTimerTag); !a) return a;

  // The thread starts with every signal blocked, so no handler of the
  // application ever runs on it, and a write to a dead child's pipe gives
  // EPIPE instead of SIGPIPE. The process-wide dispositions stay untouched.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  std::thread t;
  try {
    t = std::thread([this] { run(); });
  } catch (const std::system_error& e) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return Error{e.code(), std::string{"procctx loop: start thread: "} + e.code().message()};
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  thread_id_ = t.get_id();
  pthread_setname_np(t.native_handle(), "procctx-loop");
  t.detach();
  return {};
}

Result<Loop::Id> Loop::watch(int fd, std::uint32_t events, WatchFn fn) {
  auto shared = std::make_shared<WatchFn>(std::move(fn));
  Id id;
  {
    std::lock_guard lock{mu_};
    id = next_id_++;
    watch_fns_.emplace(id, std::move(shared));
  }
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  sys::Ret r =
      sys::call(sys::Call::epoll_ctl, [&] { return ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev); });
  if (!r.ok()) {
    std::lock_guard lock{mu_};
    watch_fns_.erase(id);
    return sys::error(r, "epoll_ctl add");
  }
  return id;
}

void Loop::unwatch(Id id, int fd) noexcept {
  if (id == 0) return;
  // Deleting can only fail if the fd was already closed or never added;
  // either way the kernel no longer reports it.
  if (fd >= 0) {
    (void)sys::call(sys::Call::epoll_ctl, [&] { return ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr); });
  }
  std::shared_ptr<WatchFn> fn;  // destroyed outside the lock
  std::lock_guard lock{mu_};
  if (auto it = watch_fns_.find(id); it != watch_fns_.end()) {
    fn = std::move(it->second);
    watch_fns_.erase(it);
  }
}

Result<void> Loop::set_events(Id id, int fd, std::uint32_t events) noexcept {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  sys::Ret r =
      sys::call(sys::Call::epoll_ctl, [&] { return ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev); });
  if (!r.ok()) return sys::error(r, "epoll_ctl mod");
  return {};
}

Result<Loop::Id> Loop::add_timer(TimePoint when, TimerFn fn) {
  std::lock_guard lock{mu_};
  Id id = next_id_++;
  timers_.emplace(std::pair{when, id}, std::move(fn));
  timer_when_.emplace(id, when);
  if (when < armed_) {
    if (sys::Ret r = arm_locked(); !r.ok()) {
      timers_.erase(std::pair{when, id});
      timer_when_.erase(id);
      (void)arm_locked();
      return sys::error(r, "procctx loop: timerfd_settime");
    }
  }
  return id;
}

bool Loop::cancel_timer(Id id) noexcept {
  TimerFn fn;  // destroyed outside the lock
  std::lock_guard lock{mu_};
  auto it = timer_when_.find(id);
  if (it == timer_when_.end()) return false;
  if (auto t = timers_.find(std::pair{it->second, id}); t != timers_.end()) {
    fn = std::move(t->second);
    timers_.erase(t);
  }
  timer_when_.erase(it);
  // The timerfd may stay armed for a time nothing is due; it then fires
  // once, finds nothing and re-arms for the next timer.
  return true;
}

sys::Ret Loop::arm_locked() noexcept {
  itimerspec spec{};
  if (timers_.empty()) {
    armed_ = TimePoint::max();
  } else {
    armed_ = timers_.begin()->first.first;
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(armed_.time_since_epoch()).count();
    if (ns <= 0) ns = 1;  // 0 would disarm
    spec.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    spec.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  }
  sys::Ret r = sys::call(sys::Call::timerfd_settime,
                         [&] { return ::timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &spec, nullptr); });
  timer_broken_ = !r.ok() && !timers_.empty();
  return r;
}

void Loop::fire_timers() {
  std::uint64_t expirations;
  (void)sys::call(sys::Call::read, [&] { return ::read(timer_.get(), &expirations, sizeof expirations); });
  for (;;) {
    TimerFn fn;
    {
      std::lock_guard lock{mu_};
      auto now = Clock::now();
      if (timers_.empty() || timers_.begin()->first.first > now) {
        (void)arm_locked();
        return;
      }
      auto first = timers_.begin();
      timer_when_.erase(first->first.second);
      fn = std::move(first->second);
      timers_.erase(first);
    }
    fn();
  }
}

void Loop::post(std::function<void()> fn) {
  bool wake;
  {
    std::lock_guard lock{mu_};
    wake = posted_.empty();
    posted_.push_back(std::move(fn));
  }
  if (wake) {
    std::uint64_t one = 1;
    (void)sys::call(sys::Call::write, [&] { return ::write(wake_.get(), &one, sizeof one); });
  }
}

std::size_t Loop::posted() const {
  std::lock_guard lock{mu_};
  return posted_.size();
}

std::size_t Loop::pending_timers() const {
  std::lock_guard lock{mu_};
  return timers_.size();
}

std::size_t Loop::watches() const {
  std::lock_guard lock{mu_};
  return watch_fns_.size();
}

int Loop::epoll_timeout() const {
  std::lock_guard lock{mu_};
  if (!timer_broken_ || timers_.empty()) return -1;
  // Without a working timerfd the clock is checked after epoll_wait instead.
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(timers_.begin()->first.first - Clock::now()).count();
  return static_cast<int>(std::clamp<decltype(ms)>(ms, 0, 1000));
}

void Loop::run_posted(std::vector<std::function<void()>>& batch) {
  std::uint64_t n;
  (void)sys::call(sys::Call::read, [&] { return ::read(wake_.get(), &n, sizeof n); });
  {
    std::lock_guard lock{mu_};
    batch.swap(posted_);
  }
  for (auto& fn : batch) fn();
  batch.clear();
  if (auto hook = wake_hook_.load(std::memory_order_acquire)) hook();
}

void Loop::dispatch(Id id, std::uint32_t events) {
  std::shared_ptr<WatchFn> fn;
  {
    std::lock_guard lock{mu_};
    if (auto it = watch_fns_.find(id); it != watch_fns_.end()) fn = it->second;
  }
  if (fn) (*fn)(events);
}

void Loop::run() noexcept {
  std::array<epoll_event, 256> events;
  std::vector<std::function<void()>> batch;
  for (;;) {
    int timeout = epoll_timeout();
    sys::Ret r = sys::call(sys::Call::epoll_wait, [&] {
      return ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), timeout);
    });
    if (timeout >= 0) fire_timers();
    if (!r.ok()) {
      // Only EINTR (retried inside call) is expected; anything else would
      // spin, so back off instead of burning a core.
      ::usleep(1000);
      continue;
    }
    // Every ready event of this wake-up is handled before the next wait:
    // a cancel of many children reaps them in one pass.
    for (long i = 0; i < r.value; ++i) {
      const epoll_event& ev = events[static_cast<size_t>(i)];
      if (ev.data.u64 == kTimerTag) {
        fire_timers();
      } else if (ev.data.u64 == kWakeTag) {
        run_posted(batch);
      } else {
        dispatch(ev.data.u64, ev.events);
      }
    }
  }
}

}  // namespace procctx::detail
