// traced: a program run with PROCCTX_TRACE=path, for the trace tests. It
// runs a child that its deadline stops (so signals are sent), a group of two
// and a child that exits by itself, then returns from main: the trace is
// written at exit. Prints what the test checks the file against.
#include <procctx/diagnostics.hpp>
#include <procctx/procctx.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  using namespace std::chrono_literals;
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 100ms);
  auto stopped = procctx::Command{argv[1], {"sleep", "30"}}.stop({{SIGTERM, 2s}, {SIGKILL}}).run(ctx);
  {
    procctx::Group g{procctx::background(), {.limit = 2}};
    g.spawn(procctx::Command{argv[1], {"exit", "0"}});
    g.spawn(procctx::Command{argv[1], {"exit", "3"}});
    (void)g.wait();
  }
  auto exited = procctx::Command{argv[1], {"exit", "0"}}.run();
  if (!stopped || !exited) return 1;
  std::printf("stopped=%d exited=%d enabled=%d\n", stopped->pid, exited->pid,
              procctx::trace::enabled() ? 1 : 0);
  return 0;
}
