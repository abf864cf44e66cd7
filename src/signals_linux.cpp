// signals_linux.cpp — procctx::on_signal and signal_context.
//
// One process-wide handler per watched signal. The handler is all that
// runs in signal context: it counts the delivery in an atomic per signal
// and writes to the loop's wake-up eventfd (both async-signal-safe). The
// loop thread then runs the watches' callbacks (its wake hook), one
// delivery at a time, outside every lock.
#include <procctx/command.hpp>
#include <procctx/signals.hpp>

#include "loop_linux.hpp"
#include "sys_linux.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>

#include <unistd.h>

namespace procctx::detail {

struct SignalWatchState {
  std::vector<int> signals;
  std::function<void(int)> fn;
  std::atomic<std::size_t> count{0};
  std::atomic<int> first{0}, last{0};

  // Guarded by the registry's mutex.
  bool active = true;
  bool running = false;               // fn is being called on the loop thread
  std::condition_variable finished;  // running became false
};

namespace {

constexpr int kMaxSignal = 65;

// Written by the handler, read by the loop.
std::array<std::atomic<unsigned>, kMaxSignal> pending{};
std::atomic<int> wake_fd{-1};

extern "C" void on_signal_delivery(int sig) {
  int saved = errno;
  if (sig > 0 && sig < kMaxSignal) pending[static_cast<std::size_t>(sig)].fetch_add(1, std::memory_order_relaxed);
  std::uint64_t one = 1;
  // A raw write: the seam may take a lock (fault injection), which no
  // signal handler may.
  if (int fd = wake_fd.load(std::memory_order_relaxed); fd >= 0) (void)!::write(fd, &one, sizeof one);  // seam: async-signal-safe
  errno = saved;
}

// Never destroyed: a watch may be released during static destruction.
struct Registry {
  std::mutex mu;
  std::array<std::vector<std::shared_ptr<SignalWatchState>>, kMaxSignal> watches;
  std::array<struct sigaction, kMaxSignal> previous{};  // the disposition before our handler
};

Registry& registry() {
  static auto* r = new Registry;
  return *r;
}

void dispatch(int sig, unsigned deliveries) {
  Registry& r = registry();
  for (unsigned d = 0; d < deliveries; ++d) {
    std::vector<std::shared_ptr<SignalWatchState>> watching;
    {
      std::lock_guard lock{r.mu};
      watching = r.watches[static_cast<std::size_t>(sig)];
    }
    for (auto& w : watching) {
      {
        std::lock_guard lock{r.mu};
        if (!w->active) continue;
        w->running = true;
      }
      int expected = 0;
      w->first.compare_exchange_strong(expected, sig);
      w->last.store(sig);
      w->count.fetch_add(1);
      if (w->fn) w->fn(sig);
      std::lock_guard lock{r.mu};
      w->running = false;
      w->finished.notify_all();
    }
  }
}

// The loop's wake hook: what the handler counted, dispatched.
void on_wake() {
  for (int sig = 1; sig < kMaxSignal; ++sig) {
    if (unsigned k = pending[static_cast<std::size_t>(sig)].exchange(0, std::memory_order_relaxed)) dispatch(sig, k);
  }
}

// The loop, and the handler's way to wake it, once.
Result<void> start_locked() {
  if (wake_fd.load(std::memory_order_relaxed) >= 0) return {};
  auto loop = Loop::get();
  if (!loop) return std::move(loop).error().wrap("on_signal");
  (*loop)->set_wake_hook(on_wake);
  wake_fd.store((*loop)->wake_fd(), std::memory_order_relaxed);
  return {};
}

Result<void> install_locked(Registry& r, int sig) {
  if (!r.watches[static_cast<std::size_t>(sig)].empty()) return {};
  struct sigaction action {};
  action.sa_handler = on_signal_delivery;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  sys::Ret ret = sys::call(sys::Call::sigaction, [&] {
    return ::sigaction(sig, &action, &r.previous[static_cast<std::size_t>(sig)]);
  });
  if (!ret.ok()) return sys::error(ret, "on_signal: sigaction " + signal_name(sig));
  return {};
}

void uninstall_locked(Registry& r, int sig) {
  if (!r.watches[static_cast<std::size_t>(sig)].empty()) return;
  (void)sys::call(sys::Call::sigaction,
                  [&] { return ::sigaction(sig, &r.previous[static_cast<std::size_t>(sig)], nullptr); });
}

void release(const std::shared_ptr<SignalWatchState>& w) noexcept {
  Registry& r = registry();
  std::unique_lock lock{r.mu};
  if (!w->active) return;
  w->active = false;
  for (int sig : w->signals) {
    auto& list = r.watches[static_cast<std::size_t>(sig)];
    std::erase(list, w);
    uninstall_locked(r, sig);
  }
  // A callback running elsewhere finishes before whatever it uses goes.
  Loop* loop = Loop::running();
  if (!(loop && loop->on_loop_thread())) w->finished.wait(lock, [&] { return !w->running; });
}

}  // namespace
}  // namespace procctx::detail

