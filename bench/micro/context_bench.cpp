// A context's cost beside std::stop_source's, in the same run: derive a
// child from a live parent, register a callback on it, cancel it (and drop
// all three), against stop_source + stop_callback + request_stop (and drop
// them). The target is <= 1.5x.
//
// How the figures are taken, on a small shared machine whose speed changes
// from one second to the next: each repetition runs `--ops` of each side in
// chunks of `--chunk`, one chunk of each in turn (the order swapped every
// round), timing the thread's own CPU (CLOCK_THREAD_CPUTIME_ID: time the
// thread was preempted is not counted, wall time would be); a side's figure
// in a repetition is its CPU per operation, and its ratio is taken against
// the other side's in the same repetition. The summary gives medians over
// the repetitions, and the ratio is the median of the per-repetition
// ratios, with their range in brackets.
//
// First with this thread the only one, as the std::stop_source figures are
// usually quoted: libstdc++ then skips the atomics of shared_ptr's counts
// (procctx's contexts are shared_ptrs) and the semaphore release of a
// stop_callback. Then again with a second thread alive, as in any program
// where procctx's loop thread runs (information only: there libstdc++ 12's
// stop_callback makes a futex syscall per callback run).
//
// Options: --reps N (15), --ops N (200000), --chunk N (10000).
#include <procctx/context.hpp>

#include "figures.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <time.h>

namespace {

double thread_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

int g_hits = 0;

void procctx_chunk(const procctx::Context& parent, int n) {
  for (int i = 0; i < n; ++i) {
    auto [ctx, cancel] = procctx::with_cancel(parent);
    auto reg = ctx.on_done([] { ++g_hits; });
    cancel();
  }
}

void std_chunk(int n) {
  for (int i = 0; i < n; ++i) {
    std::stop_source src;
    std::stop_callback cb{src.get_token(), [] { ++g_hits; }};
    src.request_stop();
  }
}

// Deriving (and dropping, which cancels) without a callback: where the rest goes.
void derive_chunk(const procctx::Context& parent, int n) {
  for (int i = 0; i < n; ++i) {
    auto [ctx, cancel] = procctx::with_cancel(parent);
    if (ctx.done()) std::abort();
  }
}

struct Series {
  std::vector<double> ours, ref, ratio, derive;
};

Series measure(int reps, int ops, int chunk) {
  auto [parent, cancel_parent] = procctx::with_cancel(procctx::background());
  procctx_chunk(parent, chunk);  // warm-up: the allocator settles
  std_chunk(chunk);
  Series s;
  for (int r = 0; r < reps; ++r) {
    double ours = 0, ref = 0, derive = 0;
    for (int done = 0, round = 0; done < ops; done += chunk, ++round) {
      int n = std::min(chunk, ops - done);
      for (int k = 0; k < 3; ++k) {
        double t0 = thread_cpu_ns();
        switch ((k + round) % 3) {
          case 0:
            procctx_chunk(parent, n);
            ours += thread_cpu_ns() - t0;
            break;
          case 1:
            std_chunk(n);
            ref += thread_cpu_ns() - t0;
            break;
          default:
            derive_chunk(parent, n);
            derive += thread_cpu_ns() - t0;
            break;
        }
      }
    }
    s.ours.push_back(ours / ops);
    s.ref.push_back(ref / ops);
    s.derive.push_back(derive / ops);
    s.ratio.push_back(ours / ref);
    std::printf("rep %d: procctx %.1f ns, std::stop_source %.1f ns, %.2fx; derive+cancel alone %.1f ns\n",
                r + 1, ours / ops, ref / ops, ours / ref, derive / ops);
    std::fflush(stdout);
  }
  return s;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string line(const std::string& name, const Series& s, bool judged) {
  bench::Spread r = bench::spread(s.ratio);
  double ratio = bench::two_decimals(r.median);
  char buf[96];
  if (judged) {
    std::snprintf(buf, sizeof buf, "%.2fx%s (target <= 1.50x) %s", ratio, bench::range_of(r).c_str(),
                  ratio <= 1.5 ? "MET" : "MISSED");
  } else {
    std::snprintf(buf, sizeof buf, "%.2fx%s (info)", ratio, bench::range_of(r).c_str());
  }
  return name + ": procctx " + fmt(bench::median(s.ours)) + " ns CPU vs std::stop_source " +
         fmt(bench::median(s.ref)) + " ns CPU = " + buf;
}

int positive(const char* flag, const char* value) {
  char* end = nullptr;
  long v = std::strtol(value, &end, 10);
  if (*end != '\0' || v < 1 || v > 100'000'000) {
    std::fprintf(stderr, "context_bench: bad value for %s: %s\n", flag, value);
    std::exit(1);
  }
  return static_cast<int>(v);
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 15, ops = 200'000, chunk = 10'000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 < argc && a == "--reps") {
      reps = positive("--reps", argv[++i]);
    } else if (i + 1 < argc && a == "--ops") {
      ops = positive("--ops", argv[++i]);
    } else if (i + 1 < argc && a == "--chunk") {
      chunk = positive("--chunk", argv[++i]);
    } else {
      std::fprintf(stderr,
                   "context_bench: unknown option or missing value: %s (--reps N --ops N --chunk N)\n",
                   a.c_str());
      return 1;
    }
  }
  std::printf("context_bench: %d repetitions of %d operations per side, in chunks of %d\n", reps, ops, chunk);
  std::printf("-- this thread alone\n");
  Series alone = measure(reps, ops, chunk);

  // A second thread, alive until the end, as procctx's loop thread is in a program that spawns.
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::thread other([&] {
    std::unique_lock lock{mu};
    cv.wait(lock, [&] { return stop; });
  });
  std::printf("-- with a second thread alive\n");
  Series threaded = measure(reps, ops, chunk);
  {
    std::lock_guard lock{mu};
    stop = true;
  }
  cv.notify_one();
  other.join();

  std::printf("== summary ==\n");
  std::printf("%s\n",
              line("context derive+register+cancel vs std::stop_source, per operation", alone, true).c_str());
  std::printf("%s\n", line("context derive+register+cancel vs std::stop_source, a second thread alive",
                           threaded, false)
                          .c_str());
  std::printf("context derive+cancel alone, no callback: procctx %s ns CPU (info)\n",
              fmt(bench::median(alone.derive)).c_str());
  return g_hits > 0 ? 0 : 1;
}
