// 10,000 children on one machine: N concurrent `sleep 3600` under one
// procctx Group with no limit, beside hand-written C (posix_spawn, a
// process group each, kill, waitpid) in the same run: time to start all,
// library threads, parent RSS, then cancel and time until all are reaped.
// Then `procctx batch -j N` over N `sleep 5` jobs: its threads and peak RSS.
//
//   scale_bench [--children N] [--reps R] [--batch-jobs M]   (M = 0: no batch row)
#include <procctx/procctx.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <dirent.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

using procctx::Clock;

double ms_since(procctx::TimePoint t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

long count_dir(const std::string& path) {
  long n = 0;
  if (DIR* d = ::opendir(path.c_str())) {
    while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
  }
  return n;
}

long status_kib(const std::string& file, const char* key) {
  std::ifstream f{file};
  std::string k;
  long v = 0;
  while (f >> k) {
    if (k == key) {
      f >> v;
      return v;
    }
  }
  return 0;
}

long read_long(const char* path) {
  std::ifstream f{path};
  long v = 0;
  f >> v;
  return v;
}

struct Figures {
  double start_ms = 0, cancel_ms = 0;
  long threads = 0, rss_kib = 0;
  bool all_reaped = false;
};

// posix_spawn each child into a process group of its own, SIGTERM each
// group, waitpid each.
Figures hand_written_c(int n) {
  Figures f;
  std::vector<pid_t> pids;
  pids.reserve(static_cast<std::size_t>(n));
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  char sleep_path[] = "/bin/sleep";
  char arg[] = "3600";  // outlives the slowest start
  char* argv[] = {sleep_path, arg, nullptr};
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    pid_t pid;
    if (::posix_spawn(&pid, sleep_path, nullptr, &attr, argv, environ) != 0) break;
    pids.push_back(pid);
  }
  f.start_ms = ms_since(t0);
  f.threads = count_dir("/proc/self/task");
  f.rss_kib = status_kib("/proc/self/status", "VmRSS:");
  auto t1 = Clock::now();
  for (pid_t pid : pids) ::kill(-pid, SIGTERM);
  std::size_t reaped = 0;
  for (pid_t pid : pids) reaped += ::waitpid(pid, nullptr, 0) == pid ? 1u : 0u;
  f.cancel_ms = ms_since(t1);
  f.all_reaped = reaped == pids.size() && static_cast<int>(pids.size()) == n;
  posix_spawnattr_destroy(&attr);
  return f;
}

