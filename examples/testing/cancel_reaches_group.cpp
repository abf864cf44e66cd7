// A user's test: cancelling the parent context of a job runner reaches every job it runs and
// every process of each job's process group, a SIGTERM-ignoring one included.
#include <procctx/procctx.hpp>
#include <procctx/testing.hpp>

#include <csignal>
#include <future>
#include <vector>

using namespace std::chrono_literals;
namespace pt = procctx::testing;

// The code under test: runs every job at once in a Group under `ctx`, and returns the outcomes.
std::vector<procctx::Outcome> run_jobs(const procctx::Context& ctx,
                                       const std::vector<procctx::Command>& jobs) {
  procctx::Group group{ctx};
  for (const auto& job : jobs) group.spawn(job);
  return group.wait();
}

void a_cancel_reaches_every_job_and_its_group() {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  pt::ReadyLatch ready;
  // Each job leads a process group of three; a short grace keeps the test quick in real time.
  std::vector<procctx::Command> jobs{
      ready.arm(pt::child({"ignore=TERM", "fork=2", "sleep=60"})).stop({{SIGTERM, 200ms}, {SIGKILL}}),
      ready.arm(pt::child({"fork=2", "sleep=60"})).stop({{SIGTERM, 200ms}, {SIGKILL}})};
  // (ctx by an init-capture: Clang before 16 cannot capture a structured binding.)
  auto result = std::async(std::launch::async, [&jobs, job_ctx = ctx] { return run_jobs(job_ctx, jobs); });

  pt::expect(ready.wait(2).ok(), "both jobs to start, fork and get ready");
  cancel("user pressed Stop");
  auto outcomes = result.get();

  for (const auto& o : outcomes) {
    if (!pt::expect(o.state == procctx::Outcome::State::completed, "each job to have run")) continue;
    pt::expect_stopped_by(*o.completed, procctx::StopReason::canceled);
    pt::expect(o.completed->cause == "user pressed Stop", "the cancel's cause in the outcome");
    pt::expect_no_leftovers(*o.completed);  // its grandchildren are gone too
  }
  if (outcomes.size() == 2 && outcomes[0].completed && outcomes[1].completed) {
    pt::expect_signals(*outcomes[0].completed,
                       {SIGTERM, SIGKILL});  // ignored SIGTERM, then the grace ran out
    pt::expect_killed_by(*outcomes[0].completed, SIGKILL);
    pt::expect_signals(*outcomes[1].completed, {SIGTERM});
    pt::expect_killed_by(*outcomes[1].completed, SIGTERM);
  }
}

int main() {
  procctx::LeakCheck leaks;  // at the end: no child, fd or thread the test left behind
  a_cancel_reaches_every_job_and_its_group();
  pt::expect(leaks.check().empty(), "nothing left behind");
  return pt::failures() == 0 ? 0 : 1;
}
