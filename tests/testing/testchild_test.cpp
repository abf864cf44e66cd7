// procctx-testchild does each behaviour of docs/testing.md's table, in
// order, with real processes; spawn_ready() returns only once it is ready.
#include <procctx/testing/gtest.hpp>

#include "proc_linux.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <string>

#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using procctx::Stdio;
using ::testing::HasSubstr;
namespace pt = procctx::testing;

class TestChild : public pt::LeakCheckTest {
 protected:
  // Runs the child with stdout and stderr captured; fails the test if it could not start.
  static procctx::Completed run(std::vector<std::string> behaviours) {
    auto r = pt::child(std::move(behaviours))
                 .out(Stdio::capture())
                 .err(Stdio::capture())
                 .run(procctx::background());
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? std::move(r).value() : procctx::Completed{};
  }
};

// The signals /proc says `pid` ignores.
bool ignores(pid_t pid, int sig) {
  std::ifstream status{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("SigIgn:", 0) == 0) {
      unsigned long long mask = std::strtoull(line.c_str() + 7, nullptr, 16);
      return (mask >> (sig - 1)) & 1;
    }
  }
  return false;
}

TEST_F(TestChild, ExitsWithTheCodeItIsGivenAndStopsThere) {
  auto c = run({"print=a", "exit=4", "print=b"});
  pt::expect_exited(c, 4);
  EXPECT_EQ(c.out.str(), "a\n");
}

TEST_F(TestChild, TheEndOfTheListIsExitZero) {
  pt::expect_exited(run({}), 0);
  EXPECT_EQ(run({"print=hello world"}).out.str(), "hello world\n");
}

TEST_F(TestChild, DiesByTheSignalNamedAnyWayAndDumpsNoCore) {
  for (const char* name : {"signal=SEGV", "signal=sigsegv", "signal=11"}) {
    auto c = run({name});
    pt::expect_killed_by(c, SIGSEGV);
    EXPECT_FALSE(c.status.core_dumped()) << name;
  }
  pt::expect_killed_by(run({"signal=KILL"}), SIGKILL);
}

TEST_F(TestChild, IgnoresTheSignalsItIsToldToFromTheMomentItIsReady) {
  auto p = pt::spawn_ready(pt::child({"ignore=TERM,INT", "sleep=30"}));
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_TRUE(ignores(p->pid(), SIGTERM));
  EXPECT_TRUE(ignores(p->pid(), SIGINT));
  EXPECT_FALSE(ignores(p->pid(), SIGHUP));
  ASSERT_TRUE(p->signal(SIGTERM).ok());
  ASSERT_TRUE(p->signal(SIGINT).ok());
  EXPECT_EQ(p->wait_for(200ms), nullptr) << "a TERM- and INT-ignoring child ended";
  ASSERT_TRUE(p->kill().ok());
  pt::expect_killed_by(p->wait(), SIGKILL);
}

TEST_F(TestChild, FloodsStdoutAndStderrWithExactlyTheBytesAsked) {
  auto c = run({"stdout=1M", "stderr=1000"});
  pt::expect_exited(c, 0);
  EXPECT_EQ(c.out.total(), 1u << 20);
  EXPECT_EQ(c.err.total(), 1000u);
  EXPECT_EQ(c.out.str().substr(0, 64), "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk\n");
}

TEST_F(TestChild, LeavesAGrandchildHoldingItsOutputUntilTheReaderGoes) {
  auto r = pt::child({"grandchild-holds-output", "print=done"})
               .out(Stdio::capture())
               .wait_delay(200ms)
               .run(procctx::background());
  ASSERT_TRUE(r.ok()) << r.error().message();
  pt::expect_exited(*r, 0);
  EXPECT_EQ(r->out.str(), "done\n");
  ASSERT_EQ(r->pipe_holders.size(), 1u);
  EXPECT_EQ(r->pipe_holders[0].name, "procctx-testchi");
  // Once procctx gave up the pipe, the holder sees its reader gone and leaves.
  pt::expect_no_leftovers(*r);
}

