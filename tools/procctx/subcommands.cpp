#include "subcommands.hpp"

#include "exit_codes.hpp"
#include "messages.hpp"

#include <iostream>

namespace procctx::cli {

std::string version_line(std::string_view subcommand) {
  // As `timeout`, GNU's shape: "timeout (procctx) 0.1.0".
  if (subcommand == "timeout" && invoked_as_timeout()) return "timeout (procctx) " PROCCTX_VERSION_STRING;
  std::string s = "procctx";
  if (!subcommand.empty()) {
    s += ' ';
    s += subcommand;
  }
  return s + " " PROCCTX_VERSION_STRING;
}

int usage_error(const Spec& spec, const std::string& message) {
  std::string prog = program_name(spec);
  if (!message.empty()) say(prog, message);
  (void)write_all(2, "Try '" + prog + " --help' for more information.\n");
  return kExitFailure;
}

std::optional<Parsed> parse_args(const Spec& spec, std::span<const std::string> args, int& exit_code) {
  std::string error;
  auto parsed = parse(spec, args, error);
  if (!parsed) {
    exit_code = usage_error(spec, error);
    return std::nullopt;
  }
  // Written through std::cout: a write error there (a full disk, a closed
  // stdout) makes main() exit 125 with "write error", as coreutils does.
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

}  // namespace procctx::cli
