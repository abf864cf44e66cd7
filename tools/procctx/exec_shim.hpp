// exec_shim.hpp — signals left ignored for the command, as execve(2) does.
//
// A shell that starts `timeout` with SIGPIPE ignored (`trap '' PIPE`), or
// nohup with SIGHUP ignored, expects the command to inherit that: execve
// keeps SIG_IGN, and GNU timeout leaves such signals alone. procctx's spawn
// resets every disposition to the default in the child, and has no option
// to keep the ignored ones. Until it does, `timeout` runs the command through
// this shim when its parent left a signal ignored: procctx itself, started as
// "procctx-exec-shim", sets those signals to SIG_IGN and execvp(3)s the
// command, which then also gives execvp's PATH lookup, its /bin/sh fallback
// for a script without #!, and GNU timeout's 126/127 with its message.
#pragma once

#include <procctx/procctx.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace procctx::cli {

// The signals `timeout`'s command must find ignored: those ignored when
// procctx started, except the ones timeout handles itself (its SIGNAL, ALRM,
// CHLD) and TTIN/TTOU, which GNU timeout resets for the command.
std::vector<int> signals_to_keep_ignored(int term_signal);

// What to start for COMMAND [ARG]...: itself, or (with `signals`) the shim,
// which ignores them and then execs it. `name` prefixes the shim's message
// when the exec fails ("timeout"). The shim is not used when `signals` is
// empty or procctx's own binary cannot be named (no /proc).
struct Launch {
  std::string program;
  std::vector<std::string> args;  // argv[1..]
  std::string arg0;               // "" for the program as given
};
Launch launch_keeping_ignored(const std::vector<std::string>& command, const std::vector<int>& signals,
                              std::string_view name);

// In main(), first: when argv[0] is the shim's name, runs the shim (it never
// returns); else returns.
void exec_shim_if_invoked(int argc, char** argv);

}  // namespace procctx::cli
