// proc_linux.hpp — every /proc read of the library, one verb each.
//
// Each returns what /proc says right now, or nothing when the process (or
// /proc itself) is not there: a process may exit between any two reads, so
// callers treat every answer as a snapshot.
#pragma once

#include <procctx/process.hpp>

#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace procctx::detail::proc {

// The fields of /proc/PID/stat procctx uses.
struct Stat {
  pid_t pid = 0, ppid = 0, pgrp = 0;
  char state = '?';
  std::string comm;
  bool live() const noexcept { return state != 'Z' && state != 'X'; }
};
std::optional<Stat> stat(pid_t pid);
// /proc/PID/comm without its newline ("" when gone).
std::string comm(pid_t pid);
// /proc/PID/cmdline split at NULs ({} when gone).
std::vector<std::string> cmdline(pid_t pid);

// Every live descendant of `root`, following /proc/PID/task/TID/children:
// the cost grows with the tree, not with the processes on the machine.
std::vector<Stat> descendants(pid_t root);
// Members of process group `pgid` that are not zombies (a scan of /proc).
std::vector<ProcessRef> group_members(pid_t pgid);
// Every process but this one with an fd on the same pipe as `fd`.
std::vector<ProcessRef> pipe_holders(int fd);

// This process: its open fds, its threads (tid and name), its children.
std::vector<int> self_fds();
struct Thread {
  pid_t tid = 0;
  std::string name;
};
std::vector<Thread> self_threads();
std::vector<pid_t> self_children();
std::string self_comm();

// This process's cgroup v2 path (the "0::" line of /proc/self/cgroup), and
// the cgroup2 mounts as (root within the hierarchy, mount point).
std::optional<std::string> self_cgroup();
struct Mount {
  std::string root, point;
};
std::vector<Mount> cgroup2_mounts();

}  // namespace procctx::detail::proc
