// The classic subprocess mistakes, one test each, in the order of the list
// procctx exists to make impossible. Each ends with the fixture's leak check.
#include "support/process_fixture.hpp"

#include "cgroup_linux.hpp"
#include "loop_linux.hpp"

#include <gtest/gtest.h>

#include <barrier>
#include <csignal>
#include <filesystem>
#include <thread>

#include <unistd.h>

using namespace std::chrono_literals;
using procctx::Clock;
using procctx::Stdio;
using procctx::StopReason;
using procctx::Tree;

namespace {

class ClassicMistakes : public procctx::test::ProcessTest {
 protected:
  static bool running(pid_t pid) { return procctx::test::process_running(pid); }
  static std::string cgroup_unavailable() {
    auto parent = procctx::detail::cgroup::default_parent();
    return parent ? std::string{} : parent.error().message();
  }
  // Reads "escaped=PID\n" (the setsid-escape helper's first line).
  static pid_t read_escaped(procctx::Process& p) {
    std::string line = procctx::test::read_line(p.out());
    return line.rfind("escaped=", 0) == 0 ? static_cast<pid_t>(std::stoi(line.substr(8))) : 0;
  }
};

TEST_F(ClassicMistakes, M01_AProcessNeverWaitedForIsReapedNoZombie) {
  pid_t pid;
  {
    auto p = helper_cmd({"sleep", "30"}).spawn();
    ASSERT_TRUE(p) << p.error().message();
    pid = p->pid();
  }  // dropped without wait: the destructor returns at once
  for (int i = 0; i < 500 && ::kill(pid, 0) == 0; ++i) ::usleep(10'000);
  EXPECT_NE(::kill(pid, 0), 0) << "still exists, running or as a zombie";
}

TEST_F(ClassicMistakes, M02_WriteToStdinAfterCancelIsAnErrorNotSigpipe) {
  ASSERT_EQ(::signal(SIGPIPE, SIG_DFL), SIG_DFL);
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  auto p = helper_cmd({"echo-stdin"}).in(Stdio::pipe()).out(Stdio::null()).spawn(ctx);
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->in().write("before\n"));
  cancel("stop feeding");
  (void)p->wait();
  auto w = p->in().write(std::string(1 << 20, 'x'));
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code(), procctx::errc::canceled);
  EXPECT_NE(w.error().message().find("stop feeding"), std::string::npos);
}

TEST_F(ClassicMistakes, M03_ConcurrentWaitsAllGetTheSameOutcome) {
  auto p = helper_cmd({"exit", "5"}).spawn();
  ASSERT_TRUE(p);
  std::vector<const procctx::Completed*> seen(16);
  std::barrier start{16};
  std::vector<std::thread> waiters;
  for (std::size_t i = 0; i < 16; ++i) {
    waiters.emplace_back([&, i] {
      start.arrive_and_wait();
      seen[i] = &p->wait();
    });
  }
  for (auto& t : waiters) t.join();
  for (auto* c : seen) {
    EXPECT_EQ(c, seen[0]);
    EXPECT_EQ(c->status.code(), 5);
  }
  EXPECT_EQ(p->try_wait(), seen[0]);
  EXPECT_EQ(&p->wait(), seen[0]) << "wait is idempotent";
}

TEST_F(ClassicMistakes, M04_ExitCodeDeathBySignalAndCoreDumpAreToldApart) {
  auto code = run_helper({"exit", "137"});
  auto killed = run_helper({"signal", "KILL"});
  EXPECT_TRUE(code.status.exited());
  EXPECT_EQ(code.status.code(), 137);
  EXPECT_TRUE(killed.status.signaled());
  EXPECT_EQ(killed.status.signal(), SIGKILL);
  EXPECT_EQ(code.status.shell_code(), killed.status.shell_code())
      << "the shell cannot tell these apart; we can";
  EXPECT_NE(code.status, killed.status);
  EXPECT_FALSE(killed.status.core_dumped());
  EXPECT_EQ(procctx::ExitStatus::killed_by(SIGSEGV, true).core_dumped(), true);
}

