// A driver for profiling W3's cancel-all alone: start N `sleep 60` children
// under one context, as spawn_bench's W3 does, optionally wait until a
// profiler is attached, then cancel them all and wait for every one.
// bench/profile_cancel.sh runs it under strace and perf.
//
//   cancel_profile [--sleepers N] [--rounds R] [--default-stop] [--pause]
//                  [--perf-ctl FIFO --perf-ack FIFO]
//
// --rounds R      start and cancel R times (more samples for perf); 1
// --c EXTRAS      hand-written C instead (posix_spawn into its own group,
//                 kill(-pgid, SIGKILL) each, waitpid each), doing also what
//                 procctx does per child in a stop, one comma-separated
//                 item at a time, to price each ("none" for plain C):
//                   pidfd     pidfd_open each child at spawn, reap with waitid(P_PIDFD)
//                   precheck  waitid(P_PIDFD, WEXITED|WNOHANG) before the signal
//                   epoll     epoll_ctl(ADD, pidfd, EPOLLIN|EPOLLONESHOT) before the signal
//                   scan      read /proc/PID/task/ and each /proc/PID/task/TID/children
//                   scan1     read only /proc/PID/task/PID/children (the main thread's)
//                   getpgid   getpgid(pid) before kill(-pid)
// --default-stop  the default stop sequence (SIGTERM first) instead of .stop({{SIGKILL}})
// --pause         procctx only: after starting them, print "ready PID" and wait
//                 for a line on stdin; after the cancel phase, print "done" and
//                 wait again (so that strace can attach for the phase alone)
// --perf-ctl/ack  perf record's --control fifos: the events are enabled for
//                 the cancel phase only (perf record -D -1 --control fifo:CTL,ACK)
//
// Prints the cancel phase's wall time, and the CPU each thread of this
// process spent in it (from /proc/self/task/TID/schedstat, nanoseconds), per
// child.
#include <procctx/procctx.hpp>

#include "raw.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int sleepers = 1000;
  int rounds = 1;
  bool default_stop = false;
  bool pause = false;
  std::string perf_ctl, perf_ack;
  std::optional<std::string> c_extras;  // --c
};

// What the C side does besides posix_spawn, kill and waitpid (--c).
struct CExtras {
  bool pidfd = false, precheck = false, epoll = false, scan = false, scan1 = false, getpgid = false;
};

CExtras parse_extras(const std::string& list) {
  CExtras x;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = std::min(list.find(',', start), list.size());
    std::string item = list.substr(start, end - start);
    if (item == "pidfd") {
      x.pidfd = true;
    } else if (item == "precheck") {
      x.precheck = x.pidfd = true;
    } else if (item == "epoll") {
      x.epoll = x.pidfd = true;
    } else if (item == "scan") {
      x.scan = true;
    } else if (item == "scan1") {
      x.scan1 = true;
    } else if (item == "getpgid") {
      x.getpgid = true;
    } else if (item != "none") {
      bench::die("--c: unknown item '" + item + "' (pidfd precheck epoll scan scan1 getpgid none)");
    }
    start = end + 1;
  }
  return x;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&] {
      if (i + 1 >= argc) bench::die("missing value for " + a);
      return std::string{argv[++i]};
    };
    if (a == "--sleepers") {
      o.sleepers = std::max(1, std::atoi(value().c_str()));
    } else if (a == "--rounds") {
      o.rounds = std::max(1, std::atoi(value().c_str()));
    } else if (a == "--default-stop") {
      o.default_stop = true;
    } else if (a == "--pause") {
      o.pause = true;
    } else if (a == "--perf-ctl") {
      o.perf_ctl = value();
    } else if (a == "--perf-ack") {
      o.perf_ack = value();
    } else if (a == "--c") {
      o.c_extras = value();
    } else {
      bench::die(
          "unknown option " + a +
          " (--sleepers N --rounds R --default-stop --pause --perf-ctl FIFO --perf-ack FIFO --c EXTRAS)");
    }
  }
  return o;
}

