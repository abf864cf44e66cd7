// leaky: a program that leaks children on purpose, for PROCCTX_DEBUG=leaks.
// Prints the lines of the two leaking spawns; the test checks that the
// report at exit names exactly those.
#include <procctx/procctx.hpp>

#include <chrono>
#include <cstdio>
#include <thread>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  int dropped_line = __LINE__ + 1;
  { auto p = procctx::Command{argv[1], {"exit", "0"}}.spawn(); }
  auto detached = procctx::Command{argv[1], {"exit", "0"}}.spawn();
  if (detached) detached->detach();
  auto waited = procctx::Command{argv[1], {"exit", "0"}}.run();
  int kept_line = __LINE__ + 1;
  auto kept = procctx::Command{argv[1], {"exit", "0"}}.spawn();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::printf("dropped=%d kept=%d\n", dropped_line, kept_line);
  return waited ? 0 : 1;
}
