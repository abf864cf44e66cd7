// W7b: procctx batch on a job list beside what people run the same list
// with — `xargs -P2`, GNU `parallel -j2` and procctx's own Group (limit 2) —
// all in the same run, repetitions interleaved, medians compared. The list
// is N lines of `true` (plain commands: batch runs them without a shell, as
// xargs -L1 does); `xargs -P2 -n1 sh -c` (a shell per line, as GNU parallel
// does) is shown too. Then procctx batch's own CPU per job (from
// --summary-json, beside the Group's, measured in this process), and its
// peak memory with a list of 100,000 jobs.
//
//   batch_bench [--jobs N] [--reps R] [--parallel-jobs M] [--memory-jobs K] [--cli PATH]
//
// --cli runs another procctx binary (an older build, to compare).
//
// GNU parallel starts a Perl process per job and manages a few hundred jobs/s
// here, so it runs fewer jobs (--parallel-jobs) and is compared by rate.
#include <procctx/procctx.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

namespace {

using procctx::Clock;

double seconds_since(procctx::TimePoint t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double cpu_seconds(int who) {
  rusage r{};
  ::getrusage(who, &r);
  return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
         static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

struct Rate {
  double jobs_per_s = 0;
  double parent_cpu_us = 0;  // per job, the runner's own
};

// A Group with limit 2 running `n` times `true`: the rate, and this
// process's CPU per job while it ran (the Group's cost).
Rate group_rate(int n) {
  double cpu0 = cpu_seconds(RUSAGE_SELF);
  auto t0 = Clock::now();
  procctx::Group g{procctx::background(), {.limit = 2}};
  for (int i = 0; i < n; ++i) g.spawn(procctx::Command{"true"});
  int ok = 0;
  for (const auto& o : g.wait()) ok += o.success();
  double s = seconds_since(t0);
  if (ok != n) std::printf("  group: only %d of %d jobs succeeded\n", ok, n);
  return {n / s, (cpu_seconds(RUSAGE_SELF) - cpu0) / n * 1e6};
}

// A shell pipeline running `n` jobs of the list through `runner`.
double peer_rate(const std::string& runner, const std::string& list, int n) {
  auto t0 = Clock::now();
  auto r = procctx::Command{"/bin/sh", {"-c", runner + " <" + list}}.out(procctx::Stdio::null()).run();
  double s = seconds_since(t0);
  if (!r || !r->status.success()) {
    std::printf("  %s: %s\n", runner.c_str(), r ? r->status.to_string().c_str() : r.error().message().c_str());
    return 0;
  }
  return n / s;
}

// procctx batch over the list: the rate, and its own CPU per job (--summary-json).
Rate batch_rate(const std::string& cli, const std::string& list, const std::string& summary, int n) {
  auto t0 = Clock::now();
  auto r = procctx::Command{cli, {"batch", "-j2", "-q", "--summary-json", summary, list}}.out(procctx::Stdio::null()).run();
  double s = seconds_since(t0);
  if (!r || !r->status.success()) {
    std::printf("  batch: %s\n", r ? r->status.to_string().c_str() : r.error().message().c_str());
    return {};
  }
  std::ifstream f{summary};
  auto j = nlohmann::json::parse(f, nullptr, false);
  double self = j.is_object() && j["self_cpu_seconds"].is_number() ? j["self_cpu_seconds"].get<double>() : 0;
  return {n / s, self / n * 1e6};
}

bool have(const char* program) {
  auto r = procctx::Command{"sh", {"-c", std::string{"command -v "} + program}}.out(procctx::Stdio::null()).run();
  return r && r->status.success();
}

std::string write_list(const std::string& path, int n) {
  std::ofstream f{path};
  for (int i = 0; i < n; ++i) f << "true\n";
  return path;
}

void verdict(const char* what, double ours, double ref, const char* ref_name, double target) {
  double ratio = ref > 0 ? ours / ref : 0;
  std::printf("%s: procctx batch -j2 %.0f jobs/s vs %s %.0f jobs/s = %.2fx (target >= %.2fx) %s\n", what, ours,
              ref_name, ref, ratio, target, ratio >= target ? "MET" : "MISSED");
}

}  // namespace

int main(int argc, char** argv) {
  int jobs = 6'000, reps = 3, parallel_jobs = 300, memory_jobs = 100'000;
  std::string cli_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (a == "--cli") {
      cli_path = argv[i + 1];
    } else if (a == "--jobs") {
      jobs = v;
    } else if (a == "--reps") {
      reps = v;
    } else if (a == "--parallel-jobs") {
      parallel_jobs = v;
    } else if (a == "--memory-jobs") {
      memory_jobs = v;
    } else {
      std::fprintf(stderr, "batch_bench: unknown option %s (--jobs --reps --parallel-jobs --memory-jobs --cli)\n",
                   a.c_str());
      return 2;
    }
  }
#ifndef PROCCTX_CLI
  std::printf("\n== summary ==\nW7b procctx batch: SKIPPED (built without the CLI)\n");
  return 0;
#else
  const std::string cli = cli_path.empty() ? std::string{PROCCTX_CLI} : cli_path;
  char dir_template[] = "/tmp/procctx-batch-bench-XXXXXX";
  std::string dir = ::mkdtemp(dir_template);
  int per_rep = std::max(1, jobs / reps);
  std::string list = write_list(dir + "/list", per_rep), small = write_list(dir + "/small", parallel_jobs);
  std::string summary = dir + "/summary.json";
  bool parallel = have("parallel");
  std::printf("== W7b: procctx batch -j2 over %d x %d lines of `true` (GNU parallel: %d x %d) ==\n", reps, per_rep,
              reps, parallel_jobs);
  std::vector<double> batch, batch_cpu, group, group_cpu, xargs, xargs_sh, gnu;
  for (int r = 0; r < reps; ++r) {
    Rate b = batch_rate(cli, list, summary, per_rep);
    Rate g = group_rate(per_rep);
    batch.push_back(b.jobs_per_s);
    batch_cpu.push_back(b.parent_cpu_us);
    group.push_back(g.jobs_per_s);
    group_cpu.push_back(g.parent_cpu_us);
    xargs.push_back(peer_rate("xargs -P2 -L1", list, per_rep));
    xargs_sh.push_back(peer_rate("xargs -P2 -n1 sh -c", list, per_rep));
    if (parallel) gnu.push_back(peer_rate("parallel -j2", small, parallel_jobs));
    std::printf("  rep %d: batch %.0f jobs/s (%.0f us CPU/job), group %.0f jobs/s (%.0f us CPU/job), xargs %.0f, "
                "xargs sh -c %.0f, parallel %.0f jobs/s\n",
                r + 1, b.jobs_per_s, b.parent_cpu_us, g.jobs_per_s, g.parent_cpu_us, xargs.back(), xargs_sh.back(),
                parallel ? gnu.back() : 0.0);
  }
  // Peak memory with a long list: the whole list is read before the first
  // job, then the run is cut short after the first job (--halt soon,done=1).
  write_list(dir + "/long", memory_jobs);
  auto m = procctx::Command{cli, {"batch", "-j2", "-q", "--halt", "soon,done=1", dir + "/long"}}
               .out(procctx::Stdio::null())
               .run();
  std::string rm = "rm -rf " + dir;
  (void)!std::system(rm.c_str());

  double b = median(batch);
  std::printf("\n== summary ==\n");
  verdict("W7b batch of `true` lines vs xargs", b, median(xargs), "xargs -P2 -L1", 1.2);
  verdict("W7b batch of `true` lines vs Group", b, median(group), "procctx Group limit 2", 0.9);
  if (parallel) {
    verdict("W7b batch of `true` lines vs GNU parallel", b, median(gnu), "parallel -j2", 6.0);
  } else {
    std::printf("W7b batch vs GNU parallel: SKIPPED (parallel is not installed)\n");
  }
  std::printf("W7b batch vs a shell per line: procctx batch -j2 %.0f jobs/s vs xargs -P2 -n1 sh -c %.0f jobs/s = %.2fx "
              "(info)\n", b, median(xargs_sh), b / std::max(median(xargs_sh), 1e-9));
  double bc = median(batch_cpu), gc = median(group_cpu);
  std::printf("W7b parent CPU per job: procctx batch %.1f us vs procctx Group %.1f us = %.2fx (info)\n", bc, gc,
              bc / std::max(gc, 1e-9));
  if (m && m->status.success()) {
    double mib = static_cast<double>(m->rusage.max_rss_kib) / 1024;
    std::printf("W7b batch memory with %d jobs listed: procctx %.1f MiB (target <= 41 MiB) %s\n", memory_jobs, mib,
                mib <= 41 ? "MET" : "MISSED");
  } else {
    std::printf("W7b batch memory: SKIPPED (the run failed: %s)\n",
                m ? m->status.to_string().c_str() : m.error().message().c_str());
  }
  return 0;
#endif
}
