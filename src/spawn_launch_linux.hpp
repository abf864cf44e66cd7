// spawn_launch_linux.hpp — the second step of a spawn: the clone itself,
// with its fallbacks, and what the child said when it could not exec.
#pragma once

#include "loop_linux.hpp"
#include "spawn_plan_linux.hpp"
#include "sys_linux.hpp"

namespace procctx::detail {

struct Launched {
  pid_t pid = 0;
  sys::UniqueFd pidfd;
};

// Starts the child `plan` describes and returns once it has exec'ed (or
// failed: then it has been reaped and the error names its step and errno).
Result<Launched> launch(SpawnPlan& plan, Loop& loop);

}  // namespace procctx::detail
