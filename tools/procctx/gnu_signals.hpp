// gnu_signals.hpp — signals as coreutils' timeout names and handles them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace procctx::cli {

// coreutils' operand2sig: a name in any case, with or without SIG ("term",
// "SIGINT", "RTMIN+2", "EXIT" for 0), or a number, where a shell's status
// for a signal means that signal (137 and 393 are KILL). nullopt past the
// last signal (64).
std::optional<int> parse_signal_operand(std::string_view text);

// coreutils' sig2str: "TERM", "RTMIN+2", "RTMAX"; the number ("0", "32")
// for signals without a name.
std::string signal_short_name(int sig);

// The signals whose default action ends a process, which `timeout` passes
// on to the command (coreutils 9.10's term_sig list and the real-time ones).
std::vector<int> terminating_signals();

}  // namespace procctx::cli
