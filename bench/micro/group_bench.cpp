// W7: many short jobs at concurrency 2 — a procctx Group with limit 2,
// beside `xargs -P2` and GNU `parallel -j2` running the same jobs in the
// same run. Repetitions are interleaved and the medians compared. (procctx
// batch on the same kind of list: batch_bench.)
//
//   group_bench [--jobs N] [--reps R] [--parallel-jobs M]
//
// GNU parallel starts a Perl process per job and manages ~30 jobs/s here, so
// it runs fewer jobs (--parallel-jobs) and is compared by rate.
#include <procctx/procctx.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

double seconds_since(procctx::TimePoint t0) {
  return std::chrono::duration<double>(procctx::Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Jobs per second of a Group with limit 2 running `n` /bin/true jobs.
double group_rate(int n) {
  auto t0 = procctx::Clock::now();
  procctx::Group g{procctx::background(), {.limit = 2}};
  for (int i = 0; i < n; ++i) g.spawn(procctx::Command{"/bin/true", {std::to_string(i)}});
  int ok = 0;
  for (const auto& o : g.wait()) ok += o.success();
  double s = seconds_since(t0);
  if (ok != n) std::printf("  group: only %d of %d jobs succeeded\n", ok, n);
  return n / s;
}

// Jobs per second of a shell pipeline feeding `n` jobs to a peer runner.
double peer_rate(const std::string& runner, int n) {
  std::string script = "seq " + std::to_string(n) + " | " + runner;
  auto t0 = procctx::Clock::now();
  auto r = procctx::Command{"/bin/sh", {"-c", script}}.out(procctx::Stdio::null()).run();
  double s = seconds_since(t0);
  if (!r || !r->status.success()) {
    std::printf("  %s: %s\n", runner.c_str(),
                r ? r->status.to_string().c_str() : r.error().message().c_str());
    return 0;
  }
  return n / s;
}

bool have(const char* program) {
  return procctx::Command{"sh", {"-c", std::string{"command -v "} + program}}
      .out(procctx::Stdio::null())
      .run()
      .value()
      .status.success();
}

}  // namespace

int main(int argc, char** argv) {
  int jobs = 10'000, reps = 3, parallel_jobs = 300;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (a == "--jobs")
      jobs = v;
    else if (a == "--reps")
      reps = v;
    else if (a == "--parallel-jobs")
      parallel_jobs = v;
    else {
      std::fprintf(stderr, "group_bench: unknown option %s (--jobs --reps --parallel-jobs)\n", a.c_str());
      return 2;
    }
  }
  int per_rep = std::max(1, jobs / reps);
  bool parallel = have("parallel");
  std::printf("== W7: %d x %d /bin/true jobs at concurrency 2 (GNU parallel: %d x %d) ==\n", reps, per_rep,
              reps, parallel_jobs);
  std::vector<double> ours, xargs, gnu;
  for (int r = 0; r < reps; ++r) {
    ours.push_back(group_rate(per_rep));
    xargs.push_back(peer_rate("xargs -P2 -n1 /bin/true", per_rep));
    if (parallel) gnu.push_back(peer_rate("parallel -j2 /bin/true {}", parallel_jobs));
    std::printf("  rep %d: group %.0f jobs/s, xargs %.0f jobs/s%s\n", r + 1, ours.back(), xargs.back(),
                parallel ? (", parallel " + std::to_string(static_cast<int>(gnu.back())) + " jobs/s").c_str() : "");
  }
  double o = median(ours), x = median(xargs);
  std::printf("\n== summary ==\n");
  std::printf(
      "W7 %d true jobs at concurrency 2: procctx Group %.0f jobs/s vs xargs -P2 %.0f jobs/s = %.2fx (target "
      ">= 1.00x) %s\n",
      per_rep * reps, o, x, o / x, o / x >= 1.0 ? "MET" : "MISSED");
  if (parallel) {
    double g = median(gnu);
    std::printf(
        "W7 true jobs at concurrency 2, GNU parallel: procctx Group %.0f jobs/s vs parallel -j2 %.0f jobs/s "
        "= %.2fx (info)\n",
        o, g, o / g);
  } else {
    std::printf("W7 GNU parallel: SKIPPED (parallel is not installed)\n");
  }
  return 0;
}
