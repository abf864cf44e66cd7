// Failures injected at the syscall seam: clear errors or documented
// fallbacks, no leak, and the next spawn works.
#include "support/process_fixture.hpp"

#include "cgroup_linux.hpp"
#include "sys_linux.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include <fcntl.h>
#include <unistd.h>

using procctx::Stdio;
using procctx::detail::fault::arm;
using procctx::detail::fault::calls;
using procctx::detail::sys::Call;

namespace {

class Fault : public procctx::test::ProcessTest {
 protected:
  void SetUp() override { procctx::detail::fault::clear(); }
  void TearDown() override {
    procctx::detail::fault::clear();
    auto after = run_helper({"print", "still works"});
    EXPECT_EQ(after.out.text(), "still works");
    ProcessTest::TearDown();
  }
};

TEST_F(Fault, Clone3EnosysFallsBackToClone) {
  arm(Call::clone3, ENOSYS, 1, -1);
  auto before = calls(Call::clone);
  auto c = run_helper({"print", "via clone"});
  EXPECT_EQ(c.out.text(), "via clone");
  EXPECT_EQ(calls(Call::clone), before + 1);
}

TEST_F(Fault, CloneEagainIsAnError) {
  arm(Call::clone3, EAGAIN);
  auto r = helper_cmd({"exit", "0"}).out(Stdio::capture()).run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), std::errc::resource_unavailable_try_again);
  EXPECT_NE(r.error().message().find("clone: Resource temporarily unavailable"), std::string::npos);
}

TEST_F(Fault, CloseRangeMissingFallsBackToListingFds) {
  arm(Call::close_range, ENOSYS);
  auto c = run_helper({"fds"});
  EXPECT_EQ(c.out.text(), "0 1 2\n");
}

TEST_F(Fault, ARefusedFdTableCopyFallsBackToCloningWithoutSharingIt) {
  arm(Call::unshare, EPERM, 1, -1);
  auto before = calls(Call::unshare);
  auto first = run_helper({"fds"});  // the child is refused; the spawn is retried
  EXPECT_EQ(first.out.text(), "0 1 2\n");
  EXPECT_EQ(calls(Call::unshare), before + 1);
  // Later spawns do not try again, and still pass exactly what they should.
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  auto second = helper_cmd({"fds"}).pass_fd(fds[1], 4).out(Stdio::capture()).run();
  ::close(fds[0]);
  ::close(fds[1]);
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(second->out.text(), "0 1 2 4\n");
  EXPECT_EQ(calls(Call::unshare), before + 1);
}

TEST_F(Fault, Pipe2EmfileIsAnErrorNamingTheStream) {
  arm(Call::pipe2, EMFILE, 2);  // the stderr pipe
  auto r = helper_cmd({"exit", "0"}).out(Stdio::capture()).err(Stdio::capture()).run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), std::errc::too_many_files_open);
  EXPECT_NE(r.error().message().find("pipe for stderr: pipe2: Too many open files"), std::string::npos)
      << r.error().message();
}

TEST_F(Fault, EpollCtlFailureKillsAndReapsTheChild) {
  // A spawn whose caller waits never asks the loop for anything: the
  // loop takes the pidfd only when the handle is dropped, and when it
  // cannot, it looks at the child now and then instead.
  auto epoll_calls = calls(Call::epoll_ctl);
  auto p = helper_cmd({"sleep", "30"}).stop({{SIGKILL}}).spawn();
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(calls(Call::epoll_ctl), epoll_calls);
  pid_t pid = p->pid();
  arm(Call::epoll_ctl, ENOMEM);
  { auto dropped = std::move(*p); }  // the drop: its stop must still reach the child
  EXPECT_TRUE(procctx::test::live_group_members(pid).empty()) << "the dropped child was not stopped";
  arm(Call::epoll_ctl, ENOMEM);
  auto r = helper_cmd({"sleep", "30"}).out(Stdio::capture()).run();  // run: the loop pumps stdout
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("watch child"), std::string::npos) << r.error().message();
}

TEST_F(Fault, ReadEintrStormIsRetried) {
  arm(Call::read, EINTR, 1, 50);
  auto c = run_helper({"flood-stdout", "1M"});
  EXPECT_EQ(c.out.total(), 1u << 20);
}

