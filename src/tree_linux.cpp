#include "tree_linux.hpp"

#include "proc_linux.hpp"

#include <csignal>

#include <poll.h>
#include <sys/wait.h>

namespace procctx::detail {

ProcessTree::ProcessTree(Tree mode, pid_t leader, int leader_pidfd, Leftovers policy,
                         std::optional<cgroup::Leaf> leaf, std::shared_ptr<NamespaceReport> ns_report)
    : mode_(mode),
      leader_(leader),
      leader_pidfd_(leader_pidfd),
      policy_(policy),
      leaf_(std::move(leaf)),
      ns_report_(std::move(ns_report)) {}

ProcessTree::~ProcessTree() {
  if (leaf_) cgroup::release(*leaf_);  // never leave a leaf behind
}

bool ProcessTree::escapee_alive(const Escapee& e) {
  // A pidfd of a process that is not our child turns readable when it exits.
  sys::Ret r = sys::poll_one(e.pidfd.get(), POLLIN, 0);
  return r.ok() && r.value == 0;
}

Result<void> ProcessTree::signal_group(int sig) {
  if (!leader_reaped_) {
    // The leader leads its group unless it moved itself elsewhere (setpgid,
    // setsid): then it gets the signal on its own, so nobody gets it twice.
    sys::Ret pgid = sys::getpgid(leader_);
    if (pgid.ok() && pgid.value != leader_) (void)sys::pidfd_send_signal(leader_pidfd_, sig);
  } else if (group_gone_) {
    return {};  // the group id may belong to strangers now
  }
  sys::Ret r = sys::kill(-leader_, sig);
  if (policy_ == Leftovers::kill) {
    for (const auto& e : escapees_) (void)sys::pidfd_send_signal(e.pidfd.get(), sig);
  }
  if (!r.ok() && r.err != ESRCH) return sys::error(r, "send " + signal_name(sig));
  return {};
}

Result<void> ProcessTree::signal(int sig) {
  switch (mode_) {
    case Tree::cgroup:
      if (leaf_) return sig == SIGKILL ? cgroup::kill_all(*leaf_) : cgroup::signal_all(*leaf_, sig);
      return {};
    case Tree::process_group:
      return signal_group(sig);
    case Tree::pid_namespace:  // the init passes it on to everything in the namespace
    case Tree::none:
      break;
  }
  if (leader_reaped_) return Error{make_error_code(errc::process_exited), "process already exited"};
  sys::Ret r = sys::pidfd_send_signal(leader_pidfd_, sig);
  if (!r.ok() && r.err != ESRCH) return sys::error(r, "send " + signal_name(sig));
  return {};
}

void ProcessTree::send_step(int sig) {
  (void)signal(sig);
  if (needs_continue(sig)) (void)signal(SIGCONT);
}

bool ProcessTree::alive() {
  if (!leader_reaped_) return true;
  switch (mode_) {
    case Tree::none:
    case Tree::pid_namespace:  // the kernel killed the namespace with its init
      return false;
    case Tree::cgroup:
      return leaf_ && cgroup::populated(*leaf_);
    case Tree::process_group:
      break;
  }
  if (policy_ == Leftovers::kill) {
    for (const auto& e : escapees_) {
      if (escapee_alive(e)) return true;
    }
  }
  if (group_gone_) return false;
  // One syscall in the common case of an empty group; a listing only when
  // something is there (it may be zombies waiting for their reaper).
  if (!sys::kill(-leader_, 0).ok() || proc::group_members(leader_).empty()) {
    group_gone_ = true;
    return false;
  }
  return true;
}

std::vector<ProcessRef> ProcessTree::members() {
  switch (mode_) {
    case Tree::cgroup:
      return leaf_ ? cgroup::members(*leaf_) : std::vector<ProcessRef>{};
    case Tree::process_group:
      return proc::group_members(leader_);
    case Tree::pid_namespace:
    case Tree::none:
      break;
  }
  return {};
}

std::optional<ExitStatus> ProcessTree::command_status() const {
  if (!ns_report_) return std::nullopt;
  switch (ns_report_->command_code) {
    case CLD_EXITED:
      return ExitStatus::exited_with(ns_report_->command_status);
    case CLD_KILLED:
      return ExitStatus::killed_by(ns_report_->command_status);
    case CLD_DUMPED:
      return ExitStatus::killed_by(ns_report_->command_status, true);
    default:
      return std::nullopt;  // the init died first (procctx's SIGKILL): its own status says so
  }
}

void ProcessTree::find_escapees() {
  if (mode_ != Tree::process_group || leader_reaped_) return;
  for (auto& d : proc::descendants(leader_)) {
    if (d.pgrp == leader_) continue;
    sys::Ret fd = sys::pidfd_open(d.pid);
    if (!fd.ok()) continue;  // gone already
    escapees_.push_back({{d.pid, d.comm}, sys::UniqueFd{static_cast<int>(fd.value)}});
  }
}

std::vector<ProcessRef> ProcessTree::take_live_escapees() {
  std::vector<ProcessRef> out;
  for (const auto& e : escapees_) {
    if (escapee_alive(e)) out.push_back(e.who);
  }
  escapees_.clear();
  return out;
}

bool ProcessTree::release_leaf() {
  if (!leaf_) return false;
  bool oom = cgroup::oom_killed(*leaf_);
  cgroup::release(*leaf_);  // survivors (Leftovers::leave) move to the parent
  leaf_.reset();
  return oom;
}

}  // namespace procctx::detail
