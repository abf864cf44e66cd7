// A user's test: a 30 s deadline stops a child that ignores SIGTERM with SIGTERM, the grace,
// then SIGKILL, in that order; on the kit's Clock it takes milliseconds.
#include <procctx/procctx.hpp>
#include <procctx/testing.hpp>

#include <csignal>
#include <future>

using namespace std::chrono_literals;
namespace pt = procctx::testing;

// The code under test: a build step under a deadline, stopped with a 5 s grace.
procctx::Result<procctx::Completed> run_step(procctx::Command step, procctx::Duration limit) {
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), limit);
  return step.stop({{SIGTERM, 5s}, {SIGKILL}}).run(ctx);
}

void a_deadline_stops_a_stubborn_step() {
  pt::Clock clock;  // deadlines and stop waits now run on `clock`
  pt::ReadyLatch ready;
  auto step = ready.arm(pt::child({"ignore=TERM", "sleep=60"}));
  auto result = std::async(std::launch::async, [&] { return run_step(step, 30s); });

  pt::expect(ready.wait().ok(), "the step to start and ignore SIGTERM");
  clock.advance(30s);  // the deadline: SIGTERM, which the step ignores
  pt::expect(result.wait_for(100ms) == std::future_status::timeout, "the step to outlive SIGTERM");
  clock.advance(5s);  // the grace is over: SIGKILL

  auto c = result.get();
  if (!pt::expect(c.ok(), "run_step to run the step")) return;
  pt::expect_stopped_by(*c, procctx::StopReason::deadline);
  pt::expect_signals(*c, {SIGTERM, SIGKILL});
  pt::expect_killed_by(*c, SIGKILL);
  pt::expect(c->signals.size() == 2 && c->signals[1].at - c->signals[0].at == 5s, "a grace of exactly 5 s");
  pt::expect_no_leftovers(*c);
}

int main() {
  procctx::LeakCheck leaks;  // at the end: no child, fd or thread the test left behind
  a_deadline_stops_a_stubborn_step();
  pt::expect(leaks.check().empty(), "nothing left behind");
  return pt::failures() == 0 ? 0 : 1;
}
