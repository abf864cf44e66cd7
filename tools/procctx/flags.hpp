// flags.hpp — each subcommand's flags, declared once. The same table drives
// the parser, `--help` and the man page (`procctx man`).
//
// Parsing follows GNU getopt_long in "+" mode, which is what `timeout` and
// most coreutils use: options first, the first operand ends them (so the
// command's own flags are never taken for ours); `--` ends them too; long
// options take `--name=value` or `--name value` and may be abbreviated to
// any unique prefix; short ones cluster (`-pv`, `-sKILL`, `-k 5`).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace procctx::cli {

struct Flag {
  char short_name = 0;        // 0: long form only
  std::string_view long_name;
  std::string_view value;     // "" for a switch, else its placeholder ("DURATION")
  std::string_view help;
  bool repeatable = false;    // may be given more than once (values accumulate)
};

struct Spec {
  std::string_view name;      // "timeout"; "" for the top level
  std::string_view synopsis;  // "[OPTION]... DURATION COMMAND [ARG]..."
  std::string_view summary;   // one line
  std::string_view details;   // paragraphs after the options (exit codes, notes)
  std::span<const Flag> flags;
};

struct Parsed {
  // Flags in the order given, with their values ("" for switches).
  std::vector<std::pair<const Flag*, std::string>> given;
  // Everything from the first operand on.
  std::vector<std::string> operands;

  bool has(std::string_view long_name) const;
  // The last value given for a flag.
  std::optional<std::string> value(std::string_view long_name) const;
  // Every value given for a repeatable flag, in order.
  std::vector<std::string> values(std::string_view long_name) const;
};

// Parses `args` (what follows the subcommand's name). On a usage error
// returns nullopt with `error` set to a GNU-style message such as
// "unrecognized option '--bogus'".
std::optional<Parsed> parse(const Spec& spec, std::span<const std::string> args, std::string& error);

// The --help text.
std::string help(const Spec& spec);
// A man page section (roff) for one subcommand.
std::string man_section(const Spec& spec);

// "procctx timeout" (or "procctx" for the top level).
std::string program_name(const Spec& spec);

}  // namespace procctx::cli
