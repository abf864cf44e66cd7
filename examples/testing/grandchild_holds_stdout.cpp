// A user's test: a command whose grandchild keeps stdout open does not hang the caller; after
// wait_delay the outcome is final and names the holder.
#include <procctx/procctx.hpp>
#include <procctx/testing.hpp>

#include <future>

using namespace std::chrono_literals;
namespace pt = procctx::testing;

// The code under test: runs a command and keeps its output, giving held pipes 2 s.
procctx::Result<procctx::Completed> capture(procctx::Command cmd) {
  return cmd.out(procctx::Stdio::capture()).wait_delay(2s).run(procctx::background());
}

void a_held_pipe_does_not_hang_capture() {
  pt::Clock clock;
  auto result = std::async(std::launch::async, [] {
    return capture(pt::child({"grandchild-holds-output", "print=built"}));
  });

  // wait_delay starts when the child's exit is seen: wait for that timer, then let it pass.
  pt::expect(clock.wait_pending(1), "wait_delay to start");
  pt::expect(result.wait_for(100ms) == std::future_status::timeout, "the held pipe to keep the outcome open");
  clock.advance(2s);

  auto c = result.get();
  if (!pt::expect(c.ok(), "capture to run the command")) return;
  pt::expect_exited(*c, 0);
  pt::expect(c->out.text() == "built\n", "the output written before the exit");
  pt::expect(c->pipe_holders.size() == 1, "the grandchild named as the pipe's holder");
  pt::expect_no_leftovers(*c);  // the holder leaves once procctx closes its end
}

int main() {
  procctx::LeakCheck leaks;  // at the end: no child, fd or thread the test left behind
  a_held_pipe_does_not_hang_capture();
  pt::expect(leaks.check().empty(), "nothing left behind");
  return pt::failures() == 0 ? 0 : 1;
}
