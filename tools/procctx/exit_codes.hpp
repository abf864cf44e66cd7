// exit_codes.hpp — the exit codes of `procctx run` and `procctx timeout`,
// which are GNU timeout's (docs/exit-codes.md).
#pragma once

namespace procctx::cli {

inline constexpr int kExitTimedOut = 124;
inline constexpr int kExitFailure = 125;    // procctx itself failed (bad usage, cannot spawn)
inline constexpr int kExitCannotRun = 126;  // found, but not executable
inline constexpr int kExitNotFound = 127;
inline constexpr int kExitSignalBase = 128;  // + the signal that killed the command

}  // namespace procctx::cli
