// Process benchmarks: procctx against hand-written C doing the same work in
// the same run. The machine these run on is small and shared, so absolute
// figures drift from run to run; what is meant to be compared are the ratios,
// whose two sides are measured interleaved, minutes apart at most.
//
//   W1  spawn + wait /bin/true, sequentially          procctx vs posix_spawn + waitpid
//   W2  the same from a parent holding 4 GiB touched   big parent vs small parent
//   W4  1 GiB of stdout read to the end               Stdio::capture() vs a read loop on a pipe
//   W3  1,000 sleeping children under one context     threads, RSS, start time, cancel-all time
//
// Every figure is the median of several repetitions. The last lines printed
// (after "== summary ==") are one line per target, in the form bench/run.sh
// collects:
//   NAME: procctx X unit vs REF Y unit = R.RRx (target >= T) MET|MISSED
//   NAME: procctx X unit (target <= T unit) MET|MISSED
// with "(info)" in place of a target for figures that are only reported.
//
// Options: --reps N (5), --spawns N (500), --big-gib N (4, 0 skips W2),
// --capture-mib N (1024), --sleepers N (1000), --sleeper-reps N (3),
// --no-pinned (skip the one-CPU run after W1), --only W1,W2,W3,W4.
#include <procctx/procctx.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PROCCTX_FLOOD
#error "PROCCTX_FLOOD must name the procctx_flood binary (bench/CMakeLists.txt defines it)"
#endif

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "spawn_bench: %s\n", what.c_str());
  std::exit(1);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t mid = v.size() / 2;
  return v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

std::string num(double v) {
  char buf[64];
  if (v == static_cast<double>(static_cast<long long>(v)) && v < 1e15)
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  else if (v >= 100)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (v >= 10)
    std::snprintf(buf, sizeof buf, "%.1f", v);
  else
    std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// ---------------------------------------------------------------------------
// Summary lines

enum class Want { at_least, at_most, info };

std::vector<std::string> summary;

std::string verdict(double value, Want want, double target, const std::string& target_unit) {
  if (want == Want::info) return "(info)";
  bool met = want == Want::at_least ? value >= target : value <= target;
  char buf[96];
  std::snprintf(buf, sizeof buf, "(target %s %s%s) %s",
                want == Want::at_least ? ">=" : "<=", num(target).c_str(), target_unit.c_str(),
                met ? "MET" : "MISSED");
  return buf;
}

// "NAME: WHO X unit vs REF Y unit = R.RRx (target ...)"; WHO is "procctx"
// except on the information lines about the C reference itself.
void ratio_line(const std::string& name, const std::string& who, double ours, const std::string& ref_name,
                double ref, const std::string& unit, Want want, double target) {
  double ratio = ref > 0 ? ours / ref : 0;
  char r[32];
  std::snprintf(r, sizeof r, "%.2fx", ratio);
  std::string line = name + ": " + who + " " + num(ours) + " " + unit + " vs " + ref_name + " " + num(ref) +
                     " " + unit + " = " + r + " " + verdict(ratio, want, target, "x");
  summary.push_back(line);
  std::printf("%s\n", line.c_str());
}

void value_line(const std::string& name, double ours, const std::string& unit, Want want, double target) {
  std::string line =
      name + ": procctx " + num(ours) + " " + unit + " " + verdict(ours, want, target, " " + unit);
  summary.push_back(line);
  std::printf("%s\n", line.c_str());
}

void skipped_line(const std::string& name, const std::string& why) {
  std::string line = name + ": SKIPPED (" + why + ")";
  summary.push_back(line);
  std::printf("%s\n", line.c_str());
}

// ---------------------------------------------------------------------------
// What /proc says about us

long status_kib(const char* field) {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  std::string want = std::string{field} + ":";
  while (std::getline(in, line)) {
    if (line.compare(0, want.size(), want) == 0) return std::strtol(line.c_str() + want.size(), nullptr, 10);
  }
  return -1;
}

long mem_available_kib() {
  std::ifstream in{"/proc/meminfo"};
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, 13, "MemAvailable:") == 0) return std::strtol(line.c_str() + 13, nullptr, 10);
  }
  return -1;
}

struct Threads {
  int total = 0;
  int loop = 0;  // named "procctx-loop"
};

