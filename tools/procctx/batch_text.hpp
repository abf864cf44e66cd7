// batch_text.hpp — small text helpers `procctx batch` uses in many places:
// a bad value named the one way (quote() and write_all() are procctx's own,
// in messages.hpp), number parsing that refuses anything extra, and times.
#pragma once

#include "messages.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace procctx::cli::batch {

// "--jobs 'x': expected a positive number": the flag, the value as given
// (quoted), and what was wrong.
std::string bad_value(std::string_view flag, std::string_view value, std::string_view why);

// A whole decimal number, nothing before or after it.
std::optional<std::uint64_t> to_u64(std::string_view s);

// Unix time now, in seconds.
double unix_now();

// "12s", "3m05s", "2h10m".
std::string short_duration(double seconds);

}  // namespace procctx::cli::batch
