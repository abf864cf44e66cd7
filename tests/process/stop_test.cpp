// Stopping: contexts, the stop sequence, groups, held pipes. Each test is
// one of the classic subprocess mistakes, made impossible.
#include "support/process_fixture.hpp"

#include <procctx/diagnostics.hpp>

#include "loop_linux.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

using namespace std::chrono_literals;
using procctx::Clock;
using procctx::Stdio;
using procctx::StopReason;

namespace {

class Stop : public procctx::test::ProcessTest {};

TEST_F(Stop, CancelStopsTheChildWithTheDefaultSequence) {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  auto p = helper_cmd({"sleep", "30"}).spawn(ctx);
  ASSERT_TRUE(p);
  cancel("user pressed stop");
  const auto& c = p->wait();
  EXPECT_EQ(c.status.signal(), SIGTERM);
  EXPECT_EQ(c.stop_reason, StopReason::canceled);
  EXPECT_EQ(c.cause, "user pressed stop");
  ASSERT_EQ(c.signals.size(), 1u);
  EXPECT_EQ(c.signals[0].signal, SIGTERM);
  EXPECT_EQ(c.stop_stage, 0);
}

TEST_F(Stop, DeadlineIsReportedAsSuch) {
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 100ms);
  auto c = helper_cmd({"sleep", "30"}).run(ctx);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->stop_reason, StopReason::deadline);
  EXPECT_EQ(c->cause, "context deadline exceeded");
  EXPECT_FALSE(c->check());
  EXPECT_EQ(c->check().error().code(), procctx::errc::deadline_exceeded);
}

TEST_F(Stop, TheWholeProcessGroupIsStopped) {
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 300ms);
  // sh and both sleeps share the child's new process group.
  auto c = procctx::Command{"sh", {"-c", "sleep 30 & sleep 30"}}.out(Stdio::capture()).run(ctx);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->stop_reason, StopReason::deadline);
  EXPECT_LT(c->wall, 5s) << "a grandchild holding stdout must not stretch the run";
  EXPECT_TRUE(procctx::test::live_group_members(c->pid).empty()) << "nothing of the group may survive";
}

TEST_F(Stop, GrandchildHoldingStdoutIsBoundedByWaitDelayAndNamed) {
  auto t0 = Clock::now();
  auto c = helper_cmd({"grandchild-holds-stdout", "30"}).out(Stdio::capture()).wait_delay(300ms).run();
  auto took = Clock::now() - t0;
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->status.success());
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 10s);
  ASSERT_EQ(c->pipe_holders.size(), 1u);
  EXPECT_NE(c->out.text().find("grandchild=" + std::to_string(c->pipe_holders[0].pid)), std::string::npos)
      << c->out.text();
  EXPECT_EQ(c->pipe_holders[0].name, "procctx_helper");
  // The grandchild was left running (Leftovers::kill is opt-in): end it so
  // the leak check sees a clean slate.
  ::kill(c->pipe_holders[0].pid, SIGKILL);
}

TEST_F(Stop, StoppedChildGetsContinuedSoItCanDie) {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  auto p = helper_cmd({"stop-self"}).spawn(ctx);
  ASSERT_TRUE(p);
  std::this_thread::sleep_for(100ms);  // let it stop itself
  cancel();
  const auto& c = p->wait();
  EXPECT_EQ(c.status.signal(), SIGTERM);
}

TEST_F(Stop, StopRunsTheSequenceOnDemand) {
  auto p = helper_cmd({"sleep", "30"}).spawn();
  ASSERT_TRUE(p);
  p->stop();
  const auto& c = p->wait();
  EXPECT_EQ(c.stop_reason, StopReason::requested);
  EXPECT_EQ(c.status.signal(), SIGTERM);
  EXPECT_EQ(p->signal(SIGTERM).error().code(), procctx::errc::process_exited);
}

TEST_F(Stop, SignalGoesToTheChildThroughItsPidfd) {
  auto p = helper_cmd({"sleep", "30"}).spawn();
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->signal(SIGUSR1));
  EXPECT_EQ(p->wait().status.signal(), SIGUSR1);
  EXPECT_EQ(p->wait().stop_reason, StopReason::none);
}