TEST_F(TestChild, LeavesADaemonOutsideItsProcessGroup) {
  auto p = pt::spawn_ready(pt::child({"setsid-daemon=30", "sleep=30"}));
  ASSERT_TRUE(p.ok()) << p.error().message();
  p->stop();  // the stop finds the escapee; Leftovers::leave lets it run
  const procctx::Completed& c = p->wait();
  pt::expect_killed_by(c, SIGTERM);
  ASSERT_EQ(c.leftovers.size(), 1u);
  pid_t daemon = c.leftovers[0].pid;
  auto st = procctx::detail::proc::stat(daemon);
  ASSERT_TRUE(st);
  EXPECT_NE(st->pgrp, c.pid) << "the daemon should have left the group";
  EXPECT_NONFATAL_FAILURE(pt::expect_no_leftovers(c, 0ms), "left in its tree");
  ::kill(daemon, SIGKILL);
}

TEST_F(TestChild, ADaemonIsStoppedWithLeftoversKill) {
  auto p = pt::spawn_ready(pt::child({"setsid-daemon=30", "sleep=30"}).leftovers(procctx::Leftovers::kill));
  ASSERT_TRUE(p.ok()) << p.error().message();
  p->stop();
  pt::expect_no_leftovers(p->wait());
}

TEST_F(TestChild, ForksGrandchildrenThatRunTheRestOfTheList) {
  auto p = pt::spawn_ready(pt::child({"fork=3", "ignore=TERM", "sleep=30"}));
  ASSERT_TRUE(p.ok()) << p.error().message();
  auto members = procctx::detail::proc::group_members(p->pid());
  ASSERT_EQ(members.size(), 4u);
  for (const auto& m : members) EXPECT_TRUE(ignores(m.pid, SIGTERM)) << m.pid << " was not ready";
  ASSERT_TRUE(p->kill().ok());
  const procctx::Completed& c = p->wait();
  pt::expect_killed_by(c, SIGKILL);
  pt::expect_no_leftovers(c);
}

TEST_F(TestChild, StopsItselfUntilContinued) {
  auto p = pt::spawn_ready(pt::child({"stop-self", "print=continued"}).out(Stdio::capture()));
  ASSERT_TRUE(p.ok()) << p.error().message();
  for (int i = 0; i < 500 && procctx::detail::proc::stat(p->pid())->state != 'T'; ++i)
    std::this_thread::sleep_for(2ms);
  EXPECT_EQ(procctx::detail::proc::stat(p->pid())->state, 'T');
  ASSERT_TRUE(p->signal(SIGCONT).ok());
  const procctx::Completed& c = p->wait();
  pt::expect_exited(c, 0);
  EXPECT_EQ(c.out.str(), "continued\n");
}

TEST_F(TestChild, ClosesStdoutWhileItRunsOn) {
  auto p = pt::child({"close-stdout", "sleep=30"}).out(Stdio::pipe()).spawn(procctx::background());
  ASSERT_TRUE(p.ok()) << p.error().message();
  auto all = p->out().read_all();  // EOF although the child still runs
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, "");
  EXPECT_EQ(p->try_wait(), nullptr);
  p->stop();
  pt::expect_killed_by(p->wait(), SIGTERM);
}

TEST_F(TestChild, ReadsStdinToItsEnd) {
  auto r =
      pt::child({"read-stdin"}).in(Stdio::data("hello")).out(Stdio::capture()).run(procctx::background());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out.str(), "stdin=5\n");
  EXPECT_EQ(r->stdin_written, 5u);
}

TEST_F(TestChild, PrintsItsEnvironmentWithoutTheKitsVariable) {
  auto p = pt::spawn_ready(pt::child({"print-env"}).env_clear().env("A", "1").out(Stdio::capture()));
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->wait().out.str(), "A=1\n");
}

