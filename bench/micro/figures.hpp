// What the process benchmarks share: medians and spreads of repetitions,
// and the parent's CPU time. Header-only, one copy for every benchmark.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <time.h>

namespace bench {

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t mid = v.size() / 2;
  return v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

// The median of a figure over the repetitions, and how far apart the
// repetitions were: on a shared machine the spread says how much the
// median can be trusted.
struct Spread {
  double median = 0, min = 0, max = 0;
};

inline Spread spread(const std::vector<double>& v) {
  if (v.empty()) return {};
  auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return {median(v), *lo, *hi};
}

// " [0.91-1.04]": the range of per-repetition ratios, as bench/run.sh puts
// it after the ratio in the table.
inline std::string range_of(const Spread& s) {
  char buf[48];
  std::snprintf(buf, sizeof buf, " [%.2f-%.2f]", s.min, s.max);
  return buf;
}

// A ratio as the tables print it ("%.2f"), so that what is judged is what is read.
inline double two_decimals(double v) { return std::round(v * 100) / 100; }

// CPU time of every thread of this process so far (procctx's loop thread
// included), to the nanosecond: the scheduler's own account, not ticks.
// A child's time before its exec is the child's, on either side.
inline double process_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace bench
