// The ways users start and wait for a child, each against hand-written C
// (posix_spawn + waitpid) in the same run: spawns per second and the
// parent's CPU per spawn (all of its threads, procctx's loop included; what
// a child does before its exec is the child's CPU on both sides, and shows
// in the rate).
//
//   run          Command{"/bin/true"}.run()
//   spawn+wait   Command{"/bin/true"}.spawn() then p.wait()
//   deadline     with_timeout(background(), 30s), then spawn + wait under it
//   on_exit      spawn, then p.on_exit(callback); the caller waits for the callback
//   wait_async   spawn, then p.wait_async().get()
//   co_await     a coroutine that spawns and co_awaits p.completion()
//   by name      Command{"true"}.spawn() then p.wait(): "true" looked up on PATH
//   by absolute path  the same with the path that lookup finds (the by-name
//                row's reference: parent CPU <= 1.05x; the lookup runs in the
//                child, so it shows in the child's time and in the rate)
//
// Each path builds its Command per spawn, as a caller writes it; C passes a
// static argv, as a C caller writes it. Like for like: both sides clone with
// CLONE_VM | CLONE_VFORK (glibc's posix_spawn; procctx's clone3), both pass
// the parent's environ as it is, and the parent's CPU is
// CLOCK_PROCESS_CPUTIME_ID on both, procctx's loop thread included (it
// exists while C runs too). What stays in a callback path's figure and not
// in C's is the hop to the caller's thread: the loop thread wakes for the
// exit and wakes the caller (a futex wait and wake, the bench's Done), where
// C's caller sleeps in waitpid itself. How the
// figures are taken, for a small shared machine whose speed changes from one
// second to the next:
// - every repetition runs `--spawns` of each path (C included) in chunks of
//   `--chunk`, one chunk of every path in turn, the order rotated each round:
//   a slow patch hits every path alike, and no path always runs first;
// - a path's figure in a repetition is its total over its chunks; its ratio
//   is taken against C in the same repetition;
// - the summary gives medians over the repetitions, and the ratio is the
//   median of the per-repetition ratios, with their range in brackets.
// The summary lines (after "== summary ==") are in the form bench/run.sh
// collects.
//
// Options: --reps N (9), --spawns N (300 per path and repetition), --chunk N
// (10), --only NAME,... (those paths and C, e.g. to strace or perf one path),
// --prices (also hand-written C making the syscalls procctx's spawn + wait
// makes besides posix_spawn's, to price them; info rows, not run by default).
//
// A callback path cannot be as cheap as a caller that sleeps in waitpid: the
// exit wakes a thread that is not the caller's, which then wakes the caller.
// What that hop costs on the machine at hand is measured too, by
// hand-written C that makes it and nothing else (C+thread-hop: a thread of
// its own waits in epoll for the child's pidfd, reaps it and wakes the
// caller through the same Done). Each callback path is compared with it
// as well (information, beside the targets against C): that ratio is what
// procctx adds to the hop.
#include <procctx/procctx.hpp>

#include "figures.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include <thread>

#include <fcntl.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "paths_bench: %s\n", what.c_str());
  std::exit(1);
}

void check(const procctx::Completed& c) {
  if (!c.status.success()) die("/bin/true: " + c.status.to_string());
}

void raw_once() {
  static char path[] = "/bin/true";
  static char* argv[] = {path, nullptr};
  pid_t pid = 0;
  if (int rc = ::posix_spawn(&pid, path, nullptr, nullptr, argv, environ); rc != 0) die(std::strerror(rc));
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) die(std::strerror(errno));
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) die("/bin/true failed (raw)");
}

procctx::Process spawn_or_die(const procctx::Context& ctx = procctx::background(),
                              const std::string& program = "/bin/true") {
  auto p = procctx::Command{program}.spawn(ctx);
  if (!p) die(p.error().message());
  return std::move(*p);
}

void run_once() {
  auto c = procctx::Command{"/bin/true"}.run();
  if (!c) die(c.error().message());
  check(*c);
}

void spawn_wait_once() { check(spawn_or_die().wait()); }

// Where "true" is on this PATH, found once as execvp would find it.
const std::string& true_on_path() {
  static const std::string found = [] {
    const char* path = std::getenv("PATH");
    std::string rest = path ? path : "/usr/local/bin:/usr/bin:/bin";
    for (std::size_t from = 0; from <= rest.size();) {
      std::size_t end = std::min(rest.find(':', from), rest.size());
      std::string candidate = rest.substr(from, end - from) + "/true";
      if (candidate.front() == '/' && ::access(candidate.c_str(), X_OK) == 0) return candidate;
      from = end + 1;
    }
    die("no 'true' on an absolute PATH entry");
  }();
  return found;
}

