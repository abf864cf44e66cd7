// spawn_child_linux.hpp — the plan the child side of spawn follows.
//
// Everything is decided and allocated in the parent; the child, running on
// a private stack in memory shared with the suspended parent (CLONE_VM |
// CLONE_VFORK), only reads this plan and makes raw syscalls. If a step
// fails it writes {step, errno} back here (with the PATH entry it was at,
// for a program looked up by name) and exits 127; the parent reads that
// once clone returns.
#pragma once

#include <cstddef>
#include <cstdint>

#include <sys/types.h>

namespace procctx::detail {

// The steps of the child, in order. Names appear in spawn errors.
enum class ChildStep : int {
  none = 0,
  signals,
  session,
  process_group,
  terminal,
  cgroup,
  rlimits,
  umask,
  chdir,
  groups,
  gid,
  uid,
  no_new_privs,
  parent_death,
  fd_table,
  fds,
  close_fds,
  path_search,    // no PATH entry holds the program (ENOENT), or none it may run (EACCES)
  path_relative,  // found first through a relative PATH entry, which the plan refuses
  exec
};
const char* step_name(ChildStep s) noexcept;

// What the init of a PID namespace tells procctx, in a page both share
// (Tree::pid_namespace).
struct NamespaceReport {
  ChildStep failed_step = ChildStep::none;  // the command could not start
  int failed_errno = 0;
  int failed_entry = -1;  // the PATH entry of the failure, for a program looked up by name
  int command_code = 0;  // CLD_EXITED, CLD_KILLED or CLD_DUMPED once the command ended (0: unknown)
  int command_status = 0;
};

// Tree::pid_namespace: how the init procctx puts there starts and reports.
struct NamespacePlan {
  bool enabled = false;
  bool new_user = false;      // with a user namespace too (procctx is not root)
  int go_read = -1;           // init waits for a byte here (procctx has written the id maps)
  int started_write = -1;     // init writes a byte here once the command has exec'ed or failed
  NamespaceReport* report = nullptr;
  void* stack = nullptr;      // where init starts the command
  std::size_t stack_size = 0;
};

// A program named without a slash is looked up on PATH by the child, last,
// right before execve (as execvp does): the lookup then sees the directory
// and the identity the program will run with, and costs the parent nothing.
struct PathSearch {
  const char* program = nullptr;  // nullptr: ChildPlan::path is the program, as given
  const char* entries = nullptr;  // PATH's entries, each NUL-terminated, one after the other
  int nentries = 0;
  bool refuse_relative = true;  // a match through an entry not starting with '/' fails
  char* candidate = nullptr;    // room for the longest entry, '/', the program and a NUL
};

struct ChildPlan {
  static constexpr int kMaxFds = 64;

  const char* path = nullptr;  // the program, when it has a slash (else `search` finds it)
  PathSearch search;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* cwd = nullptr;  // nullptr: stay

  // Child fd `target[i]` becomes a copy of parent fd `source[i]`
  // (-1: closed). Targets are unique.
  int source[kMaxFds] = {};
  int target[kMaxFds] = {};
  int nfds = 0;
  // Fds >= 3 to keep open, ascending (the targets above 2).
  int keep[kMaxFds] = {};
  int nkeep = 0;

  char* const* sh_argv = nullptr;  // with shell_fallback: {"/bin/sh", path, args..., nullptr}
  bool keep_inherited = false;     // keep every fd that is not close-on-exec
  bool use_close_range = true;  // false: list /proc/self/fd instead
  bool handlers_cleared = false;  // clone3 with CLONE_CLEAR_SIGHAND: the kernel reset every handler
  bool keep_ignored = false;      // ignored signals stay ignored (but those in `reset`)
  static constexpr int kMaxResets = 64;
  int reset[kMaxResets] = {};
  int nreset = 0;
  bool share_files = true;      // clone with CLONE_FILES; the child copies what it needs
  int unshare_fault = 0;        // tests: the child's copy fails with this errno
  int cgroup_dir = -1;          // join this cgroup (when clone3 could not put us there)
  bool new_session = false;
  bool new_process_group = false;
  int foreground_tty = -1;  // make our process group the terminal's foreground

  struct Limit {
    int resource;
    std::uint64_t soft, hard;
  };
  static constexpr int kMaxLimits = 16;
  Limit rlimits[kMaxLimits] = {};
  int nrlimits = 0;
  int umask = -1;  // -1: inherit
  const unsigned int* groups = nullptr;
  int ngroups = -1;         // -1: leave the supplementary groups alone
  long gid = -1, uid = -1;  // -1: keep
  bool no_new_privs = false;
  int parent_death_signal = 0;
  pid_t parent_pid = 0;  // with parent_death_signal: who must still be there

  NamespacePlan ns;

  // Written by the child on failure.
  ChildStep failed_step = ChildStep::none;
  int failed_errno = 0;
  int failed_entry = -1;  // with `search`: the PATH entry whose candidate failed (path_relative, exec)
};

// Starts a child that runs `plan` with CLONE_VM | CLONE_VFORK (the caller is
// suspended until the child execs or exits) and, with plan->share_files,
// CLONE_FILES (the child's first step copies only the low fds it uses into
// a table of its own). Returns the child's pid and sets *pidfd, or returns
// -errno. `use_clone3` picks clone3 (else clone).
// `cgroup_fd` >= 0 asks for CLONE_INTO_CGROUP (clone3 only).
long clone_child(ChildPlan* plan, void* stack, std::size_t stack_size, int* pidfd, bool use_clone3,
                 int cgroup_fd) noexcept;

// Tree::pid_namespace: starts, as a copy of this process (no CLONE_VM) in a
// new PID namespace (and user namespace, with plan->ns.new_user), the init
// that then starts the command with clone_child() and reaps, forwards
// signals and reports (pidns_init_linux.cpp). Returns init's pid and sets
// *pidfd, or returns -errno.
long clone_init(ChildPlan* plan, int* pidfd) noexcept;

}  // namespace procctx::detail
