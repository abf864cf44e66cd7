// Isolation: the child gets exactly what it was given, seen from inside it.
// These tests run as root (as CI does) to switch users; elsewhere the ones
// that need it skip and say so.
#include "support/process_fixture.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace std::chrono_literals;
using procctx::Stdio;

namespace {

class Isolation : public procctx::test::ProcessTest {
 protected:
  static std::string out_of(procctx::Command cmd) {
    auto c = cmd.out(Stdio::capture()).err(Stdio::capture()).run();
    EXPECT_TRUE(c) << c.error().message();
    if (!c) return {};
    EXPECT_TRUE(c->status.success()) << c->status.to_string() << " " << c->err.text();
    return c->out.str();
  }
  // The line of /proc/self/limits (or status) that starts with `prefix`.
  static std::string line_of(const std::string& text, const std::string& prefix) {
    std::istringstream in{text};
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(prefix, 0) == 0) return line;
    }
    return {};
  }
  static bool root() { return ::geteuid() == 0; }
};

TEST_F(Isolation, ClearedEnvironmentKeepsOnlyTheAllowlistAndEdits) {
  ::setenv("PROCCTX_KEEP_A", "kept", 1);
  ::setenv("PROCCTX_DROP_B", "dropped", 1);
  auto env =
      out_of(helper_cmd({"env"}).env_clear().env_keep({"PROCCTX_KEEP_A", "PROCCTX_UNSET_C"}).env("D", "4"));
  EXPECT_EQ(env, "PROCCTX_KEEP_A=kept\nD=4\n");
  ::unsetenv("PROCCTX_KEEP_A");
  ::unsetenv("PROCCTX_DROP_B");
}

TEST_F(Isolation, UserAloneTakesItsPrimaryGroupAndNoSupplementaryGroups) {
  if (!root()) GTEST_SKIP() << "switching users needs root";
  EXPECT_EQ(out_of(helper_cmd({"ids"}).user("nobody")), "uid=65534,65534 gid=65534,65534 groups=\n");
  EXPECT_EQ(out_of(helper_cmd({"ids"}).user(65534u)), "uid=65534,65534 gid=65534,65534 groups=\n");
}

TEST_F(Isolation, UserGroupAndSupplementaryGroups) {
  if (!root()) GTEST_SKIP() << "switching users needs root";
  auto ids = out_of(helper_cmd({"ids"}).user("nobody").group("users").groups({"nogroup", 100u}));
  EXPECT_EQ(ids, "uid=65534,65534 gid=100,100 groups=100,65534\n");
}

TEST_F(Isolation, CwdIsEnteredAsTheNewUser) {
  if (!root()) GTEST_SKIP() << "switching users needs root";
  // A directory only root may enter: nobody must not be let in through procctx.
  char tmpl[] = "/tmp/procctx-cwd-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  ASSERT_EQ(::chmod(dir.c_str(), 0700), 0);
  auto denied = helper_cmd({"ids"}).user("nobody").cwd(dir).run();
  ASSERT_FALSE(denied.ok()) << "nobody ran inside a 0700 directory of root's";
  EXPECT_EQ(denied.error().code(), std::errc::permission_denied) << denied.error().message();
  EXPECT_NE(denied.error().message().find("chdir " + dir), std::string::npos) << denied.error().message();
  // Root itself still may, and nobody may where nobody can.
  EXPECT_EQ(out_of(helper_cmd({"ids"}).cwd(dir)).substr(0, 6), "uid=0,");
  EXPECT_EQ(out_of(helper_cmd({"ids"}).user("nobody").cwd("/")), "uid=65534,65534 gid=65534,65534 groups=\n");
  ::rmdir(dir.c_str());
}

TEST_F(Isolation, NumericUserWithoutPasswdEntryNeedsAGroup) {
  auto r = helper_cmd({"ids"}).user(4242u).run();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("user 4242 has no passwd entry: give group() as well"),
            std::string::npos)
      << r.error().message();
  if (!root()) return;
  EXPECT_EQ(out_of(helper_cmd({"ids"}).user(4242u).group(4242u)), "uid=4242,4242 gid=4242,4242 groups=\n");
}

