/// @file
/// @brief The test kit: a misbehaving child, failures on demand, a clock a test moves, and
/// assertions that read well.
///
/// @code
///   #include <procctx/testing.hpp>
///   procctx::testing::Clock clock;                         // deadlines and stop waits on a clock you move
///   auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 30s);
///   auto p = procctx::testing::spawn_ready(procctx::testing::child({"ignore=TERM", "sleep=60"}), ctx);
///   clock.advance(30s);                                    // the deadline: SIGTERM, ignored
///   clock.advance(5s);                                     // the grace is over: SIGKILL
///   procctx::testing::expect_signals(p->wait(), {SIGTERM, SIGKILL});
/// @endcode
///
/// Link `procctx::testing` (CMake) or `procctx-testing` (pkg-config) *instead of* procctx::procctx:
/// it is procctx itself, built again with the fault-injection seam and the test clock's hook,
/// plus the kit. It is a static library only, and procctx::procctx has none of it (its seam is
/// compiled out), so a release program pays nothing for the kit. docs/testing.md has the whole
/// story: the behaviours of procctx-testchild, the calls that can be made to fail, what the clock
/// can and cannot move, and four complete tests.
///
/// What it will not do: make time pass for the children themselves (a child sleeps in real
/// time), or make a call fail that the library does not make (each Call says which it is).
#pragma once

#include <procctx/testing/child.hpp>
#include <procctx/testing/clock.hpp>
#include <procctx/testing/expect.hpp>
#include <procctx/testing/faults.hpp>
