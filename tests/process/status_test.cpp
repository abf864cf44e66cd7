// Exit status as data: codes, signals and core dumps are told apart.
#include "support/process_fixture.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>

#include <unistd.h>

namespace fs = std::filesystem;

namespace {

class Status : public procctx::test::ProcessTest {};

TEST_F(Status, ExitCode) {
  auto c = run_helper({"exit", "3"});
  EXPECT_TRUE(c.status.exited());
  EXPECT_FALSE(c.status.signaled());
  EXPECT_EQ(c.status.code(), 3);
  EXPECT_EQ(c.status.signal(), 0);
  EXPECT_FALSE(c.status.success());
  EXPECT_EQ(c.status.shell_code(), 3);
  EXPECT_EQ(c.status.to_string(), "exited 3");
  auto err = c.check();
  ASSERT_FALSE(err);
  EXPECT_NE(err.error().message().find("' exited 3"), std::string::npos) << err.error().message();
}

TEST_F(Status, DeathBySignal) {
  auto c = run_helper({"signal", "TERM"});
  EXPECT_FALSE(c.status.exited());
  EXPECT_TRUE(c.status.signaled());
  EXPECT_EQ(c.status.signal(), SIGTERM);
  EXPECT_EQ(c.status.code(), -1);
  EXPECT_FALSE(c.status.core_dumped());
  EXPECT_EQ(c.status.shell_code(), 128 + SIGTERM);
  EXPECT_EQ(c.status.to_string(), "killed by SIGTERM");
  EXPECT_EQ(c.stop_reason, procctx::StopReason::none) << "it died by itself, procctx did not stop it";
}

TEST_F(Status, SegfaultWithCoresOff) {
  auto c = run_helper({"signal", "SEGV"});
  EXPECT_EQ(c.status.signal(), SIGSEGV);
  EXPECT_FALSE(c.status.core_dumped());
  EXPECT_EQ(c.status.to_string(), "killed by SIGSEGV");
}

TEST_F(Status, AbortWithCoreDump) {
  // The core lands in the child's cwd (core_pattern permitting): use a
  // scratch directory and remove it after.
  fs::path dir = fs::temp_directory_path() / ("procctx-core-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto c = helper_cmd({"signal-core", "ABRT"}).cwd(dir).run();
  fs::remove_all(dir);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->status.signal(), SIGABRT);
  EXPECT_TRUE(c->status.signaled());
  // Whether the kernel wrote a core depends on core_pattern; the status
  // must report whatever it did, and the string must say so.
  EXPECT_EQ(c->status.to_string().find("(core dumped)") != std::string::npos, c->status.core_dumped());
}

TEST_F(Status, WallTimeAndRusage) {
  auto c = run_helper({"sleep", "0.2"});
  EXPECT_GE(c.wall, std::chrono::milliseconds(200));
  EXPECT_GT(c.rusage.max_rss_kib, 0);
  auto busy = helper_cmd({"flood-stdout", "256M"}).out(procctx::Stdio::null()).run();
  ASSERT_TRUE(busy);
  EXPECT_GT(busy->rusage.user + busy->rusage.system, std::chrono::microseconds(0));
}

TEST_F(Status, ValuesCompare) {
  EXPECT_EQ(procctx::ExitStatus::exited_with(0), procctx::ExitStatus::exited_with(0));
  EXPECT_NE(procctx::ExitStatus::exited_with(9), procctx::ExitStatus::killed_by(9));
  EXPECT_FALSE(procctx::ExitStatus{}.known());
  EXPECT_EQ(procctx::ExitStatus{}.to_string(), "unknown");
  EXPECT_EQ(procctx::ExitStatus::killed_by(SIGSEGV, true).to_string(), "killed by SIGSEGV (core dumped)");
}

}  // namespace
