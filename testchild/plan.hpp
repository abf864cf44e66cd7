// plan.hpp — procctx-testchild's argument grammar: a list of behaviours,
// each NAME or NAME=VALUE, parsed whole before anything runs.
//
// The program uses libc only (no libstdc++ runtime: no allocation, no
// exceptions), so everything here lives in fixed arrays.
#pragma once

#include <csignal>
#include <cstddef>
#include <cstdint>

namespace testchild {

enum class Kind {
  sleep,
  exit,
  signal,
  ignore,
  stdout_flood,
  stderr_flood,
  print,
  grandchild_holds_output,
  setsid_daemon,
  fork,
  stop_self,
  close_stdout,
  read_stdin,
  print_env,
  print_fds,
  print_ids,
};

struct Behaviour {
  Kind kind = Kind::sleep;
  double seconds = 0;       // sleep, grandchild-holds-output, setsid-daemon
  std::uint64_t bytes = 0;  // stdout, stderr
  int number = 0;           // exit: the code; signal: the signal; fork: how many
  sigset_t signals{};       // ignore
  const char* text = "";    // print
};

constexpr std::size_t kMaxBehaviours = 256;

struct Plan {
  Behaviour steps[kMaxBehaviours];
  std::size_t size = 0;
};

// Parses argv[1..argc-1] into `plan`. On a bad behaviour, writes why to
// stderr ("procctx-testchild: sleep=x: ...") and returns false.
bool parse(int argc, char** argv, Plan& plan);

// Writes all of `text` to `fd`; returns 0 or the errno of the failure.
int write_all(int fd, const char* text, std::size_t size);
int write_text(int fd, const char* text);
// "procctx-testchild: " + a + b + c + "\n" on stderr.
void complain(const char* a, const char* b = "", const char* c = "");

}  // namespace testchild