void by_path_once() { check(spawn_or_die(procctx::background(), true_on_path()).wait()); }
void by_name_once() { check(spawn_or_die(procctx::background(), "true").wait()); }

void deadline_once() {
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 30s);
  check(spawn_or_die(ctx).wait());
}

// How the caller blocks until its callback has run: a flag, mutex and
// condition variable that live as long as the program, so the callback can
// notify after unlocking without touching a waiter that has gone: one futex
// wait and one wake per spawn. (On the caller's stack they would have to be
// notified under the lock, waking the waiter only to block it on the mutex:
// two more futex calls per spawn, the benchmark's cost and not procctx's;
// std::binary_semaphore spins and calls sched_yield about four times first.)
class Done {
 public:
  void release() {
    {
      std::lock_guard lock{mu_};
      set_ = true;
    }
    cv_.notify_one();
  }
  void acquire() {
    std::unique_lock lock{mu_};
    cv_.wait(lock, [&] { return set_; });
    set_ = false;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

Done g_done;

void on_exit_once() {
  auto p = spawn_or_die();
  p.on_exit([](const procctx::Completed& c) {
    check(c);
    g_done.release();
  });
  g_done.acquire();
}

void wait_async_once() { check(spawn_or_die().wait_async().get()); }

// The smallest coroutine that co_awaits a child: it starts at once and
// tells the caller (through g_done) when it has finished.
struct Task {
  struct promise_type {
    Task get_return_object() { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
};

Task await_child() {
  auto p = spawn_or_die();
  check(co_await p.completion());
  g_done.release();
}

void co_await_once() {
  (void)await_child();
  g_done.acquire();
}

// The syscalls procctx's spawn + wait of /bin/true makes in the parent that
// posix_spawn + waitpid does not (strace -f of paths_bench --only spawn+wait):
// three fcntl(F_GETFD) on the caller's stdio, a pidfd (CLONE_PIDFD; here
// pidfd_open), waitid(P_PIDFD, WNOWAIT) then
// waitid(P_PIDFD, WNOHANG) to reap, kill(-pgid, 0) to look for leftovers in
// the group, close(pidfd). (posix_spawn's mmap and munmap of a child stack
// per spawn procctx does not make: its stack is kept.) With `all`, each of
// them; without, only the pidfd and one waitid.
void raw_pidfd_once(bool all) {
  static char path[] = "/bin/true";
  static char* argv[] = {path, nullptr};
  if (all) {
    for (int fd = 0; fd < 3; ++fd) (void)::fcntl(fd, F_GETFD);
  }
  pid_t pid = 0;
  if (int rc = ::posix_spawn(&pid, path, nullptr, nullptr, argv, environ); rc != 0) die(std::strerror(rc));
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) die(std::string{"pidfd_open: "} + std::strerror(errno));
  siginfo_t info{};
  if (all) {
    while (::syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED | WNOWAIT, nullptr) < 0 && errno == EINTR) {}
  }
  while (::syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED | (all ? WNOHANG : 0), nullptr) < 0 &&
         errno == EINTR) {}
  if (all) (void)::kill(-pid, 0);
  ::close(pidfd);
  if (info.si_code != CLD_EXITED || info.si_status != 0) die("/bin/true failed (raw, pidfd)");
}

void raw_pidfd_only_once() { raw_pidfd_once(false); }
void raw_procctx_syscalls_once() { raw_pidfd_once(true); }

// The hop of the callback paths and nothing else, in hand-written C: a
// thread of its own waits in epoll for each child's pidfd (one-shot, as
// procctx's loop does), reaps the child, and wakes the caller, who waits as
// the callback paths' callers wait (a Done). The pidfd comes from
// pidfd_open, one syscall more than procctx's CLONE_PIDFD.
class HopThread {
 public:
  HopThread() : epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (epoll_ < 0) die(std::string{"epoll_create1: "} + std::strerror(errno));
    std::thread([this] { run(); }).detach();
  }
  // Waits until the thread has reaped the child of `pidfd`; its wait status.
  siginfo_t reap_there(int pidfd) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.fd = pidfd;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, pidfd, &ev) != 0) die(std::string{"epoll_ctl: "} + std::strerror(errno));
    done_.acquire();
    return info_;
  }

 private:
  [[noreturn]] void run() {
    for (;;) {
      epoll_event ev{};
      if (::epoll_wait(epoll_, &ev, 1, -1) != 1) continue;
      siginfo_t info{};
      while (::syscall(SYS_waitid, P_PIDFD, ev.data.fd, &info, WEXITED, nullptr) < 0 && errno == EINTR) {}
      ::close(ev.data.fd);
      info_ = info;  // published by done_'s mutex
      done_.release();
    }
  }
  int epoll_;
  Done done_;
  siginfo_t info_{};
};