Threads count_threads() {
  Threads t;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    ++t.total;
    std::string comm;
    std::ifstream{task.path() / "comm"} >> comm;
    if (comm == "procctx-loop") ++t.loop;
  }
  return t;
}

double cpu_seconds_self() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Every thread of this process, procctx's loop included (a new thread would
// inherit the mask of the thread that creates it, not this call's).
bool set_affinity_all_threads(const cpu_set_t& mask) {
  bool ok = true;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    auto tid = static_cast<pid_t>(std::strtol(task.path().filename().c_str(), nullptr, 10));
    if (::sched_setaffinity(tid, sizeof mask, &mask) != 0) ok = false;
  }
  if (!ok) std::printf("  sched_setaffinity failed: %s\n", std::strerror(errno));
  return ok;
}

void raise_nofile() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  ::getrlimit(RLIMIT_NOFILE, &rl);
  std::printf("RLIMIT_NOFILE: %llu\n", static_cast<unsigned long long>(rl.rlim_cur));
}

// ---------------------------------------------------------------------------
// Hand-written C: posix_spawn (glibc's uses CLONE_VM|CLONE_VFORK, as procctx
// does) and waitpid on that one pid.

struct Argv {
  std::vector<std::string> words;
  std::vector<char*> ptrs;
  explicit Argv(std::vector<std::string> w) : words(std::move(w)) {
    for (auto& s : words) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
  }
  char* const* get() { return ptrs.data(); }
};

pid_t raw_spawn(Argv& argv, const posix_spawn_file_actions_t* actions, const posix_spawnattr_t* attr) {
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, argv.words[0].c_str(), actions, attr, argv.get(), environ);
  if (rc != 0) die("posix_spawn " + argv.words[0] + ": " + std::strerror(rc));
  return pid;
}

int raw_wait(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) die(std::string{"waitpid: "} + std::strerror(errno));
  }
  return status;
}

// ---------------------------------------------------------------------------
// W1 / W2: spawn + wait /bin/true

struct Rate {
  double per_s;
  double cpu_us;  // parent CPU (all threads, so procctx's loop too) per spawn
};

Rate raw_true(int n) {
  Argv argv{{"/bin/true"}};
  double cpu0 = cpu_seconds_self();
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    int st = raw_wait(raw_spawn(argv, nullptr, nullptr));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) die("/bin/true failed (raw)");
  }
  double s = seconds_since(t0);
  return {n / s, (cpu_seconds_self() - cpu0) * 1e6 / n};
}

Rate procctx_true(int n) {
  double cpu0 = cpu_seconds_self();
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    auto done = procctx::Command{"/bin/true"}.run();
    if (!done) die(done.error().message());
    if (!done->status.success()) die("/bin/true: " + done->status.to_string());
  }
  double s = seconds_since(t0);
  return {n / s, (cpu_seconds_self() - cpu0) * 1e6 / n};
}

struct SpawnFigures {
  double raw = 0, ours = 0, raw_cpu = 0, ours_cpu = 0;
};

// Interleaved raw, procctx, raw, procctx... so that a slow patch of the
// machine hits both sides alike.
SpawnFigures spawn_wait(const char* label, int reps, int n) {
  raw_true(n / 10);
  procctx_true(n / 10);
  std::vector<double> raw, ours, raw_cpu, ours_cpu;
  for (int r = 0; r < reps; ++r) {
    Rate a = raw_true(n);
    Rate b = procctx_true(n);
    raw.push_back(a.per_s);
    raw_cpu.push_back(a.cpu_us);
    ours.push_back(b.per_s);
    ours_cpu.push_back(b.cpu_us);
    std::printf("  %s rep %d: raw %s spawns/s (%s us CPU each), procctx %s spawns/s (%s us CPU each)\n",
                label, r + 1, num(a.per_s).c_str(), num(a.cpu_us).c_str(), num(b.per_s).c_str(),
                num(b.cpu_us).c_str());
    std::fflush(stdout);
  }
  return {median(raw), median(ours), median(raw_cpu), median(ours_cpu)};
}

// ---------------------------------------------------------------------------
// W4: 1 GiB through stdout

