// run_flags.hpp — the flags of `procctx run` and the Command they describe.
#pragma once

#include "flags.hpp"

#include <procctx/procctx.hpp>

#include <optional>
#include <string>

namespace procctx::cli {

// Everything the flags say, checked: what to run and how to watch it.
struct RunPlan {
  Command cmd{"true"};
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