void raw_hop_once() {
  static HopThread hop;
  static char path[] = "/bin/true";
  static char* argv[] = {path, nullptr};
  pid_t pid = 0;
  if (int rc = ::posix_spawn(&pid, path, nullptr, nullptr, argv, environ); rc != 0) die(std::strerror(rc));
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) die(std::string{"pidfd_open: "} + std::strerror(errno));
  siginfo_t info = hop.reap_there(pidfd);
  if (info.si_code != CLD_EXITED || info.si_status != 0) die("/bin/true failed (raw, thread hop)");
}

struct Path {
  const char* name;
  void (*once)();
  double cpu_target;  // at most this times C's parent CPU per spawn; 0: info, and only with --prices
  bool callback = false;  // the child's end reaches the caller from another thread
  bool name_pair = false;  // by name and by absolute path: compared with each other, not with C
};

// The reference first; bench/run.sh's rows name it as it is named here.
constexpr Path kPaths[] = {
    {"posix_spawn+waitpid", raw_once, 1.0},
    {"run", run_once, 1.15},
    {"spawn+wait", spawn_wait_once, 1.25},
    {"deadline", deadline_once, 1.25},
    {"on_exit", on_exit_once, 1.25, true},
    {"wait_async", wait_async_once, 1.25, true},
    {"co_await", co_await_once, 1.25, true},
    {"C+thread-hop", raw_hop_once, 0},
    {"C+pidfd", raw_pidfd_only_once, 0},
    {"C+procctx-syscalls", raw_procctx_syscalls_once, 0},
    {"by absolute path", by_path_once, 0, false, true},
    {"by name", by_name_once, 0, false, true},
};
constexpr std::size_t kPathCount = std::size(kPaths);
// The callback paths' own reference, run by default.
constexpr std::size_t kHop = 7;
static_assert(kPaths[kHop].once == raw_hop_once);
// The spawn by name, and its reference: the same program by its absolute path.
constexpr std::size_t kByPath = 10, kByName = 11;
static_assert(kPaths[kByPath].once == by_path_once && kPaths[kByName].once == by_name_once);

// Which paths run (--only, --prices); C, the reference, always does, and
// the hop's price whenever a callback path does.
std::vector<bool> g_enabled = [] {
  std::vector<bool> on;
  for (const Path& p : kPaths) on.push_back(p.cpu_target > 0 || p.name_pair);
  on[kHop] = true;
  return on;
}();

void enable_only(const std::string& list) {
  std::fill(g_enabled.begin() + 1, g_enabled.end(), false);
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = std::min(list.find(',', start), list.size());
    std::string name = list.substr(start, end - start);
    auto it =
        std::find_if(std::begin(kPaths), std::end(kPaths), [&](const Path& p) { return name == p.name; });
    if (it == std::end(kPaths)) die("--only: no path named '" + name + "'");
    g_enabled[static_cast<std::size_t>(it - std::begin(kPaths))] = true;
    if (it->callback) g_enabled[kHop] = true;
    if (it->name_pair) g_enabled[kByPath] = g_enabled[kByName] = true;
    start = end + 1;
  }
}

struct Totals {
  double seconds = 0, cpu_seconds = 0;
  int spawns = 0;
  double rate() const { return spawns / seconds; }
  double cpu_us() const { return cpu_seconds * 1e6 / spawns; }
};

void run_chunk(const Path& path, int n, Totals& into) {
  double cpu0 = bench::process_cpu_seconds();
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) path.once();
  into.seconds += std::chrono::duration<double>(Clock::now() - t0).count();
  into.cpu_seconds += bench::process_cpu_seconds() - cpu0;
  into.spawns += n;
}