double raw_pipe_read(std::uint64_t bytes) {
  Argv argv{{PROCCTX_FLOOD, std::to_string(bytes)}};
  auto t0 = Clock::now();
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) die(std::string{"pipe2: "} + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  // dup2 onto 1 clears close-on-exec for the child's copy only.
  ::posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  pid_t pid = raw_spawn(argv, &actions, nullptr);
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  static char buf[64 * 1024];
  std::uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      die(std::string{"read: "} + std::strerror(errno));
    }
    if (n == 0) break;
    total += static_cast<std::uint64_t>(n);
  }
  ::close(fds[0]);
  int st = raw_wait(pid);
  double s = seconds_since(t0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || total != bytes) die("flood (raw) went wrong");
  return static_cast<double>(bytes) / s / 1e9;
}

double procctx_capture(std::uint64_t bytes) {
  auto t0 = Clock::now();
  auto done = procctx::Command{PROCCTX_FLOOD, {std::to_string(bytes)}}.out(procctx::Stdio::capture()).run();
  double s = seconds_since(t0);
  if (!done) die(done.error().message());
  if (!done->status.success()) die("flood (capture): " + done->status.to_string());
  if (done->out.total() != bytes) {
    die("flood (capture): saw " + std::to_string(done->out.total()) + " of " + std::to_string(bytes) +
        " bytes");
  }
  return static_cast<double>(bytes) / s / 1e9;
}

double procctx_pipe(std::uint64_t bytes) {
  auto t0 = Clock::now();
  auto p = procctx::Command{PROCCTX_FLOOD, {std::to_string(bytes)}}.out(procctx::Stdio::pipe()).spawn();
  if (!p) die(p.error().message());
  static char buf[64 * 1024];
  std::uint64_t total = 0;
  for (;;) {
    auto n = p->out().read(buf);
    if (!n) die(n.error().message());
    if (*n == 0) break;
    total += *n;
  }
  const procctx::Completed& done = p->wait();
  double s = seconds_since(t0);
  if (!done.status.success() || total != bytes) die("flood (pipe) went wrong");
  return static_cast<double>(bytes) / s / 1e9;
}

// ---------------------------------------------------------------------------
// W3: many sleeping children, then cancel them all

struct Sleepers {
  double start_ms = 0;        // spawning all of them
  double cancel_ms = 0;       // cancel (or kill) until every wait has returned
  double cancel_call_ms = 0;  // procctx: how long cancel() itself took
  double rss_kib_per_child = 0;
  Threads threads;
  int expected_deaths = 0;  // children that died of the expected signal
};

const char* const kSleep = "/bin/sleep";

Sleepers raw_sleepers(int n) {
  Sleepers out;
  std::vector<pid_t> pids;
  pids.reserve(static_cast<std::size_t>(n));
  Argv argv{{kSleep, "60"}};
  posix_spawnattr_t attr;
  ::posix_spawnattr_init(&attr);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  ::posix_spawnattr_setpgroup(&attr, 0);  // each child leads its own group, as with procctx
  long rss0 = status_kib("VmRSS");
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) pids.push_back(raw_spawn(argv, nullptr, &attr));
  out.start_ms = seconds_since(t0) * 1e3;
  out.rss_kib_per_child = static_cast<double>(status_kib("VmRSS") - rss0) / n;
  out.threads = count_threads();
  ::posix_spawnattr_destroy(&attr);

  auto t1 = Clock::now();
  for (pid_t pid : pids) ::kill(-pid, SIGKILL);
  for (pid_t pid : pids) {
    int st = raw_wait(pid);
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) ++out.expected_deaths;
  }
  out.cancel_ms = seconds_since(t1) * 1e3;
  return out;
}

Sleepers procctx_sleepers(int n, bool kill_only) {
  Sleepers out;
  // The caller's handle array is not the library's cost: allocated and
  // touched before the RSS reading.
  std::vector<std::optional<procctx::Process>> procs(static_cast<std::size_t>(n));
  procctx::WithCancel scope = procctx::with_cancel(procctx::background());
  procctx::Command cmd{kSleep, {"60"}};
  if (kill_only) cmd.stop({{SIGKILL, procctx::Duration{}}});
  long rss0 = status_kib("VmRSS");
  auto t0 = Clock::now();
  for (auto& slot : procs) {
    auto p = cmd.spawn(scope.ctx);
    if (!p) die(p.error().message());
    slot.emplace(std::move(*p));
  }
  out.start_ms = seconds_since(t0) * 1e3;
  out.rss_kib_per_child = static_cast<double>(status_kib("VmRSS") - rss0) / n;
  out.threads = count_threads();

  auto t1 = Clock::now();
  scope.cancel("benchmark: cancel all");
  out.cancel_call_ms = seconds_since(t1) * 1e3;
  int want_signal = kill_only ? SIGKILL : SIGTERM;
  for (const auto& p : procs) {
    const procctx::Completed& c = p->wait();
    if (c.status.signal() == want_signal && c.stop_reason == procctx::StopReason::canceled)
      ++out.expected_deaths;
  }
  out.cancel_ms = seconds_since(t1) * 1e3;
  return out;
}

