// libFuzzer target: batch::read_joblog, and writing back what it read.
#include "batch_log.hpp"

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in{std::string{reinterpret_cast<const char*>(data), size}};
  std::size_t skipped = 0;
  auto records = procctx::cli::batch::read_joblog(in, skipped);
  for (const auto& r : records) {
    (void)procctx::cli::batch::joblog_line(r);
    (void)procctx::cli::batch::parallel_joblog_line(r);
  }
  (void)procctx::cli::batch::last_outcomes(records);
  return 0;
}
