// procctx — run child processes under deadlines, stop whole trees, lose
// nothing. This file only dispatches to the subcommands.
#include "subcommands.hpp"

#include <cstdio>
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

}  // namespace

std::string version_line(std::string_view subcommand) {
  std::string s = "procctx";
  if (!subcommand.empty()) s += " " + std::string{subcommand};
  return s + " " PROCCTX_VERSION_STRING;
}

int usage_error(const Spec& spec, const std::string& message) {
  std::string prog = program_name(spec);
  if (!message.empty()) std::fprintf(stderr, "%s: %s\n", prog.c_str(), message.c_str());
  std::fprintf(stderr, "Try '%s --help' for more information.\n", prog.c_str());
  return 125;
}

std::optional<Parsed> parse_args(const Spec& spec, std::span<const std::string> args, int& exit_code) {
  std::string error;
  auto parsed = parse(spec, args, error);
  if (!parsed) {
    exit_code = usage_error(spec, error);
    return std::nullopt;
  }
  if (parsed->has("help")) {
    std::cout << help(spec);
    exit_code = 0;
    return std::nullopt;
  }
  if (parsed->has("version")) {
    std::cout << version_line(spec.name) << "\n";
    exit_code = 0;
    return std::nullopt;
  }
  return parsed;
}

int main(std::span<const std::string> args) {
  if (args.empty()) return usage_error(kTop, "missing COMMAND");
  const std::string& sub = args[0];
  auto rest = args.subspan(1);
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
  return usage_error(kTop, "unknown command " + std::string{"'"} + sub + "'");
}

}  // namespace procctx::cli

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return procctx::cli::main(args);
  } catch (const std::exception& e) {
    // Never an abort: say what broke, in procctx's own exit code.
    std::fprintf(stderr, "procctx: error: internal error: %s\n", e.what());
    return 125;
  }
}
