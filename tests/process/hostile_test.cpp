// Hostile children: each misbehaves on purpose, and each run ends with
// everything reaped, a correct Completed and the stated bounds met (the
// fixture's leak check covers children, fds and threads).
#include "support/process_fixture.hpp"

#include "cgroup_linux.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

using namespace std::chrono_literals;
using procctx::Clock;
using procctx::Stdio;
using procctx::StopReason;

namespace {

class Hostile : public procctx::test::ProcessTest {};

// The process's state letter from /proc/PID/stat ('T' when stopped).
char state_of(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  auto close = text.rfind(')');
  return close == std::string::npos || close + 2 >= text.size() ? '?' : text[close + 2];
}

pid_t field_pid(std::string_view view, const std::string& key) {
  std::string text{view};
  auto at = text.find(key + "=");
  return at == std::string::npos ? 0 : static_cast<pid_t>(std::atoi(text.c_str() + at + key.size() + 1));
}

TEST_F(Hostile, IgnoresEveryCatchableSignal) {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  auto p = helper_cmd({"ignore-all", "60"})
               .out(Stdio::pipe())
               .stop({{SIGTERM, 200ms}, {SIGINT, 200ms}, {SIGHUP, 200ms}, {SIGKILL}})
               .spawn(ctx);
  ASSERT_TRUE(p) << p.error().message();
  ASSERT_EQ(procctx::test::read_line(p->out()), "ready");
  cancel("enough");
  const auto& c = p->wait();
  EXPECT_EQ(c.status.signal(), SIGKILL);
  EXPECT_EQ(c.stop_reason, StopReason::canceled);
  EXPECT_EQ(c.stop_stage, 3);
  ASSERT_EQ(c.signals.size(), 4u);
  EXPECT_EQ(c.signals.back().signal, SIGKILL);
  EXPECT_LT(c.wall, 10s);
}

TEST_F(Hostile, DoubleForksIntoASetsidDaemon) {
  auto c = helper_cmd({"daemon", "60"}).out(Stdio::capture()).wait_delay(2s).run();
  ASSERT_TRUE(c) << c.error().message();
  pid_t daemon = field_pid(c->out.text(), "daemon");
  ASSERT_GT(daemon, 0) << c->out.text();
  // The daemon left our tree (new session, new parent) and let go of the
  // pipes: the run ends when the child does, with nothing held.
  EXPECT_TRUE(c->status.success());
  EXPECT_TRUE(c->pipe_holders.empty());
  EXPECT_LT(c->wall, 2s);
  EXPECT_TRUE(procctx::test::process_running(daemon));
  EXPECT_NE(::getpgid(daemon), c->pid);
  // Only a cgroup tree can hold a daemon; with a process group it is out of
  // reach by design. End it so the machine stays clean.
  ::kill(daemon, SIGKILL);
}

TEST_F(Hostile, DoubleForkedDaemonIsKilledWithItsCgroup) {
  if (auto parent = procctx::detail::cgroup::default_parent(); !parent)
    GTEST_SKIP() << "no writable cgroup v2: " << parent.error().message();
  auto c = helper_cmd({"daemon", "60"})
               .tree(procctx::Tree::cgroup)
               .leftovers(procctx::Leftovers::kill)
               .out(Stdio::capture())
               .run();
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->tree, procctx::Tree::cgroup) << c->tree_note;
  pid_t daemon = field_pid(c->out.text(), "daemon");
  ASSERT_GT(daemon, 0) << c->out.text();
  EXPECT_TRUE(c->status.success());
  ASSERT_EQ(c->leftovers.size(), 1u);
  EXPECT_EQ(c->leftovers[0].pid, daemon);
  for (int i = 0; i < 300 && procctx::test::process_running(daemon); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(procctx::test::process_running(daemon));
}

TEST_F(Hostile, ClosesStdoutAndKeepsRunning) {
  // EOF on stdout is not the end of the child: the run lasts until it exits.
  auto c = helper_cmd({"close-stdout", "0.5"}).out(Stdio::capture()).err(Stdio::capture()).run();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c->status.success());
  EXPECT_GE(c->wall, 500ms);
  EXPECT_EQ(c->out.total(), 0u);
  // And a deadline still stops it.
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 300ms);
  auto d = helper_cmd({"close-stdout", "60"}).out(Stdio::capture()).run(ctx);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->stop_reason, StopReason::deadline);
  EXPECT_EQ(d->status.signal(), SIGTERM);
  EXPECT_LT(d->wall, 10s);
}

// 10 GiB through a capture that keeps 64 MiB: about 3 s in the dev build on
// a busy 2-core machine. PROCCTX_HOSTILE_FLOOD=SIZE (K, M or G) changes it.
TEST_F(Hostile, FloodsStdoutWithCaptureOnInBoundedMemory) {
  std::string size = "10G";
  if (const char* env = std::getenv("PROCCTX_HOSTILE_FLOOD")) size = env;
  long before = procctx::test::rss_kib();
  auto c = helper_cmd({"flood-stdout", size}).out(Stdio::capture()).run();
  long after = procctx::test::rss_kib();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c->status.success());
  std::uint64_t want = std::stoull(size) << (size.back() == 'G' ? 30 : size.back() == 'M' ? 20 : 0);
  EXPECT_EQ(c->out.total(), want);
  EXPECT_GT(c->out.dropped(), 0u);
  EXPECT_LT(c->out.text().size(), std::size_t{65} << 20);
  EXPECT_LT(after - before, 200L * 1024) << "RSS grew by " << (after - before) / 1024 << " MiB";
}

