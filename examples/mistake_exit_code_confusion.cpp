// Mistake 4: treating every failure as an exit code.
//
// "Could not start", "exited 3", "killed by SIGKILL" and "stopped because
// the deadline passed" are four different things. Folding them into one
// integer (or one `err != nil`) loses which one happened: a missing program
// looks like exit 127, a signal looks like exit 128+N, a timeout looks like
// a crash. procctx keeps them apart in the types: an Error when the command
// could not start; a Completed with an ExitStatus (exited with a code, or
// killed by a signal) and a StopReason (none, or why procctx stopped it).
#include <procctx/procctx.hpp>

#include "expect.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <system_error>

using namespace std::chrono_literals;

namespace {

procctx::Result<procctx::Completed> sh(const procctx::Context& ctx, const char* script) {
  return procctx::Command{"/bin/sh", {"-c", script}}.run(ctx);
}

void show(const char* what, const procctx::Result<procctx::Completed>& r) {
  if (!r) {
    std::printf("%-26s could not start: %s\n", what, r.error().message().c_str());
    return;
  }
  std::printf("%-26s %-22s stop_reason=%-8s shell's $?=%d\n", what, r->status.to_string().c_str(),
              std::string{procctx::to_string(r->stop_reason)}.c_str(), r->status.shell_code());
}

}  // namespace

void demo() {
  auto bg = procctx::background();

  auto missing = procctx::Command{"procctx-example-no-such-program"}.run(bg);
  show("missing program", missing);
  example::expect(!missing && missing.error().code() == std::errc::no_such_file_or_directory,
                  "a program that is not there is an Error (ENOENT), not exit 127");

  auto three = sh(bg, "exit 3");
  show("exit 3", three);
  example::expect(three && three->status.exited() && three->status.code() == 3 &&
                      three->stop_reason == procctx::StopReason::none,
                  "a non-zero exit is data: exited, code 3, nobody stopped it");

  auto killed = sh(bg, "kill -KILL $$");
  show("killed itself", killed);
  auto exit137 = sh(bg, "exit 137");
  show("exit 137", exit137);
  example::expect(killed && killed->status.signaled() && killed->status.signal() == SIGKILL &&
                      killed->status.code() == -1,
                  "death by a signal is signaled(), with the signal, and no exit code");
  example::expect(killed && exit137 && killed->status.shell_code() == exit137->status.shell_code() &&
                      !(killed->status == exit137->status),
                  "the shell cannot tell SIGKILL from exit 137; ExitStatus can");

  auto [ctx, cancel] = procctx::with_timeout(bg, 100ms);
  auto late = procctx::Command{"sleep", {"30"}}.run(ctx);
  show("sleep 30, 100ms deadline", late);
  example::expect(late && late->status.signaled() && late->stop_reason == procctx::StopReason::deadline,
                  "a child stopped by the deadline says so in stop_reason");
  if (late) {
    auto err = late->check();
    std::printf("check(): %s\n", err ? "ok" : err.error().message().c_str());
    example::expect(!err && err.error().code() == procctx::errc::deadline_exceeded,
                    "check() turns it into errc::deadline_exceeded, not a crash");
  }

}

int main() { return example::run_with_leak_check(demo); }
