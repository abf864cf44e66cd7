// spawn_plan_linux.hpp — the first step of a spawn: everything prepared in
// the parent before the clone (the resolved program, argv and envp arrays,
// the fds, the identities and limits, a cgroup leaf), so the child only
// reads it. Every error names the step, before anything runs; only the
// program's PATH search is left to the child (it runs nothing either when
// that fails).
#pragma once

#include <procctx/command.hpp>

#include "cgroup_linux.hpp"
#include "loop_linux.hpp"
#include "relay_linux.hpp"
#include "spawn_child_linux.hpp"
#include "sys_linux.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace procctx::detail {

// What one spawn owns until it returns. Not movable: the child's plan
// points into it.
struct SpawnPlan {
  SpawnPlan() = default;
  SpawnPlan(const SpawnPlan&) = delete;
  SpawnPlan& operator=(const SpawnPlan&) = delete;

  ChildPlan child;  // what the child reads
  std::string path;            // the program, as given (looked up on PATH by the child when it has no slash)
  std::string search_entries;  // PATH's entries, NUL-separated, for the child's search
  std::string candidate;       // where the child builds each candidate of its search
  std::vector<std::string> argv;
  std::vector<char*> argv_ptrs, sh_argv;
  std::vector<std::string> env_owned;  // the entries the edits set (the rest point into environ)
  std::vector<char*> env_ptrs;
  std::string cwd;
  std::vector<sys::UniqueFd> child_ends;  // the child's sides: closed in the parent after the clone
  sys::UniqueFd parent_end[3];            // the parent's sides of pipes, by stdio number
  sys::UniqueFd dev_null;
  std::shared_ptr<RelaySink> sink[3];  // Stdio::relay destinations
  std::vector<unsigned int> groups;    // supplementary group ids
  // Tree::pid_namespace: procctx's ends of its init's pipes, and the page
  // the init reports in.
  sys::UniqueFd ns_go_write, ns_started_read, ns_go_read, ns_started_write;
  std::shared_ptr<NamespaceReport> ns_report;
  Tree tree = Tree::process_group;     // the mode used (cgroup may fall back)
  std::string tree_note;               // why it differs from the one asked for
  std::optional<cgroup::Leaf> leaf;    // Tree::cgroup
};

// Fills `plan` for `o`.
Result<void> prepare(const CommandOptions& o, Loop& loop, SpawnPlan& plan);

// The program itself could not be run: errc::not_found for ENOENT (as
// execvp's callers read it: exit 127), errc::not_executable for the rest;
// Error::os_error() is the errno.
Error program_error(int err, const std::string& what);

// The program the child tried to run: plan.path, or the candidate of the
// PATH entry its search stopped at.
std::string program_path(const SpawnPlan& plan);

// The child's PATH search failed (nothing found, or a match through a
// relative entry refused): the error, else nullopt.
std::optional<Error> path_search_failure(const SpawnPlan& plan);

}  // namespace procctx::detail