TEST_F(Isolation, UnknownUserOrGroupIsAnErrorBeforeAnythingRuns) {
  auto u = helper_cmd({"ids"}).user("procctx-no-such-user").run();
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().code(), procctx::errc::invalid_argument);
  EXPECT_NE(u.error().message().find("user 'procctx-no-such-user': no such user"), std::string::npos);
  auto g = helper_cmd({"ids"}).groups({"procctx-no-such-group"}).run();
  ASSERT_FALSE(g);
  EXPECT_NE(g.error().message().find("group 'procctx-no-such-group': no such group"), std::string::npos);
}

TEST_F(Isolation, RlimitsAreSeenInProcSelfLimits) {
  auto limits = out_of(helper_cmd({"limits"}).rlimit(RLIMIT_NOFILE, 100, 200).rlimit(RLIMIT_CORE, 0, 0));
  EXPECT_EQ(line_of(limits, "Max open files"),
            "Max open files            100                  200                  files     ");
  EXPECT_EQ(line_of(limits, "Max core file size"),
            "Max core file size        0                    0                    bytes     ");
}

TEST_F(Isolation, BadRlimitsAreErrorsNamingTheLimit) {
  auto soft = helper_cmd({"exit", "0"}).rlimit(RLIMIT_NOFILE, 300, 200).run();
  ASSERT_FALSE(soft);
  EXPECT_NE(soft.error().message().find("RLIMIT_NOFILE: soft limit 300 above hard limit 200"),
            std::string::npos)
      << soft.error().message();
  auto unknown = helper_cmd({"exit", "0"}).rlimit(99, 1, 1).run();
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message().find("no such resource"), std::string::npos);
  if (root()) {
    // Root may raise a hard limit, but not past the kernel's ceiling: the
    // child's setrlimit fails and the spawn error names that step.
    auto ceiling = helper_cmd({"exit", "0"}).rlimit(RLIMIT_NOFILE, 10, std::uint64_t{1} << 40).run();
    ASSERT_FALSE(ceiling);
    EXPECT_NE(ceiling.error().message().find(": setrlimit: Operation not permitted"), std::string::npos)
        << ceiling.error().message();
  }
}

TEST_F(Isolation, NoNewPrivsUmaskAndNewSession) {
  EXPECT_EQ(line_of(out_of(helper_cmd({"status"}).no_new_privs()), "NoNewPrivs:"), "NoNewPrivs:\t1");
  EXPECT_EQ(line_of(out_of(helper_cmd({"status"})), "NoNewPrivs:"), "NoNewPrivs:\t0");
  EXPECT_EQ(out_of(helper_cmd({"umask"}).umask(027)), "0027\n");
  auto c = helper_cmd({"pgid"}).new_session().out(Stdio::capture()).run();
  ASSERT_TRUE(c);
  std::string pid = std::to_string(c->pid);
  EXPECT_EQ(c->out.text(), "pid=" + pid + " pgid=" + pid + " sid=" + pid + "\n");
}

TEST_F(Isolation, PassedFdsArriveAtTheirNumbersAndNothingElse) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  EXPECT_EQ(out_of(helper_cmd({"fds"}).pass_fd(fds[1], 5)), "0 1 2 5\n");
  auto c = procctx::Command{"sh", {"-c", "echo passed >&7"}}.pass_fd(fds[1], 7).run();
  ASSERT_TRUE(c);
  ::close(fds[1]);
  char buf[32] = {};
  EXPECT_EQ(::read(fds[0], buf, sizeof buf), 7);
  EXPECT_STREQ(buf, "passed\n");
  ::close(fds[0]);
}

