// sys_linux.hpp — the private syscall layer.
//
// Every syscall procctx makes goes through sys::call(), which
//   * retries EINTR,
//   * turns errno into a value on the line of the syscall, and
//   * is the one seam where tests inject failures (PROCCTX_FAULT_INJECTION
//     builds only; elsewhere the check compiles to nothing).
// UniqueFd owns a file descriptor. Nothing here is public API.
#pragma once

#include <procctx/result.hpp>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace procctx::detail::sys {

// The syscalls that can be made to fail in tests, one name per call site kind.
enum class Call : std::uint8_t {
  pipe2,
  clone3,
  clone,
  close_range,
  unshare,
  epoll_create,
  epoll_ctl,
  epoll_wait,
  timerfd_create,
  timerfd_settime,
  eventfd,
  pidfd_send_signal,
  waitid,
  read,
  write,
  open,
  mkdir,
  fcntl,
  poll,
  kill,
  fstat,
  sigaction,
  pidfd_open,
  count_
};

std::string_view name(Call c) noexcept;

#ifdef PROCCTX_FAULT_INJECTION
// The errno to fail this call with, or 0 to make it for real.
int injected(Call c) noexcept;
#else
constexpr int injected(Call) noexcept { return 0; }
#endif

// What a syscall returned: the value, or the errno it failed with.
struct Ret {
  long value = 0;
  int err = 0;
  bool ok() const noexcept { return err == 0; }
  std::error_code code() const noexcept { return {err, std::generic_category()}; }
};

// Runs f, a syscall wrapper returning -1 and setting errno on failure.
template <class F>
Ret call(Call c, F&& f) noexcept {
  for (;;) {
    if (int e = injected(c); e != 0) {
      if (e == EINTR) continue;
      return {-1, e};
    }
    long r = static_cast<long>(f());
    if (r != -1) return {r, 0};
    if (errno == EINTR) continue;
    return {-1, errno};
  }
}

// "what: strerror" as an Error, e.g. error(ret, "chdir /x").
Error error(int err, std::string_view what);
inline Error error(const Ret& r, std::string_view what) { return error(r.err, what); }

// Owns one file descriptor; closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

// A pipe whose ends are both O_CLOEXEC and numbered 3 or above, so that a
// parent with closed stdio never hands its own pipe to a child as fd 0-2.
struct Pipe {
  UniqueFd read;
  UniqueFd write;
};
Result<Pipe> make_pipe();

// Moves fd above 2 when it landed on 0-2 (stdio was closed in the parent).
Result<UniqueFd> lift_above_stdio(UniqueFd fd);

Result<void> set_nonblocking(int fd);

// Kernel features, probed once and cached.
extern std::atomic<int> clone3_state;  // 0 unknown, 1 present, 2 missing
bool have_clone3() noexcept;
void note_no_clone3() noexcept;
bool have_close_range() noexcept;
// Whether a child may start on our fd table (CLONE_FILES) and take its own
// copy first; false once a sandbox refused the copy.
extern std::atomic<int> share_files_state;  // 0 usable, 2 refused
bool can_share_files() noexcept;
void note_no_share_files() noexcept;

}  // namespace procctx::detail::sys

#ifdef PROCCTX_FAULT_INJECTION
namespace procctx::detail::fault {
// Makes calls number `nth` .. `nth + times - 1` of `c` (counted from now,
// 1-based) fail with `err`. `times` < 0 means every call from `nth` on.
void arm(sys::Call c, int err, int nth = 1, int times = 1);
// Removes every armed fault.
void clear();
// How many calls of `c` passed the seam since the last clear().
long calls(sys::Call c);
}  // namespace procctx::detail::fault
#endif
