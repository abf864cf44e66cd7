// subcommands.hpp — each subcommand's entry point and flag table.
#pragma once

#include "flags.hpp"

#include <optional>
#include <span>
#include <string>

namespace procctx::cli {

// Each takes the arguments after its own name and returns the exit code.
int timeout_main(std::span<const std::string> args);
int run_main(std::span<const std::string> args);
int batch_main(std::span<const std::string> args);

const Spec& timeout_spec();
const Spec& run_spec();
const Spec& batch_spec();

// The first line of --version: "procctx run 0.1.0"; as `timeout`, "timeout
// (procctx) 0.1.0".
std::string version_line(std::string_view subcommand);

// Prints "PROGRAM: MESSAGE" and the --help hint to stderr; returns 125.
int usage_error(const Spec& spec, const std::string& message);

// Parses a subcommand's arguments. When there is nothing to run — a usage
// error (125), --help or --version (0), printed here — returns nullopt with
// `exit_code` set. Help and version go to std::cout, whose write errors
// main() reports.
std::optional<Parsed> parse_args(const Spec& spec, std::span<const std::string> args, int& exit_code);

}  // namespace procctx::cli
