// A user's test: when the kernel refuses a spawn for lack of resources (EAGAIN), the code
// under test retries, and gives up after its last attempt with the kernel's error.
#include <procctx/procctx.hpp>
#include <procctx/testing.hpp>

#include <cerrno>
#include <system_error>
#include <thread>

using namespace std::chrono_literals;
namespace pt = procctx::testing;

// The code under test: run `cmd`, retrying up to `attempts` times while spawns get EAGAIN.
procctx::Result<procctx::Completed> run_with_retry(const procctx::Command& cmd, int attempts) {
  for (int i = 1;; ++i) {
    auto r = cmd.run(procctx::background());
    if (r || r.error().code() != std::errc::resource_unavailable_try_again || i == attempts) return r;
    std::this_thread::sleep_for(i * 10ms);  // back off a little more each time
  }
}

void a_refused_spawn_is_retried() {
  auto job = pt::child({"exit=0"});

  pt::fail_next(pt::Call::spawn, EAGAIN);  // one refusal: the second attempt runs
  auto once = run_with_retry(job, 3);
  if (pt::expect(once.ok(), "the retry to run the job")) pt::expect_exited(*once, 0);
  pt::expect(pt::calls(pt::Call::spawn) == 2, "two attempts");

  pt::clear_failures();
  pt::fail_every(pt::Call::spawn, EAGAIN);  // the kernel never gives in: three attempts, then its error
  auto never = run_with_retry(job, 3);
  pt::expect_error(never, EAGAIN);
  pt::expect(pt::calls(pt::Call::spawn) == 3, "three attempts");
  pt::clear_failures();
}

int main() {
  procctx::LeakCheck leaks;  // at the end: no child, fd or thread the test left behind
  a_refused_spawn_is_retried();
  pt::expect(leaks.check().empty(), "nothing left behind");
  return pt::failures() == 0 ? 0 : 1;
}
