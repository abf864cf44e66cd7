// The kit's expectations (procctx/testing/expect.hpp) say what was expected
// and what happened, in words, to whichever hook is set; and the GoogleTest
// fixture (procctx/testing/gtest.hpp) reports leaks and clears failures.
#include <procctx/testing/gtest.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>

#include <csignal>

namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
namespace pt = procctx::testing;

procctx::Completed outcome(procctx::ExitStatus status) {
  procctx::Completed c;
  c.argv = {"/usr/libexec/procctx/procctx-testchild", "ignore=TERM", "sleep=60"};
  c.status = status;
  return c;
}

// The messages of the failures `fn` reports, through a hook of its own.
template <class F>
std::vector<std::string> reported(F fn) {
  std::vector<std::string> got;
  auto previous = pt::set_failure_hook([&](const pt::Check& c) { got.push_back(c.message()); });
  fn();
  pt::set_failure_hook(std::move(previous));
  return got;
}

TEST(Expect, APassingExpectationReportsNothing) {
  auto c = outcome(procctx::ExitStatus::exited_with(3));
  auto got = reported([&] {
    EXPECT_TRUE(pt::expect_exited(c, 3).ok());
    EXPECT_TRUE(pt::expect_signals(c, {}).ok());
    EXPECT_TRUE(pt::expect_stopped_by(c, procctx::StopReason::none).ok());
    EXPECT_TRUE(pt::expect(true, "nothing"));
  });
  EXPECT_TRUE(got.empty());
}

TEST(Expect, AFailureNamesTheCommandAndWhatItDidInstead) {
  auto killed = outcome(procctx::ExitStatus::killed_by(SIGKILL));
  killed.stop_reason = procctx::StopReason::deadline;
  auto exited = outcome(procctx::ExitStatus::exited_with(0));
  auto got = reported([&] {
    pt::expect_exited(killed, 0);
    pt::expect_killed_by(exited, SIGKILL);
  });
  EXPECT_EQ(
      got,
      (std::vector<std::string>{
          "expected 'procctx-testchild ignore=TERM sleep=60' to exit 0, but it killed by SIGKILL "
          "(stopped by procctx: deadline)",
          "expected 'procctx-testchild ignore=TERM sleep=60' to be killed by SIGKILL, but it exited 0"}));
}

TEST(Expect, SignalsAreComparedInOrderWithTheirTimes) {
  auto c = outcome(procctx::ExitStatus::killed_by(SIGKILL));
  c.signals = {{SIGKILL, 1500ms, procctx::Tree::process_group}, {SIGTERM, 2s, procctx::Tree::process_group}};
  auto got = reported([&] { pt::expect_signals(c, {SIGTERM, SIGKILL}); });
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0],
            "expected procctx to send 'procctx-testchild ignore=TERM sleep=60' SIGTERM, SIGKILL in that "
            "order, but it "
            "sent SIGKILL at 1.500s, SIGTERM at 2.000s");
}

TEST(Expect, AStopReasonOrItsAbsence) {
  auto c = outcome(procctx::ExitStatus::killed_by(SIGTERM));
  c.stop_reason = procctx::StopReason::canceled;
  c.cause = "user pressed Stop";
  auto got = reported([&] {
    pt::expect_stopped_by(c, procctx::StopReason::deadline);
    pt::expect_stopped_by(c, procctx::StopReason::none);
  });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_THAT(
      got[0],
      HasSubstr("to be stopped by procctx (deadline), but procctx stopped it (canceled: user pressed Stop)"));
  EXPECT_THAT(got[1], HasSubstr("to end by itself, but procctx stopped it"));
}

TEST(Expect, ErrorsByErrnoOrByProcctxCode) {
  procctx::Result<int> eagain =
      procctx::Error{std::error_code{EAGAIN, std::generic_category()}, "spawn 'x': clone: no"};
  procctx::Result<int> missing =
      procctx::Error{procctx::make_error_code(procctx::errc::not_found), "spawn 'x': no",
                     std::error_code{ENOENT, std::generic_category()}};
  procctx::Result<int> fine = 1;
  auto got = reported([&] {
    EXPECT_TRUE(pt::expect_error(eagain, EAGAIN));
    EXPECT_TRUE(pt::expect_error(missing, procctx::errc::not_found));
    EXPECT_TRUE(pt::expect_error(missing, ENOENT));
    pt::expect_error(eagain, ENOMEM);
    pt::expect_error(fine, EAGAIN);
  });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_THAT(got[0], HasSubstr("expected an error: Cannot allocate memory"));
  EXPECT_THAT(got[0], HasSubstr("but got: spawn 'x': clone: no"));
  EXPECT_THAT(got[1], HasSubstr("but it succeeded"));
}

TEST(Expect, FailuresAreCountedAndCarryTheCallersLine) {
  pt::reset_failures();
  int line = 0;
  std::vector<pt::Check> checks;
  auto previous = pt::set_failure_hook([&](const pt::Check& c) { checks.push_back(c); });
  line = __LINE__ + 1;
  pt::expect(false, "the sky to be green");
  pt::set_failure_hook(std::move(previous));
  EXPECT_EQ(pt::failures(), 1u);
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].message(), "expected the sky to be green");
  EXPECT_EQ(checks[0].where().line(), static_cast<unsigned>(line));
  EXPECT_THAT(checks[0].where().file_name(), HasSubstr("expect_test.cpp"));
  pt::reset_failures();
  EXPECT_EQ(pt::failures(), 0u);
}

// The fixture, driven by hand: a short grace so a leak is reported quickly.
class Probe : public pt::LeakCheckTest {
 public:
  Probe() : pt::LeakCheckTest(100ms) {}
  void TestBody() override {}
  using pt::LeakCheckTest::TearDown;
};

TEST(LeakCheckFixture, ReportsAChildTheTestLeftRunning) {
  auto probe = std::make_unique<Probe>();
  auto p = pt::child({"sleep=30"}).spawn(procctx::background());
  ASSERT_TRUE(p.ok());
  EXPECT_NONFATAL_FAILURE(probe->TearDown(), "leaked child");
  ASSERT_TRUE(p->kill().ok());
  (void)p->wait();
}

TEST(LeakCheckFixture, MakesTheKitsExpectationsTestFailuresAndClearsArmedFailures) {
  auto probe = std::make_unique<Probe>();
  EXPECT_NONFATAL_FAILURE(pt::expect_exited(outcome(procctx::ExitStatus::exited_with(1)), 0), "to exit 0");
  pt::fail_every(pt::Call::spawn, EAGAIN);
  probe->TearDown();
  EXPECT_EQ(pt::calls(pt::Call::spawn), 0);
  EXPECT_TRUE(pt::child({}).run(procctx::background()).ok());
}

}  // namespace