// One repetition: `spawns` of every path, a chunk of each in turn, the
// order rotated by one path each round.
std::vector<Totals> repetition(int spawns, int chunk) {
  std::vector<Totals> totals(kPathCount);
  for (int round = 0, done = 0; done < spawns; ++round, done += chunk) {
    int n = std::min(chunk, spawns - done);
    for (std::size_t k = 0; k < kPathCount; ++k) {
      std::size_t i = (static_cast<std::size_t>(round) + k) % kPathCount;
      if (g_enabled[i]) run_chunk(kPaths[i], n, totals[i]);
    }
  }
  return totals;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v >= 100 ? "%.0f" : "%.1f", v);
  return buf;
}

// Judged as printed, to two decimals: a row reading "1.25x" against
// "<= 1.25x" is MET.
std::string verdict(double ratio, bool at_least, double target) {
  ratio = bench::two_decimals(ratio);
  char buf[64];
  std::snprintf(buf, sizeof buf, "(target %s %.2fx) %s", at_least ? ">=" : "<=", target,
                (at_least ? ratio >= target : ratio <= target) ? "MET" : "MISSED");
  return buf;
}

// Per path, over the repetitions: rate, CPU per spawn, and both as ratios
// to C in the same repetition.
struct Series {
  std::vector<double> rate, cpu_us, rate_ratio, cpu_ratio;
  std::vector<double> hop_rate_ratio, hop_cpu_ratio;  // callback paths: to C+thread-hop
  std::vector<double> pair_rate_ratio, pair_cpu_ratio;  // by name: to by absolute path
};

void print_repetition(int r, const std::vector<Totals>& t) {
  const Totals& c = t[0];
  std::printf("rep %d: C %s/s (%s us CPU)", r, fmt(c.rate()).c_str(), fmt(c.cpu_us()).c_str());
  for (std::size_t i = 1; i < kPathCount; ++i) {
    if (!g_enabled[i]) continue;
    std::printf(", %s %s/s (%s us, %.2fx CPU)", kPaths[i].name, fmt(t[i].rate()).c_str(),
                fmt(t[i].cpu_us()).c_str(), t[i].cpu_us() / c.cpu_us());
  }
  std::printf("\n");
  std::fflush(stdout);
}

// A spawn by name beside the same spawn by absolute path: the parent's CPU
// (judged) and the rate (information: the child's PATH search is in it).
void print_name_pair(const std::vector<Series>& s) {
  if (!g_enabled[kByName]) return;
  bench::Spread rr = bench::spread(s[kByName].pair_rate_ratio), cr = bench::spread(s[kByName].pair_cpu_ratio);
  const char* row = "W1 spawn by name vs by absolute path";
  std::printf("%s, parent CPU per spawn: procctx %s us vs by absolute path %s %s us = %.2fx%s %s\n", row,
              fmt(bench::median(s[kByName].cpu_us)).c_str(), true_on_path().c_str(),
              fmt(bench::median(s[kByPath].cpu_us)).c_str(), cr.median, bench::range_of(cr).c_str(),
              verdict(cr.median, false, 1.05).c_str());
  std::printf("%s, spawns/s: procctx %s spawns/s vs by absolute path %s %s spawns/s = %.2fx%s (info)\n", row,
              fmt(bench::median(s[kByName].rate)).c_str(), true_on_path().c_str(),
              fmt(bench::median(s[kByPath].rate)).c_str(), rr.median, bench::range_of(rr).c_str());
}