TEST_F(ClassicMistakes, M05_CancellingOneContextLeavesASiblingRunningCancellingTheParentStopsBoth) {
  auto [parent, cancel_parent] = procctx::with_cancel(procctx::background());
  auto [a_ctx, cancel_a] = procctx::with_cancel(parent);
  auto [b_ctx, cancel_b] = procctx::with_cancel(parent);
  auto a = helper_cmd({"sleep", "30"}).spawn(a_ctx);
  auto b = helper_cmd({"sleep", "30"}).spawn(b_ctx);
  ASSERT_TRUE(a && b);
  cancel_a("only a");
  EXPECT_EQ(a->wait().stop_reason, StopReason::canceled);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(b->try_wait(), nullptr) << "the sibling must keep running";
  EXPECT_TRUE(running(b->pid()));
  cancel_parent("all");
  EXPECT_EQ(b->wait().stop_reason, StopReason::canceled);
  EXPECT_EQ(b->wait().cause, "all");
}

TEST_F(ClassicMistakes, M06_KillWithoutWaitLeavesNoZombie) {
  pid_t pid;
  {
    auto p = helper_cmd({"sleep", "30"}).spawn();
    ASSERT_TRUE(p);
    pid = p->pid();
    ASSERT_TRUE(p->kill());
  }
  for (int i = 0; i < 500 && ::kill(pid, 0) == 0; ++i) ::usleep(10'000);
  EXPECT_NE(::kill(pid, 0), 0);
}

TEST_F(ClassicMistakes, M07_AGrandchildHoldingStdoutCannotStretchRunBeyondTimeoutGraceAndWaitDelay) {
  // The grandchild ignores nothing, but it is not the child: it would hold
  // the pipe for 60 s. Bound: timeout 300 ms + grace 0 + wait_delay 500 ms.
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 300ms);
  auto t0 = Clock::now();
  auto c =
      procctx::Command{"sh", {"-c", "sleep 60 & sleep 60"}}.out(Stdio::capture()).wait_delay(500ms).run(ctx);
  auto took = Clock::now() - t0;
  ASSERT_TRUE(c);
  EXPECT_LT(took, 300ms + 500ms + 2s) << "generous bound; a hang would be 60 s";
  EXPECT_EQ(c->stop_reason, StopReason::deadline);
  EXPECT_TRUE(procctx::test::live_group_members(c->pid).empty());
}

TEST_F(ClassicMistakes, M08_AChildIgnoringSigtermDiesBySigkillAfterTheGrace) {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  auto p =
      helper_cmd({"ignore-term", "30"}).out(Stdio::pipe()).stop({{SIGTERM, 300ms}, {SIGKILL}}).spawn(ctx);
  ASSERT_TRUE(p);
  char buf[16];
  ASSERT_TRUE(p->out().read(buf));  // "ready": SIGTERM is ignored from here on
  auto t0 = Clock::now();
  cancel();
  const auto& c = p->wait();
  EXPECT_EQ(c.status.signal(), SIGKILL);
  ASSERT_EQ(c.signals.size(), 2u);
  EXPECT_EQ(c.signals[0].signal, SIGTERM);
  EXPECT_EQ(c.signals[1].signal, SIGKILL);
  EXPECT_GE(c.signals[1].at - c.signals[0].at, 300ms);
  EXPECT_EQ(c.stop_stage, 1);
  EXPECT_GE(Clock::now() - t0, 300ms);
}

