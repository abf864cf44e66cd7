// run_flags.hpp — the flags of `procctx run` and the Command they describe.
#pragma once

#include "flags.hpp"

#include <procctx/procctx.hpp>

#include <optional>
#include <string>

namespace procctx::cli {

// Everything the flags say, checked: what to run and how to watch it.
// The plan keeps what run needs to know of the command itself, so that it
// never reads the Command back.
struct RunPlan {
  Command cmd{"true"};
  std::string program;                     // COMMAND as given
  std::string stop_text = "TERM,5s,KILL";  // the stop sequence in --stop syntax
  Tree tree = Tree::cgroup;
  bool new_session = false;             // --hardened
  bool hand_terminal = false;           // the command's group gets procctx's terminal
  Duration timeout = Duration::zero();  // zero: none
  Duration wait_delay = std::chrono::seconds(2);
  bool verbose = false;
  std::optional<std::string> json_path;
  std::string tree_requested = "auto";
  std::string leftover_policy = "kill";
};

// The plan for `p` (whose operands are COMMAND [ARG]...), or the usage
// error to print: it names the flag and its value (--rlimit 'NOFILE=lots':
// ...). Checks what the library would only find at spawn, so that its
// words (API names) never reach a CLI user.
std::optional<std::string> make_run_plan(const Parsed& p, RunPlan& plan);

// "--timeout 'x'": the flag and its value, quoted, for a message.
std::string flag_value(std::string_view flag, const std::string& value);

}  // namespace procctx::cli