TEST_F(Stop, ADroppedProcessStillFinishesItsStopSequence) {
  // sh dies of SIGTERM at once; its background sleep ignores SIGTERM and
  // must still get the SIGKILL of the second step, with no handle left.
  auto p = procctx::Command{"sh", {"-c", "(trap '' TERM; exec sleep 30) & echo $!; sleep 30"}}
               .out(Stdio::pipe())
               .stop({{SIGTERM, 300ms}, {SIGKILL}})
               .spawn();
  ASSERT_TRUE(p);
  std::string line = procctx::test::read_line(p->out());
  pid_t stubborn = static_cast<pid_t>(std::stoi(line));
  std::this_thread::sleep_for(100ms);  // let the trap take effect
  p = procctx::Result<procctx::Process>{procctx::Error{}};  // drop the only handle
  for (int i = 0; i < 300 && procctx::test::process_running(stubborn); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(procctx::test::process_running(stubborn));
}

TEST_F(Stop, KillAfterTheOutcomeIsFinalChangesNothing) {
  auto p = helper_cmd({"grandchild-holds-stdout", "30"}).out(Stdio::capture()).wait_delay(50ms).spawn();
  ASSERT_TRUE(p);
  const auto& c = p->wait();
  ASSERT_EQ(c.leftovers.size(), 1u);
  auto k = p->kill();
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().code(), procctx::errc::process_exited);
  EXPECT_TRUE(c.signals.empty());
  ::kill(c.leftovers[0].pid, SIGKILL);
}

}  // namespace

TEST_F(Stop, OnStopSignalSeesEachSignalBeforeItIsSent) {
  std::vector<int> seen;  // written on the loop thread, read after wait()
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  auto p = helper_cmd({"ignore-term", "30"})
               .stop({{SIGTERM, 100ms}, {SIGKILL}})
               .on_stop_signal([&seen](const procctx::SignalSent& s) { seen.push_back(s.signal); })
               .out(Stdio::pipe())
               .spawn(ctx);
  ASSERT_TRUE(p);
  // ignore-term says "ready" once SIGTERM is ignored.
  ASSERT_EQ(procctx::test::read_line(p->out()), "ready");
  cancel("test");
  const auto& c = p->wait();
  EXPECT_EQ(c.status.signal(), SIGKILL);
  EXPECT_EQ(seen, (std::vector<int>{SIGTERM, SIGKILL}));
  ASSERT_EQ(c.signals.size(), 2u);
}

TEST_F(Stop, SignalTreeReachesTheWholeGroupWithoutStopping) {
  // Two sleeping grandchildren in the child's group, and the child.
  auto p = helper_cmd({"fork", "2", "30"}).spawn();
  ASSERT_TRUE(p);
  std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(p->signal_tree(SIGKILL));
  const auto& c = p->wait();
  EXPECT_EQ(c.status.signal(), SIGKILL);
  EXPECT_EQ(c.stop_reason, StopReason::none);
  EXPECT_TRUE(c.signals.empty());
  EXPECT_TRUE(procctx::test::live_group_members(c.pid).empty());
  auto again = p->signal_tree(SIGTERM);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), procctx::errc::process_exited);
}

TEST_F(Stop, PipeHoldersNamesTheGrandchildKeepingAPipeOpen) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  auto p = helper_cmd({"grandchild-holds-stdout", "30"}).out(Stdio::fd(fds[1])).spawn();
  ::close(fds[1]);
  ASSERT_TRUE(p);
  const auto& c = p->wait();
  EXPECT_TRUE(c.status.success());
  auto holders = procctx::pipe_holders(fds[0]);
  ASSERT_EQ(holders.size(), 1u);
  EXPECT_NE(holders[0].pid, c.pid);
  EXPECT_FALSE(holders[0].name.empty());
  ::kill(holders[0].pid, SIGKILL);
  char buf[64];
  while (::read(fds[0], buf, sizeof buf) > 0) {
  }
  ::close(fds[0]);
  // The holder was reparented away from us; it is gone once EOF arrived
  // (its last fd on the pipe closed when it died).
}