// ---------------------------------------------------------------------------

struct Options {
  int reps = 5;
  int spawns = 500;
  int big_gib = 4;
  int capture_mib = 1024;
  int sleepers = 1000;
  int sleeper_reps = 3;
  bool pinned = true;  // the one-CPU diagnostic after W1
  std::string only;    // empty: all
  bool wants(const char* w) const {
    if (only.empty()) return true;
    std::stringstream ss{only};
    std::string item;
    while (std::getline(ss, item, ',')) {
      if (item == w) return true;
    }
    return false;
  }
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value for " + std::string{a});
      return argv[++i];
    };
    auto number = [&]() {
      std::string v = value();
      char* end = nullptr;
      long x = std::strtol(v.c_str(), &end, 10);
      if (*end != '\0' || x < 0 || x > 1'000'000) die("bad number for " + std::string{a} + ": " + v);
      return static_cast<int>(x);
    };
    if (a == "--reps")
      o.reps = std::max(1, number());
    else if (a == "--spawns")
      o.spawns = std::max(10, number());
    else if (a == "--big-gib")
      o.big_gib = number();
    else if (a == "--capture-mib")
      o.capture_mib = std::max(1, number());
    else if (a == "--sleepers")
      o.sleepers = std::max(1, number());
    else if (a == "--sleeper-reps")
      o.sleeper_reps = std::max(1, number());
    else if (a == "--no-pinned")
      o.pinned = false;
    else if (a == "--only")
      o.only = value();
    else
      die("unknown option " + std::string{a} +
          " (--reps --spawns --big-gib --capture-mib --sleepers --sleeper-reps --no-pinned --only)");
  }
  return o;
}

void run_spawn_workloads(const Options& o) {
  std::printf("\n== W1: spawn + wait /bin/true, %d per repetition, %d repetitions ==\n", o.spawns, o.reps);
  SpawnFigures small = spawn_wait("W1", o.reps, o.spawns);
  ratio_line("W1 spawn+wait /bin/true", "procctx", small.ours, "raw posix_spawn", small.raw, "spawns/s",
             Want::at_least, 0.95);
  ratio_line("W1 parent CPU per spawn", "procctx", small.ours_cpu, "raw posix_spawn", small.raw_cpu, "us",
             Want::info, 0);

  // procctx's caller waits for the loop thread, which waits for the child:
  // one more cross-CPU wake-up per spawn than waitpid. Running everything on
  // one CPU shows how much of the W1 gap that hand-off accounts for.
  cpu_set_t all;
  CPU_ZERO(&all);
  if (o.pinned && ::sched_getaffinity(0, sizeof all, &all) == 0 && CPU_COUNT(&all) > 1) {
    cpu_set_t one;
    CPU_ZERO(&one);
    for (std::size_t cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &all)) {
        CPU_SET(cpu, &one);
        break;
      }
    }
    std::printf("\n== W1 diagnostic: the same with every thread (and so every child) on one CPU ==\n");
    if (set_affinity_all_threads(one)) {
      SpawnFigures pinned = spawn_wait("W1 one CPU", o.reps, o.spawns);
      ratio_line("W1 spawn+wait /bin/true, one CPU (diagnostic)", "procctx", pinned.ours, "raw posix_spawn",
                 pinned.raw, "spawns/s", Want::info, 0);
    }
    set_affinity_all_threads(all);
  }

  if (!o.wants("W2")) return;
  std::string big_name = "W2 spawn+wait /bin/true, " + std::to_string(o.big_gib) + " GiB parent";
  std::printf("\n== W2: the same with %d GiB of touched heap in the parent ==\n", o.big_gib);
  if (o.big_gib <= 0) {
    skipped_line(big_name, "--big-gib 0");
    return;
  }
  std::size_t bytes = static_cast<std::size_t>(o.big_gib) << 30;
  long avail = mem_available_kib();
  // Touching more than the machine has would bring the OOM killer, not a figure.
  if (avail >= 0 && static_cast<std::size_t>(avail) * 1024 < bytes + (std::size_t{512} << 20)) {
    std::printf("  only %ld MiB available: not allocating %d GiB\n", avail / 1024, o.big_gib);
    skipped_line(big_name, "not enough memory available");
    return;
  }
  void* heap = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (heap == MAP_FAILED) {
    std::printf("  mmap of %d GiB failed: %s\n", o.big_gib, std::strerror(errno));
    skipped_line(big_name, std::string{"allocation failed: "} + std::strerror(errno));
    return;
  }
  // Small pages, as a heap of many allocations would be: a million page
  // table entries is what makes fork-based spawning slow.
  ::madvise(heap, bytes, MADV_NOHUGEPAGE);
  auto t0 = Clock::now();
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  auto* p = static_cast<volatile char*>(heap);
  for (std::size_t off = 0; off < bytes; off += page) p[off] = 1;
  std::printf("  touched %d GiB in %.1f s; VmRSS %ld MiB\n", o.big_gib, seconds_since(t0),
              status_kib("VmRSS") / 1024);
  SpawnFigures big = spawn_wait("W2", o.reps, o.spawns);
  ::munmap(heap, bytes);
  ratio_line(big_name, "procctx", big.ours, "same, small parent", small.ours, "spawns/s", Want::at_least,
             0.9);
  ratio_line(big_name + ", raw posix_spawn", "raw", big.raw, "same, small parent", small.raw, "spawns/s",
             Want::info, 0);
}

