// batch_text.hpp — small text and fd helpers `procctx batch` uses in many
// places: values quoted for messages as GNU tools quote them, whole writes
// with their errno, and number parsing that refuses anything extra.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace procctx::cli::batch {

// `text` quoted as GNU's quote() does in the C locale: 'a\n\033[31m'.
// Control characters and bytes outside ASCII are escaped, so a hostile
// value never reaches a terminal raw.
std::string gnu_quote(std::string_view text);

// "--jobs 'x': expected a positive number": the flag, the value as given
// (quoted), and what was wrong.
std::string bad_value(std::string_view flag, std::string_view value, std::string_view why);

// Writes all of `bytes` to `fd` (retrying EINTR and short writes); 0, or
// the errno of the write that failed.
int write_all(int fd, std::string_view bytes);

// A whole decimal number, nothing before or after it.
std::optional<std::uint64_t> to_u64(std::string_view s);

// Unix time now, in seconds.
double unix_now();

// "12s", "3m05s", "2h10m".
std::string short_duration(double seconds);

}  // namespace procctx::cli::batch
