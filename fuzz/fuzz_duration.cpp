// libFuzzer target: procctx::parse_duration and cli::parse_gnu_duration.
#include <procctx/procctx.hpp>

#include "supervise.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  if (auto d = procctx::parse_duration(text); d) (void)d->count();
  if (auto s = procctx::cli::parse_gnu_duration(text)) (void)procctx::cli::seconds_to_duration(*s);
  return 0;
}
