#include "supervise.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <clocale>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

namespace procctx::cli {

SpawnFailure describe_spawn_failure(const Error& e, std::string_view program) {
  // Only a failure to find or execute the program itself maps to 126/127
  // (a missing --cwd is procctx's failure, 125, even though it is ENOENT).
  bool not_found = e.code() == errc::not_found;
  if (!not_found && e.code() != errc::not_executable) return {kExitFailure, e.message()};
  return {not_found ? kExitNotFound : kExitCannotRun,
          "failed to run command " + quote(program) + ": " + e.os_error().message()};
}

std::optional<double> parse_gnu_duration(std::string_view text) {
  std::string s{text};
  if (s.empty()) return std::nullopt;
  // strtod in the C locale, like coreutils' cl_strtod falling back to it.
  locale_t c = ::newlocale(LC_NUMERIC_MASK, "C", static_cast<locale_t>(nullptr));
  char* end = nullptr;
  errno = 0;
  double d = c ? ::strtod_l(s.c_str(), &end, c) : std::strtod(s.c_str(), &end);
  if (c) ::freelocale(c);
  if (end == s.c_str()) return std::nullopt;
  if (errno == ERANGE && std::fabs(d) < 1) d = 0;  // underflow: a tiny positive number
  if (!(d >= 0)) return std::nullopt;              // negative or NaN
  std::string_view suffix{end};
  if (suffix.size() > 1) return std::nullopt;
  double scale = 1;
  if (!suffix.empty()) {
    switch (suffix[0]) {
      case 's': scale = 1; break;
      case 'm': scale = 60; break;
      case 'h': scale = 60 * 60; break;
      case 'd': scale = 60 * 60 * 24; break;
      default: return std::nullopt;
    }
  }
  return d * scale;
}

Duration seconds_to_duration(double seconds) {
  using namespace std::chrono;
  constexpr double kNever = 100.0 * 365 * 24 * 3600;
  if (!(seconds < kNever)) return Duration::max();
  auto d = duration_cast<Duration>(duration<double>(seconds));
  // A positive duration never rounds down to "no timeout".
  if (d <= Duration::zero() && seconds > 0) d = Duration{1};
  return d;
}

std::string quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

int block_into_signalfd(const sigset_t& signals) {
  ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return ::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
}

Supervisor::Supervisor(int extra_signal) {
  sigemptyset(&handled_);
  for (int sig : kHandledSignals) sigaddset(&handled_, sig);
  sigaddset(&handled_, SIGCHLD);
  if (extra_signal > 0 && extra_signal != SIGKILL && extra_signal != SIGSTOP) sigaddset(&handled_, extra_signal);
  sigfd_ = block_into_signalfd(handled_);
  ::signal(SIGTTIN, SIG_IGN);
  ::signal(SIGTTOU, SIG_IGN);
  // Our own writes to a closed stdout are errors, not death (children get
  // default dispositions back before they run).
  ::signal(SIGPIPE, SIG_IGN);
  exitfd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (::isatty(STDIN_FILENO) && ::tcgetpgrp(STDIN_FILENO) == ::getpgrp()) {
    tty_ = ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
  }
}

Supervisor::~Supervisor() {
  take_terminal_back();
  for (Relay& r : relays_) {
    if (r.in >= 0) ::close(r.in);
  }
  for (int fd : {sigfd_, exitfd_, tty_}) {
    if (fd >= 0) ::close(fd);
  }
}

void Supervisor::watch(const Process& p, bool owns_terminal) {
  process_ = &p;
  owns_terminal_ = owns_terminal && tty_ >= 0;
  int fd = exitfd_;
  p.on_exit([fd](const Completed&) {
    std::uint64_t one = 1;
    (void)!::write(fd, &one, sizeof one);
  });
  // The child took the terminal itself before it ran; doing it here too is
  // what shells do, so the order between the two never matters.
  if (owns_terminal_) ::tcsetpgrp(tty_, p.pid());
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
    for (ssize_t off = 0; off < n && r.out >= 0;) {
      ssize_t w = ::write(r.out, buf + off, static_cast<std::size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        r.error = errno;
        r.out = -1;
        break;
      }
      off += w;
      r.written += static_cast<std::uint64_t>(w);
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
    for (std::size_t i = 0; i < relays_.size(); ++i) {
      Relay& r = relays_[i];
      if (r.in >= 0 && fds[2 + i].revents != 0 && !pump(r)) {
        ::close(r.in);
        r.in = -1;
      }
    }
    for (Relay& r : relays_) {
      if (r.broken_pending) {
        r.broken_pending = false;
        return {Event::broken_pipe, 0, r.target};
      }
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si{};
      if (::read(sigfd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGCHLD) {
          on_child_signal();
        } else {
          return {Event::signal, sig};
        }
      }
    }
    if (fds[1].revents & POLLIN) {
      std::uint64_t v;
      (void)!::read(exitfd_, &v, sizeof v);
      return {Event::exited};
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
    for (std::size_t i = 0; i < relays_.size(); ++i) {
      Relay& r = relays_[i];
      if (r.in >= 0 && fds[i].revents != 0 && !pump(r)) {
        ::close(r.in);
        r.in = -1;
      }
    }
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

void Supervisor::on_child_signal() {
  if (!owns_terminal_ || process_ == nullptr) return;
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(process_->pid()), &info, WSTOPPED | WNOHANG) != 0) return;
  if (info.si_pid != process_->pid() || info.si_code != CLD_STOPPED) return;
  int why = info.si_status;
  if (why != SIGTSTP && why != SIGTTIN && why != SIGTTOU) return;
  // The child stopped for job control (Ctrl-Z): so does procctx, with the
  // terminal back in its own group for the shell to take.
  take_terminal_back();
  ::kill(::getpid(), SIGSTOP);
  // Continued (fg or bg): the terminal goes back to the child only if the
  // shell made procctx the foreground again.
  if (::tcgetpgrp(tty_) == ::getpgrp()) ::tcsetpgrp(tty_, process_->pid());
  (void)process_->signal_tree(SIGCONT);
}

void Supervisor::take_terminal_back() {
  if (owns_terminal_ && tty_ >= 0) ::tcsetpgrp(tty_, ::getpgrp());
}

void Supervisor::die_of(int sig) {
  take_terminal_back();
  std::fflush(nullptr);
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
