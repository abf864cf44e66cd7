// Mistake 3: waiting from two threads.
//
// waitpid() consumes the exit status: whoever reaps first gets it, the
// other gets ECHILD, or worse, waits on whatever process reused the pid.
// procctx's loop thread is the only reaper; Process::wait() only reads the
// outcome, so any number of threads may wait and all of them see the same
// Completed.
#include <procctx/procctx.hpp>

#include "expect.hpp"

#include <array>
#include <cstdio>
#include <thread>

void demo() {
  auto p = procctx::Command{"/bin/sh", {"-c", "sleep 0.2; exit 3"}}.spawn();
  if (!example::expect(p.ok(), "spawn sh")) return;

  std::array<const procctx::Completed*, 4> seen{};
  {
    std::array<std::jthread, 4> waiters;
    for (std::size_t i = 0; i < waiters.size(); ++i)
      waiters[i] = std::jthread{[&, i] { seen[i] = &p->wait(); }};
  }  // joined here

  bool same = true;
  for (const procctx::Completed* c : seen) same = same && c == seen[0];
  std::printf("4 threads waited: %s\n", seen[0]->status.to_string().c_str());
  example::expect(same, "every waiter got the same Completed");
  example::expect(seen[0]->status.exited() && seen[0]->status.code() == 3, "and it says exited 3");
  example::expect(p->try_wait() == seen[0], "a later try_wait() sees it too: waiting is idempotent");

}

int main() { return example::run_with_leak_check(demo); }
