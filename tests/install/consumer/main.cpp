// The smallest real use of procctx: run a command under a deadline and
// look at its outcome. Exits 0 when it behaved.
#include <procctx/procctx.hpp>

#include <chrono>
#include <cstdio>

using namespace std::chrono_literals;

int main() {
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 10s);
  auto done = procctx::Command{"/bin/sh", {"-c", "echo hello from a child"}}.out(procctx::Stdio::capture()).run(ctx);
  if (!done) {
    std::fprintf(stderr, "consumer: %s\n", done.error().message().c_str());
    return 1;
  }
  std::printf("consumer: %s: %s", done->status.to_string().c_str(), done->out.str().c_str());
  return done->status.success() && done->out.text() == "hello from a child\n" ? 0 : 1;
}
