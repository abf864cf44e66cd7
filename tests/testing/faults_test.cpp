// Failures on demand (procctx/testing/faults.hpp): each public kind of call
// fails where the kernel's would, and procctx answers as documented.
#include <procctx/signals.hpp>
#include <procctx/testing/gtest.hpp>

#include <gmock/gmock.h>

#include <cerrno>
#include <csignal>

namespace {

using namespace std::chrono_literals;
using procctx::Stdio;
using ::testing::HasSubstr;
namespace pt = procctx::testing;
using pt::Call;

class Faults : public pt::LeakCheckTest {
 protected:
  void SetUp() override { pt::clear_failures(); }
  static procctx::Result<procctx::Completed> run(std::vector<std::string> behaviours) {
    return pt::child(std::move(behaviours)).run(procctx::background());
  }
};

TEST_F(Faults, TheNextSpawnFailsWithEagainAndTheOneAfterRuns) {
  pt::fail_next(Call::spawn, EAGAIN);
  auto refused = run({"exit=0"});
  pt::expect_error(refused, EAGAIN);
  EXPECT_THAT(refused.error().message(), HasSubstr("clone"));
  EXPECT_EQ(pt::calls(Call::spawn), 1);
  auto again = run({"exit=0"});
  ASSERT_TRUE(again.ok()) << again.error().message();
  pt::expect_exited(*again, 0);
  EXPECT_EQ(pt::calls(Call::spawn), 2);
}

TEST_F(Faults, TheNthSpawnFailsAndOnlyIt) {
  pt::fail_nth(Call::spawn, 2, ENOMEM);
  EXPECT_TRUE(run({}).ok());
  pt::expect_error(run({}), ENOMEM);
  EXPECT_TRUE(run({}).ok());
}

TEST_F(Faults, EveryPipeFailsUntilCleared) {
  pt::fail_every(Call::pipe, EMFILE);
  for (int i = 0; i < 2; ++i) {
    auto r = pt::child({"print=x"}).out(Stdio::capture()).run(procctx::background());
    pt::expect_error(r, EMFILE);
    EXPECT_THAT(r.error().message(), HasSubstr("pipe"));
  }
  EXPECT_EQ(pt::calls(Call::pipe), 2);
  pt::clear_failures();
  EXPECT_EQ(pt::calls(Call::pipe), 0);
  auto r = pt::child({"print=x"}).out(Stdio::capture()).run(procctx::background());
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->out.str(), "x\n");
}

TEST_F(Faults, TheKitsOwnCallsAreNotCounted) {
  // spawn_ready's latch makes a pipe of its own: the armed failure must reach the spawn's.
  pt::fail_next(Call::pipe, EMFILE);
  auto p = pt::spawn_ready(pt::child({"print=x"}).out(Stdio::capture()));
  pt::expect_error(p, EMFILE);
  EXPECT_THAT(p.error().message(), HasSubstr("spawn"));
}

TEST_F(Faults, ASignalThroughThePidfdFails) {
  auto p = pt::spawn_ready(pt::child({"sleep=30"}));
  ASSERT_TRUE(p.ok()) << p.error().message();
  pt::fail_next(Call::signal, EPERM);
  pt::expect_error(p->signal(SIGTERM), EPERM);
  ASSERT_TRUE(p->signal(SIGTERM).ok());
  pt::expect_killed_by(p->wait(), SIGTERM);
}

TEST_F(Faults, ASignalToTheGroupFails) {
  auto p = pt::spawn_ready(pt::child({"sleep=30"}));
  ASSERT_TRUE(p.ok()) << p.error().message();
  pt::fail_next(Call::group_signal, EPERM);
  pt::expect_error(p->signal_tree(SIGTERM), EPERM);
  EXPECT_EQ(p->wait_for(100ms), nullptr);
  ASSERT_TRUE(p->signal_tree(SIGTERM).ok());
  pt::expect_killed_by(p->wait(), SIGTERM);
}

TEST_F(Faults, ACgroupThatCannotBeMadeFallsBackToAProcessGroup) {
  auto plain = pt::child({}).tree(procctx::Tree::cgroup).run(procctx::background());
  ASSERT_TRUE(plain.ok());
  if (plain->tree != procctx::Tree::cgroup) GTEST_SKIP() << "no writable cgroup here: " << plain->tree_note;
  pt::fail_next(Call::cgroup_create, EACCES);
  auto r = pt::child({}).tree(procctx::Tree::cgroup).run(procctx::background());
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->tree, procctx::Tree::process_group);
  EXPECT_THAT(r->tree_note, HasSubstr("Permission denied"));
  EXPECT_EQ(pt::calls(Call::cgroup_create), 2);  // one leaf per spawn, counted since SetUp's clear
}

TEST_F(Faults, ALoopThatCannotWatchAPipeFailsTheSpawn) {
  pt::fail_next(Call::epoll, ENOMEM);
  auto r = pt::child({"print=x"}).out(Stdio::capture()).run(procctx::background());
  pt::expect_error(r, ENOMEM);
}

TEST_F(Faults, AChildTheLoopCannotWatchIsLookedAtInstead) {
  auto p = pt::child({"sleep=0.1"}).spawn(procctx::background());
  ASSERT_TRUE(p.ok()) << p.error().message();
  pt::fail_next(Call::epoll, ENOSPC);
  auto outcome = p->wait_async();  // the loop must watch the exit now, and cannot
  ASSERT_EQ(outcome.wait_for(10s), std::future_status::ready);
  pt::expect_exited(outcome.get(), 0);
  EXPECT_EQ(pt::calls(Call::epoll), 1);
}

TEST_F(Faults, AStopWhoseGraceGetsNoTimerEscalatesAtOnce) {
  auto p = pt::spawn_ready(pt::child({"ignore=TERM", "sleep=30"}));
  ASSERT_TRUE(p.ok()) << p.error().message();
  pt::fail_every(Call::timer, ENOMEM);
  p->stop();  // TERM, then 5 s of grace that no timer can measure
  const procctx::Completed& c = p->wait();
  pt::clear_failures();
  pt::expect_signals(c, {SIGTERM, SIGKILL});
  ASSERT_EQ(c.signals.size(), 2u);
  EXPECT_LT(c.signals[1].at - c.signals[0].at, 4s) << "the grace was not skipped";
}

TEST_F(Faults, ADeadlineWithoutATimerEndsWhenAsked) {
  pt::fail_every(Call::timer, EINVAL);
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 50ms);
  pt::clear_failures();
  EXPECT_TRUE(ctx.wait_for(5s));
  EXPECT_EQ(ctx.err(), procctx::errc::deadline_exceeded);
}

TEST_F(Faults, ASignalHandlerThatCannotBeInstalledIsAnError) {
  pt::fail_next(Call::signal_handler, EINVAL);
  auto watch = procctx::on_signal({SIGUSR1});
  pt::expect_error(watch, EINVAL);
  EXPECT_TRUE(procctx::on_signal({SIGUSR1}).ok());
}

TEST_F(Faults, EachKindHasAName) {
  EXPECT_EQ(pt::to_string(Call::spawn), "spawn");
  EXPECT_EQ(pt::to_string(Call::group_signal), "group_signal");
  EXPECT_EQ(pt::to_string(Call::signal_handler), "signal_handler");
}

}  // namespace
