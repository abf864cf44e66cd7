// Mistake 10: nested work given a context not derived from its caller's.
//
// A helper that makes up its own context (context.Background() inside a
// library function, a fresh timeout in a nested call) cuts the cancellation
// tree: its caller's deadline and cancel never reach the work, which runs
// on after the caller gave up. procctx makes the right shape the easy one:
// every spawn takes the Context it runs under, a derived context ends with
// its parent and never later than the parent's deadline, and a Group hands
// out its context() for nested groups.
#include <procctx/procctx.hpp>

#include "expect.hpp"

#include <chrono>
#include <cstdio>
#include <string>

using namespace std::chrono_literals;

namespace {

// A library function: it takes its caller's context and narrows it.
procctx::Result<procctx::Completed> run_step(const procctx::Context& ctx, std::string script) {
  auto [step, cancel] = procctx::with_timeout(ctx, 10s);  // its own limit, never beyond the caller's
  return procctx::Command{"/bin/sh", {"-c", std::move(script)}}.run(step);
}

double seconds(procctx::Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

void demo() {

  // The caller gives the whole thing 200 ms; the step would allow itself 10 s.
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 200ms);
  auto t0 = procctx::Clock::now();
  auto r = run_step(ctx, "sleep 30");
  auto took = procctx::Clock::now() - t0;
  if (!example::expect(r.ok(), "run the step")) return;
  std::printf("step: %s after %.1fs, stop_reason=%s, cause=\"%s\"\n", r->status.to_string().c_str(), seconds(took),
              std::string{procctx::to_string(r->stop_reason)}.c_str(), r->cause.c_str());
  example::expect(r->stop_reason == procctx::StopReason::deadline && took < 5s,
                  "the caller's deadline reached the nested step");

  // Nested groups: the inner group derives from the outer one's context.
  auto [root, cancel_root] = procctx::with_cancel(procctx::background());
  {
    procctx::Group outer{root};
    procctx::Group inner{outer.context()};
    inner.spawn(procctx::Command{"sleep", {"30"}});
    outer.spawn(procctx::Command{"sleep", {"30"}});
    cancel_root("caller canceled");
    const procctx::Outcome& o = inner.wait().front();
    example::expect(o.completed && o.completed->stop_reason == procctx::StopReason::canceled,
                    "cancelling the caller stops work two groups down");
    example::expect(outer.wait().front().completed->stop_reason == procctx::StopReason::canceled,
                    "and the outer group's work too");
  }

}

int main() { return example::run_with_leak_check(demo); }