TEST_F(Fault, WaitidEchildLeavesStatusUnknownButFinishes) {
  arm(Call::waitid, ECHILD, 1, -1);  // the waiter's and the loop's calls alike
  auto c = run_helper({"exit", "4"});
  EXPECT_FALSE(c.status.known());
  EXPECT_EQ(c.status.to_string(), "unknown");
  // The child really exited; with waitid refused it stays a zombie until
  // reaped by someone: do it here so the leak check stays meaningful.
  siginfo_t info;
  ::waitid(P_PID, static_cast<id_t>(c.pid), &info, WEXITED);
}

TEST_F(Fault, TimerfdFailureStillEndsTheDeadlineContext) {
  arm(Call::timerfd_settime, EINVAL, 1, -1);
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), std::chrono::milliseconds(50));
  procctx::detail::fault::clear();
  // Whether or not the timer was armed, waiting checks the clock.
  EXPECT_TRUE(ctx.wait_for(std::chrono::seconds(5)));
  EXPECT_EQ(ctx.err(), procctx::errc::deadline_exceeded);
}

TEST_F(Fault, Pipe2EnfileForStdoutIsAnError) {
  arm(Call::pipe2, ENFILE);  // the first pipe: stdout
  auto r = helper_cmd({"exit", "0"}).out(Stdio::capture()).err(Stdio::capture()).run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), std::errc::too_many_files_open_in_system);
  EXPECT_NE(r.error().message().find("pipe for stdout: pipe2: Too many open files in system"), std::string::npos)
      << r.error().message();
}

TEST_F(Fault, Pipe2EmfileForStdinDataIsAnError) {
  arm(Call::pipe2, EMFILE);
  auto r = helper_cmd({"count-stdin"}).in(Stdio::data("abc")).run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), std::errc::too_many_files_open);
  EXPECT_NE(r.error().message().find("pipe for stdin"), std::string::npos) << r.error().message();
}

TEST_F(Fault, Clone3EnomemIsAnErrorWithoutFallback) {
  arm(Call::clone3, ENOMEM);
  auto before = calls(Call::clone);
  auto r = helper_cmd({"exit", "0"}).out(Stdio::capture()).run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), std::errc::not_enough_memory);
  EXPECT_NE(r.error().message().find("clone: Cannot allocate memory"), std::string::npos) << r.error().message();
  EXPECT_EQ(calls(Call::clone), before) << "ENOMEM is not a reason to try clone()";
}

TEST_F(Fault, CloneEagainAfterClone3MissingIsAnError) {
  arm(Call::clone3, ENOSYS, 1, -1);
  arm(Call::clone, EAGAIN);
  auto r = helper_cmd({"exit", "0"}).out(Stdio::capture()).run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), std::errc::resource_unavailable_try_again);
  EXPECT_NE(r.error().message().find("clone: Resource temporarily unavailable"), std::string::npos)
      << r.error().message();
}

TEST_F(Fault, EpollCtlEnospcForAStreamKillsAndReapsTheChild) {
  arm(Call::epoll_ctl, ENOSPC, 2);  // a stream after the first watch
  auto r = helper_cmd({"sleep", "30"}).out(Stdio::capture()).err(Stdio::capture()).run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), std::errc::no_space_on_device);
  EXPECT_NE(r.error().message().find("No space left on device"), std::string::npos) << r.error().message();
}

TEST_F(Fault, TimerfdFailureSkipsTheGraceButStillEscalates) {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  auto p = helper_cmd({"ignore-term", "30"})
               .out(Stdio::pipe())
               .stop({{SIGTERM, std::chrono::seconds(30)}, {SIGKILL}})
               .spawn(ctx);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(procctx::test::read_line(p->out()), "ready");
  arm(Call::timerfd_settime, EINVAL, 1, -1);
  cancel("stop it");
  const auto& c = p->wait();
  EXPECT_EQ(c.status.signal(), SIGKILL);
  ASSERT_EQ(c.signals.size(), 2u);
  EXPECT_LT(c.signals[1].at, std::chrono::seconds(10)) << "no timer means no grace, never no escalation";
}