namespace procctx {

SignalWatch& SignalWatch::operator=(SignalWatch&& o) noexcept {
  if (this != &o) {
    reset();
    state_ = std::move(o.state_);
  }
  return *this;
}

SignalWatch::~SignalWatch() { reset(); }

void SignalWatch::reset() noexcept {
  if (auto s = std::move(state_)) detail::release(s);
}

std::size_t SignalWatch::count() const noexcept { return state_ ? state_->count.load() : 0; }
int SignalWatch::first() const noexcept { return state_ ? state_->first.load() : 0; }
int SignalWatch::last() const noexcept { return state_ ? state_->last.load() : 0; }

Result<SignalWatch> on_signal(std::vector<int> signals, std::function<void(int)> fn) {
  for (int sig : signals) {
    if (sig <= 0 || sig >= detail::kMaxSignal || sig == SIGKILL || sig == SIGSTOP) {
      return Error{make_error_code(errc::invalid_argument),
                   "on_signal: " + std::to_string(sig) + " is not a signal a handler can be installed for"};
    }
  }
  std::sort(signals.begin(), signals.end());
  signals.erase(std::unique(signals.begin(), signals.end()), signals.end());
  auto state = std::make_shared<detail::SignalWatchState>();
  state->signals = std::move(signals);
  state->fn = std::move(fn);
  auto& r = detail::registry();
  std::lock_guard lock{r.mu};
  if (auto started = detail::start_locked(); !started) return std::move(started).error();
  for (std::size_t i = 0; i < state->signals.size(); ++i) {
    int sig = state->signals[i];
    if (auto installed = detail::install_locked(r, sig); !installed) {
      // Undo what this call did, leaving the others as they were.
      for (std::size_t k = 0; k < i; ++k) {
        std::erase(r.watches[static_cast<std::size_t>(state->signals[k])], state);
        detail::uninstall_locked(r, state->signals[k]);
      }
      return std::move(installed).error();
    }
    r.watches[static_cast<std::size_t>(sig)].push_back(state);
  }
  return SignalWatch{std::move(state)};
}

Result<SignalContext> signal_context(const Context& parent, std::vector<int> signals) {
  // The signal ends an inner context (its canceler lives in the callback);
  // the caller holds the canceler of a child of it, so either can end it.
  auto inner = with_cancel(parent);
  auto inner_cancel = std::make_shared<Canceler>(std::move(inner.cancel));
  auto watch = on_signal(std::move(signals), [inner_cancel](int sig) {
    (*inner_cancel)("received " + signal_name(sig));
  });
  if (!watch) return std::move(watch).error();
  auto [ctx, cancel] = with_cancel(inner.ctx);
  return SignalContext{std::move(ctx), std::move(cancel), std::move(*watch)};
}

}  // namespace procctx