void run_capture_workload(const Options& o) {
  auto bytes = static_cast<std::uint64_t>(o.capture_mib) << 20;
  std::printf("\n== W4: %d MiB of stdout read to EOF, %d repetitions ==\n", o.capture_mib, o.reps);
  procctx_capture(bytes / 16);
  std::vector<double> raw, cap, pipe;
  for (int r = 0; r < o.reps; ++r) {
    raw.push_back(raw_pipe_read(bytes));
    cap.push_back(procctx_capture(bytes));
    pipe.push_back(procctx_pipe(bytes));
    std::printf(
        "  W4 rep %d: raw read loop %.3f GB/s, Stdio::capture %.3f GB/s, Stdio::pipe + Reader %.3f GB/s\n",
        r + 1, raw.back(), cap.back(), pipe.back());
    std::fflush(stdout);
  }
  std::string size = o.capture_mib % 1024 == 0 ? std::to_string(o.capture_mib / 1024) + " GiB"
                                               : std::to_string(o.capture_mib) + " MiB";
  ratio_line("W4 capture " + size + " of stdout", "procctx", median(cap), "raw read loop", median(raw),
             "GB/s", Want::at_least, 0.9);
  ratio_line("W4 stream " + size + " via Stdio.pipe() and Reader.read()", "procctx", median(pipe),
             "raw read loop", median(raw), "GB/s", Want::info, 0);
}

