/// @file
/// @brief The test kit in GoogleTest: a fixture that ends every test with a leak check and
/// makes the kit's failed expectations GoogleTest failures.
///
/// @code
///   #include <procctx/testing/gtest.hpp>
///   class RunnerTest : public procctx::testing::LeakCheckTest {};
///   TEST_F(RunnerTest, StopsAChildThatIgnoresTerm) {
///     auto p = procctx::testing::spawn_ready(procctx::testing::child({"ignore=TERM", "sleep=60"}));
///     ASSERT_TRUE(p.ok()) << p.error().message();
///     p->stop();
///     procctx::testing::expect_signals(p->wait(), {SIGTERM, SIGKILL});   // a failure is reported here
///   }
/// @endcode
///
/// Only this header includes <gtest/gtest.h>; procctx/testing.hpp never does, so a program
/// without GoogleTest uses the kit as it is.
#pragma once

#include <procctx/diagnostics.hpp>
#include <procctx/testing.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace procctx::testing {

/// A failure hook that reports each failed expectation as a GoogleTest failure at the line
/// that checked it (the test goes on, as with EXPECT_*).
inline FailureHook gtest_failure_hook() {
  return [](const Check& c) {
    ADD_FAILURE_AT(c.where().file_name(), static_cast<int>(c.where().line())) << c.message();
  };
}

/// A fixture for tests that run processes. Construction records what the process holds
/// (children, fds, threads) and routes the kit's expectations into GoogleTest; TearDown()
/// clears armed failures and reports, as test failures, every child, fd and thread the test
/// left behind (after up to 5 s, or the grace given, for procctx to finish reaping). The destructor puts the
/// previous failure hook back.
class LeakCheckTest : public ::testing::Test {
 protected:
  LeakCheckTest() : LeakCheckTest(std::chrono::seconds(5)) {}
  /// With `grace` for procctx to finish reaping before a leak is reported.
  explicit LeakCheckTest(Duration grace)
      : previous_hook_(set_failure_hook(gtest_failure_hook())), leaks_(leak_options(grace)) {}
  ~LeakCheckTest() override { set_failure_hook(std::move(previous_hook_)); }
  void TearDown() override {
    clear_failures();
    (void)leaks_.check();
  }

 private:
  static procctx::LeakCheck::Options leak_options(Duration grace) {
    procctx::LeakCheck::Options o;
    o.grace = std::chrono::duration_cast<std::chrono::milliseconds>(grace);
    o.on_leak = [](const std::string& leak) { ADD_FAILURE() << leak; };
    return o;
  }
  FailureHook previous_hook_;
  procctx::LeakCheck leaks_;
};

}  // namespace procctx::testing
