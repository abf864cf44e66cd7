// Mistake 2: writing to stdin after cancellation.
//
// Once the child is gone, a write to its stdin pipe raises SIGPIPE, whose
// default action kills the writer: the parent dies for its child's sake.
// With procctx a write never raises SIGPIPE: after the process's context
// ended it fails with errc::canceled (or deadline_exceeded), and to a child
// that stopped reading it fails with EPIPE. Neither blocks past the context.
#include <procctx/procctx.hpp>

#include "expect.hpp"

#include <csignal>
#include <cstdio>
#include <string>
#include <system_error>

void demo() {
  // The default disposition: a SIGPIPE would end this program right here.
  std::signal(SIGPIPE, SIG_DFL);
  const std::string a_lot(1 << 20, 'x');  // 1 MiB, more than any pipe buffers

  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  auto cat = procctx::Command{"cat"}.in(procctx::Stdio::pipe()).out(procctx::Stdio::null()).spawn(ctx);
  if (!example::expect(cat.ok(), "spawn cat with a stdin pipe")) return;
  example::expect(cat->in().write("first line\n").ok(), "a write while the child reads succeeds");

  cancel("the user gave up");
  const procctx::Completed& c = cat->wait();
  std::printf("cat: %s, stop_reason=%s\n", c.status.to_string().c_str(),
              std::string{procctx::to_string(c.stop_reason)}.c_str());
  auto late = cat->in().write(a_lot);
  std::printf("write after cancel: %s\n", late ? "ok" : late.error().message().c_str());
  example::expect(!late && late.error().code() == procctx::errc::canceled,
                  "a write after cancellation is errc::canceled, not SIGPIPE");

  // A child that never reads its stdin and exits: EPIPE, never SIGPIPE.
  auto deaf = procctx::Command{"true"}.in(procctx::Stdio::pipe()).spawn();
  if (!example::expect(deaf.ok(), "spawn true with a stdin pipe")) return;
  (void)deaf->wait();
  auto broken = deaf->in().write(a_lot);
  std::printf("write to a child that left: %s\n", broken ? "ok" : broken.error().message().c_str());
  example::expect(!broken && broken.error().code() == std::errc::broken_pipe,
                  "a write to a child that stopped reading is EPIPE, not SIGPIPE");

}

int main() { return example::run_with_leak_check(demo); }
