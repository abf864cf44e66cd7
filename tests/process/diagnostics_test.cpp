// Diagnostics: counters and the spawn-site ledger, through spawn, wait,
// drop, detach and cancel.
#include "support/process_fixture.hpp"

#include <procctx/diagnostics.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <future>
#include <optional>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

using namespace std::chrono_literals;
using procctx::Stdio;

namespace {

class Diagnostics : public procctx::test::ProcessTest {
 protected:
  // Polls until `pred(stats())` holds (the loop reaps asynchronously).
  template <class Pred>
  static bool eventually(Pred pred) {
    for (int i = 0; i < 500; ++i) {
      if (pred(procctx::stats())) return true;
      std::this_thread::sleep_for(10ms);
    }
    return pred(procctx::stats());
  }
};

TEST_F(Diagnostics, CountersFollowSpawnWaitAndRelease) {
  auto base = procctx::stats();
  EXPECT_EQ(base.threads, 1u);
  {
    auto p = helper_cmd({"sleep", "30"}).out(Stdio::capture()).spawn();
    ASSERT_TRUE(p);
    auto s = procctx::stats();
    EXPECT_EQ(s.children, base.children + 1);
    EXPECT_EQ(s.running, base.running + 1);
    EXPECT_EQ(s.pipe_fds, base.pipe_fds + 1);
    ASSERT_TRUE(p->kill());
    (void)p->wait();
    s = procctx::stats();
    EXPECT_EQ(s.running, base.running);
    EXPECT_EQ(s.pipe_fds, base.pipe_fds);
    EXPECT_EQ(s.uncollected, base.uncollected);
    EXPECT_EQ(s.children, base.children + 1) << "the handle still holds the outcome";
  }
  // The loop may hold the state a moment longer while it finishes up.
  EXPECT_TRUE(eventually([&](const procctx::Stats& s) { return s.children == base.children; }));
}

TEST_F(Diagnostics, UncollectedUntilSomeoneLooks) {
  auto base = procctx::stats();
  auto p = helper_cmd({"exit", "0"}).spawn();
  ASSERT_TRUE(p);
  // The loop reaps it; nobody has looked at the outcome yet.
  EXPECT_TRUE(eventually([&](const procctx::Stats& s) { return s.uncollected == base.uncollected + 1; }));
  ASSERT_NE(p->try_wait(), nullptr);
  EXPECT_EQ(procctx::stats().uncollected, base.uncollected);
}

TEST_F(Diagnostics, DetachedAndDroppedAreCountedUntilReaped) {
  auto base = procctx::stats();
  {
    auto p = helper_cmd({"sleep", "0.3"}).spawn();
    ASSERT_TRUE(p);
    p->detach();
  }
  EXPECT_EQ(procctx::stats().detached, base.detached + 1);
  EXPECT_TRUE(eventually([&](const procctx::Stats& s) { return s.children == base.children; }));
  pid_t pid;
  {
    auto p = helper_cmd({"ignore-term", "30"}).out(Stdio::pipe()).stop({{SIGTERM, 300ms}, {SIGKILL}}).spawn();
    ASSERT_TRUE(p);
    pid = p->pid();
    // Dropped only once SIGTERM is ignored: a child that died of the first
    // signal would end its stop sequence before anyone could look.
    ASSERT_EQ(procctx::test::read_line(p->out()), "ready");
  }
  bool seen_dropped = false;
  for (const auto& c : procctx::snapshot()) seen_dropped = seen_dropped || (c.pid == pid && c.dropped);
  EXPECT_TRUE(seen_dropped) << "a dropped child is still tracked while its stop sequence runs";
  EXPECT_TRUE(eventually([&](const procctx::Stats& s) { return s.children == base.children; }));
}

TEST_F(Diagnostics, CancelReleasesRegistrationsAndTimers) {
  auto base = procctx::stats();
  {
    auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 1h);
    auto p = helper_cmd({"sleep", "30"}).spawn(ctx);
    ASSERT_TRUE(p);
    auto s = procctx::stats();
    EXPECT_EQ(s.registrations, base.registrations + 1) << "the process watches its context";
    EXPECT_EQ(s.pending_timers, base.pending_timers + 1) << "the context's deadline";
    cancel();
    (void)p->wait();
  }
  // The loop thread may still be releasing them right after the outcome.
  EXPECT_TRUE(eventually([&](const procctx::Stats& s) {
    return s.registrations == base.registrations && s.pending_timers == base.pending_timers;
  }));
}

