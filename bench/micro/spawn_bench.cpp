// Process benchmarks: procctx against hand-written C doing the same work in
// the same run. The machine these run on is small and shared, so absolute
// figures drift from run to run; what is meant to be compared are the ratios,
// whose two sides are measured interleaved, minutes apart at most.
//
//   W1  spawn + wait /bin/true, sequentially          procctx vs posix_spawn + waitpid
//   W2  the same from a parent holding 4 GiB touched   big parent vs small parent
//   W4  1 GiB of stdout read to the end               Stdio::capture() vs a read loop on a pipe
//   W3  1,000 sleeping children under one context     threads, RSS, start time, cancel-all time
//                                                     (sleepers.cpp), also beside peer programs
//
// Every figure is the median of several repetitions. The last lines printed
// (after "== summary ==") are one line per target, in the form bench/run.sh
// collects (summary.hpp).
//
// Options: --reps N (5), --spawns N (500), --big-gib N (4, 0 skips W2),
// --capture-mib N (1024), --sleepers N (1000), --sleeper-reps N (7),
// --cancel-peer 'LABEL=PROGRAM ARG...' (a W3 peer, see sleepers.hpp; repeatable),
// --no-pinned (skip the one-CPU run after W1), --only W1,W2,W3,W4.
#include <procctx/procctx.hpp>

#include "figures.hpp"
#include "raw.hpp"
#include "sleepers.hpp"
#include "summary.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
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

namespace {

using namespace bench;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// ---------------------------------------------------------------------------
// What /proc says about us

long mem_available_kib() {
  std::ifstream in{"/proc/meminfo"};
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, 13, "MemAvailable:") == 0) return std::strtol(line.c_str() + 13, nullptr, 10);
  }
  return -1;
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
// W1 / W2: spawn + wait /bin/true

struct Rate {
  double per_s;
  double cpu_us;  // parent CPU (all threads, so procctx's loop too) per spawn
};

Rate raw_true(int n) {
  Argv argv{{"/bin/true"}};
  double cpu0 = process_cpu_seconds();
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    int st = raw_wait(raw_spawn(argv, nullptr, nullptr));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) die("/bin/true failed (raw)");
  }
  double s = seconds_since(t0);
  return {n / s, (process_cpu_seconds() - cpu0) * 1e6 / n};
}

Rate procctx_true(int n) {
  double cpu0 = process_cpu_seconds();
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    auto done = procctx::Command{"/bin/true"}.run();
    if (!done) die(done.error().message());
    if (!done->status.success()) die("/bin/true: " + done->status.to_string());
  }
  double s = seconds_since(t0);
  return {n / s, (process_cpu_seconds() - cpu0) * 1e6 / n};
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

struct Options {
  int reps = 5;
  int spawns = 500;
  int big_gib = 4;
  int capture_mib = 1024;
  SleeperOptions w3;
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
      o.w3.sleepers = std::max(1, number());
    else if (a == "--sleeper-reps")
      o.w3.reps = std::max(1, number());
    else if (a == "--cancel-peer")
      o.w3.peers.push_back(parse_cancel_peer(value()));
    else if (a == "--no-pinned")
      o.pinned = false;
    else if (a == "--only")
      o.only = value();
    else
      die("unknown option " + std::string{a} +
          " (--reps --spawns --big-gib --capture-mib --sleepers --sleeper-reps --cancel-peer --no-pinned "
          "--only)");
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

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  raise_nofile();
  std::printf("flooder: %s\n", PROCCTX_FLOOD);

  if (o.wants("W1") || o.wants("W2")) run_spawn_workloads(o);
  if (o.wants("W4")) run_capture_workload(o);
  if (o.wants("W3")) run_sleepers_workload(o.w3);

  print_summary();
  return 0;
}
