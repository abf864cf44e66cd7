// Mistake 1: forgetting to wait.
//
// A child that is started and never waited for stays in the process table
// as a zombie (or keeps running, forgotten) until its parent exits. With
// procctx the Process handle owns the child: dropping it while the child
// runs starts the stop sequence and returns at once, and procctx's loop
// thread reaps the child whether or not anybody ever waits.
#include <procctx/procctx.hpp>

#include "expect.hpp"

#include <chrono>
#include <cstdio>
#include <thread>

#include <signal.h>
#include <sys/types.h>

using namespace std::chrono_literals;

namespace {

// True once `pid` is no longer in the process table (not even as a zombie).
bool vanishes(pid_t pid) {
  for (int i = 0; i < 500; ++i) {
    if (::kill(pid, 0) != 0) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

}  // namespace

void demo() {

  pid_t running = 0;
  {
    auto p = procctx::Command{"sleep", {"30"}}.spawn();
    if (!example::expect(p.ok(), "spawn sleep 30")) return;
    running = p->pid();
  }  // the handle goes; nobody calls wait()
  std::printf("dropped a running child (pid %d) without waiting\n", static_cast<int>(running));
  example::expect(vanishes(running), "it was stopped and reaped: no process, no zombie");

  pid_t finished = 0;
  {
    auto p = procctx::Command{"true"}.spawn();
    if (!example::expect(p.ok(), "spawn true")) return;
    finished = p->pid();
    std::this_thread::sleep_for(100ms);  // it exits by itself; still nobody waits
  }
  example::expect(vanishes(finished), "a child that exited unwaited-for was reaped too");

}

int main() { return example::run_with_leak_check(demo); }
