// cgroup_linux.hpp — cgroup v2 leaves for Tree::cgroup.
//
// A leaf is a fresh cgroup directory made for one child, under a writable
// cgroup2 parent found from /proc/self/mountinfo and /proc/self/cgroup (or
// given by the caller). The child starts inside it (CLONE_INTO_CGROUP, or
// by joining itself before exec), so every process it forks stays inside:
// SIGKILL through cgroup.kill reaches all of them, even ones that setsid()
// or race forks against the kill. The leaf is removed once empty.
#pragma once

#include <procctx/command.hpp>
#include <procctx/process.hpp>
#include <procctx/result.hpp>

#include "sys_linux.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace procctx::detail::cgroup {

// The cgroup2 directory this process lives in, when it is writable.
Result<std::filesystem::path> default_parent();

struct Leaf {
  std::filesystem::path path;
  sys::UniqueFd dir;  // O_DIRECTORY fd, for CLONE_INTO_CGROUP and openat
};

// Makes a leaf under `parent` (default_parent() when empty) and applies the
// limits. Errors name the parent and the limit that could not be set.
Result<Leaf> create_leaf(const std::filesystem::path& parent, const CgroupLimits& limits);

// SIGKILL through cgroup.kill (Linux 5.14+), else a kill per member.
Result<void> kill_all(const Leaf& leaf);
// Any other signal: one kill per member listed in cgroup.procs.
Result<void> signal_all(const Leaf& leaf, int sig);
// True while any process is inside (cgroup.events "populated 1").
bool populated(const Leaf& leaf);
std::vector<ProcessRef> members(const Leaf& leaf);
// True when memory.events counts an OOM kill.
bool oom_killed(const Leaf& leaf);
// Moves whoever is still inside to the parent (so they run on unconfined),
// then removes the leaf.
void release(Leaf& leaf);

}  // namespace procctx::detail::cgroup
