// shown.hpp — a name or value the caller gave, as procctx's messages quote
// it: in single quotes, safe on a terminal whatever its bytes.
#pragma once

#include <string>
#include <string_view>

namespace procctx::detail {

// `s` with its control bytes (C0, DEL, and C1 as UTF-8) and the bytes that
// are not UTF-8 escaped as GNU tools and procctx's CLI write them (\n, \t...,
// else \ooo), a backslash doubled; the rest as it is.
std::string printable(std::string_view s);

// printable(s) in single quotes.
std::string shown(std::string_view s);

// The parts appended in order, as one message. GCC 12 misreads chains of
// `"text" + std::string(...)` in optimised builds as overlapping copies
// (-Wrestrict); appending builds the same string without them.
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::string out;
  (out.append(std::string_view{parts}), ...);
  return out;
}

}  // namespace procctx::detail
