// Groups, pipelines and async completion (label `concurrency`: TSan runs them).
#include "support/process_fixture.hpp"

#include "loop_linux.hpp"

#include <procctx/group.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <coroutine>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>

#include <unistd.h>

using namespace std::chrono_literals;
using procctx::Clock;
using procctx::Group;
using procctx::Outcome;
using procctx::Stdio;
using procctx::StopReason;

namespace {

class GroupTest : public procctx::test::ProcessTest {};

TEST_F(GroupTest, KeepGoingReportsEveryOutcomeInSubmissionOrder) {
  Group g{procctx::background()};
  g.spawn(helper_cmd({"exit", "0"}));
  g.spawn(helper_cmd({"exit", "3"}));
  g.spawn(procctx::Command{"procctx-no-such-program"});
  g.spawn(helper_cmd({"signal", "TERM"}));
  g.spawn(helper_cmd({"sleep", "0.1"}));
  const auto& out = g.wait();
  ASSERT_EQ(out.size(), 5u);
  EXPECT_TRUE(out[0].success());
  EXPECT_EQ(out[1].completed->status.code(), 3);
  EXPECT_EQ(out[2].state, Outcome::State::failed_to_start);
  EXPECT_NE(out[2].error->message().find("not found on PATH"), std::string::npos);
  EXPECT_EQ(out[3].completed->status.signal(), SIGTERM);
  EXPECT_TRUE(out[4].success()) << "a sibling's failure must not touch it";
}

TEST_F(GroupTest, FailFastCancelsTheOthersNamingTheFailure) {
  Group g{procctx::background(), {.fail_fast = true}};
  g.spawn(helper_cmd({"sleep", "30"}));
  g.spawn(helper_cmd({"sleep", "30"}));
  // Last, so that its failure cannot come before the others have started
  // (a command added after the failure never starts).
  g.spawn(helper_cmd({"sleep", "0.1"}).arg0("failing").args({"exit", "1"}));
  const auto& out = g.wait();
  ASSERT_EQ(out.size(), 3u);
  ASSERT_EQ(out[2].state, Outcome::State::completed);
  EXPECT_EQ(out[2].completed->status.code(), 1);
  for (std::size_t i : {0u, 1u}) {
    ASSERT_EQ(out[i].state, Outcome::State::completed);
    EXPECT_EQ(out[i].completed->stop_reason, StopReason::canceled);
    // Which of the group's commands failed: its position and argv too.
    EXPECT_EQ(out[i].completed->cause, "'failing' exited 1 (command #3: failing exit 1)");
  }
}

TEST_F(GroupTest, FailFastWithALimitLeavesTheQueueNeverStarted) {
  Group g{procctx::background(), {.limit = 1, .fail_fast = true}};
  g.spawn(helper_cmd({"exit", "1"}));
  g.spawn(helper_cmd({"exit", "0"}));
  g.spawn(helper_cmd({"exit", "0"}));
  const auto& out = g.wait();
  EXPECT_EQ(out[0].completed->status.code(), 1);
  for (std::size_t i : {1u, 2u}) {
    EXPECT_EQ(out[i].state, Outcome::State::never_started);
    EXPECT_NE(out[i].error->message().find("exited 1"), std::string::npos) << out[i].error->message();
  }
}

TEST_F(GroupTest, TheLimitIsNeverExceeded) {
  auto dir = std::filesystem::temp_directory_path() / ("procctx-limit-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  Group g{procctx::background(), {.limit = 3}};
  for (int i = 0; i < 12; ++i)
    g.spawn(helper_cmd({"concurrency", dir.string(), "0.1"}).out(Stdio::capture()));
  int most = 0;
  for (const auto& o : g.wait()) {
    ASSERT_TRUE(o.success());
    most = std::max(most, std::stoi(o.completed->out.str()));
  }
  std::filesystem::remove_all(dir);
  EXPECT_LE(most, 3);
  EXPECT_GE(most, 2) << "the limit should actually be used";
}

TEST_F(GroupTest, AGroupDeadlineStopsAllAndLeavesTheRestUnstarted) {
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 200ms);
  Group g{ctx, {.limit = 1}};
  g.spawn(helper_cmd({"sleep", "30"}));
  g.spawn(helper_cmd({"sleep", "30"}));
  const auto& out = g.wait();
  EXPECT_EQ(out[0].completed->stop_reason, StopReason::deadline);
  EXPECT_EQ(out[1].state, Outcome::State::never_started);
  EXPECT_EQ(out[1].error->code(), procctx::errc::deadline_exceeded);
}

TEST_F(GroupTest, DestroyingAGroupWithAHundredRunningChildrenIsBoundedByTheStopSequence) {
  auto t0 = Clock::now();
  {
    Group g{procctx::background()};
    for (int i = 0; i < 100; ++i)
      g.spawn(helper_cmd({"ignore-term", "30"}).out(Stdio::null()).stop({{SIGTERM, 500ms}, {SIGKILL}}));
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_LT(Clock::now() - t0, 10s);
}

TEST_F(GroupTest, GroupsNest) {
  Group outer{procctx::background()};
  Group inner{outer.context()};
  inner.spawn(helper_cmd({"sleep", "30"}));
  outer.spawn(helper_cmd({"sleep", "30"}));
  outer.cancel("outer done");
  EXPECT_EQ(inner.wait()[0].completed->cause, "outer done");
  EXPECT_EQ(outer.wait()[0].completed->cause, "outer done");
}

TEST_F(GroupTest, OnExitRunsOnceOnTheLoopThread) {
  auto p = helper_cmd({"exit", "7"}).spawn();
  ASSERT_TRUE(p);
  std::promise<std::pair<int, bool>> seen;
  std::atomic<int> calls{0};
  p->on_exit([&](const procctx::Completed& c) {
    ++calls;
    seen.set_value({c.status.code(), procctx::detail::Loop::running()->on_loop_thread()});
  });
  auto [code, on_loop] = seen.get_future().get();
  EXPECT_EQ(code, 7);
  EXPECT_TRUE(on_loop);
  (void)p->wait();
  std::promise<int> late;
  p->on_exit([&](const procctx::Completed& c) { late.set_value(c.status.code()); });  // already known
  EXPECT_EQ(late.get_future().get(), 7);
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(GroupTest, WaitAsyncGivesAFuture) {
  auto p = helper_cmd({"print", "async"}).out(Stdio::capture()).spawn();
  ASSERT_TRUE(p);
  auto f = p->wait_async();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  auto c = f.get();
  EXPECT_EQ(c.out.text(), "async");
  EXPECT_EQ(c.out.text().data(), p->wait().out.text().data()) << "the bytes are shared, not copied";
}

// A minimal coroutine type, enough to co_await a process.
struct Task {
  struct promise_type {
    Task get_return_object() { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
};

Task await_exit(procctx::Process& p, std::promise<std::pair<int, bool>>& done) {
  const procctx::Completed& c = co_await p.completion();
  done.set_value({c.status.code(), procctx::detail::Loop::running()->on_loop_thread()});
}

TEST_F(GroupTest, CoroutinesCoAwaitCompletionAndResumeOnTheLoop) {
  auto p = helper_cmd({"exit", "9"}).spawn();
  ASSERT_TRUE(p);
  std::promise<std::pair<int, bool>> done;
  await_exit(*p, done);
  auto [code, on_loop] = done.get_future().get();
  EXPECT_EQ(code, 9);
  EXPECT_TRUE(on_loop);
}

TEST_F(GroupTest, PipelineConnectsStagesAndReportsEach) {
  auto r = (helper_cmd({"print", "hello pipeline"}) | procctx::Command{"tr", {"a-z", "A-Z"}} |
            helper_cmd({"echo-stdin"}).out(Stdio::capture()))
               .run();
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->stages.size(), 3u);
  EXPECT_EQ(r->stages[2].out.text(), "HELLO PIPELINE");
  EXPECT_TRUE(r->success());
}

TEST_F(GroupTest, PipefailReportsTheFirstFailingStage) {
  auto plain = (helper_cmd({"exit", "4"}) | helper_cmd({"count-stdin"}).out(Stdio::null())).run();
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->success()) << "without pipefail the last stage decides";
  auto strict = (helper_cmd({"exit", "4"}) | helper_cmd({"count-stdin"}).out(Stdio::null())).pipefail().run();
  ASSERT_TRUE(strict);
  EXPECT_EQ(strict->status.code(), 4);
  EXPECT_EQ(strict->deciding_stage, 0u);
}

TEST_F(GroupTest, CancellingMidPipelineStopsEveryStage) {
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 200ms);
  // Every stage outlives the deadline by itself: a stage that reads would
  // end on its own at the EOF its killed writer leaves, maybe before its
  // own stop began.
  auto r = (helper_cmd({"sleep", "30"}) | helper_cmd({"sleep", "30"}) | helper_cmd({"sleep", "30"}).out(Stdio::null()))
               .run(ctx);
  ASSERT_TRUE(r);
  for (const auto& s : r->stages) EXPECT_EQ(s.stop_reason, StopReason::deadline) << s.status.to_string();
}

TEST_F(GroupTest, AStageThatCannotStartStopsTheOthers) {
  auto r = (helper_cmd({"sleep", "30"}) | procctx::Command{"procctx-no-such-program"}).run();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("pipeline stage 2: spawn 'procctx-no-such-program'"), std::string::npos)
      << r.error().message();
}

}  // namespace
