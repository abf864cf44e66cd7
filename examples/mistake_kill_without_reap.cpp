// Mistake 8: kill without reap.
//
// kill() only sends a signal. The child dies but stays a zombie until
// somebody waits for it; its own children, if it had any, were never
// signalled at all; and a kill sent after a reap can hit a stranger that
// got the same pid. procctx's Process::kill() sends SIGKILL to the child's
// whole tree (its process group, or its cgroup), the loop thread reaps the
// child whether or not you wait, and the outcome records that it was
// killed, by whom and when.
#include <procctx/procctx.hpp>

#include "expect.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include <signal.h>
#include <sys/types.h>

using namespace std::chrono_literals;

namespace {

std::string read_line(procctx::Reader& r) {
  std::string line;
  char c;
  for (;;) {
    auto n = r.read({&c, 1});
    if (!n || *n == 0 || c == '\n') return line;
    line += c;
  }
}

// True once `pid` no longer runs. A zombie counts as gone: a grandchild is
// reaped by whoever adopted it (init, or a container's pid 1), not by us.
bool stops_running(pid_t pid) {
  for (int i = 0; i < 500; ++i) {
    std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
    std::string pid_field, comm, state;
    if (!(stat >> pid_field >> comm >> state) || state == "Z") return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// True once `pid` is out of the process table, zombie included.
bool vanishes(pid_t pid) {
  for (int i = 0; i < 500 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(10ms);
  return ::kill(pid, 0) != 0;
}

}  // namespace

void demo() {

  // A shell with a grandchild; the shell prints the grandchild's pid.
  auto p = procctx::Command{"/bin/sh", {"-c", "sleep 30 & echo $!; wait"}}.out(procctx::Stdio::pipe()).spawn();
  if (!example::expect(p.ok(), "spawn a shell with a background sleep")) return;
  const pid_t grandchild = static_cast<pid_t>(std::stol(read_line(p->out())));

  example::expect(p->kill().ok(), "kill()");
  const procctx::Completed& c = p->wait();
  std::printf("shell: %s, stop_reason=%s, signals sent: %zu\n", c.status.to_string().c_str(),
              std::string{procctx::to_string(c.stop_reason)}.c_str(), c.signals.size());
  example::expect(c.status.signal() == SIGKILL && c.stop_reason == procctx::StopReason::requested,
                  "the outcome says killed by SIGKILL, on request");
  example::expect(stops_running(grandchild), "the grandchild got the SIGKILL too");
  auto again = p->kill();
  example::expect(!again && again.error().code() == procctx::errc::process_exited,
                  "a second kill() is refused: the pid may be someone else's now");

  // Kill and walk away: no wait() at all.
  pid_t pid = 0;
  {
    auto q = procctx::Command{"sleep", {"30"}}.spawn();
    if (!example::expect(q.ok(), "spawn sleep 30")) return;
    pid = q->pid();
    (void)q->kill();
  }
  example::expect(vanishes(pid), "killed and never waited for: reaped anyway, no zombie");

}

int main() { return example::run_with_leak_check(demo); }
