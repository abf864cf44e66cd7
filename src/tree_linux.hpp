// tree_linux.hpp — the processes a child's stop reaches: its process group,
// its cgroup leaf, its PID namespace (through the init procctx put there), or
// the child alone; whether any of them still runs; and who is left.
//
// A process group is named by a number the kernel may give to strangers
// once it is empty, so it is signalled only while the leader is unreaped
// (the group cannot be reused then) or a member was just seen; once seen
// empty, never again. A cgroup has no such window: the leaf is the tree.
//
// Threads: every member is called with the owning child's lock held.
#pragma once

#include <procctx/command.hpp>
#include <procctx/process.hpp>

#include "cgroup_linux.hpp"
#include "spawn_child_linux.hpp"
#include "sys_linux.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace procctx::detail {

class ProcessTree {
 public:
  ProcessTree() = default;
  ProcessTree(Tree mode, pid_t leader, int leader_pidfd, Leftovers policy, std::optional<cgroup::Leaf> leaf,
              std::shared_ptr<NamespaceReport> ns_report = nullptr);
  ProcessTree(ProcessTree&&) noexcept = default;
  ProcessTree& operator=(ProcessTree&&) noexcept = default;
  ~ProcessTree();

  Tree mode() const noexcept { return mode_; }
  Leftovers policy() const noexcept { return policy_; }
  std::string cgroup_path() const { return leaf_ ? leaf_->path.string() : std::string{}; }

  // The leader was reaped: its pid may be reused, so it is never signalled
  // by pid again.
  void leader_reaped() noexcept { leader_reaped_ = true; }

  // One signal to the whole tree, each process once.
  Result<void> signal(int sig);
  // A stop step: `sig`, then SIGCONT where a stopped process needs it to act.
  void send_step(int sig);
  // Whether anything of the tree is still running (the leader, or members
  // other than zombies).
  bool alive();
  // What is in the tree now, the leader aside.
  std::vector<ProcessRef> members();

  // Process groups: descendants that left the group (setsid), found while
  // the leader lives, are tracked by pidfd (reported, and signalled with
  // Leftovers::kill). Needs the leader alive to see them.
  void find_escapees();
  // Escapees still running; the tree stops tracking them.
  std::vector<ProcessRef> take_live_escapees();

  // Cgroups: whether the OOM killer struck; then removes the leaf (its
  // survivors move to the parent and run on).
  bool release_leaf();

  // PID namespaces: the leader is procctx's init there; once it is reaped,
  // how the command itself ended (as the init saw it), if it told.
  std::optional<ExitStatus> command_status() const;

 private:
  struct Escapee {
    ProcessRef who;
    sys::UniqueFd pidfd;
  };
  static bool escapee_alive(const Escapee& e);
  Result<void> signal_group(int sig);

  Tree mode_ = Tree::none;
  pid_t leader_ = 0;
  int leader_pidfd_ = -1;  // the child's, borrowed
  bool leader_reaped_ = false;
  Leftovers policy_ = Leftovers::leave;
  std::optional<cgroup::Leaf> leaf_;
  std::shared_ptr<NamespaceReport> ns_report_;  // Tree::pid_namespace
  bool group_gone_ = false;  // seen empty after the leader: never looked at again
  std::vector<Escapee> escapees_;
};

}  // namespace procctx::detail
