// report.hpp — the JSON report of `procctx run --json` (schema in docs/json.md).
#pragma once

#include <procctx/procctx.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace procctx::cli {

inline constexpr const char* kRunReportSchema = "procctx.run/1";

struct StreamReport {
  bool relayed = false;       // passed through procctx (bytes counted)
  std::uint64_t bytes = 0;    // read from the command
  std::uint64_t written = 0;  // written to procctx's own fd
  std::string error;          // why writing stopped (strerror), "" if it never did
  std::string not_relayed_why;  // "terminal": the child wrote to it directly
};

struct RunReport {
  std::vector<std::string> argv;
  std::chrono::system_clock::time_point start, end;
  int exit_code = 0;  // procctx's own
  std::string error;  // why procctx could not run the command, if so
  bool timed_out_before_start = false;  // a --timeout shorter than the spawn
  const Completed* outcome = nullptr;
  std::string stop_sequence;
  std::string tree_requested;
  std::string leftover_policy;
  int received_signal = 0;  // what reached procctx and made it stop the command
  StreamReport out, err;
  std::vector<ProcessRef> pipe_holders;  // found by procctx's relay after --wait-delay
};

// The report as JSON text (pretty, with a final newline).
std::string to_json(const RunReport& r);

}  // namespace procctx::cli