TEST_F(Diagnostics, SnapshotAndDumpNameTheSpawnSite) {
  std::uint_least32_t line = __LINE__ + 1;
  auto p = helper_cmd({"sleep", "30"}).spawn();
  ASSERT_TRUE(p);
  const procctx::ChildInfo* mine = nullptr;
  auto all = procctx::snapshot();
  for (const auto& c : all) {
    if (c.pid == p->pid()) mine = &c;
  }
  ASSERT_NE(mine, nullptr);
  EXPECT_EQ(mine->state, procctx::ChildInfo::State::running);
  EXPECT_EQ(mine->spawned_at.line(), line);
  EXPECT_NE(std::string{mine->spawned_at.file_name()}.find("diagnostics_test.cpp"), std::string::npos);
  EXPECT_EQ(mine->argv.at(1), "sleep");
  std::ostringstream out;
  procctx::dump(out);
  EXPECT_NE(out.str().find("pid " + std::to_string(p->pid()) + " [running"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("diagnostics_test.cpp:" + std::to_string(line)), std::string::npos) << out.str();
  ASSERT_TRUE(p->kill());
  (void)p->wait();
}

TEST_F(Diagnostics, DebugLeaksReportsEveryChildNeverWaitedForWithItsSpawnSite) {
  auto c = procctx::Command{PROCCTX_LEAKY, {procctx::test::helper()}}
               .env("PROCCTX_DEBUG", "leaks")
               .out(Stdio::capture())
               .err(Stdio::capture())
               .run();
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_TRUE(c->status.success()) << c->err.text();
  int dropped = 0, kept = 0;
  ASSERT_EQ(std::sscanf(c->out.str().c_str(), "dropped=%d kept=%d", &dropped, &kept), 2) << c->out.text();
  std::string report = c->err.str();
  EXPECT_NE(report.find("leaky.cpp:" + std::to_string(dropped) + " in"), std::string::npos) << report;
  EXPECT_NE(report.find("leaky.cpp:" + std::to_string(kept) + " in"), std::string::npos) << report;
  std::size_t lines = 0;
  for (char ch : report) lines += ch == '\n';
  EXPECT_EQ(lines, 2u) << "the detached and the waited-for child are not leaks:\n" << report;
  // Without the variable: silence.
  auto quiet = procctx::Command{PROCCTX_LEAKY, {procctx::test::helper()}}
                   .env_remove("PROCCTX_DEBUG")
                   .out(Stdio::null())
                   .err(Stdio::capture())
                   .run();
  ASSERT_TRUE(quiet);
  EXPECT_EQ(quiet->err.text(), "");
}

TEST_F(Diagnostics, LeakCheckCatchesAChildAnFdAndAThreadAndNamesTheSpawnSite) {
  std::vector<std::string> leaks;
  int fd;
  std::atomic<bool> release{false};
  std::thread lingering;
  std::optional<procctx::Process> child;
  std::uint_least32_t line = 0;
  {
    procctx::LeakCheck check{
        {std::chrono::milliseconds(100), [&](const std::string& l) { leaks.push_back(l); }}};
    fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    lingering = std::thread([&] {
      while (!release) std::this_thread::sleep_for(5ms);
    });
    line = __LINE__ + 1;
    auto p = helper_cmd({"sleep", "30"}).spawn();
    ASSERT_TRUE(p);
    child.emplace(std::move(*p));
    (void)check.check();
  }
  // The child (its own pidfd is part of it, not a leak of its own), the fd
  // and the thread: one readable line each.
  std::string all = ::testing::PrintToString(leaks);
  EXPECT_EQ(leaks.size(), 3u) << all;
  EXPECT_EQ(all.find("anon_inode:[pidfd]"), std::string::npos) << all;
  EXPECT_NE(all.find("leaked fd " + std::to_string(fd) + " -> /dev/null"), std::string::npos) << all;
  EXPECT_NE(all.find("leaked thread"), std::string::npos) << all;
  EXPECT_NE(all.find("leaked child " + std::to_string(child->pid()) + " (" + procctx::test::helper() +
                     " sleep 30, running); spawned at "),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("diagnostics_test.cpp:" + std::to_string(line)), std::string::npos) << all;
  ::close(fd);
  release = true;
  lingering.join();
  ASSERT_TRUE(child->kill());
  (void)child->wait();
}

TEST_F(Diagnostics, LeakCheckIsQuietAboutWhatWasCleanedUpInside) {
  std::vector<std::string> leaks;
  {
    procctx::LeakCheck check{
        {std::chrono::milliseconds(2000), [&](const std::string& l) { leaks.push_back(l); }}};
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    std::thread([] {}).join();
    auto c = helper_cmd({"exit", "0"}).run();
    ASSERT_TRUE(c);
    ::close(fd);
  }  // the destructor checks
  EXPECT_TRUE(leaks.empty()) << ::testing::PrintToString(leaks);
}

}  // namespace
