// The ways users start and wait for a child, each against hand-written C
// (posix_spawn + waitpid) in the same run: spawns per second and the
// parent's CPU per spawn (all of its threads, procctx's loop included).
//
//   run          Command{"/bin/true"}.run()
//   spawn+wait   cmd.spawn() then p.wait()
//   deadline     with_timeout(background(), 30s), then spawn + wait under it
//   on_exit      spawn, then p.on_exit(callback); the caller waits for the callback
//   wait_async   spawn, then p.wait_async().get()
//   co_await     a coroutine that spawns and co_awaits p.completion()
//
// The repetitions interleave C and every path, so that a slow patch of a
// shared machine hits them alike; the figures are medians. The summary
// lines (after "== summary ==") are in the form bench/run.sh collects.
//
// Options: --reps N (5), --spawns N (1000 per path and repetition).
#include <procctx/procctx.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <spawn.h>
#include <sys/resource.h>
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

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::size_t mid = v.size() / 2;
  return v.empty() ? 0 : v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

double cpu_seconds_self() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct Rate {
  double per_s = 0;
  double cpu_us = 0;
};

// Runs `one` n times: spawns per second and parent CPU microseconds per spawn.
Rate measure(int n, const std::function<void()>& one) {
  double cpu0 = cpu_seconds_self();
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) one();
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  return {n / s, (cpu_seconds_self() - cpu0) * 1e6 / n};
}

const procctx::Command& true_cmd() {
  static const procctx::Command cmd{"/bin/true"};
  return cmd;
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

procctx::Process spawn_or_die(const procctx::Context& ctx = procctx::background()) {
  auto p = true_cmd().spawn(ctx);
  if (!p) die(p.error().message());
  return std::move(*p);
}

void run_once() {
  auto c = true_cmd().run();
  if (!c) die(c.error().message());
  check(*c);
}

void spawn_wait_once() { check(spawn_or_die().wait()); }

void deadline_once() {
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 30s);
  check(spawn_or_die(ctx).wait());
}

void on_exit_once() {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  auto p = spawn_or_die();
  p.on_exit([&](const procctx::Completed& c) {
    check(c);
    std::lock_guard lock{mu};
    done = true;
    cv.notify_one();
  });
  std::unique_lock lock{mu};
  cv.wait(lock, [&] { return done; });
}

void wait_async_once() { check(spawn_or_die().wait_async().get()); }

// The smallest coroutine that co_awaits a child: it starts at once and
// tells the caller (through `done`) when it has finished.
struct Task {
  struct promise_type {
    Task get_return_object() { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
};

struct Done {
  std::mutex mu;
  std::condition_variable cv;
  bool set = false;
};

Task await_child(Done& done) {
  auto p = spawn_or_die();
  check(co_await p.completion());
  std::lock_guard lock{done.mu};
  done.set = true;
  done.cv.notify_one();
}

void co_await_once() {
  Done done;
  (void)await_child(done);
  std::unique_lock lock{done.mu};
  done.cv.wait(lock, [&] { return done.set; });
}

struct Path {
  const char* name;
  void (*once)();
  double cpu_target;  // at most this times C's parent CPU per spawn
};

const Path kPaths[] = {
    {"run", run_once, 1.15},           {"spawn+wait", spawn_wait_once, 1.25},
    {"deadline", deadline_once, 1.25}, {"on_exit", on_exit_once, 1.25},
    {"wait_async", wait_async_once, 1.25}, {"co_await", co_await_once, 1.25},
};

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v >= 100 ? "%.0f" : "%.1f", v);
  return buf;
}

std::string verdict(double ratio, bool at_least, double target) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "(target %s %.2fx) %s", at_least ? ">=" : "<=", target,
                (at_least ? ratio >= target : ratio <= target) ? "MET" : "MISSED");
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 5, spawns = 1000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--reps" && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else if (a == "--spawns" && i + 1 < argc) {
      spawns = std::atoi(argv[++i]);
    } else {
      die("unknown option " + a + " (--reps N --spawns N)");
    }
  }
  constexpr std::size_t kPathCount = std::size(kPaths);
  std::vector<double> raw_rate, raw_cpu;
  std::vector<std::vector<double>> rate(kPathCount), cpu(kPathCount);
  // A warm-up of each, then the interleaved repetitions.
  (void)measure(spawns / 10, raw_once);
  for (const Path& p : kPaths) (void)measure(spawns / 10, p.once);
  for (int r = 0; r < reps; ++r) {
    Rate raw = measure(spawns, raw_once);
    raw_rate.push_back(raw.per_s);
    raw_cpu.push_back(raw.cpu_us);
    std::printf("rep %d: C %s/s (%s us CPU)", r + 1, fmt(raw.per_s).c_str(), fmt(raw.cpu_us).c_str());
    for (std::size_t i = 0; i < kPathCount; ++i) {
      Rate ours = measure(spawns, kPaths[i].once);
      rate[i].push_back(ours.per_s);
      cpu[i].push_back(ours.cpu_us);
      std::printf(", %s %s/s (%s us)", kPaths[i].name, fmt(ours.per_s).c_str(), fmt(ours.cpu_us).c_str());
    }
    std::printf("\n");
    std::fflush(stdout);
  }
  double c_rate = median(raw_rate), c_cpu = median(raw_cpu);
  std::printf("== summary ==\n");
  for (std::size_t i = 0; i < kPathCount; ++i) {
    double r = median(rate[i]), c = median(cpu[i]);
    std::printf("W1 %s, spawns/s: procctx %s spawns/s vs posix_spawn+waitpid %s spawns/s = %.2fx %s\n",
                kPaths[i].name, fmt(r).c_str(), fmt(c_rate).c_str(), r / c_rate,
                verdict(r / c_rate, true, 0.97).c_str());
    std::printf("W1 %s, parent CPU per spawn: procctx %s us vs posix_spawn+waitpid %s us = %.2fx %s\n",
                kPaths[i].name, fmt(c).c_str(), fmt(c_cpu).c_str(), c / c_cpu,
                verdict(c / c_cpu, false, kPaths[i].cpu_target).c_str());
  }
  return 0;
}
