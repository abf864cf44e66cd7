#include "exec_shim.hpp"

#include "exit_codes.hpp"
#include "messages.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>

#include <unistd.h>

namespace procctx::cli {
namespace {

constexpr std::string_view kShimName = "procctx-exec-shim";
constexpr const char* kSelf = "/proc/self/exe";

}  // namespace

std::vector<int> signals_to_keep_ignored(int term_signal) {
  std::vector<int> out;
  for (int sig = 1; sig < 65; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP || sig == SIGCHLD || sig == SIGALRM || sig == SIGTTIN ||
        sig == SIGTTOU || sig == term_signal) {
      continue;
    }
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) out.push_back(sig);
  }
  return out;
}

Launch launch_keeping_ignored(const std::vector<std::string>& command, const std::vector<int>& signals,
                              std::string_view name) {
  if (signals.empty() || ::access(kSelf, X_OK) != 0)
    return {command[0], {command.begin() + 1, command.end()}, ""};
  std::string list;
  for (int sig : signals) list += (list.empty() ? "" : ",") + std::to_string(sig);
  // argv: procctx-exec-shim SIGNALS NAME PROGRAM ARG0 ARGS...
  std::vector<std::string> args{list, std::string{name}, command[0]};
  args.insert(args.end(), command.begin(), command.end());
  return {kSelf, std::move(args), std::string{kShimName}};
}

void exec_shim_if_invoked(int argc, char** argv) {
  if (argc < 5 || argv[0] == nullptr || std::string_view{argv[0]} != kShimName) return;
  for (char* p = argv[1]; *p != '\0';) {
    char* end = nullptr;
    long sig = std::strtol(p, &end, 10);
    if (end == p) break;
    ::signal(static_cast<int>(sig), SIG_IGN);
    p = *end == ',' ? end + 1 : end;
  }
  const char* name = argv[2];
  const char* program = argv[3];
  ::execvp(program, argv + 4);
  int err = errno;
  say(name, "failed to run command " + quote(program) + ": " + std::strerror(err));
  ::_exit(err == ENOENT ? kExitNotFound : kExitCannotRun);
}

}  // namespace procctx::cli
