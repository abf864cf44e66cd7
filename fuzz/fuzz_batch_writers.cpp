// libFuzzer target: arbitrary bytes through every writer of procctx batch
// (job log, GNU parallel row, meta.json, summary, HTML report); aborts when
// an output does not parse or lets data become markup (batch_writers_check.hpp).
#include "batch_writers_check.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string problem =
      procctx::cli::batch::check::check_writers({reinterpret_cast<const char*>(data), size});
  if (!problem.empty()) {
    std::fprintf(stderr, "fuzz_batch_writers: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
