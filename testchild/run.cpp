// run.cpp — procctx-testchild's behaviours (the table: docs/testing.md).
#include "run.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

extern char** environ;

namespace testchild {
namespace {

constexpr int kExitSystemError = 1;
constexpr int kExitBrokenPipe = 3;
constexpr std::size_t kChunk = 64 * 1024;
constexpr int kMaxWaits = 64;

// ---------------------------------------------------------------------------
// Readiness: this process reports on report_fd once it reaches a waiting
// point, after each process it forked has reported on the pipe it was given.

struct Readiness {
  int report_fd = -1;
  int waits[kMaxWaits] = {};  // read ends of the pipes our forks report on
  int expected[kMaxWaits] = {};
  int count = 0;
  bool reported = false;
};
Readiness ready;

bool readiness_wanted() { return ready.report_fd >= 0 && ready.count < kMaxWaits; }

// A reader for `processes` reports; returns the write end for them (-1 when nobody waits).
int expect_reports(int processes) {
  if (!readiness_wanted()) return -1;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
  ready.waits[ready.count] = fds[0];
  ready.expected[ready.count] = processes;
  ++ready.count;
  return fds[1];
}

// In a process just forked: it reports to `fd` (its parent's pipe), and no
// longer waits for what its parent waits for.
void become_forked(int fd) {
  if (ready.report_fd >= 0) ::close(ready.report_fd);
  for (int i = 0; i < ready.count; ++i) ::close(ready.waits[i]);
  ready.count = 0;
  ready.report_fd = fd;
  ready.reported = false;
}

// In the parent, after forking: only the children hold the write end now.
void close_write_end(int fd) {
  if (fd >= 0) ::close(fd);
}

void report_ready() {
  if (ready.reported) return;
  ready.reported = true;
  for (int i = 0; i < ready.count; ++i) {
    char buf[64];
    int left = ready.expected[i];
    // A child that died before reporting closes its end too: EOF ends the wait.
    while (left > 0) {
      ssize_t n =
          ::read(ready.waits[i], buf,
                 sizeof buf < static_cast<std::size_t>(left) ? sizeof buf : static_cast<std::size_t>(left));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      left -= static_cast<int>(n);
    }
    ::close(ready.waits[i]);
  }
  ready.count = 0;
  if (ready.report_fd >= 0) {
    (void)write_all(ready.report_fd, "R", 1);
    ::close(ready.report_fd);
    ready.report_fd = -1;
  }
}

bool is_readiness_fd(int fd) {
  if (fd == ready.report_fd) return true;
  for (int i = 0; i < ready.count; ++i) {
    if (ready.waits[i] == fd) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Output

[[noreturn]] void fail(const char* what) {
  complain(what, ": ", std::strerror(errno));
  ::_exit(kExitSystemError);
}

void emit(int fd, const char* text, std::size_t size) {
  int err = write_all(fd, text, size);
  if (err == 0) return;
  if (err == EPIPE) ::_exit(kExitBrokenPipe);
  errno = err;
  fail(fd == STDOUT_FILENO ? "write stdout" : "write stderr");
}

// A line built in a fixed buffer (long enough for every line printed here).
class Line {
 public:
  Line& add(const char* text) {
    while (*text && size_ < sizeof buf_ - 1) buf_[size_++] = *text++;
    return *this;
  }
  Line& add(std::uint64_t n) {
    char digits[24];
    int i = 0;
    do {
      digits[i++] = static_cast<char>('0' + n % 10);
      n /= 10;
    } while (n);
    while (i > 0 && size_ < sizeof buf_ - 1) buf_[size_++] = digits[--i];
    return *this;
  }
  Line& add_id(long n) {
    return n < 0 ? add("-").add(static_cast<std::uint64_t>(-n)) : add(static_cast<std::uint64_t>(n));
  }
  void emit_to(int fd) {
    buf_[size_++] = '\n';
    emit(fd, buf_, size_);
    size_ = 0;
  }
  bool full() const { return size_ > sizeof buf_ - 32; }

 private:
  char buf_[4096];
  std::size_t size_ = 0;
};

// ---------------------------------------------------------------------------
// Behaviours

// The CLOCK_MONOTONIC moment `seconds` from now.
timespec deadline_after(double seconds) {
  timespec until{};
  ::clock_gettime(CLOCK_MONOTONIC, &until);
  auto whole = static_cast<time_t>(seconds);
  until.tv_sec += whole;
  until.tv_nsec += static_cast<long>((seconds - static_cast<double>(whole)) * 1e9);
  if (until.tv_nsec >= 1'000'000'000L) {
    until.tv_sec += 1;
    until.tv_nsec -= 1'000'000'000L;
  }
  return until;
}

void sleep_for(double seconds) {
  timespec until = deadline_after(seconds);
  // Interrupted (stopped and continued, a handled signal): sleep on to the same moment.
  while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr) == EINTR) {}
}

[[noreturn]] void die_by(int sig) {
  rlimit none{0, 0};
  if (::getrlimit(RLIMIT_CORE, &none) == 0) {
    none.rlim_cur = 0;  // no core file in the test's directory
    (void)::setrlimit(RLIMIT_CORE, &none);
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  if (sig != SIGKILL) ::sigaction(sig, &dfl, nullptr);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
  ::raise(sig);
  complain("signal: the signal did not end the process");
  ::_exit(kExitSystemError);
}

void ignore(const sigset_t& signals) {
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sigismember(&signals, sig) == 1 && ::sigaction(sig, &ign, nullptr) != 0) fail("sigaction");
  }
}

// BYTES of 64-byte lines ("abc...\n"), in 64 KiB writes.
void flood(int fd, std::uint64_t bytes) {
  static char chunk[kChunk];
  for (std::size_t i = 0; i < kChunk; ++i)
    chunk[i] = i % 64 == 63 ? '\n' : static_cast<char>('a' + i % 64 % 26);
  while (bytes > 0) {
    std::size_t n = bytes < kChunk ? static_cast<std::size_t>(bytes) : kChunk;
    emit(fd, chunk, n);
    bytes -= n;
  }
}

void print(const char* text) {
  Line line;
  line.add(text).emit_to(STDOUT_FILENO);
}

// Holds stdout and stderr open until a reader of one of them goes away
// (a pipe's writer sees POLLERR then; a closed fd POLLNVAL) or `seconds` pass.
[[noreturn]] void hold_output(double seconds) {
  pollfd fds[2] = {{STDOUT_FILENO, 0, 0}, {STDERR_FILENO, 0, 0}};
  timespec until = deadline_after(seconds);
  for (;;) {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    long long left_ms = (until.tv_sec - now.tv_sec) * 1000LL + (until.tv_nsec - now.tv_nsec) / 1'000'000;
    if (left_ms <= 0) ::_exit(0);
    int r = ::poll(fds, 2, left_ms > 1'000'000'000LL ? 1'000'000'000 : static_cast<int>(left_ms));
    if (r > 0 || (r < 0 && errno != EINTR)) ::_exit(0);
  }
}

void grandchild_holds_output(double seconds) {
  pid_t pid = ::fork();
  if (pid < 0) fail("fork");
  if (pid > 0) return;
  become_forked(-1);  // born ready: it has nothing to set up
  hold_output(seconds);
}

void setsid_daemon(double seconds) {
  int report = expect_reports(1);
  pid_t pid = ::fork();
  if (pid < 0) fail("fork");
  if (pid > 0) {
    close_write_end(report);
    return;
  }
  become_forked(report);
  if (::setsid() < 0) fail("setsid");
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) fail("open /dev/null");
  for (int fd = 0; fd < 3; ++fd) ::dup2(null, fd);
  ::close(null);
  report_ready();
  sleep_for(seconds);
  ::_exit(0);
}

