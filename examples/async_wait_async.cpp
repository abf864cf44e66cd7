// Process::wait_async: the outcome as a std::future<Completed>.
//
// A future can be handed to another thread, waited for with a timeout, or
// collected later; it holds a copy of the Completed (captured output is
// shared, not copied), so it may outlive the Process. The Process itself must
// live until its child has ended: destroying a running one stops the child.
// Here three compressions run at once under one deadline, and the main thread
// collects them in order.
#include <procctx/procctx.hpp>

#include "expect.hpp"

#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <vector>

using namespace std::chrono_literals;

void demo() {
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 30s);

  std::vector<procctx::Process> running;
  std::vector<std::future<procctx::Completed>> outcomes;
  for (int size : {1000, 20000, 300000}) {
    // `head -c N /dev/zero | gzip | wc -c`: how small N zero bytes get.
    auto p = procctx::Command{"/bin/sh", {"-c", "head -c " + std::to_string(size) + " /dev/zero | gzip -c | wc -c"}}
                 .out(procctx::Stdio::capture())
                 .spawn(ctx);
    if (!example::expect(p.ok(), "spawn sh")) return;
    outcomes.push_back(p->wait_async());
    running.push_back(std::move(*p));
  }

  for (auto& f : outcomes) {
    bool ready = f.wait_for(30s) == std::future_status::ready;
    if (!example::expect(ready, "the future became ready")) return;
    procctx::Completed c = f.get();
    std::printf("  %s, gzip wrote %s", c.status.to_string().c_str(), c.out.str().c_str());
    example::expect(c.status.success() && !c.out.text().empty(), "it exited 0 and its output came with it");
  }

  // A child stopped by its context: the future says so too.
  auto [short_ctx, cancel_short] = procctx::with_timeout(procctx::background(), 100ms);
  auto sleeper = procctx::Command{"sleep", {"30"}}.spawn(short_ctx);
  if (!example::expect(sleeper.ok(), "spawn sleep 30")) return;
  procctx::Completed stopped = sleeper->wait_async().get();
  std::printf("  sleep 30 under 100ms: %s, stop_reason=%s\n", stopped.status.to_string().c_str(),
              std::string{procctx::to_string(stopped.stop_reason)}.c_str());
  example::expect(stopped.stop_reason == procctx::StopReason::deadline, "the deadline stopped it");
}

int main() { return example::run_with_leak_check(demo); }
