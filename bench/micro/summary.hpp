// The summary lines of spawn_bench, in the form bench/run.sh collects:
//   NAME: procctx X unit vs REF Y unit = R.RRx[ [A.AA-B.BB]] (target >= T) MET|MISSED
//   NAME: procctx X unit (target <= T unit) MET|MISSED
//   NAME: SKIPPED (why)
// with "(info)" in place of a target for figures that are only reported,
// and the range of per-repetition ratios after R.RRx when the ratio is
// their median.
#pragma once

#include "figures.hpp"

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace bench {

enum class Want { at_least, at_most, info };

inline std::string num(double v) {
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

// Every summary line so far, printed again after "== summary ==".
inline std::vector<std::string>& summary() {
  static std::vector<std::string> lines;
  return lines;
}

inline void emit(const std::string& line) {
  summary().push_back(line);
  std::printf("%s\n", line.c_str());
}

inline std::string verdict(double value, Want want, double target, const std::string& target_unit) {
  if (want == Want::info) return "(info)";
  bool met = want == Want::at_least ? value >= target : value <= target;
  char buf[96];
  std::snprintf(buf, sizeof buf, "(target %s %s%s) %s",
                want == Want::at_least ? ">=" : "<=", num(target).c_str(), target_unit.c_str(),
                met ? "MET" : "MISSED");
  return buf;
}

// "NAME: WHO X unit vs REF Y unit = R.RRx (target ...)"; WHO is "procctx"
// except on the information lines about the C reference itself. With
// `per_rep`, the ratio judged is the median of the per-repetition ratios.
inline void ratio_line(const std::string& name, const std::string& who, double ours,
                       const std::string& ref_name, double ref, const std::string& unit, Want want,
                       double target, const std::optional<Spread>& per_rep = std::nullopt) {
  // Judged as printed, to two decimals.
  double ratio = two_decimals(per_rep ? per_rep->median : ref > 0 ? ours / ref : 0);
  char r[32];
  std::snprintf(r, sizeof r, "%.2fx", ratio);
  emit(name + ": " + who + " " + num(ours) + " " + unit + " vs " + ref_name + " " + num(ref) + " " + unit +
       " = " + r + (per_rep ? range_of(*per_rep) : "") + " " + verdict(ratio, want, target, "x"));
}

inline void value_line(const std::string& name, double ours, const std::string& unit, Want want,
                       double target) {
  emit(name + ": procctx " + num(ours) + " " + unit + " " + verdict(ours, want, target, " " + unit));
}

inline void skipped_line(const std::string& name, const std::string& why) {
  emit(name + ": SKIPPED (" + why + ")");
}

inline void print_summary() {
  std::printf("\n== summary ==\n");
  for (const auto& line : summary()) std::printf("%s\n", line.c_str());
}

}  // namespace bench
