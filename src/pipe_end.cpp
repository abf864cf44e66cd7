// pipe_end.cpp — Writer and Reader, the parent's ends of Stdio::pipe().
#include <procctx/process.hpp>

#include "sys_linux.hpp"

#include <csignal>

#include <poll.h>
#include <pthread.h>
#include <unistd.h>

namespace procctx {
namespace sys = detail::sys;
namespace {

// Blocks SIGPIPE on this thread for one write, so a dead reader yields
// EPIPE; a SIGPIPE that write raised is taken back before unblocking.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;
  ~SigpipeGuard() {
    if (raised_ && !was_pending_) {
      timespec zero{};
      while (sigtimedwait(&pipe_, nullptr, &zero) == -1 && errno == EINTR) {}
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  void raised() { raised_ = true; }

 private:
  sigset_t pipe_, old_;
  bool was_pending_ = false;
  bool raised_ = false;
};

}  // namespace

void PipeEnd::close() noexcept {
  if (fd_ >= 0) sys::UniqueFd{std::exchange(fd_, -1)};
}

Result<void> PipeEnd::wait_ready(short events, const char* what) const {
  auto cfd = ctx_.fd();
  if (!cfd) return std::move(cfd).error();
  pollfd fds[2] = {{fd_, events, 0}, {*cfd, POLLIN, 0}};
  sys::Ret r = sys::call(sys::Call::poll, [&] { return ::poll(fds, 2, -1); });
  if (!r.ok()) return sys::error(r, what);
  if (ctx_.done()) return Error{ctx_.err(), std::string{what} + ": " + ctx_.cause()};
  return {};
}

Result<void> Writer::write(std::string_view bytes) {
  if (fd_ < 0) return sys::error(EBADF, "write to stdin (not a Stdio::pipe(), or closed)");
  SigpipeGuard guard;
  while (!bytes.empty()) {
    if (ctx_.done()) return Error{ctx_.err(), "write to stdin: " + ctx_.cause()};
    sys::Ret r = sys::call(sys::Call::write, [&] { return ::write(fd_, bytes.data(), bytes.size()); });
    if (r.ok()) {
      bytes.remove_prefix(static_cast<std::size_t>(r.value));
      written_ += static_cast<std::uint64_t>(r.value);
    } else if (r.err == EAGAIN) {
      if (auto w = wait_ready(POLLOUT, "write to stdin"); !w) return w;
    } else {
      if (r.err == EPIPE) guard.raised();
      return sys::error(r, "write to stdin");
    }
  }
  return {};
}

Result<std::size_t> Reader::read(std::span<char> buffer) {
  if (fd_ < 0) return sys::error(EBADF, "read (not a Stdio::pipe(), or closed)");
  for (;;) {
    sys::Ret r = sys::call(sys::Call::read, [&] { return ::read(fd_, buffer.data(), buffer.size()); });
    if (r.ok()) return static_cast<std::size_t>(r.value);
    if (r.err != EAGAIN) return sys::error(r, "read");
    if (auto w = wait_ready(POLLIN, "read"); !w) return std::move(w).error();
  }
}

Result<std::string> Reader::read_all() {
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    auto n = read(buf);
    if (!n) return std::move(n).error();
    if (*n == 0) return out;
    out.append(buf, *n);
  }
}

}  // namespace procctx