TEST_F(Fault, TimerfdRearmFailureDoesNotStrandLaterTimers) {
  // An earlier timer is pending, so adding the grace timer needs no re-arm;
  // re-arming after the earlier one fires is what fails. The earlier timer
  // is made once the child is ready: made before the spawn, a slow start on
  // a busy machine let it fire first, and then adding the grace timer was
  // the re-arm that failed.
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  auto p = helper_cmd({"ignore-term", "30"})
               .out(Stdio::pipe())
               .stop({{SIGTERM, std::chrono::milliseconds(300)}, {SIGKILL}})
               .spawn(ctx);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(procctx::test::read_line(p->out()), "ready");
  auto [early, early_cancel] = procctx::with_timeout(procctx::background(), std::chrono::milliseconds(100));
  cancel("stop it");
  arm(Call::timerfd_settime, EINVAL, 1, -1);
  const auto& c = p->wait();
  EXPECT_EQ(c.status.signal(), SIGKILL);
  ASSERT_EQ(c.signals.size(), 2u);
  EXPECT_GE(c.signals[1].at - c.signals[0].at, std::chrono::milliseconds(250));
  EXPECT_LT(c.signals[1].at, std::chrono::seconds(10));
  EXPECT_TRUE(early.done());
}

TEST_F(Fault, PidfdSendSignalEsrchIsAnErrorAndKillStillWorks) {
  auto p = helper_cmd({"sleep", "30"}).spawn();
  ASSERT_TRUE(p) << p.error().message();
  arm(Call::pidfd_send_signal, ESRCH);
  auto s = p->signal(SIGTERM);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), std::errc::no_such_process);
  EXPECT_NE(s.error().message().find("pidfd_send_signal SIGTERM: No such process"), std::string::npos)
      << s.error().message();
  ASSERT_TRUE(p->kill());
  EXPECT_EQ(p->wait().status.signal(), SIGKILL);
}

TEST_F(Fault, PidfdSendSignalEsrchInTheStopSequenceMovesOnToTheNextStep) {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  auto p = helper_cmd({"sleep", "30"})
               .tree(procctx::Tree::none)
               .stop({{SIGTERM, std::chrono::milliseconds(100)}, {SIGKILL}})
               .spawn(ctx);
  ASSERT_TRUE(p) << p.error().message();
  arm(Call::pidfd_send_signal, ESRCH);  // SIGTERM is lost
  cancel("stop it");
  const auto& c = p->wait();
  EXPECT_EQ(c.status.signal(), SIGKILL);
  EXPECT_EQ(c.stop_reason, procctx::StopReason::canceled);
}

TEST_F(Fault, WriteEintrStormFeedingStdinIsRetried) {
  arm(Call::write, EINTR, 1, 200);
  auto c = helper_cmd({"count-stdin"}).in(Stdio::data(std::string(1 << 20, 'x'))).out(Stdio::capture()).run();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->out.text(), std::to_string(1 << 20) + "\n");
  EXPECT_EQ(c->stdin_written, std::size_t{1} << 20);
}

TEST_F(Fault, ReadEagainIsAWaitNotAnEnd) {
  arm(Call::read, EAGAIN, 1, 20);  // spurious readiness, over and over
  auto c = run_helper({"flood-stdout", "1M"});
  EXPECT_EQ(c.out.total(), 1u << 20);
  EXPECT_TRUE(c.status.success());
}

TEST_F(Fault, WriteEagainFeedingStdinWaitsForRoom) {
  arm(Call::write, EAGAIN, 1, 20);
  auto c = helper_cmd({"count-stdin"}).in(Stdio::data(std::string(256 * 1024, 'x'))).out(Stdio::capture()).run();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->out.text(), std::to_string(256 * 1024) + "\n");
}

TEST_F(Fault, ReaderAndWriterRideOutEintrAndEagain) {
  auto p = helper_cmd({"echo-stdin"}).in(Stdio::pipe()).out(Stdio::pipe()).spawn();
  ASSERT_TRUE(p) << p.error().message();
  arm(Call::write, EINTR, 1, 50);
  ASSERT_TRUE(p->in().write("hello\n"));
  arm(Call::write, EAGAIN, 1, 3);
  ASSERT_TRUE(p->in().write("again\n"));
  p->in().close();
  arm(Call::read, EINTR, 1, 50);
  arm(Call::read, EAGAIN, 51, 3);
  auto all = p->out().read_all();
  ASSERT_TRUE(all) << all.error().message();
  EXPECT_EQ(*all, "hello\nagain\n");
  EXPECT_TRUE(p->wait().status.success());
}

