// libFuzzer target: StopSequence::parse and rlimit_from_name.
#include <procctx/procctx.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  if (auto s = procctx::StopSequence::parse(text)) {
    for (const auto& step : s->steps()) (void)step.wait.count();
  }
  (void)procctx::rlimit_from_name(text);
  return 0;
}