// `count` new processes, each going on with the rest of the list.
void fork_children(int count) {
  int report = expect_reports(count);
  for (int i = 0; i < count; ++i) {
    pid_t pid = ::fork();
    if (pid < 0) fail("fork");
    if (pid == 0) {
      become_forked(report);
      return;
    }
  }
  close_write_end(report);
}

void read_stdin() {
  static char buf[kChunk];
  std::uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("read stdin");
    if (n == 0) break;
    total += static_cast<std::uint64_t>(n);
  }
  Line line;
  line.add("stdin=").add(total).emit_to(STDOUT_FILENO);
}

void print_env() {
  for (char** e = environ; e && *e; ++e) {
    emit(STDOUT_FILENO, *e, std::strlen(*e));
    emit(STDOUT_FILENO, "\n", 1);
  }
}

void print_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) fail("opendir /proc/self/fd");
  int fds[1024];
  int count = 0;
  while (dirent* d = ::readdir(dir)) {
    char* end = nullptr;
    long fd = std::strtol(d->d_name, &end, 10);
    if (end == d->d_name || *end != '\0' || fd == ::dirfd(dir) || is_readiness_fd(static_cast<int>(fd)))
      continue;
    if (count < 1024) fds[count++] = static_cast<int>(fd);
  }
  ::closedir(dir);
  std::qsort(fds, static_cast<std::size_t>(count), sizeof fds[0], [](const void* a, const void* b) {
    return *static_cast<const int*>(a) - *static_cast<const int*>(b);
  });
  Line line;
  line.add("fds=");
  for (int i = 0; i < count && !line.full(); ++i)
    line.add(i ? "," : "").add(static_cast<std::uint64_t>(fds[i]));
  line.emit_to(STDOUT_FILENO);
}

