// libFuzzer target: batch::read_jobs, shell lines and JSON lines.
#include "batch_input.hpp"

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text{reinterpret_cast<const char*>(data), size};
  for (bool jsonl : {false, true}) {
    std::istringstream in{text};
    auto input = procctx::cli::batch::read_jobs(in, jsonl);
    for (const auto& job : input.jobs) (void)procctx::cli::batch::identity_hash(job);
  }
  return 0;
}