// Nanoseconds on CPU of each thread, by "comm/tid".
std::map<std::string, double> thread_cpu_ns() {
  std::map<std::string, double> out;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::string comm;
    std::ifstream{task.path() / "comm"} >> comm;
    double ns = 0;
    std::ifstream{task.path() / "schedstat"} >> ns;
    out[comm + "/" + task.path().filename().string()] = ns;
  }
  return out;
}

// perf record's control fifo: "enable" / "disable", each answered on the ack fifo.
class PerfControl {
 public:
  PerfControl(const std::string& ctl, const std::string& ack) {
    if (ctl.empty()) return;
    ctl_ = ::open(ctl.c_str(), O_WRONLY | O_CLOEXEC);
    ack_ = ::open(ack.c_str(), O_RDONLY | O_CLOEXEC);
    if (ctl_ < 0 || ack_ < 0) bench::die("cannot open the perf control fifos " + ctl + ", " + ack);
  }
  void send(const char* what) {
    if (ctl_ < 0) return;
    std::string line = std::string{what} + "\n";
    if (::write(ctl_, line.data(), line.size()) < 0) bench::die("perf control fifo: write failed");
    char buf[16];
    (void)::read(ack_, buf, sizeof buf);  // "ack\n"
  }

 private:
  int ctl_ = -1, ack_ = -1;
};

void print_cpu(const std::map<std::string, double>& before, const std::map<std::string, double>& after,
               int n) {
  double total = 0;
  for (const auto& [name, ns] : after) {
    auto it = before.find(name);
    double spent = ns - (it == before.end() ? 0 : it->second);
    total += spent;
    std::printf("  thread %-22s %8.1f ms CPU, %6.1f us per child\n", name.c_str(), spent / 1e6,
                spent / 1e3 / n);
  }
  std::printf("  all threads %-17s %8.1f ms CPU, %6.1f us per child\n", "", total / 1e6, total / 1e3 / n);
}

void wait_for_line(const std::string& say) {
  std::printf("%s\n", say.c_str());
  std::fflush(stdout);
  std::string line;
  std::getline(std::cin, line);
}

// One round: start them, (pause,) cancel them all and wait for each; prints
// the cancel phase's figures.
void round(const Options& o, PerfControl& perf) {
  int n = o.sleepers;
  std::vector<std::optional<procctx::Process>> procs(static_cast<std::size_t>(n));
  procctx::WithCancel scope = procctx::with_cancel(procctx::background());
  procctx::Command cmd{"/bin/sleep", {"60"}};
  if (!o.default_stop) cmd.stop({{SIGKILL, procctx::Duration{}}});
  for (auto& slot : procs) {
    auto p = cmd.spawn(scope.ctx);
    if (!p) bench::die(p.error().message());
    slot.emplace(std::move(*p));
  }
  if (o.pause) wait_for_line("ready " + std::to_string(::getpid()));

  auto cpu0 = thread_cpu_ns();
  perf.send("enable");
  auto t0 = Clock::now();
  scope.cancel("benchmark: cancel all");
  int expected = 0;
  for (const auto& p : procs) {
    const procctx::Completed& c = p->wait();
    expected += c.stop_reason == procctx::StopReason::canceled && c.status.signal() != 0;
  }
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  perf.send("disable");
  auto cpu1 = thread_cpu_ns();
  if (o.pause) wait_for_line("done");

  std::printf("cancel-all of %d (%s): %.1f ms, %d/%d stopped by the cancel\n", n,
              o.default_stop ? "default stop sequence" : "SIGKILL", ms, expected, n);
  print_cpu(cpu0, cpu1, n);
  std::fflush(stdout);
}

