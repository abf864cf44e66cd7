// Which processes a stop reaches: process group, cgroup, or the child alone;
// and what the child leaves behind when it exits by itself.
#include "support/process_fixture.hpp"

#include "cgroup_linux.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <sstream>

#include <unistd.h>

using namespace std::chrono_literals;
using procctx::Stdio;
using procctx::Tree;

namespace {

class TreeTest : public procctx::test::ProcessTest {
 protected:
  static std::string cgroup_unavailable() {
    auto parent = procctx::detail::cgroup::default_parent();
    return parent ? std::string{} : parent.error().message();
  }
  // "grandchild=PID" from the grandchild-holds-stdout helper.
  static pid_t grandchild_in(std::string_view out) {
    auto at = out.find("grandchild=");
    return at == std::string_view::npos ? 0 : static_cast<pid_t>(std::stoi(std::string{out.substr(at + 11)}));
  }
};

TEST_F(TreeTest, LeftoversOfANaturalExitAreReportedAndLeftRunning) {
  auto c = helper_cmd({"grandchild-holds-stdout", "30"}).out(Stdio::capture()).wait_delay(100ms).run();
  ASSERT_TRUE(c);
  pid_t gc = grandchild_in(c->out.text());
  ASSERT_GT(gc, 0) << c->out.text();
  ASSERT_EQ(c->leftovers.size(), 1u);
  EXPECT_EQ(c->leftovers[0].pid, gc);
  EXPECT_EQ(c->stop_reason, procctx::StopReason::none);
  EXPECT_TRUE(c->signals.empty());
  EXPECT_TRUE(procctx::test::process_running(gc));
  ::kill(gc, SIGKILL);
}

TEST_F(TreeTest, LeftoversKillStopsThemBeforeTheOutcomeIsFinal) {
  auto c = helper_cmd({"grandchild-holds-stdout", "30"})
               .out(Stdio::capture())
               .leftovers(procctx::Leftovers::kill)
               .stop({{SIGTERM, 2s}, {SIGKILL}})
               .run();
  ASSERT_TRUE(c);
  pid_t gc = grandchild_in(c->out.text());
  ASSERT_GT(gc, 0);
  ASSERT_EQ(c->leftovers.size(), 1u);
  EXPECT_EQ(c->stop_reason, procctx::StopReason::none) << "the child itself exited on its own";
  ASSERT_FALSE(c->signals.empty());
  EXPECT_EQ(c->signals[0].signal, SIGTERM);
  EXPECT_TRUE(c->status.success());
  EXPECT_FALSE(procctx::test::process_running(gc));
  EXPECT_LT(c->wall, 2s) << "the sequence ends as soon as the tree is gone";
}

TEST_F(TreeTest, TreeNoneSignalsOnlyTheDirectChild) {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  auto p = procctx::Command{"sh", {"-c", "sleep 30 & echo $!; wait"}}
               .tree(Tree::none)
               .out(Stdio::pipe())
               .spawn(ctx);
  ASSERT_TRUE(p);
  std::string line = procctx::test::read_line(p->out());
  pid_t sleeper = static_cast<pid_t>(std::stoi(line));
  cancel();
  EXPECT_EQ(p->wait().status.signal(), SIGTERM);
  EXPECT_TRUE(procctx::test::process_running(sleeper)) << "Tree::none must not reach the grandchild";
  ::kill(sleeper, SIGKILL);
}

TEST_F(TreeTest, CgroupLeafIsMadeUsedAndRemoved) {
  if (auto why = cgroup_unavailable(); !why.empty()) GTEST_SKIP() << "no writable cgroup v2: " << why;
  auto c = helper_cmd({"fork", "5", "0.1"}).tree(Tree::cgroup).out(Stdio::capture()).run();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->tree, Tree::cgroup);
  EXPECT_TRUE(c->tree_note.empty()) << c->tree_note;
  EXPECT_EQ(c->out.text(), "forked 5\n");
  ASSERT_FALSE(c->cgroup.empty());
  EXPECT_FALSE(std::filesystem::exists(c->cgroup));
}

TEST_F(TreeTest, CgroupStopReachesEveryForkedProcess) {
  if (auto why = cgroup_unavailable(); !why.empty()) GTEST_SKIP() << "no writable cgroup v2: " << why;
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 300ms);
  auto c =
      helper_cmd({"fork", "50", "30"}).tree(Tree::cgroup).stop({{SIGKILL}}).out(Stdio::capture()).run(ctx);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->status.signal(), SIGKILL);
  EXPECT_EQ(c->stop_reason, procctx::StopReason::deadline);
  EXPECT_TRUE(c->leftovers.empty());
  EXPECT_FALSE(std::filesystem::exists(c->cgroup));
}

TEST_F(TreeTest, AnExplicitCgroupParentThatIsNotWritableIsAnError) {
  auto r = helper_cmd({"exit", "0"}).tree(Tree::cgroup).cgroup_parent("/proc").run();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("create cgroup /proc/procctx-"), std::string::npos)
      << r.error().message();
}

TEST_F(TreeTest, ALimitThatCannotBeEnforcedIsAnErrorNamingIt) {
  if (auto why = cgroup_unavailable(); !why.empty()) {
    auto r = helper_cmd({"exit", "0"}).memory_max(64 << 20).run();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("cgroup"), std::string::npos) << r.error().message();
    return;
  }
  auto r = helper_cmd({"exit", "0"}).cpu_max("not a quota").run();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("cpu_max not a quota"), std::string::npos) << r.error().message();
}

TEST_F(TreeTest, LimitsNeedCgroupMode) {
  auto r = helper_cmd({"exit", "0"}).pids_max(10).tree(Tree::process_group).run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), procctx::errc::invalid_argument);
  EXPECT_NE(r.error().message().find("cgroup limits need Tree::cgroup"), std::string::npos);
}

}  // namespace
