#include "spawn_failure.hpp"

#include "exit_codes.hpp"
#include "messages.hpp"

namespace procctx::cli {

SpawnFailure describe_spawn_failure(const Error& e, std::string_view program) {
  // Only a failure to find or execute the program itself maps to 126/127
  // (a missing --cwd is procctx's failure, 125, even though it is ENOENT).
  bool not_found = e.code() == errc::not_found;
  if (!not_found && e.code() != errc::not_executable) return {kExitFailure, e.message()};
  return {not_found ? kExitNotFound : kExitCannotRun,
          "failed to run command " + quote(program) + ": " + e.os_error().message()};
}

}  // namespace procctx::cli