TEST_F(Isolation, BadPassedFdsAreErrorsNamingThem) {
  auto closed = helper_cmd({"fds"}).pass_fd(987, 5).run();
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().code(), std::errc::bad_file_descriptor);
  EXPECT_NE(closed.error().message().find("pass_fd(987, 5): fd 987 is not open"), std::string::npos);
  auto twice = helper_cmd({"fds"}).pass_fd(2, 5).pass_fd(1, 5).run();
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message().find("child fd 5 is given twice"), std::string::npos);
  auto stdio = helper_cmd({"fds"}).pass_fd(2, 1).run();
  ASSERT_FALSE(stdio);
  EXPECT_NE(stdio.error().message().find("child fd 1 is stdio"), std::string::npos);
}

TEST_F(Isolation, ParentDeathSignalSurvivesTheSpawningThread) {
  std::optional<procctx::Process> p;
  std::thread spawner([&] {
    auto r = helper_cmd({"sleep", "30"}).parent_death_signal(SIGKILL).spawn();
    ASSERT_TRUE(r) << r.error().message();
    p.emplace(std::move(*r));
  });
  spawner.join();
  ASSERT_TRUE(p);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(p->try_wait(), nullptr) << "the thread's exit must not kill the child (Go's Pdeathsig does)";
  ASSERT_TRUE(p->kill());
  EXPECT_EQ(p->wait().status.signal(), SIGKILL);
}

TEST_F(Isolation, ParentDeathSignalFiresWhenTheSpawningProcessDies) {
  auto spawner =
      procctx::Command{PROCCTX_PDEATH_SPAWNER, {procctx::test::helper()}}.out(Stdio::pipe()).spawn();
  ASSERT_TRUE(spawner) << spawner.error().message();
  std::string line = procctx::test::read_line(spawner->out());
  ASSERT_EQ(line.rfind("child=", 0), 0u) << line;
  pid_t child = static_cast<pid_t>(std::stoi(line.substr(6)));
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(procctx::test::process_running(child)) << "its spawning thread exited; the child must live on";
  ASSERT_TRUE(spawner->kill());
  (void)spawner->wait();
  for (int i = 0; i < 300 && procctx::test::process_running(child); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(procctx::test::process_running(child)) << "the spawning process died: SIGKILL was due";
}

TEST_F(Isolation, HardenedProfile) {
  ::setenv("PROCCTX_KEEP_A", "kept", 1);
  auto hardened = [](procctx::Command cmd) {
    return cmd.profile(procctx::Profile::hardened({"PROCCTX_KEEP_A"}));
  };
  EXPECT_EQ(out_of(hardened(helper_cmd({"env"}))), "PROCCTX_KEEP_A=kept\n");
  EXPECT_EQ(line_of(out_of(hardened(helper_cmd({"status"}))), "NoNewPrivs:"), "NoNewPrivs:\t1");
  EXPECT_EQ(out_of(hardened(helper_cmd({"umask"}))), "0077\n");
  EXPECT_EQ(out_of(hardened(helper_cmd({"fds"}).pass_fd(2, 9))), "0 1 2\n")
      << "the profile closes passed fds";
  auto session = hardened(helper_cmd({"pgid"})).out(Stdio::capture()).run();
  ASSERT_TRUE(session);
  EXPECT_NE(session->out.text().find("sid=" + std::to_string(session->pid)), std::string::npos);
  if (root()) {
    EXPECT_EQ(out_of(hardened(helper_cmd({"ids"})).user("nobody")),
              "uid=65534,65534 gid=65534,65534 groups=\n");
  }
  ::unsetenv("PROCCTX_KEEP_A");
}

TEST_F(Isolation, OomUnderMemoryMaxIsReportedAsOom) {
  auto cmd = procctx::Command{"sh", {"-c", "a=$(head -c 268435456 /dev/zero | tr '\\0' x); echo ${#a}"}}
                 .memory_max(std::uint64_t{32} << 20)
                 .out(Stdio::capture());
  auto c = cmd.run();
  if (!c) GTEST_SKIP() << "memory_max is not enforceable here: " << c.error().message();
  EXPECT_TRUE(c->oom_killed) << c->status.to_string();
  EXPECT_EQ(c->status.signal(), SIGKILL);
}

}  // namespace
