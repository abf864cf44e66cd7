#include "supervise.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace procctx::cli {

bool ignored_at_start(int sig) {
  struct sigaction old{};
  return ::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN;
}

int block_into_signalfd(const sigset_t& signals) {
  ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return ::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
}

Supervisor::Supervisor(const std::vector<int>& signals) {
  sigemptyset(&handled_);
  for (int sig : signals) {
    if (sig > 0 && sig != SIGKILL && sig != SIGSTOP) sigaddset(&handled_, sig);
  }
  sigaddset(&handled_, SIGCHLD);
  // A SIGCHLD left ignored by our parent (`trap '' CHLD`) would make the
  // kernel reap our children before procctx could see how they ended.
  ::signal(SIGCHLD, SIG_DFL);
  // Our own writes to a closed pipe are errors, not death (children get
  // default dispositions back before they run).
  if (!sigismember(&handled_, SIGPIPE)) ::signal(SIGPIPE, SIG_IGN);
  sigfd_ = block_into_signalfd(handled_);
  exitfd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

void Supervisor::ignore(int sig) {
  if (sig == SIGCHLD || !sigismember(&handled_, sig)) return;
  sigdelset(&handled_, sig);
  ::signalfd(sigfd_, &handled_, 0);
  ::signal(sig, SIG_IGN);  // also drops what is pending
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  ::pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
}

Supervisor::~Supervisor() {
  for (Relay& r : relays_) {
    if (r.in >= 0) ::close(r.in);
  }
  for (int fd : {sigfd_, exitfd_}) {
    if (fd >= 0) ::close(fd);
  }
}

void Supervisor::watch(const Process& p, Terminal* terminal) {
  terminal_ = terminal;
  if (terminal_ != nullptr) terminal_->follow(p);
  int fd = exitfd_;
  p.on_exit([fd](const Completed&) {
    std::uint64_t one = 1;
    (void)!::write(fd, &one, sizeof one);
  });
}

void Supervisor::relay(int read_fd, int out_fd) {
  ::fcntl(read_fd, F_SETFL, ::fcntl(read_fd, F_GETFL) | O_NONBLOCK);
  relays_.push_back({read_fd, out_fd, out_fd, 0});
}

Supervisor::RelayTotals Supervisor::relayed_to(int out_fd) const {
  RelayTotals t;
  for (const Relay& r : relays_) {
    if (r.target != out_fd) continue;
    t.read += r.bytes;
    t.written += r.written;
    if (t.error == 0) t.error = r.error;
  }
  return t;
}

bool Supervisor::pump(Relay& r) {
  char buf[65536];
  for (int rounds = 0; rounds < 16; ++rounds) {
    ssize_t n = ::read(r.in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    if (n <= 0) return false;
    r.bytes += static_cast<std::uint64_t>(n);
    // After any other write error (a full disk) the output is still drained
    // and counted, so the command is never blocked and the loss is known.
    if (r.out >= 0) {
      int err = write_all(r.out, {buf, static_cast<std::size_t>(n)});
      if (err != 0) {
        r.error = err;
        r.out = -1;
      } else {
        r.written += static_cast<std::uint64_t>(n);
      }
    }
    if (r.error == EPIPE) {
      // Our reader went away: as in a shell pipeline, so does the command's
      // (its next write fails), and the caller stops the tree.
      r.broken_pending = true;
      return false;
    }
  }
  return true;
}

void Supervisor::pump_ready(const std::vector<short>& revents) {
  for (std::size_t i = 0; i < relays_.size(); ++i) {
    Relay& r = relays_[i];
    if (r.in >= 0 && revents[i] != 0 && !pump(r)) {
      ::close(r.in);
      r.in = -1;
    }
  }
}

std::optional<Supervisor::Event> Supervisor::read_signal() {
  signalfd_siginfo si{};
  if (::read(sigfd_, &si, sizeof si) != static_cast<ssize_t>(sizeof si)) return std::nullopt;
  int sig = static_cast<int>(si.ssi_signo);
  if (sig != SIGCHLD) return Event{Event::signal, sig};
  if (terminal_ != nullptr) terminal_->on_child_signal();
  return std::nullopt;
}

Supervisor::Event Supervisor::next(std::optional<TimePoint> until) {
  for (;;) {
    std::vector<pollfd> fds{{sigfd_, POLLIN, 0}, {exitfd_, POLLIN, 0}};
    for (const Relay& r : relays_) fds.push_back({r.in, static_cast<short>(r.in >= 0 ? POLLIN : 0), 0});
    int wait_ms = -1;
    if (until) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(*until - Clock::now());
      if (left.count() <= 0) return {Event::timeout};
      wait_ms = static_cast<int>(std::min<std::int64_t>(left.count(), 1 << 30));
    }
    int n = ::poll(fds.data(), fds.size(), wait_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) continue;  // re-checks `until` at the top
    std::vector<short> revents;
    for (std::size_t i = 2; i < fds.size(); ++i) revents.push_back(fds[i].revents);
    pump_ready(revents);
    for (Relay& r : relays_) {
      if (r.broken_pending) {
        r.broken_pending = false;
        return {Event::broken_pipe, 0, r.target};
      }
    }
    // The outcome first: a signal that comes with it is not passed on to
    // a command that is gone (GNU timeout stops looking once it has reaped).
    if (fds[1].revents & POLLIN) {
      std::uint64_t v;
      (void)!::read(exitfd_, &v, sizeof v);
      return {Event::exited};
    }
    if (fds[0].revents & POLLIN) {
      if (auto ev = read_signal()) return *ev;
    }
  }
}

std::vector<ProcessRef> Supervisor::drain(TimePoint until) {
  auto open = [&] { return std::any_of(relays_.begin(), relays_.end(), [](const Relay& r) { return r.in >= 0; }); };
  while (open()) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
    if (left.count() <= 0) break;
    std::vector<pollfd> fds;
    for (const Relay& r : relays_) fds.push_back({r.in, static_cast<short>(r.in >= 0 ? POLLIN : 0), 0});
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(std::min<std::int64_t>(left.count(), 1 << 30)));
    if (n < 0 && errno != EINTR) break;
    std::vector<short> revents;
    for (const pollfd& p : fds) revents.push_back(p.revents);
    pump_ready(revents);
  }
  std::vector<ProcessRef> holders;
  for (Relay& r : relays_) {
    if (r.in < 0) continue;
    (void)pump(r);  // what is there already
    for (auto& h : pipe_holders(r.in)) {
      bool seen = std::any_of(holders.begin(), holders.end(), [&](const ProcessRef& o) { return o.pid == h.pid; });
      if (!seen) holders.push_back(std::move(h));
    }
    ::close(r.in);
    r.in = -1;
  }
  return holders;
}

void die_of(int sig) {
  std::fflush(nullptr);
  ::prctl(PR_SET_DUMPABLE, 0);  // as coreutils: no core of procctx's own
  rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  ::signal(sig, SIG_DFL);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  ::pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  ::raise(sig);
  ::_exit(kExitSignalBase + sig);
}

}  // namespace procctx::cli
