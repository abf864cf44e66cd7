#include "sys_linux.hpp"

#include <array>
#include <atomic>
#include <mutex>

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace procctx::detail::sys {

std::string_view name(Call c) noexcept {
  static constexpr std::array<std::string_view, static_cast<size_t>(Call::count_)> names = {
      "pipe2",
      "clone3",
      "clone",
      "close_range",
      "unshare",
      "epoll_create",
      "epoll_ctl",
      "epoll_wait",
      "timerfd_create",
      "timerfd_settime",
      "eventfd",
      "pidfd_send_signal",
      "waitid",
      "read",
      "write",
      "open",
      "mkdir",
      "fcntl",
      "poll",
      "kill",
      "fstat",
      "sigaction",
      "pidfd_open"};
  return names[static_cast<size_t>(c)];
}

Error error(int err, std::string_view what) {
  std::error_code code{err, std::generic_category()};
  std::string message{what};
  message.append(": ").append(code.message());
  return Error{code, std::move(message)};
}

void UniqueFd::reset(int fd) noexcept {
  int old = std::exchange(fd_, fd);
  // close() is never retried: on Linux the fd is gone even when it says EINTR.
  if (old >= 0) ::close(old);
}

Result<UniqueFd> lift_above_stdio(UniqueFd fd) {
  if (fd.get() > 2) return fd;
  Ret r = call(Call::fcntl, [&] { return ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3); });
  if (!r.ok()) return error(r, "fcntl F_DUPFD_CLOEXEC");
  return UniqueFd{static_cast<int>(r.value)};
}

Result<Pipe> make_pipe() {
  int fds[2];
  Ret r = call(Call::pipe2, [&] { return ::pipe2(fds, O_CLOEXEC); });
  if (!r.ok()) return error(r, "pipe2");
  UniqueFd rd{fds[0]}, wr{fds[1]};
  auto lr = lift_above_stdio(std::move(rd));
  if (!lr) return std::move(lr).error();
  auto lw = lift_above_stdio(std::move(wr));
  if (!lw) return std::move(lw).error();
  return Pipe{std::move(*lr), std::move(*lw)};
}

Result<void> set_nonblocking(int fd) {
  Ret r = call(Call::fcntl, [&] { return ::fcntl(fd, F_GETFL); });
  if (r.ok() && !(r.value & O_NONBLOCK)) {
    long flags = r.value | O_NONBLOCK;
    r = call(Call::fcntl, [&] { return ::fcntl(fd, F_SETFL, flags); });
  }
  if (!r.ok()) return error(r, "fcntl O_NONBLOCK");
  return {};
}

// 0 = not probed yet, 1 = available, 2 = missing.
std::atomic<int> clone3_state{0};
std::atomic<int> close_range_state{0};
std::atomic<int> share_files_state{0};

bool can_share_files() noexcept { return share_files_state.load(std::memory_order_relaxed) != 2; }
void note_no_share_files() noexcept { share_files_state.store(2, std::memory_order_relaxed); }

bool have_clone3() noexcept { return clone3_state.load(std::memory_order_relaxed) != 2; }
void note_no_clone3() noexcept { clone3_state.store(2, std::memory_order_relaxed); }

bool have_close_range() noexcept {
  int s = close_range_state.load(std::memory_order_relaxed);
  if (s == 0) {
    // close_range on an empty range above any fd we could hold closes nothing.
    long r = ::syscall(SYS_close_range, ~0U - 1, ~0U, 0U);
    s = (r == 0) ? 1 : 2;
    close_range_state.store(s, std::memory_order_relaxed);
  }
  return s == 1;
}

}  // namespace procctx::detail::sys

#ifdef PROCCTX_FAULT_INJECTION
namespace procctx::detail::fault {
namespace {

struct Plan {
  long calls = 0;      // calls seen since clear()
  long fail_from = 0;  // first call number to fail (1-based), 0 = none
  long fail_to = 0;    // last call number to fail, inclusive; -1 = no end
  int err = 0;
};

std::mutex mu;
std::array<Plan, static_cast<size_t>(sys::Call::count_)> plans;
std::atomic<bool> armed{false};
std::atomic<bool> counting{false};

}  // namespace

void arm(sys::Call c, int err, int nth, int times) {
  std::lock_guard lock{mu};
  Plan& p = plans[static_cast<size_t>(c)];
  p.fail_from = p.calls + nth;
  p.fail_to = times < 0 ? -1 : p.calls + nth + times - 1;
  p.err = err;
  armed.store(true);
  counting.store(true);
}

void clear() {
  std::lock_guard lock{mu};
  plans = {};
  // A fault may have made a probe conclude a feature is missing.
  sys::clone3_state.store(0);
  sys::share_files_state.store(0);
  armed.store(false);
  counting.store(true);
}

long calls(sys::Call c) {
  std::lock_guard lock{mu};
  return plans[static_cast<size_t>(c)].calls;
}

}  // namespace procctx::detail::fault

namespace procctx::detail::sys {
int injected(Call c) noexcept {
  if (!fault::counting.load(std::memory_order_relaxed)) return 0;
  std::lock_guard lock{fault::mu};
  fault::Plan& p = fault::plans[static_cast<size_t>(c)];
  ++p.calls;
  if (!fault::armed.load(std::memory_order_relaxed) || p.fail_from == 0) return 0;
  if (p.calls >= p.fail_from && (p.fail_to < 0 || p.calls <= p.fail_to)) return p.err;
  return 0;
}
}  // namespace procctx::detail::sys
#endif
