// Mistake 5: one shared cancel killing siblings.
//
// When every command runs under the same cancellation handle (one context,
// one process group, one "stop" flag), stopping one of them stops them all.
// In procctx each piece of work derives its own child context: cancelling
// it reaches that work only, while cancelling the parent still reaches
// everything below. A Group does this per command, so one failure leaves
// its siblings running unless fail_fast asks otherwise.
#include <procctx/procctx.hpp>

#include "expect.hpp"

#include <cstdio>
#include <string>

namespace {

procctx::Command sleeper(const char* seconds) { return procctx::Command{"sleep", {seconds}}; }

}  // namespace

void demo() {
  auto [root, cancel_root] = procctx::with_cancel(procctx::background());

  // Two jobs, each under a context of its own.
  auto [a_ctx, cancel_a] = procctx::with_cancel(root);
  auto [b_ctx, cancel_b] = procctx::with_cancel(root);
  auto a = sleeper("30").spawn(a_ctx);
  auto b = sleeper("0.2").spawn(b_ctx);
  if (!example::expect(a && b, "spawn two jobs")) return;
  cancel_a("job a is no longer needed");
  const procctx::Completed& ca = a->wait();
  const procctx::Completed& cb = b->wait();
  std::printf("a: %s (%s: %s)\nb: %s\n", ca.status.to_string().c_str(),
              std::string{procctx::to_string(ca.stop_reason)}.c_str(), ca.cause.c_str(),
              cb.status.to_string().c_str());
  example::expect(ca.stop_reason == procctx::StopReason::canceled, "cancelling a stopped a");
  example::expect(cb.status.success() && cb.stop_reason == procctx::StopReason::none,
                  "b, its sibling, ran to the end");
  example::expect(!root.done(), "and the parent lives on");

  // A Group: one command fails, the others are not touched.
  {
    procctx::Group g{root};
    g.spawn(procctx::Command{"/bin/sh", {"-c", "exit 1"}});
    g.spawn(sleeper("0.2"));
    g.spawn(sleeper("0.2"));
    const auto& outcomes = g.wait();
    for (const procctx::Outcome& o : outcomes) std::printf("group: %s\n", o.completed->status.to_string().c_str());
    example::expect(!outcomes[0].success() && outcomes[1].success() && outcomes[2].success(),
                    "in a Group, one failure leaves its siblings alone");
  }

  // Cancelling the parent still reaches every child context.
  auto [c_ctx, cancel_c] = procctx::with_cancel(root);
  auto c1 = sleeper("30").spawn(c_ctx);
  auto c2 = sleeper("30").spawn(root);
  if (!example::expect(c1 && c2, "spawn two more")) return;
  cancel_root("shutting down");
  example::expect(c1->wait().stop_reason == procctx::StopReason::canceled &&
                      c2->wait().stop_reason == procctx::StopReason::canceled && c1->wait().cause == "shutting down",
                  "cancelling the parent stops both, with the parent's cause");

}

int main() { return example::run_with_leak_check(demo); }