TEST_F(Hostile, NeverReadsStdinWhile100MiBAreOffered) {
  auto t0 = Clock::now();
  auto c = helper_cmd({"sleep", "0.3"}).in(Stdio::data(std::string(std::size_t{100} << 20, 'x'))).run();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c->status.success());
  EXPECT_TRUE(c->stdin_closed_early);
  EXPECT_LT(c->stdin_written, std::uint64_t{100} << 20);
  EXPECT_LT(c->wall, 10s);
  EXPECT_LT(Clock::now() - t0, 10s);
}

TEST_F(Hostile, NeverReadsStdinAndIsStoppedByItsDeadline) {
  // The offer does not keep it alive.
  auto cmd = helper_cmd({"sleep", "60"}).in(Stdio::data(std::string(std::size_t{100} << 20, 'x')));
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 200ms);
  auto d = cmd.run(ctx);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->stop_reason, StopReason::deadline);
  EXPECT_EQ(d->status.signal(), SIGTERM);
}

TEST_F(Hostile, StopsItselfBeforeTheStopSequenceStarts) {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  auto p = helper_cmd({"stop-self"}).stop({{SIGTERM, 5s}, {SIGKILL}}).spawn(ctx);
  ASSERT_TRUE(p) << p.error().message();
  for (int i = 0; i < 500 && state_of(p->pid()) != 'T'; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(state_of(p->pid()), 'T');
  cancel("stop a stopped child");
  const auto& c = p->wait();
  EXPECT_EQ(c.status.signal(), SIGTERM) << "SIGCONT follows SIGTERM, so the first step suffices";
  EXPECT_EQ(c.stop_stage, 0);
  EXPECT_LT(c.wall, 5s);
}

TEST_F(Hostile, ScriptWhoseInterpreterDoesNotExist) {
  auto dir = std::filesystem::temp_directory_path() / ("procctx-hostile-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto script = dir / "script";
  std::ofstream{script} << "#!/nonexistent/interpreter\necho hi\n";
  ::chmod(script.c_str(), 0755);
  auto r = procctx::Command{script.string(), {}}.out(Stdio::capture()).run();
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), std::errc::no_such_file_or_directory);
  EXPECT_NE(r.error().message().find(script.string()), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("No such file or directory"), std::string::npos) << r.error().message();
}

TEST_F(Hostile, SpawnsAThousandGrandchildren) {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  auto p = helper_cmd({"fork", "1000", "60"}).out(Stdio::pipe()).spawn(ctx);
  ASSERT_TRUE(p) << p.error().message();
  ASSERT_EQ(procctx::test::read_line(p->out()), "forked 1000");
  EXPECT_EQ(procctx::test::live_group_members(p->pid(), 0ms).size(), 1001u);
  cancel("enough");
  const auto& c = p->wait();
  EXPECT_EQ(c.status.signal(), SIGTERM);
  EXPECT_EQ(c.stop_reason, StopReason::canceled);
  EXPECT_TRUE(procctx::test::live_group_members(c.pid).empty()) << "every grandchild goes with it";
}

TEST_F(Hostile, ExitsWhileAGrandchildHoldsStdoutAndStderr) {
  auto t0 = Clock::now();
  auto c = helper_cmd({"grandchild-holds-stdout", "60"})
               .out(Stdio::capture())
               .err(Stdio::capture())
               .wait_delay(300ms)
               .run();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c->status.success());
  auto took = Clock::now() - t0;
  EXPECT_GE(took, 300ms) << "run() waits for both pipes, up to wait_delay";
  EXPECT_LT(took, 10s);
  pid_t grandchild = field_pid(c->out.text(), "grandchild");
  ASSERT_GT(grandchild, 0) << c->out.text();
  ASSERT_EQ(c->pipe_holders.size(), 1u);
  EXPECT_EQ(c->pipe_holders[0].pid, grandchild);
  // Leftovers::leave (the default) lets it run: end it here.
  ::kill(grandchild, SIGKILL);
  EXPECT_TRUE(procctx::test::live_group_members(c->pid).empty());
}

TEST_F(Hostile, GrandchildHoldingBothPipesIsKilledAsALeftover) {
  auto c = helper_cmd({"grandchild-holds-stdout", "60"})
               .out(Stdio::capture())
               .err(Stdio::capture())
               .wait_delay(5s)
               .leftovers(procctx::Leftovers::kill)
               .run();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c->status.success());
  pid_t grandchild = field_pid(c->out.text(), "grandchild");
  ASSERT_GT(grandchild, 0) << c->out.text();
  ASSERT_EQ(c->leftovers.size(), 1u);
  EXPECT_EQ(c->leftovers[0].pid, grandchild);
  EXPECT_TRUE(c->pipe_holders.empty()) << "killed, it let go of the pipes before wait_delay";
  EXPECT_LT(c->wall, 5s);
  EXPECT_TRUE(procctx::test::live_group_members(c->pid).empty());
}

}  // namespace
