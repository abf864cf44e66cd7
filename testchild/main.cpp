// procctx-testchild: a child process that misbehaves on request, for the
// tests of programs built on procctx (docs/testing.md has the table).
//
//   procctx-testchild BEHAVIOUR...      e.g. ignore=TERM fork=2 sleep=60
//
// Behaviours run in order; the list is parsed whole first, so a bad one
// (exit 2, with a line on stderr naming it) runs nothing. Output is written
// with write(2), so nothing waits in a buffer when the process is signalled.
// Exit codes: 0 at the end of the list, N for exit=N, 1 a system call
// failed (stderr says which), 2 a bad behaviour, 3 a write found no reader
// (EPIPE, with ignore=PIPE; otherwise SIGPIPE ends the process).
//
// Readiness: with PROCCTX_TESTCHILD_READY_FD=N in the environment (set by
// procctx::testing::spawn_ready and ReadyLatch), the process writes one
// byte to fd N and closes it when it reaches its first sleep, read-stdin,
// stop-self, exit, signal or the end of the list — after every process it
// forked (fork=N, setsid-daemon) has reported the same. The variable is
// removed from the environment first, so print-env never shows it.
#include "plan.hpp"
#include "run.hpp"

#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

namespace {

constexpr const char* kHelp =
    "usage: procctx-testchild BEHAVIOUR...\n"
    "A child that misbehaves on request, for tests of programs built on procctx.\n"
    "Behaviours run in order (fork=N: the rest runs in each process):\n"
    "  sleep=SECONDS             sleep (0.5 is half a second)\n"
    "  exit=N                    exit with code N now\n"
    "  signal=NAME               die by signal NAME (TERM, SIGKILL, 9); no core file\n"
    "  ignore=TERM,INT,...       ignore these signals from now on\n"
    "  stdout=BYTES              write BYTES to stdout (K, M, G: KiB, MiB, GiB)\n"
    "  stderr=BYTES              write BYTES to stderr\n"
    "  print=TEXT                write TEXT and a newline to stdout\n"
    "  grandchild-holds-output[=SECONDS]\n"
    "                            leave a grandchild holding stdout and stderr open until\n"
    "                            their reader goes away, or SECONDS (default 60)\n"
    "  setsid-daemon[=SECONDS]   leave a daemon in a session of its own (stdio on\n"
    "                            /dev/null) that lives SECONDS (default 60)\n"
    "  fork=N                    start N grandchildren that run the rest of the list too\n"
    "  stop-self                 stop (SIGSTOP) until continued\n"
    "  close-stdout              close stdout\n"
    "  read-stdin                read stdin to its end, then print stdin=BYTES\n"
    "  print-env                 print the environment, one NAME=VALUE a line\n"
    "  print-fds                 print the open fds: fds=0,1,2\n"
    "  print-ids                 print pid=N ppid=N pgid=N sid=N uid=N euid=N gid=N egid=N\n"
    "Exit: 0 at the end, N for exit=N, 1 a system call failed, 2 a bad behaviour,\n"
    "3 a write found no reader (with ignore=PIPE).\n";

// Static storage: the plan is large (and constant-initialized, so no guard).
testchild::Plan plan;

// The readiness fd from the environment, or -1; the variable is removed.
int take_ready_fd() {
  const char* text = std::getenv("PROCCTX_TESTCHILD_READY_FD");
  if (text == nullptr) return -1;
  char* end = nullptr;
  long fd = std::strtol(text, &end, 10);
  bool valid = end != text && *end == '\0' && fd > 2 && fd < 65536;
  ::unsetenv("PROCCTX_TESTCHILD_READY_FD");
  if (!valid || ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC) != 0) return -1;
  return static_cast<int>(fd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    return testchild::write_text(STDOUT_FILENO, kHelp) == 0 ? 0 : 1;
  }
  if (argc == 2 && std::strcmp(argv[1], "--version") == 0) {
    return testchild::write_text(STDOUT_FILENO, "procctx-testchild " PROCCTX_VERSION "\n") == 0 ? 0 : 1;
  }
  int ready_fd = take_ready_fd();
  if (!testchild::parse(argc, argv, plan)) return 2;
  return testchild::run(plan, ready_fd);
}
