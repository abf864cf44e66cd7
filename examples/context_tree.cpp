// context_tree: a cancellation tree with a deadline, driving real processes.
//
//   root (deadline 1.5 s)
//   ├── build   cancelled by hand after 0.3 s   → its `sleep` is stopped, sibling untouched
//   ├── test    hits the root's deadline        → its `sh` and grandchild are stopped
//   └── lint    finishes on its own in 0.1 s
//
// Every child is reaped, every outcome says why it ended.
#include <procctx/procctx.hpp>

#include <chrono>
#include <cstdio>
#include <thread>

using namespace std::chrono_literals;

namespace {

double seconds_since(procctx::TimePoint t0) {
  return std::chrono::duration<double>(procctx::Clock::now() - t0).count();
}

void report(const char* name, const procctx::Result<procctx::Process>& p, procctx::TimePoint t0) {
  if (!p) {
    std::printf("%-6s could not start: %s\n", name, p.error().message().c_str());
    return;
  }
  const procctx::Completed& c = p->wait();
  std::printf("%-6s %-22s stop_reason=%-9s cause=\"%s\" after %.2fs\n", name, c.status.to_string().c_str(),
              std::string{procctx::to_string(c.stop_reason)}.c_str(), c.cause.c_str(), seconds_since(t0));
}

}  // namespace

int main() {
  auto t0 = procctx::Clock::now();
  auto [root, cancel_root] = procctx::with_timeout(procctx::background(), 1500ms);
  auto [build_ctx, cancel_build] = procctx::with_cancel(root);
  auto [test_ctx, cancel_test] = procctx::with_cancel(root);

  auto build = procctx::Command{"sleep", {"30"}}.spawn(build_ctx);
  auto test =
      procctx::Command{"sh", {"-c", "sleep 30 & sleep 30"}}.out(procctx::Stdio::capture()).spawn(test_ctx);
  auto lint = procctx::Command{"sleep", {"0.1"}}.spawn(root);

  std::printf("root deadline in %.1fs; build, test and lint started\n",
              std::chrono::duration<double>(*root.deadline() - t0).count());
  std::this_thread::sleep_for(300ms);
  cancel_build("build no longer needed");

  report("lint", lint, t0);
  report("build", build, t0);
  report("test", test, t0);
  std::printf("root: %s (%s)\n", root.done() ? "done" : "live", root.cause().c_str());
  bool ok = build && test && lint && build->wait().stop_reason == procctx::StopReason::canceled &&
            test->wait().stop_reason == procctx::StopReason::deadline && lint->wait().status.success();
  return ok ? 0 : 1;
}