TEST_F(Fault, WriterEpipeIsAnErrorNotASignal) {
  auto p = helper_cmd({"sleep", "30"}).in(Stdio::pipe()).spawn();
  ASSERT_TRUE(p) << p.error().message();
  arm(Call::write, EPIPE);
  auto w = p->in().write("lost");
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code(), std::errc::broken_pipe);
  EXPECT_NE(w.error().message().find("write to stdin: Broken pipe"), std::string::npos) << w.error().message();
  ASSERT_TRUE(p->kill());
  EXPECT_EQ(p->wait().status.signal(), SIGKILL);
}

std::string cgroup_unavailable() {
  auto parent = procctx::detail::cgroup::default_parent();
  return parent ? std::string{} : parent.error().message();
}

TEST_F(Fault, CgroupRefusedFallsBackToAProcessGroupAndSaysWhy) {
  if (auto why = cgroup_unavailable(); !why.empty()) GTEST_SKIP() << "no writable cgroup v2: " << why;
  arm(Call::mkdir, EACCES);
  auto c = helper_cmd({"pgid"}).tree(procctx::Tree::cgroup).out(Stdio::capture()).run();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->tree, procctx::Tree::process_group);
  EXPECT_NE(c->tree_note.find("Permission denied"), std::string::npos) << c->tree_note;
  EXPECT_NE(c->tree_note.find("used a process group"), std::string::npos) << c->tree_note;
  EXPECT_NE(c->out.text().find("pgid=" + std::to_string(c->pid)), std::string::npos);
}

TEST_F(Fault, CgroupNameTakenTakesTheNextName) {
  if (auto why = cgroup_unavailable(); !why.empty()) GTEST_SKIP() << "no writable cgroup v2: " << why;
  arm(Call::mkdir, EEXIST);
  auto c = helper_cmd({"exit", "0"}).tree(procctx::Tree::cgroup).run();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->tree, procctx::Tree::cgroup);
}

TEST_F(Fault, WithoutClone3TheChildJoinsItsCgroupItself) {
  if (auto why = cgroup_unavailable(); !why.empty()) GTEST_SKIP() << "no writable cgroup v2: " << why;
  arm(Call::clone3, ENOSYS, 1, -1);
  auto c =
      procctx::Command{"cat", {"/proc/self/cgroup"}}.tree(procctx::Tree::cgroup).out(Stdio::capture()).run();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->tree, procctx::Tree::cgroup);
  std::string leaf = std::filesystem::path{c->cgroup}.filename().string();
  EXPECT_NE(c->out.text().find("0::"), std::string::npos);
  EXPECT_NE(c->out.text().find(leaf), std::string::npos) << c->out.text() << " vs " << leaf;
}

TEST_F(Fault, CgroupLeafOpenRefusedFallsBackToAProcessGroup) {
  if (auto why = cgroup_unavailable(); !why.empty()) GTEST_SKIP() << "no writable cgroup v2: " << why;
  arm(Call::open, EACCES);  // opening the new leaf
  auto c = helper_cmd({"exit", "0"}).tree(procctx::Tree::cgroup).run();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->tree, procctx::Tree::process_group);
  EXPECT_NE(c->tree_note.find("open cgroup"), std::string::npos) << c->tree_note;
  EXPECT_NE(c->tree_note.find("Permission denied"), std::string::npos) << c->tree_note;
}

TEST_F(Fault, CgroupKillFileMissingFallsBackToSignallingEachMember) {
  if (auto why = cgroup_unavailable(); !why.empty()) GTEST_SKIP() << "no writable cgroup v2: " << why;
  auto p = helper_cmd({"sleep", "30"}).tree(procctx::Tree::cgroup).spawn();
  ASSERT_TRUE(p) << p.error().message();
  arm(Call::open, ENOENT);  // cgroup.kill, as before Linux 5.14
  ASSERT_TRUE(p->kill());
  EXPECT_EQ(p->wait().status.signal(), SIGKILL);
}

}  // namespace
