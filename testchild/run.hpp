// run.hpp — carrying out procctx-testchild's plan, in order.
#pragma once

#include "plan.hpp"

namespace testchild {

// Runs every behaviour of `plan`; returns the exit code at the end of the
// list (exit=, signal= and failures end the process inside). `ready_fd` is
// where readiness is reported (-1: nobody asked).
int run(const Plan& plan, int ready_fd);

}  // namespace testchild
