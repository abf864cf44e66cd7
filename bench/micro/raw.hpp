// Hand-written C for the process benchmarks: posix_spawn (glibc's uses
// CLONE_VM|CLONE_VFORK, as procctx does) and waitpid on that one pid; and
// what /proc/self/status says about this process.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

namespace bench {

[[noreturn]] inline void die(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, what.c_str());
  std::exit(1);
}

struct Argv {
  std::vector<std::string> words;
  std::vector<char*> ptrs;
  explicit Argv(std::vector<std::string> w) : words(std::move(w)) {
    for (auto& s : words) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
  }
  char* const* get() { return ptrs.data(); }
};

inline pid_t raw_spawn(Argv& argv, const posix_spawn_file_actions_t* actions, const posix_spawnattr_t* attr) {
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, argv.words[0].c_str(), actions, attr, argv.get(), environ);
  if (rc != 0) die("posix_spawn " + argv.words[0] + ": " + std::strerror(rc));
  return pid;
}

inline int raw_wait(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) die(std::string{"waitpid: "} + std::strerror(errno));
  }
  return status;
}

// A "Field:   N kB" line of /proc/self/status (N), or -1.
inline long status_kib(const char* field) {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  std::string want = std::string{field} + ":";
  while (std::getline(in, line)) {
    if (line.compare(0, want.size(), want) == 0) return std::strtol(line.c_str() + want.size(), nullptr, 10);
  }
  return -1;
}

}  // namespace bench
