/// @file
/// @brief Names and texts procctx reads and writes: signals, resource limits, durations.
///
/// @code
///   procctx::signal_from_name("TERM");   // 15 (also "SIGTERM", "15", "sigterm")
///   procctx::signal_name(9);             // "SIGKILL"
///   procctx::rlimit_from_name("NOFILE"); // RLIMIT_NOFILE (also "RLIMIT_NOFILE")
///   procctx::parse_duration("1.5s");     // 1500ms
/// @endcode
///
/// Each is backed by one table. What it will not do: accept GNU timeout's
/// duration grammar (hex, "inf", suffixes without units): the CLI has its own
/// for `procctx timeout`.
#pragma once

#include <procctx/clock.hpp>
#include <procctx/export.hpp>
#include <procctx/result.hpp>

#include <string>
#include <string_view>

namespace procctx {

/// Signal names: "TERM", "SIGTERM", "sigterm" or "15" → 15; real-time ones as
/// "RTMIN", "RTMIN+2", "RTMAX-1"; 0 when unknown.
PROCCTX_EXPORT int signal_from_name(std::string_view name) noexcept;
/// 15 → "SIGTERM"; "SIG42" style for unnamed ones.
PROCCTX_EXPORT std::string signal_name(int sig);
/// Whether a stopped process needs SIGCONT to act on `sig`: true for every
/// signal but SIGKILL (which the kernel delivers to stopped processes too) and
/// SIGCONT itself. procctx's stop sequence follows each such signal with one.
PROCCTX_EXPORT bool needs_continue(int sig) noexcept;

/// "NOFILE" or "RLIMIT_NOFILE" (any case) → RLIMIT_NOFILE; -1 when unknown.
PROCCTX_EXPORT int rlimit_from_name(std::string_view name) noexcept;
/// RLIMIT_NOFILE → "RLIMIT_NOFILE"; "rlimit 99" for a number without a name.
PROCCTX_EXPORT std::string rlimit_name(int resource);

/// Go-like durations for the CLI and stop sequences: "1.5s", "250ms", "2m",
/// "1h", "3d", "10" (seconds). Errors (errc::invalid_argument) name the text
/// and what is wrong with it.
PROCCTX_EXPORT Result<Duration> parse_duration(std::string_view text);

}  // namespace procctx
