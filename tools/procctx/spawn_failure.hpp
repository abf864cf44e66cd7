// spawn_failure.hpp — a command that could not be started, as the CLI
// reports it.
#pragma once

#include <procctx/procctx.hpp>

#include <string>
#include <string_view>

namespace procctx::cli {

// 127 (not found) or 126 (not executable) with GNU timeout's words, "failed
// to run command 'x': No such file or directory", when the program itself
// could not be run; else 125 with procctx's whole message (a missing --cwd is
// procctx's failure, 125, even though it is ENOENT too).
struct SpawnFailure {
  int exit_code;
  std::string text;
};
SpawnFailure describe_spawn_failure(const Error& e, std::string_view program);

}  // namespace procctx::cli
