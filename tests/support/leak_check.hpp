// leak_check.hpp — the end-of-test check every process test runs: no child,
// fd or thread that the test created may outlive it.
#pragma once

#include <procctx/diagnostics.hpp>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include <sys/types.h>

namespace procctx::test {

// What /proc says about this process right now.
struct Resources {
  std::set<int> fds;
  std::set<pid_t> threads;   // excluding procctx's loop thread
  std::set<pid_t> children;  // including zombies
  int loop_threads = 0;      // threads named procctx-loop
  static Resources now();
};

// procctx::LeakCheck reporting through the current test's ADD_FAILURE.
class LeakCheck {
 public:
  LeakCheck();
  std::vector<std::string> check() { return check_.check(); }

 private:
  procctx::LeakCheck check_;
};

// Processes in process group `pgid` that are not zombies, after waiting up
// to `grace` for them to go away.
std::vector<pid_t> live_group_members(pid_t pgid,
                                      std::chrono::milliseconds grace = std::chrono::milliseconds(3000));

// True when `pid` exists and is not a zombie.
bool process_running(pid_t pid);

// Resident set size of this process, in KiB (-1 if /proc says nothing).
long rss_kib();

// Path of the helper child program.
inline const char* helper() { return PROCCTX_HELPER; }

}  // namespace procctx::test