TEST_F(ClassicMistakes, M09a_ASetsidEscapeeIsKilledInCgroupMode) {
  if (auto why = cgroup_unavailable(); !why.empty()) GTEST_SKIP() << "no writable cgroup v2: " << why;
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  auto p = helper_cmd({"setsid-escape", "30"}).tree(Tree::cgroup).out(Stdio::pipe()).spawn(ctx);
  ASSERT_TRUE(p) << p.error().message();
  pid_t escaped = read_escaped(*p);
  ASSERT_GT(escaped, 0);
  ASSERT_TRUE(running(escaped));
  cancel();
  const auto& c = p->wait();
  EXPECT_EQ(c.tree, Tree::cgroup) << c.tree_note;
  EXPECT_FALSE(c.cgroup.empty());
  EXPECT_FALSE(std::filesystem::exists(c.cgroup)) << "the leaf must be removed";
  EXPECT_TRUE(c.leftovers.empty());
  for (int i = 0; i < 300 && running(escaped); ++i) ::usleep(10'000);
  EXPECT_FALSE(running(escaped)) << "the escapee left the session, not the cgroup";
}

TEST_F(ClassicMistakes, M09b_ASetsidEscapeeIsReportedAsALeftoverInGroupMode) {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  auto p = helper_cmd({"setsid-escape", "30"}).tree(Tree::process_group).out(Stdio::pipe()).spawn(ctx);
  ASSERT_TRUE(p);
  pid_t escaped = read_escaped(*p);
  ASSERT_GT(escaped, 0);
  cancel();
  const auto& c = p->wait();
  ASSERT_EQ(c.leftovers.size(), 1u);
  EXPECT_EQ(c.leftovers[0].pid, escaped);
  EXPECT_EQ(c.leftovers[0].name, "procctx_helper");
  EXPECT_TRUE(running(escaped)) << "Leftovers::leave (the default) lets it run";
  ::kill(escaped, SIGKILL);

  // With Leftovers::kill the same escapee is stopped too.
  auto [ctx2, cancel2] = procctx::with_cancel(procctx::background());
  auto q =
      helper_cmd({"setsid-escape", "30"}).leftovers(procctx::Leftovers::kill).out(Stdio::pipe()).spawn(ctx2);
  ASSERT_TRUE(q);
  pid_t escaped2 = read_escaped(*q);
  ASSERT_GT(escaped2, 0);
  cancel2();
  (void)q->wait();
  for (int i = 0; i < 300 && running(escaped2); ++i) ::usleep(10'000);
  EXPECT_FALSE(running(escaped2));
}

TEST_F(ClassicMistakes, M09c_AnEscapeeForkedByASecondThreadIsFoundToo) {
  // Its parent is that thread, whose own children list is the one to read.
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  auto p = helper_cmd({"thread-setsid-escape", "30"})
               .leftovers(procctx::Leftovers::kill)
               .out(Stdio::pipe())
               .spawn(ctx);
  ASSERT_TRUE(p);
  pid_t escaped = read_escaped(*p);
  ASSERT_GT(escaped, 0);
  cancel();
  (void)p->wait();
  for (int i = 0; i < 300 && running(escaped); ++i) ::usleep(10'000);
  EXPECT_FALSE(running(escaped)) << "the second thread's escapee outlived the stop";
  if (running(escaped)) ::kill(escaped, SIGKILL);
}

TEST_F(ClassicMistakes, M10_AForkBombUnderPidsMaxIsContainedAndFullyKilled) {
  if (auto why = cgroup_unavailable(); !why.empty()) GTEST_SKIP() << "no writable cgroup v2: " << why;
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 2s);
  auto cmd = helper_cmd({"fork", "200", "30"}).pids_max(20).out(Stdio::capture()).err(Stdio::capture());
  auto p = cmd.spawn(ctx);
  if (!p && p.error().message().find("pids_max") != std::string::npos) {
    GTEST_SKIP() << "the pids controller is not available here: " << p.error().message();
  }
  ASSERT_TRUE(p) << p.error().message();
  const auto& c = p->wait();
  EXPECT_EQ(c.tree, Tree::cgroup);
  EXPECT_FALSE(std::filesystem::exists(c.cgroup));
  EXPECT_TRUE(c.leftovers.empty());
}

TEST_F(ClassicMistakes, M11_NoRegistrationOrTimerRemainsAfterTheProcessesAreReaped) {
  auto* loop = procctx::detail::Loop::running();
  ASSERT_NE(loop, nullptr);
  auto timers = loop->pending_timers();
  auto watches = loop->watches();
  {
    auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 200ms);
    auto a = helper_cmd({"sleep", "30"}).out(Stdio::capture()).spawn(ctx);
    auto b = helper_cmd({"ignore-term", "30"}).stop({{SIGTERM, 100ms}, {SIGKILL}}).spawn(ctx);
    ASSERT_TRUE(a && b);
    (void)a->wait();
    (void)b->wait();
  }
  EXPECT_EQ(loop->pending_timers(), timers);
  EXPECT_EQ(loop->watches(), watches);
}

}  // namespace