void run_sleepers_workload(const Options& o) {
  int n = o.sleepers;
  std::printf("\n== W3: %d x '%s 60' under one context, %d repetitions ==\n", n, kSleep, o.sleeper_reps);
  std::printf(
      "  cancel: procctx children have .stop({{SIGKILL}}), the C side sends kill(-pgid, SIGKILL):\n"
      "  both sides send SIGKILL. The default stop sequence (SIGTERM, 5s, SIGKILL) is measured\n"
      "  separately: sleep dies on SIGTERM.\n");
  std::vector<double> c_start, c_cancel, c_rss, k_start, k_cancel, k_call, k_rss, d_start, d_cancel, d_call,
      d_rss;
  std::vector<double> loop_threads, total_threads;
  for (int r = 0; r < o.sleeper_reps; ++r) {
    Sleepers c = raw_sleepers(n);
    Sleepers k = procctx_sleepers(n, true);
    Sleepers d = procctx_sleepers(n, false);
    c_start.push_back(c.start_ms);
    c_cancel.push_back(c.cancel_ms);
    c_rss.push_back(c.rss_kib_per_child);
    k_start.push_back(k.start_ms);
    k_cancel.push_back(k.cancel_ms);
    k_call.push_back(k.cancel_call_ms);
    k_rss.push_back(k.rss_kib_per_child);
    d_start.push_back(d.start_ms);
    d_cancel.push_back(d.cancel_ms);
    d_call.push_back(d.cancel_call_ms);
    d_rss.push_back(d.rss_kib_per_child);
    for (const Sleepers* s : {&k, &d}) {
      loop_threads.push_back(s->threads.loop);
      total_threads.push_back(s->threads.total);
    }
    std::printf(
        "  W3 rep %d C:                start %s ms, kill+reap %s ms, %d/%d killed by SIGKILL, RSS +%s "
        "KiB/child\n",
        r + 1, num(c.start_ms).c_str(), num(c.cancel_ms).c_str(), c.expected_deaths, n,
        num(c.rss_kib_per_child).c_str());
    std::printf(
        "  W3 rep %d procctx SIGKILL:  start %s ms, cancel->all waited %s ms (cancel() call %s ms), "
        "%d/%d killed by SIGKILL, RSS +%s KiB/child, threads %d (procctx-loop %d)\n",
        r + 1, num(k.start_ms).c_str(), num(k.cancel_ms).c_str(), num(k.cancel_call_ms).c_str(),
        k.expected_deaths, n, num(k.rss_kib_per_child).c_str(), k.threads.total, k.threads.loop);
    std::printf(
        "  W3 rep %d procctx default:  start %s ms, cancel->all waited %s ms (cancel() call %s ms), "
        "%d/%d killed by SIGTERM, RSS +%s KiB/child, threads %d (procctx-loop %d)\n",
        r + 1, num(d.start_ms).c_str(), num(d.cancel_ms).c_str(), num(d.cancel_call_ms).c_str(),
        d.expected_deaths, n, num(d.rss_kib_per_child).c_str(), d.threads.total, d.threads.loop);
    std::fflush(stdout);
    if (c.expected_deaths != n || k.expected_deaths != n || d.expected_deaths != n) {
      std::printf("  W3 rep %d: WARNING: not every child died of the expected signal\n", r + 1);
    }
  }
  std::string tag = std::to_string(n) + " sleepers";
  value_line("W3 procctx-loop threads, " + tag, median(loop_threads), "threads", Want::at_most, 1);
  value_line("W3 parent threads, " + tag, median(total_threads), "threads", Want::info, 0);
  std::vector<double> rss_all = k_rss;
  rss_all.insert(rss_all.end(), d_rss.begin(), d_rss.end());
  value_line("W3 parent RSS growth per child", median(rss_all), "KiB", Want::at_most, 16);
  // Later repetitions reuse heap the earlier ones freed; the first is the
  // figure a fresh program would see.
  value_line("W3 parent RSS growth per child, first repetition", k_rss.front(), "KiB", Want::info, 0);
  ratio_line("W3 start " + tag, "procctx", median(k_start), "hand-written C", median(c_start), "ms",
             Want::info, 0);
  value_line("W3 cancel-all (SIGKILL), " + tag, median(k_cancel), "ms", Want::at_most, 100);
  ratio_line("W3 cancel-all (SIGKILL) vs C kill(-pgid), " + tag, "procctx", median(k_cancel),
             "hand-written C", median(c_cancel), "ms", Want::at_most, 1.1);
  value_line("W3 cancel() call alone (SIGKILL), " + tag, median(k_call), "ms", Want::info, 0);
  ratio_line("W3 cancel-all (default TERM,5s,KILL), " + tag, "procctx", median(d_cancel),
             "hand-written C (SIGKILL)", median(c_cancel), "ms", Want::info, 0);
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  raise_nofile();
  std::printf("flooder: %s\n", PROCCTX_FLOOD);

  if (o.wants("W1") || o.wants("W2")) run_spawn_workloads(o);
  if (o.wants("W4")) run_capture_workload(o);
  if (o.wants("W3")) run_sleepers_workload(o);

  std::printf("\n== summary ==\n");
  for (const auto& line : summary) std::printf("%s\n", line.c_str());
  return 0;
}
