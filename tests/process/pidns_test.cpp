// Tree::pid_namespace: the command under procctx's init in a PID namespace
// of its own; statuses pass through; signals reach everything in it; nothing
// of it outlives the command or procctx.
#include "support/process_fixture.hpp"

#include "sys_linux.hpp"

#include <procctx/procctx.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include <unistd.h>

using namespace std::chrono_literals;
using procctx::ExitStatus;
using procctx::StopReason;
using procctx::Stdio;
using procctx::Tree;

namespace {

class PidNamespace : public procctx::test::ProcessTest {
 protected:
  void SetUp() override {
    auto probe = helper_cmd({"exit", "0"}).tree(Tree::pid_namespace).run();
    ASSERT_TRUE(probe) << probe.error().message();
    if (probe->tree != Tree::pid_namespace) GTEST_SKIP() << "no PID namespace here: " << probe->tree_note;
  }
  static procctx::Command in_namespace(std::vector<std::string> args) {
    return helper_cmd(std::move(args)).tree(Tree::pid_namespace);
  }
  // Host pids of the processes whose command line holds `marker`.
  static std::vector<pid_t> running_with(const std::string& marker) {
    std::vector<pid_t> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
      std::string name = e.path().filename().string();
      if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
      std::ifstream in{e.path() / "cmdline", std::ios::binary};
      std::string cmdline{std::istreambuf_iterator<char>{in}, {}};
      pid_t pid = std::stoi(name);
      if (cmdline.find(marker) != std::string::npos && procctx::test::process_running(pid)) out.push_back(pid);
    }
    return out;
  }
  static bool none_soon(const std::string& marker) {
    for (int i = 0; i < 200 && !running_with(marker).empty(); ++i) std::this_thread::sleep_for(20ms);
    return running_with(marker).empty();
  }
};

TEST_F(PidNamespace, ExitCodesAndSignalsPassThroughTheInit) {
  auto exited = in_namespace({"exit", "7"}).run();
  ASSERT_TRUE(exited);
  EXPECT_EQ(exited->status, ExitStatus::exited_with(7));
  EXPECT_EQ(exited->tree, Tree::pid_namespace);
  EXPECT_TRUE(exited->tree_note.empty());
  auto killed = in_namespace({"signal", "TERM"}).run();
  ASSERT_TRUE(killed);
  EXPECT_EQ(killed->status, ExitStatus::killed_by(SIGTERM)) << "not the init's 143, the command's signal";
}

TEST_F(PidNamespace, TheCommandRunsUnderAnInitOfItsOwn) {
  auto c = in_namespace({"pgid"}).out(Stdio::capture()).run();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->out.str().rfind("pid=2 ", 0), 0u) << c->out.str();
}

TEST_F(PidNamespace, NothingOfItOutlivesTheCommand) {
  // A daemon that escapes with setsid, and grandchildren: a process group
  // would report them as leftovers; here the kernel ends them with the init.
  auto c = in_namespace({"daemon", "41.5101"}).out(Stdio::capture()).run();
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->status.success());
  EXPECT_TRUE(none_soon("41.5101")) << "the daemon outlived its namespace";
}

TEST_F(PidNamespace, TheStopSequenceReachesEveryoneAndStillEscalates) {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  auto p = in_namespace({"fork", "3", "41.5102"}).stop({{SIGTERM, 5s}, {SIGKILL}}).spawn(ctx);
  ASSERT_TRUE(p);
  std::this_thread::sleep_for(200ms);
  cancel("enough");
  const auto& c = p->wait();
  EXPECT_EQ(c.stop_reason, StopReason::canceled);
  ASSERT_EQ(c.signals.size(), 1u) << "TERM reached the command and its children: no KILL needed";
  EXPECT_TRUE(none_soon("41.5102"));
  // Children that ignore TERM: after the grace, KILL (to the init) ends it all.
  auto [ctx2, cancel2] = procctx::with_timeout(procctx::background(), 300ms);
  auto stubborn = in_namespace({"ignore-all", "30"}).stop({{SIGTERM, 300ms}, {SIGKILL}}).run(ctx2);
  ASSERT_TRUE(stubborn);
  ASSERT_EQ(stubborn->signals.size(), 2u);
  EXPECT_EQ(stubborn->signals[0].signal, SIGTERM);
  EXPECT_EQ(stubborn->signals[1].signal, SIGKILL);
  EXPECT_EQ(stubborn->status, ExitStatus::killed_by(SIGKILL));
  EXPECT_EQ(stubborn->stop_reason, StopReason::deadline);
}

TEST_F(PidNamespace, NothingOfItOutlivesTheSpawningProcessEvenKilled) {
  auto spawner = procctx::Command{PROCCTX_PDEATH_SPAWNER, {procctx::test::helper(), "pidns", "41.5103"}}
                     .out(Stdio::pipe())
                     .spawn();
  ASSERT_TRUE(spawner);
  std::string line = procctx::test::read_line(spawner->out());
  ASSERT_EQ(line.rfind("child=", 0), 0u) << line;
  // The spawner, the init (a copy of it), the command and its three children.
  for (int i = 0; i < 100 && running_with("41.5103").size() < 6; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(running_with("41.5103").size(), 6u);
  ASSERT_TRUE(spawner->signal(SIGKILL));
  (void)spawner->wait();
  EXPECT_TRUE(none_soon("41.5103")) << "something of the namespace outlived procctx";
}

TEST_F(PidNamespace, WhereNoNamespaceCanBeMadeItFallsBackAndSaysWhy) {
  procctx::detail::fault::clear();
  procctx::detail::fault::arm(procctx::detail::sys::Call::clone_namespace, EPERM);
  auto c = in_namespace({"exit", "0"}).run();
  procctx::detail::fault::clear();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c->status.success());
  EXPECT_EQ(c->tree, Tree::process_group);
  EXPECT_NE(c->tree_note.find("no PID namespace (clone into a new PID namespace: Operation not permitted)"),
            std::string::npos)
      << c->tree_note;
}

TEST_F(PidNamespace, ACommandThatCannotStartIsAnErrorNotANamespace) {
  auto r = procctx::Command{"/nonexistent/program"}.tree(Tree::pid_namespace).run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), procctx::errc::not_found);
  auto cwd = in_namespace({"exit", "0"}).cwd("/nonexistent-dir").run();
  ASSERT_FALSE(cwd);
  EXPECT_NE(cwd.error().message().find("chdir /nonexistent-dir"), std::string::npos) << cwd.error().message();
}

}  // namespace
