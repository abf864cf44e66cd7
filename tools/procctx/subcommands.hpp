// subcommands.hpp — each subcommand's entry point and flag table.
#pragma once

#include "flags.hpp"

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

// "procctx 0.1.0"
std::string version_line(std::string_view subcommand);

// Prints "PROGRAM: MESSAGE" and the --help hint to stderr; returns 125.
int usage_error(const Spec& spec, const std::string& message);

}  // namespace procctx::cli
