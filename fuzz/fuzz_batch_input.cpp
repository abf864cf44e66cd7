// libFuzzer target: batch::JobList::from_lines, shell lines and JSON lines,
// and every job made back from the list.
#include "batch_input.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text{reinterpret_cast<const char*>(data), size};
  for (bool jsonl : {false, true}) {
    auto list = procctx::cli::batch::JobList::from_lines(text, jsonl);
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto job = list.job(i);
      (void)list.id(i);
      procctx::cli::batch::apply_slot(job, 3);
    }
  }
  return 0;
}