void print_ids() {
  gid_t groups[256];
  int n = ::getgroups(256, groups);
  Line line;
  line.add("pid=").add_id(::getpid()).add(" ppid=").add_id(::getppid()).add(" pgid=").add_id(::getpgid(0));
  line.add(" sid=")
      .add_id(::getsid(0))
      .add(" uid=")
      .add(std::uint64_t{::getuid()})
      .add(" euid=")
      .add(std::uint64_t{::geteuid()});
  line.add(" gid=")
      .add(std::uint64_t{::getgid()})
      .add(" egid=")
      .add(std::uint64_t{::getegid()})
      .add(" groups=");
  for (int i = 0; i < n; ++i) line.add(i ? "," : "").add(std::uint64_t{groups[i]});
  line.emit_to(STDOUT_FILENO);
}

// One behaviour. After fork=N it returns in every process, and each runs the rest.
void perform(const Behaviour& b) {
  switch (b.kind) {
    case Kind::sleep:
      report_ready();
      sleep_for(b.seconds);
      return;
    case Kind::exit:
      report_ready();
      ::_exit(b.number);
    case Kind::signal:
      report_ready();
      die_by(b.number);
    case Kind::ignore:
      ignore(b.signals);
      return;
    case Kind::stdout_flood:
      flood(STDOUT_FILENO, b.bytes);
      return;
    case Kind::stderr_flood:
      flood(STDERR_FILENO, b.bytes);
      return;
    case Kind::print:
      print(b.text);
      return;
    case Kind::grandchild_holds_output:
      grandchild_holds_output(b.seconds);
      return;
    case Kind::setsid_daemon:
      setsid_daemon(b.seconds);
      return;
    case Kind::fork:
      fork_children(b.number);
      return;
    case Kind::stop_self:
      report_ready();
      ::raise(SIGSTOP);
      return;
    case Kind::close_stdout:
      ::close(STDOUT_FILENO);
      return;
    case Kind::read_stdin:
      report_ready();
      read_stdin();
      return;
    case Kind::print_env:
      print_env();
      return;
    case Kind::print_fds:
      print_fds();
      return;
    case Kind::print_ids:
      print_ids();
      return;
  }
}

}  // namespace

int run(const Plan& plan, int ready_fd) {
  ready.report_fd = ready_fd;
  for (std::size_t i = 0; i < plan.size; ++i) perform(plan.steps[i]);
  report_ready();
  return 0;
}

}  // namespace testchild
