// sys_linux.hpp — the private syscall layer.
//
// Every syscall the library makes (the child side of spawn excepted) goes
// through sys::call(), which
//   * retries EINTR,
//   * turns errno into a value on the line of the syscall, and
//   * is the one seam where tests inject failures (PROCCTX_FAULT_INJECTION
//     builds only; elsewhere the check compiles to nothing).
// The small wrappers below are the calls more than one unit makes. UniqueFd
// owns a file descriptor. Nothing here is public API.
#pragma once

#include <procctx/result.hpp>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>

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
  rmdir,
  fcntl,
  poll,
  kill,
  getpgid,
  fstat,
  sigaction,
  pidfd_open,
  read_file,  // open/read/readlink/getdents of a small file or directory (/proc, cgroupfs)
  mmap,       // mmap, mremap
  close,
  clone_namespace,  // the clone of a PID namespace's init
  count_
};

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
// A close-on-exec copy of fd numbered 3 or above.
Ret duplicate_above_stdio(int fd) noexcept;
Result<void> set_nonblocking(int fd);
// True when fd is open in this process.
bool is_open(int fd) noexcept;

// Process calls, each through the seam.
Ret pidfd_send_signal(int pidfd, int sig) noexcept;
Ret pidfd_open(pid_t pid) noexcept;
Ret kill(pid_t pid, int sig) noexcept;
Ret getpgid(pid_t pid) noexcept;
// waitid(P_PIDFD, pidfd, ...).
Ret waitid_pidfd(int pidfd, siginfo_t* info, int options, struct rusage* ru) noexcept;
// poll() on one fd for `events`; the value is 1 when ready, 0 on timeout.
Ret poll_one(int fd, short events, int timeout_ms) noexcept;

// Files, for /proc and cgroupfs: the whole content (an error when it
// cannot be opened), and the names in a directory (empty when it cannot
// be listed).
Result<std::string> read_file(const std::string& path);
Result<std::string> read_file_at(int dir, const char* name);
Ret write_file_at(int dir, const char* name, std::string_view text);
std::vector<std::string> list_dir(const std::string& path);
// The link count of path (stat's st_nlink), 0 when it cannot be read.
unsigned long link_count(const std::string& path) noexcept;
Ret remove_dir(const char* path) noexcept;
// Where a symbolic link points ("" when it cannot be read).
std::string read_link(const std::string& path);

// Anonymous memory through the seam (private unless `flags` has MAP_SHARED):
// nullptr when the kernel refuses.
void* map_memory(std::size_t size, int flags) noexcept;
void* remap_memory(void* p, std::size_t old_size, std::size_t new_size) noexcept;
void unmap_memory(void* p, std::size_t size) noexcept;
void protect_memory(void* p, std::size_t size, int prot) noexcept;
void advise_memory(void* p, std::size_t size, int advice) noexcept;
// close() with its error (the fd is gone either way: never retried).
Ret close_fd(int fd) noexcept;

// Kernel features, probed once and cached.
bool have_clone3() noexcept;
void note_no_clone3() noexcept;
bool have_close_range() noexcept;
// CLONE_CLEAR_SIGHAND (Linux 5.5): false once clone3 refused the flag.
bool have_clear_sighand() noexcept;
void note_no_clear_sighand() noexcept;
// Whether a child may start on our fd table (CLONE_FILES) and take its own
// copy first; false once a sandbox refused the copy.
bool can_share_files() noexcept;
void note_no_share_files() noexcept;
// Forgets what faults made the probes conclude (tests).
void reset_probes() noexcept;

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
