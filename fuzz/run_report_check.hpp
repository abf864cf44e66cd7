// run_report_check.hpp — feeds arbitrary bytes through the JSON report of
// `procctx run --json` (every string it carries: argv, the error, the
// cause, the tree note, the cgroup, leftovers, pipe holders, a relay's
// error) and checks that the report parses strictly as JSON and that argv
// reads back as the bytes made valid UTF-8 (docs/json.md).
//
// Used by the libFuzzer target fuzz_run_report and by a unit test with
// fixed hostile inputs.
#pragma once

#include "batch_writers_check.hpp"
#include "json_text.hpp"
#include "report.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace procctx::cli::check {

inline std::string check_run_report(std::string_view data) {
  auto f = batch::check::fields_of(data, 8);
  std::uint8_t pick = data.empty() ? 0 : static_cast<std::uint8_t>(data.back());
  Completed c;
  c.pid = 1 + pick;
  c.argv = {f[0], f[1]};
  c.status = pick % 2 ? ExitStatus::killed_by(9) : ExitStatus::exited_with(pick);
  c.stop_reason = pick % 3 ? StopReason::canceled : StopReason::none;
  c.cause = f[2];
  c.tree_note = f[3];
  c.cgroup = f[4];
  c.leftovers = {{1000 + pick, f[5]}};
  RunReport r;
  r.argv = {f[0], f[1], f[6]};
  r.start = r.end = std::chrono::system_clock::time_point{std::chrono::seconds{1700000000 + pick}};
  r.error = f[7];
  r.outcome = pick % 5 == 0 ? nullptr : &c;
  r.stop_sequence = f[2];
  r.tree_requested = f[3];
  r.out = {true, pick, pick / 2u, f[6], ""};
  r.pipe_holders = {{2000 + pick, f[5]}};
  std::string text = to_json(r);
  if (!nlohmann::json::accept(text)) return "the run report is not JSON";
  auto j = nlohmann::json::parse(text);
  std::vector<std::string> argv = j["argv"];
  if (argv != std::vector<std::string>{valid_utf8(f[0]), valid_utf8(f[1]), valid_utf8(f[6])}) {
    return "the run report's argv reads back different";
  }
  return "";
}

}  // namespace procctx::cli::check
