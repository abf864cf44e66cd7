#include "spawn_failure.hpp"

#include "exit_codes.hpp"
#include "messages.hpp"

#include <cstring>

namespace procctx::cli {

SpawnFailure describe_spawn_failure(const Error& e, std::string_view program) {
  // Until the library's spawn errors carry codes for these two cases
  // (errc::not_found, errc::not_executable), its two wordings tell them.
  const std::string& m = e.message();
  bool exec_stage = e.code().category() == std::system_category() &&
                    (m.find(": not found on PATH") != std::string::npos ||
                     m.find(": found on PATH but not executable") != std::string::npos ||
                     m.find(": exec ") != std::string::npos);
  if (!exec_stage) return {kExitFailure, m};
  int code = e.code() == std::errc::no_such_file_or_directory ? kExitNotFound : kExitCannotRun;
  return {code, "failed to run command " + quote(program) + ": " + std::strerror(e.code().value())};
}

}  // namespace procctx::cli
