// libFuzzer target: batch::HaltPolicy::parse and batch::RetryPolicy::parse_on.
#include "batch_sched.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  std::string error;
  (void)procctx::cli::batch::HaltPolicy::parse(text, error);
  error.clear();
  (void)procctx::cli::batch::RetryPolicy::parse_on(text, error);
  return 0;
}
