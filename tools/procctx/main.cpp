// procctx — run child processes under deadlines, stop whole trees, lose
// nothing. This file only dispatches to the subcommands.
#include "exit_codes.hpp"
#include "messages.hpp"
#include "caller_fds.hpp"
#include "subcommands.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <span>
#include <string>
#include <vector>

namespace procctx::cli {
namespace {

constexpr Flag kTopFlags[] = {
    {0, "help", "", "show this help and exit"},
    {0, "version", "", "show the version and exit"},
};

constexpr std::string_view kTopDetails =
    "Commands:\n"
    "  run       run one command under supervision (deadline, stop sequence, whole-tree kill, report)\n"
    "  timeout   a drop-in for GNU timeout(1)\n"
    "  batch     run many jobs, a bounded number at a time (GNU parallel's everyday job)\n"
    "  man       print the manual page (roff) for all of the above\n"
    "\n"
    "'procctx COMMAND --help' tells more about each.\n";

const Spec kTop{"", "COMMAND [OPTION]... [ARG]...", "Run child processes under deadlines and stop whole trees.",
                kTopDetails, kTopFlags};

std::string man_page() {
  std::string out = ".TH PROCCTX 1 \"\" \"procctx " PROCCTX_VERSION_STRING "\" \"User Commands\"\n";
  out += ".SH NAME\nprocctx \\- run child processes under deadlines and stop whole trees\n";
  out += ".SH SYNOPSIS\n.B procctx run\n[OPTION]... [\\-\\-] COMMAND [ARG]...\n.br\n";
  out += ".B procctx timeout\n[OPTION]... DURATION COMMAND [ARG]...\n.br\n";
  out += ".B procctx batch\n[OPTION]... [FILE | \\-\\- COMMAND [ARG]... ::: ARG...]\n";
  for (const Spec* s : {&run_spec(), &timeout_spec(), &batch_spec()}) out += man_section(*s);
  out += ".SH SEE ALSO\ntimeout(1), kill(1), signal(7), cgroups(7)\n";
  return out;
}

// Runs the subcommand named by args[0]; `program` is set to the name its
// messages use.
int dispatch(std::span<const std::string> args, std::string& program) {
  if (invoked_as_timeout()) {
    program = program_name(timeout_spec());
    return timeout_main(args);
  }
  if (args.empty()) return usage_error(kTop, "missing COMMAND");
  const std::string& sub = args[0];
  auto rest = args.subspan(1);
  for (const Spec* s : {&run_spec(), &timeout_spec(), &batch_spec()}) {
    if (sub == s->name) program = program_name(*s);
  }
  if (sub == "run") return run_main(rest);
  if (sub == "timeout") return timeout_main(rest);
  if (sub == "batch") return batch_main(rest);
  if (sub == "man") {
    std::cout << man_page();
    return 0;
  }
  if (sub == "--help" || sub == "-h") {
    std::cout << help(kTop);
    return 0;
  }
  if (sub == "--version") {
    std::cout << version_line("") << "\n";
    return 0;
  }
  return usage_error(kTop, "unknown command " + quote(sub));
}

}  // namespace
}  // namespace procctx::cli

int main(int argc, char** argv) {
  using namespace procctx::cli;
  // Before anything is opened: see caller_fds.hpp.
  if (!claim_standard_fds()) return kExitFailure;
  set_invocation_name(argc > 0 && argv[0] ? argv[0] : "");
  track_stdout_errors();
  std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
  std::string program = "procctx";
  int code = kExitFailure;
  try {
    code = dispatch(args, program);
  } catch (const std::exception& e) {
    // Never an abort: say what broke, in procctx's own exit code.
    say(program, std::string{"internal error: "} + e.what());
    return kExitFailure;
  }
  // coreutils' close_stdout: output that could not be written is an error.
  if (int err = stdout_write_error()) {
    say(program, std::string{"write error: "} + std::strerror(err));
    if (code == 0) code = kExitFailure;
  }
  return code;
}
