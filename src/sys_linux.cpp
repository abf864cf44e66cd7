#include "sys_linux.hpp"

#include <array>
#include <atomic>
#include <mutex>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace procctx::detail::sys {

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

Ret duplicate_above_stdio(int fd) noexcept {
  return call(Call::fcntl, [&] { return ::fcntl(fd, F_DUPFD_CLOEXEC, 3); });
}

Result<UniqueFd> lift_above_stdio(UniqueFd fd) {
  if (fd.get() > 2) return fd;
  Ret r = duplicate_above_stdio(fd.get());
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

bool is_open(int fd) noexcept {
  return call(Call::fcntl, [&] { return ::fcntl(fd, F_GETFD); }).ok();
}

Ret pidfd_send_signal(int pidfd, int sig) noexcept {
  return call(Call::pidfd_send_signal, [&] { return ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0); });
}

Ret pidfd_open(pid_t pid) noexcept {
  return call(Call::pidfd_open, [&] { return ::syscall(SYS_pidfd_open, pid, 0); });
}

Ret kill(pid_t pid, int sig) noexcept {
  return call(Call::kill, [&] { return ::kill(pid, sig); });
}

Ret getpgid(pid_t pid) noexcept {
  return call(Call::getpgid, [&] { return ::getpgid(pid); });
}

Ret waitid_pidfd(int pidfd, siginfo_t* info, int options, struct rusage* ru) noexcept {
  return call(Call::waitid, [&] { return ::syscall(SYS_waitid, P_PIDFD, pidfd, info, options, ru); });
}

Ret poll_one(int fd, short events, int timeout_ms) noexcept {
  pollfd p{fd, events, 0};
  return call(Call::poll, [&] { return ::poll(&p, 1, timeout_ms); });
}

namespace {

Result<std::string> read_all(UniqueFd fd, const std::string& what) {
  std::string out;
  char buf[4096];
  for (;;) {
    Ret n = call(Call::read_file, [&] { return ::read(fd.get(), buf, sizeof buf); });
    if (!n.ok()) return error(n, "read " + what);
    if (n.value == 0) return out;
    out.append(buf, static_cast<std::size_t>(n.value));
  }
}

}  // namespace

Result<std::string> read_file(const std::string& path) {
  Ret r = call(Call::read_file, [&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); });
  if (!r.ok()) return error(r, "open " + path);
  return read_all(UniqueFd{static_cast<int>(r.value)}, path);
}

Result<std::string> read_file_at(int dir, const char* name) {
  Ret r = call(Call::read_file, [&] { return ::openat(dir, name, O_RDONLY | O_CLOEXEC); });
  if (!r.ok()) return error(r, std::string{"open "} + name);
  return read_all(UniqueFd{static_cast<int>(r.value)}, name);
}

Ret write_file_at(int dir, const char* name, std::string_view text) {
  Ret r = call(Call::open, [&] { return ::openat(dir, name, O_WRONLY | O_CLOEXEC); });
  if (!r.ok()) return r;
  UniqueFd fd{static_cast<int>(r.value)};
  return call(Call::write, [&] { return ::write(fd.get(), text.data(), text.size()); });
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> names;
  Ret r = call(Call::read_file, [&] { return ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); });
  if (!r.ok()) return names;
  UniqueFd dir{static_cast<int>(r.value)};
  alignas(8) char buf[8192];
  for (;;) {
    Ret n = call(Call::read_file, [&] { return ::syscall(SYS_getdents64, dir.get(), buf, sizeof buf); });
    if (!n.ok() || n.value == 0) break;
    for (long off = 0; off < n.value;) {
      auto* d = reinterpret_cast<const dirent64*>(buf + off);
      off += d->d_reclen;
      std::string_view name{d->d_name};
      if (name != "." && name != "..") names.emplace_back(name);
    }
  }
  return names;
}

void* map_memory(std::size_t size, int flags) noexcept {
  void* p = MAP_FAILED;
  Ret r = call(Call::mmap, [&] {
    int sharing = (flags & MAP_SHARED) ? 0 : MAP_PRIVATE;
    p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, sharing | MAP_ANONYMOUS | flags, -1, 0);
    return p == MAP_FAILED ? -1 : 0;
  });
  return r.ok() ? p : nullptr;
}

void* remap_memory(void* p, std::size_t old_size, std::size_t new_size) noexcept {
  void* q = MAP_FAILED;
  Ret r = call(Call::mmap, [&] {
    q = ::mremap(p, old_size, new_size, MREMAP_MAYMOVE);
    return q == MAP_FAILED ? -1 : 0;
  });
  return r.ok() ? q : nullptr;
}

void unmap_memory(void* p, std::size_t size) noexcept { ::munmap(p, size); }
void protect_memory(void* p, std::size_t size, int prot) noexcept { ::mprotect(p, size, prot); }
void advise_memory(void* p, std::size_t size, int advice) noexcept { ::madvise(p, size, advice); }

Ret close_fd(int fd) noexcept {
  errno = 0;
  if (::close(fd) == 0) return {};
  return {-1, errno == EINTR ? 0 : errno};  // EINTR: closed all the same
}

unsigned long link_count(const std::string& path) noexcept {
  struct stat st {};
  Ret r = call(Call::read_file, [&] { return ::stat(path.c_str(), &st); });
  return r.ok() ? static_cast<unsigned long>(st.st_nlink) : 0;
}

Ret remove_dir(const char* path) noexcept {
  return call(Call::rmdir, [&] { return ::rmdir(path); });
}

std::string read_link(const std::string& path) {
  char buf[512];
  Ret r = call(Call::read_file, [&] { return ::readlink(path.c_str(), buf, sizeof buf); });
  return r.ok() ? std::string{buf, static_cast<std::size_t>(r.value)} : std::string{};
}

namespace {
// 0 = not probed yet, 1 = available, 2 = missing.
std::atomic<int> clone3_state{0};
std::atomic<int> close_range_state{0};
std::atomic<int> share_files_state{0};
std::atomic<int> clear_sighand_state{0};
}  // namespace

bool have_clear_sighand() noexcept { return clear_sighand_state.load(std::memory_order_relaxed) != 2; }
void note_no_clear_sighand() noexcept { clear_sighand_state.store(2, std::memory_order_relaxed); }

bool can_share_files() noexcept { return share_files_state.load(std::memory_order_relaxed) != 2; }
void note_no_share_files() noexcept { share_files_state.store(2, std::memory_order_relaxed); }

bool have_clone3() noexcept { return clone3_state.load(std::memory_order_relaxed) != 2; }
void note_no_clone3() noexcept { clone3_state.store(2, std::memory_order_relaxed); }

bool have_close_range() noexcept {
  int s = close_range_state.load(std::memory_order_relaxed);
  if (s == 0) {
    // close_range on an empty range above any fd we could hold closes nothing.
    Ret r = call(Call::close_range, [] { return ::syscall(SYS_close_range, ~0U - 1, ~0U, 0U); });
    s = r.ok() ? 1 : 2;
    close_range_state.store(s, std::memory_order_relaxed);
  }
  return s == 1;
}

void reset_probes() noexcept {
  clone3_state.store(0);
  close_range_state.store(0);
  share_files_state.store(0);
  clear_sighand_state.store(0);
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
  sys::reset_probes();
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
