#include "leak_debug.hpp"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string_view>
#include <vector>

namespace procctx::detail::leak_debug {
namespace {

struct Leaks {
  std::mutex mu;
  std::vector<std::string> lines;
};

Leaks& leaks() {
  static auto* l = new Leaks;  // never destroyed: children may go during exit
  return *l;
}

}  // namespace

bool enabled() noexcept {
  static const bool on = [] {
    const char* debug = std::getenv("PROCCTX_DEBUG");
    return debug && std::string_view{debug}.find("leaks") != std::string_view::npos;
  }();
  return on;
}

void record(std::string line) {
  std::lock_guard lock{leaks().mu};
  leaks().lines.push_back(std::move(line));
}

void print() noexcept {
  std::lock_guard lock{leaks().mu};
  for (const auto& l : leaks().lines) std::fprintf(stderr, "%s\n", l.c_str());
}

}  // namespace procctx::detail::leak_debug