// What procctx's process-tree code reads before a stop (proc::descendants):
// the task directory, then each task's children file.
void scan_children(pid_t pid) {
  std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  int dir = ::open(tasks.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return;
  std::vector<std::string> tids;
  char buf[8192];
  for (long n; (n = ::syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0;) {
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<struct dirent64*>(buf + off);
      if (d->d_name[0] != '.') tids.emplace_back(d->d_name);
      off += d->d_reclen;
    }
  }
  ::close(dir);
  for (const auto& tid : tids) {
    int fd = ::open((tasks + "/" + tid + "/children").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    (void)::read(fd, buf, sizeof buf);
    ::close(fd);
  }
}

// The cheaper read: the main thread's children only, no task listing.
void main_thread_children(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[4096];
  (void)::read(fd, buf, sizeof buf);
  ::close(fd);
}

void c_signal_all(const std::vector<pid_t>& pids, const std::vector<int>& pidfds, int epfd,
                  const CExtras& x) {
  for (std::size_t i = 0; i < pids.size(); ++i) {
    if (x.precheck) {
      siginfo_t info{};
      (void)::syscall(SYS_waitid, P_PIDFD, pidfds[i], &info, WEXITED | WNOHANG, nullptr);
    }
    if (x.epoll) {
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLONESHOT;
      ev.data.u64 = i;
      (void)::epoll_ctl(epfd, EPOLL_CTL_ADD, pidfds[i], &ev);
    }
    if (x.scan) scan_children(pids[i]);
    if (x.scan1) main_thread_children(pids[i]);
    if (x.getpgid) (void)::getpgid(pids[i]);
    ::kill(-pids[i], SIGKILL);
  }
}

int c_reap_all(const std::vector<pid_t>& pids, const std::vector<int>& pidfds) {
  int killed = 0;
  for (std::size_t i = 0; i < pids.size(); ++i) {
    int st = 0;
    if (pidfds.empty()) {
      st = bench::raw_wait(pids[i]);
    } else {
      siginfo_t info{};
      while (::syscall(SYS_waitid, P_PIDFD, pidfds[i], &info, WEXITED, nullptr) < 0 && errno == EINTR) {}
      st = info.si_code == CLD_KILLED ? info.si_status : 0;
      st = st ? st : 0x100;  // not SIGKILL: anything WIFSIGNALED rejects
    }
    killed += pidfds.empty() ? (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) : st == SIGKILL;
  }
  return killed;
}

void c_round(const Options& o, PerfControl& perf) {
  CExtras x = parse_extras(*o.c_extras);
  int n = o.sleepers;
  bench::Argv argv{{"/bin/sleep", "60"}};
  posix_spawnattr_t attr;
  ::posix_spawnattr_init(&attr);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  ::posix_spawnattr_setpgroup(&attr, 0);
  std::vector<pid_t> pids;
  std::vector<int> pidfds;
  for (int i = 0; i < n; ++i) {
    pids.push_back(bench::raw_spawn(argv, nullptr, &attr));
    if (x.pidfd) pidfds.push_back(static_cast<int>(::syscall(SYS_pidfd_open, pids.back(), 0)));
  }
  ::posix_spawnattr_destroy(&attr);
  int epfd = x.epoll ? ::epoll_create1(EPOLL_CLOEXEC) : -1;

  auto cpu0 = thread_cpu_ns();
  perf.send("enable");
  auto t0 = Clock::now();
  c_signal_all(pids, pidfds, epfd, x);
  int killed = c_reap_all(pids, pidfds);
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  perf.send("disable");
  auto cpu1 = thread_cpu_ns();
  for (int fd : pidfds) ::close(fd);
  if (epfd >= 0) ::close(epfd);

  std::printf("C cancel-all of %d (extras: %s): %.1f ms, %d/%d killed by SIGKILL\n", n, o.c_extras->c_str(),
              ms, killed, n);
  print_cpu(cpu0, cpu1, n);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  PerfControl perf{o.perf_ctl, o.perf_ack};
  for (int r = 0; r < o.rounds; ++r) {
    if (o.c_extras) {
      c_round(o, perf);
    } else {
      round(o, perf);
    }
  }
  return 0;
}
