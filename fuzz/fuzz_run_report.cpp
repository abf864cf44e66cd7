// libFuzzer target: arbitrary bytes through the JSON report of `procctx run
// --json`; aborts when the report does not parse or its argv reads back
// different (run_report_check.hpp).
#include "run_report_check.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string problem = procctx::cli::check::check_run_report({reinterpret_cast<const char*>(data), size});
  if (!problem.empty()) {
    std::fprintf(stderr, "fuzz_run_report: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
