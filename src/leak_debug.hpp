// leak_debug.hpp — PROCCTX_DEBUG=leaks: children nobody waited for, kept as
// lines and printed to stderr at exit.
#pragma once

#include <string>

namespace procctx::detail::leak_debug {

// Whether PROCCTX_DEBUG names "leaks" (read once).
bool enabled() noexcept;
void record(std::string line);
// Prints every recorded line to stderr.
void print() noexcept;

}  // namespace procctx::detail::leak_debug