TEST_F(TestChild, PrintsItsFdsWithoutTheKitsOwn) {
  auto r = pt::child({"print-fds"}).in(Stdio::null()).out(Stdio::capture()).run(procctx::background());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out.str(), "fds=0,1,2\n");
  auto p = pt::spawn_ready(pt::child({"print-fds"}).in(Stdio::null()).out(Stdio::capture()).pass_fd(2, 7));
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->wait().out.str(), "fds=0,1,2,7\n");
}

TEST_F(TestChild, PrintsItsIds) {
  auto c = run({"print-ids"});
  std::string pid = std::to_string(c.pid);
  EXPECT_THAT(c.out.str(),
              HasSubstr("pid=" + pid + " ppid=" + std::to_string(::getpid()) + " pgid=" + pid + " sid="));
  EXPECT_THAT(c.out.str(), HasSubstr(" uid=" + std::to_string(::getuid()) + " euid="));
}

TEST_F(TestChild, ABadBehaviourRunsNothingAndSaysWhich) {
  struct Case {
    const char* arg;
    const char* says;
  };
  for (auto [arg, says] : {Case{"nope", "unknown behaviour 'nope'"}, Case{"sleep=-1", "sleep=-1: SECONDS"},
                           Case{"sleep", "sleep: needs a value"}, Case{"exit=256", "exit=256: N must be"},
                           Case{"signal=CHLD", "does not end a process"}, Case{"signal=FOO", "not a signal"},
                           Case{"ignore=KILL", "cannot be ignored"}, Case{"stdout=1Q", "BYTES must be"},
                           Case{"fork=0", "fork=0: N must be"}, Case{"print-env=1", "takes no value"}}) {
    auto c = run({"print=ran", arg});
    pt::expect_exited(c, 2);
    EXPECT_EQ(c.out.str(), "") << arg;
    EXPECT_THAT(c.err.str(), HasSubstr(says)) << arg;
  }
}

TEST_F(TestChild, HelpNamesEveryBehaviour) {
  auto c = run({"--help"});
  pt::expect_exited(c, 0);
  for (const char* name : {"sleep=", "exit=", "signal=", "ignore=", "stdout=", "stderr=", "print=",
                           "grandchild-holds-output", "setsid-daemon", "fork=", "stop-self", "close-stdout",
                           "read-stdin", "print-env", "print-fds", "print-ids"}) {
    EXPECT_THAT(c.out.str(), HasSubstr(name));
  }
}

TEST_F(TestChild, SpawnReadyReturnsForAChildThatEndsAndTimesOutOnOneThatNeverReports) {
  auto done = pt::spawn_ready(procctx::Command{"/bin/true"});  // never reports, but ends: EOF
  ASSERT_TRUE(done.ok()) << done.error().message();
  pt::expect_exited(done->wait(), 0);
  auto silent = pt::spawn_ready(procctx::Command{"/bin/sleep", {"30"}}, procctx::background(), 200ms);
  pt::expect_error(silent, procctx::errc::deadline_exceeded);
  EXPECT_THAT(silent.error().message(), HasSubstr("did not report ready"));
}

TEST_F(TestChild, IsFoundInTheBuildTreeOrWhereTheEnvironmentSays) {
  auto path = pt::testchild_path();
  ASSERT_TRUE(path.ok()) << path.error().message();
  EXPECT_EQ(*path, PROCCTX_TESTCHILD_PATH);
  ::setenv("PROCCTX_TESTCHILD", "/nonexistent/procctx-testchild", 1);
  EXPECT_EQ(pt::testchild_path().value(), "/nonexistent/procctx-testchild");
  auto r = pt::child({"exit=0"}).run(procctx::background());
  ::unsetenv("PROCCTX_TESTCHILD");
  pt::expect_error(r, procctx::errc::not_found);
  EXPECT_THAT(r.error().message(), HasSubstr("/nonexistent/procctx-testchild"));
}

}  // namespace
