// What tracing costs: W1 (spawn + wait /bin/true, sequentially) in three
// kinds of process, interleaved repetition by repetition:
//
//   never    procctx::trace never started in the process (the baseline)
//   off      trace::start() then trace::stop() before measuring: tracing is
//            off, but every event site has been exercised
//   on       tracing on while measuring; the final stop() (which writes the
//            file) is inside the measured time
//
// Each repetition is a fresh process (this program run with --mode), so
// "never" really never touched the trace code; the figure is that process's
// own spawns per second. The three modes of one round run back to back (in
// rotating order), and the ratios compared are the medians of the rounds'
// ratios: on a shared machine whose speed drifts, adjacent runs are what
// can be compared. The summary lines (after "== summary ==") are in the
// form bench/run.sh collects.
//
//   trace_bench [--reps N (15)] [--spawns N (200)]
#include <procctx/diagnostics.hpp>
#include <procctx/procctx.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

namespace {

double cpu_seconds_self() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "trace_bench: %s\n", what.c_str());
  std::exit(1);
}

// One repetition in this process: prints "rate cpu_us".
int measure(const std::string& mode, int spawns) {
  std::string path = "/tmp/procctx-trace-bench-" + std::to_string(::getpid()) + ".json";
  if (mode == "off") {
    if (auto r = procctx::trace::start(path); !r) die(r.error().message());
    (void)procctx::Command{"/bin/true"}.run();  // every event site, once
    if (auto r = procctx::trace::stop(); !r) die(r.error().message());
  } else if (mode != "never" && mode != "on") {
    die("unknown mode " + mode);
  }
  (void)procctx::Command{"/bin/true"}.run();  // the loop thread is up before timing
  double cpu0 = cpu_seconds_self();
  auto t0 = std::chrono::steady_clock::now();
  if (mode == "on") {
    if (auto r = procctx::trace::start(path); !r) die(r.error().message());
  }
  for (int i = 0; i < spawns; ++i) {
    auto done = procctx::Command{"/bin/true"}.run();
    if (!done || !done->status.success()) die("/bin/true failed");
  }
  if (mode == "on") {
    if (auto r = procctx::trace::stop(); !r) die(r.error().message());
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu_us = (cpu_seconds_self() - cpu0) * 1e6 / spawns;
  std::remove(path.c_str());
  std::printf("%.3f %.3f\n", spawns / s, cpu_us);
  return 0;
}

struct Figures {
  double rate = 0, cpu_us = 0;
};

Figures run_rep(const char* self, const std::string& mode, int spawns) {
  auto r = procctx::Command{self, {"--mode", mode, "--spawns", std::to_string(spawns)}}
               .out(procctx::Stdio::capture())
               .run();
  if (!r || !r->status.success()) die("repetition in mode " + mode + " failed");
  Figures f;
  if (std::sscanf(r->out.str().c_str(), "%lf %lf", &f.rate, &f.cpu_us) != 2)
    die("bad output: " + r->out.str());
  return f;
}

// "NAME: procctx X unit vs REF Y unit = R.RRRx (target >= T) MET|MISSED", the
// ratio being the median of the rounds' ratios.
void ratio_line(const char* name, double ours, const char* ref_name, double ref, double ratio,
                double target) {
  std::printf("%s: procctx %.0f spawns/s vs %s %.0f spawns/s = %.3fx (target >= %.2fx) %s\n", name, ours,
              ref_name, ref, ratio, target, ratio >= target ? "MET" : "MISSED");
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 15, spawns = 200;
  std::string mode;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--reps")
      reps = std::atoi(argv[i + 1]);
    else if (a == "--spawns")
      spawns = std::atoi(argv[i + 1]);
    else if (a == "--mode")
      mode = argv[i + 1];
    else
      die("unknown option " + a + " (--reps N --spawns N)");
  }
  if (!mode.empty()) return measure(mode, spawns);

  const char* modes[] = {"never", "off", "on"};
  std::vector<double> rate[3], cpu[3], off_ratio, on_ratio;
  std::printf("== tracing cost: W1 spawn+wait /bin/true, %d per repetition, %d repetitions ==\n", spawns,
              reps);
  for (int r = 0; r < reps; ++r) {
    // Rotate the order so no mode always runs right after another.
    for (int k = 0; k < 3; ++k) {
      int m = (r + k) % 3;
      Figures f = run_rep(argv[0], modes[m], spawns);
      rate[m].push_back(f.rate);
      cpu[m].push_back(f.cpu_us);
    }
    off_ratio.push_back(rate[1].back() / rate[0].back());
    on_ratio.push_back(rate[2].back() / rate[0].back());
    std::printf("  rep %d: never %.0f/s (%.1f us CPU), off %.0f/s (%.1f us), on %.0f/s (%.1f us)\n", r + 1,
                rate[0].back(), cpu[0].back(), rate[1].back(), cpu[1].back(), rate[2].back(), cpu[2].back());
    std::fflush(stdout);
  }
  double never = median(rate[0]), off = median(rate[1]), on = median(rate[2]);
  std::printf("\n== summary ==\n");
  ratio_line("trace off (started and stopped) vs never started, W1", off, "never started", never,
             median(off_ratio), 0.98);
  ratio_line("trace on vs never started, W1", on, "never started", never, median(on_ratio), 0.90);
  std::printf("trace parent CPU per spawn, never/off/on: procctx %.1f/%.1f/%.1f us (info)\n", median(cpu[0]),
              median(cpu[1]), median(cpu[2]));
  return 0;
}