Figures procctx_group(int n) {
  Figures f;
  procctx::Group g{procctx::background()};
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) g.spawn(procctx::Command{"/bin/sleep", {"3600"}});
  // Group::spawn starts the child before it returns (the child has exec'd).
  f.start_ms = ms_since(t0);
  if (procctx::stats().running != static_cast<std::size_t>(n)) {
    std::fprintf(stderr, "  procctx: %zu of %d children running\n", procctx::stats().running, n);
  }
  f.threads = count_dir("/proc/self/task");
  f.rss_kib = status_kib("/proc/self/status", "VmRSS:");
  auto t1 = Clock::now();
  g.cancel("benchmark");
  std::size_t stopped = 0;
  for (const auto& o : g.wait()) stopped += o.completed && o.completed->status.signal() == SIGTERM ? 1u : 0u;
  f.cancel_ms = ms_since(t1);
  f.all_reaped = stopped == static_cast<std::size_t>(n) && procctx::stats().running == 0;
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  int children = 10'000, reps = 2, batch_jobs = 10'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (a == "--children") {
      children = v;
    } else if (a == "--reps") {
      reps = v;
    } else if (a == "--batch-jobs") {
      batch_jobs = v;
    } else {
      std::fprintf(stderr, "scale_bench: unknown option %s (--children --reps --batch-jobs)\n", a.c_str());
      return 2;
    }
  }
  // Room for the children and their pidfds, pipes and the like.
  rlimit nofile{};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &nofile);
  long pid_max = read_long("/proc/sys/kernel/pid_max");
  long threads_max = read_long("/proc/sys/kernel/threads-max");
  rlimit nproc{};
  ::getrlimit(RLIMIT_NPROC, &nproc);
  long room = std::min(pid_max, threads_max) - count_dir("/proc") - 200;
  std::printf("== 10,000 children: %d concurrent sleep 3600 (pid_max %ld, threads-max %ld, RLIMIT_NOFILE %llu) ==\n",
              children, pid_max, threads_max, static_cast<unsigned long long>(nofile.rlim_cur));
  std::printf("\n== summary ==\n");
  if (room < children || (nproc.rlim_cur != RLIM_INFINITY && static_cast<long>(nproc.rlim_cur) < children + 500) ||
      static_cast<long>(nofile.rlim_cur) < children + 200) {
    std::printf("scale %d children: SKIPPED (this machine cannot hold them: room for %ld processes, RLIMIT_NPROC %lld, "
                "RLIMIT_NOFILE %llu)\n",
                children, room, nproc.rlim_cur == RLIM_INFINITY ? -1LL : static_cast<long long>(nproc.rlim_cur),
                static_cast<unsigned long long>(nofile.rlim_cur));
    return 0;
  }
  std::vector<double> c_start, c_cancel, p_start, p_cancel;
  long p_threads = 0, p_rss = 0, c_rss = 0;
  bool reaped = true;
  for (int r = 0; r < reps; ++r) {
    Figures c = hand_written_c(children);
    Figures p = procctx_group(children);
    c_start.push_back(c.start_ms);
    c_cancel.push_back(c.cancel_ms);
    p_start.push_back(p.start_ms);
    p_cancel.push_back(p.cancel_ms);
    p_threads = std::max(p_threads, p.threads - 1);  // the main thread is ours
    p_rss = std::max(p_rss, p.rss_kib);
    c_rss = std::max(c_rss, c.rss_kib);
    reaped = reaped && p.all_reaped && c.all_reaped;
    std::fprintf(stderr, "  rep %d: start C %.0f ms, procctx %.0f ms; cancel C %.0f ms, procctx %.0f ms\n", r + 1,
                 c.start_ms, p.start_ms, c.cancel_ms, p.cancel_ms);
  }
  double cs = median(c_start), ps = median(p_start), cc = median(c_cancel), pc = median(p_cancel);
  std::printf("scale start %d children: procctx %.0f ms vs C %.0f ms = %.2fx (target <= 1.10x) %s\n", children, ps, cs,
              ps / cs, ps / cs <= 1.1 ? "MET" : "MISSED");
  std::printf("scale cancel %d children until all reaped: procctx %.0f ms vs C %.0f ms = %.2fx (target <= 1.10x) %s\n",
              children, pc, cc, pc / cc, pc / cc <= 1.1 ? "MET" : "MISSED");
  std::printf("scale %d children, library threads: procctx %ld threads (target <= 1 threads) %s\n", children, p_threads,
              p_threads <= 1 ? "MET" : "MISSED");
  std::printf("scale %d children, parent RSS: procctx %.1f MiB vs C %.1f MiB = %.2fx (target <= 64 MiB) %s\n",
              children, static_cast<double>(p_rss) / 1024, static_cast<double>(c_rss) / 1024,
              static_cast<double>(p_rss) / static_cast<double>(std::max(c_rss, 1L)), p_rss <= 64 * 1024 ? "MET" : "MISSED");
  if (!reaped) std::printf("scale children reaped: procctx 0 (target all reaped) MISSED\n");

#ifdef PROCCTX_CLI
  if (batch_jobs <= 0) return 0;  // --batch-jobs 0: the children rows only
  // procctx batch -j N over N sleep 5 jobs: its threads (sampled) and peak RSS.
  auto bp = procctx::Command{PROCCTX_CLI, {"batch", "-j", std::to_string(batch_jobs), "-q", "--jsonl"}}
                .in(procctx::Stdio::data([&] {
                  std::string s;
                  for (int i = 0; i < batch_jobs; ++i) s += "{\"argv\": [\"/bin/sleep\", \"5\"]}\n";
                  return s;
                }()))
                .out(procctx::Stdio::null())
                .spawn();
  long batch_threads = 0;
  auto t0 = Clock::now();
  if (bp) {
    std::string task_dir = "/proc/" + std::to_string(bp->pid()) + "/task";
    while (!bp->try_wait()) {
      batch_threads = std::max(batch_threads, count_dir(task_dir));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    const auto& c = bp->wait();
    std::printf("scale procctx batch -j %d over %d sleep 5 jobs: procctx %.1f s, %ld threads, peak RSS %.1f MiB "
                "(target 1 library thread, bounded memory) %s\n",
                batch_jobs, batch_jobs, ms_since(t0) / 1000, batch_threads - 1,
                static_cast<double>(c.rusage.max_rss_kib) / 1024,
                c.status.success() && batch_threads - 1 <= 1 && c.rusage.max_rss_kib <= 256 * 1024 ? "MET" : "MISSED");
  }
#endif
  return 0;
}