void print_summary(const std::vector<Series>& s) {
  bench::Spread c_rate = bench::spread(s[0].rate), c_cpu = bench::spread(s[0].cpu_us);
  std::printf("noise: C over %zu repetitions: %s-%s spawns/s, %s-%s us CPU per spawn\n", s[0].rate.size(),
              fmt(c_rate.min).c_str(), fmt(c_rate.max).c_str(), fmt(c_cpu.min).c_str(),
              fmt(c_cpu.max).c_str());
  std::printf("== summary ==\n");
  for (std::size_t i = 1; i < kPathCount; ++i) {
    if (!g_enabled[i] || kPaths[i].name_pair) continue;
    bench::Spread rr = bench::spread(s[i].rate_ratio), cr = bench::spread(s[i].cpu_ratio);
    // A price row (hand-written C with procctx's syscalls) is information.
    bool price = kPaths[i].cpu_target == 0;
    const char* who = price ? "C" : "procctx";
    std::string rate_verdict = price ? "(info)" : verdict(rr.median, true, 0.97);
    std::string cpu_verdict = price ? "(info)" : verdict(cr.median, false, kPaths[i].cpu_target);
    std::printf("W1 %s, spawns/s: %s %s spawns/s vs %s %s spawns/s = %.2fx%s %s\n", kPaths[i].name, who,
                fmt(bench::median(s[i].rate)).c_str(), kPaths[0].name, fmt(c_rate.median).c_str(), rr.median,
                bench::range_of(rr).c_str(), rate_verdict.c_str());
    std::printf("W1 %s, parent CPU per spawn: %s %s us vs %s %s us = %.2fx%s %s\n", kPaths[i].name, who,
                fmt(bench::median(s[i].cpu_us)).c_str(), kPaths[0].name, fmt(c_cpu.median).c_str(), cr.median,
                bench::range_of(cr).c_str(), cpu_verdict.c_str());
  }
  for (std::size_t i = 1; i < kPathCount; ++i) {
    if (!g_enabled[i] || !kPaths[i].callback) continue;
    // What procctx adds to the hop itself, against C that makes the hop.
    bench::Spread rr = bench::spread(s[i].hop_rate_ratio), cr = bench::spread(s[i].hop_cpu_ratio);
    const char* hop = kPaths[kHop].name;
    std::printf("W1 %s vs C with the same hop, spawns/s: procctx %s spawns/s vs %s %s spawns/s = %.2fx%s %s\n",
                kPaths[i].name, fmt(bench::median(s[i].rate)).c_str(), hop, fmt(bench::median(s[kHop].rate)).c_str(),
                rr.median, bench::range_of(rr).c_str(), "(info)");
    std::printf("W1 %s vs C with the same hop, parent CPU per spawn: procctx %s us vs %s %s us = %.2fx%s %s\n",
                kPaths[i].name, fmt(bench::median(s[i].cpu_us)).c_str(), hop,
                fmt(bench::median(s[kHop].cpu_us)).c_str(), cr.median, bench::range_of(cr).c_str(), "(info)");
  }
  print_name_pair(s);
}

int positive(const char* flag, const char* value) {
  char* end = nullptr;
  long v = std::strtol(value, &end, 10);
  if (*end != '\0' || v < 1 || v > 1'000'000) die(std::string{"bad value for "} + flag + ": " + value);
  return static_cast<int>(v);
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 9, spawns = 300, chunk = 10;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const char* usage = " (--reps N --spawns N --chunk N --only NAME,... --prices)";
    if (a == "--prices") {
      std::fill(g_enabled.begin(), g_enabled.end(), true);
      continue;
    }
    if (i + 1 >= argc) die("unknown option or missing value: " + a + usage);
    if (a == "--reps") {
      reps = positive("--reps", argv[++i]);
    } else if (a == "--spawns") {
      spawns = positive("--spawns", argv[++i]);
    } else if (a == "--chunk") {
      chunk = positive("--chunk", argv[++i]);
    } else if (a == "--only") {
      enable_only(argv[++i]);
    } else {
      die("unknown option " + a + usage);
    }
  }
  std::printf("paths_bench: %d repetitions of %d spawns per path, in chunks of %d; 'true' on PATH is %s\n",
              reps, spawns, chunk, true_on_path().c_str());
  // A warm-up of every path (procctx's loop thread starts, the caches and
  // the allocator settle), not counted.
  (void)repetition(std::max(chunk, spawns / 10), chunk);
  std::vector<Series> series(kPathCount);
  for (int r = 1; r <= reps; ++r) {
    std::vector<Totals> t = repetition(spawns, chunk);
    for (std::size_t i = 0; i < kPathCount; ++i) {
      if (!g_enabled[i]) continue;
      series[i].rate.push_back(t[i].rate());
      series[i].cpu_us.push_back(t[i].cpu_us());
      series[i].rate_ratio.push_back(t[i].rate() / t[0].rate());
      series[i].cpu_ratio.push_back(t[i].cpu_us() / t[0].cpu_us());
      if (kPaths[i].callback && g_enabled[kHop]) {
        series[i].hop_rate_ratio.push_back(t[i].rate() / t[kHop].rate());
        series[i].hop_cpu_ratio.push_back(t[i].cpu_us() / t[kHop].cpu_us());
      }
      if (i == kByName) {
        series[i].pair_rate_ratio.push_back(t[i].rate() / t[kByPath].rate());
        series[i].pair_cpu_ratio.push_back(t[i].cpu_us() / t[kByPath].cpu_us());
      }
    }
    print_repetition(r, t);
  }
  print_summary(series);
  return 0;
}
