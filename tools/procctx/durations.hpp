// durations.hpp — the DURATION operands and flags of `timeout` and `run`.
#pragma once

#include <procctx/procctx.hpp>

#include <optional>
#include <string_view>

namespace procctx::cli {

// GNU timeout's DURATION, as coreutils 9.11 reads it: a floating-point
// number in the user's locale or in C's (so "1.5", "0x1p3", "inf", "1e-3"),
// then an optional s, m, h or d. A negative value is invalid, even one too
// small to tell from 0 (" -1e-10000"); a positive one too small for a double
// (1e-10000) is the smallest positive value, never 0 ("disabled"); one too
// large is the largest. nullopt when invalid. 0 means "no timeout".
std::optional<double> parse_gnu_duration(std::string_view text);

// `seconds` (>= 0) as a Duration, rounded up to whole nanoseconds, so a
// positive value is never 0 and a timer never fires early. Duration::max()
// stands for "never": 100 years or more.
Duration seconds_to_duration(double seconds);

// run's DURATION: a non-negative decimal number, exponent allowed (1.5,
// 2e3, 1e-10), then an optional unit: ns, us, ms, s (the default), m, h or
// d. Rounded up to whole nanoseconds as above (so 1e-10s is 1 ns, not 0);
// Duration::max() past 100 years. The Error says what is wrong with it, for
// a message that names the flag.
Result<Duration> parse_run_duration(std::string_view text);

}  // namespace procctx::cli
