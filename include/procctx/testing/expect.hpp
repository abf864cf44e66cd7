/// @file
/// @brief Assertions about an outcome that read well, with or without GoogleTest.
///
/// @code
///   const procctx::Completed& c = p->wait();
///   procctx::testing::expect_stopped_by(c, procctx::StopReason::deadline);
///   procctx::testing::expect_signals(c, {SIGTERM, SIGKILL});
///   procctx::testing::expect_killed_by(c, SIGKILL);
///   procctx::testing::expect_no_leftovers(c);
///   return procctx::testing::failures() == 0 ? 0 : 1;    // a test without a framework
/// @endcode
///
/// Each expect_*() returns a Check (ok, or a message naming the command and what it did
/// instead: "expected 'procctx-testchild ignore=TERM sleep=60' to be killed by SIGKILL, but it
/// exited 0") and reports a failure to the failure hook, with the caller's file and line. The
/// default hook prints "FILE:LINE: message" to stderr; set_failure_hook() replaces it (the
/// fixture of procctx/testing/gtest.hpp makes each one a GoogleTest failure). failures() counts
/// them.
///
/// Threads: any; the hook is called on the thread of the failed expectation.
#pragma once

#include <procctx/clock.hpp>
#include <procctx/process.hpp>
#include <procctx/result.hpp>
#include <procctx/source_location.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace procctx::testing {

/// The result of one expectation: ok, or a failure with its message and where it was checked.
class Check {
 public:
  /// A passed check.
  Check() = default;
  /// A failed check.
  Check(std::string message, SourceLocation where)
      : ok_(false), message_(std::move(message)), where_(where) {}
  /// True when the expectation held.
  bool ok() const noexcept { return ok_; }
  /// The same as ok().
  explicit operator bool() const noexcept { return ok_; }
  /// What was expected and what happened instead ("" when ok).
  const std::string& message() const noexcept { return message_; }
  /// Where the expectation was checked.
  const SourceLocation& where() const noexcept { return where_; }

 private:
  bool ok_ = true;
  std::string message_;
  SourceLocation where_;
};

/// Called once for each failed expectation.
using FailureHook = std::function<void(const Check&)>;
/// Replaces the failure hook (an empty one: back to printing to stderr); returns the one before.
FailureHook set_failure_hook(FailureHook hook);
/// Failed expectations since the program started or reset_failures().
std::size_t failures() noexcept;
/// Sets failures() back to 0.
void reset_failures() noexcept;

/// A plain condition: fails with "expected WHAT" when `condition` is false.
Check expect(bool condition, std::string_view what, SourceLocation where = SourceLocation::current());
/// It exited by itself with `code`.
Check expect_exited(const Completed& c, int code, SourceLocation where = SourceLocation::current());
/// A signal `sig` ended it (whoever sent it).
Check expect_killed_by(const Completed& c, int sig, SourceLocation where = SourceLocation::current());
/// The stop sequence sent exactly these signals, in this order (Completed::signals).
Check expect_signals(const Completed& c, const std::vector<int>& signals,
                     SourceLocation where = SourceLocation::current());
/// procctx stopped it for this reason (StopReason::none: it ended by itself).
Check expect_stopped_by(const Completed& c, StopReason reason,
                        SourceLocation where = SourceLocation::current());
/// Nothing of its tree outlives the outcome: no live process left in its process group, among
/// its leftovers or among the holders of its pipes, after giving them `grace` (real time) to go.
/// A daemon that escaped its group unseen (setsid before any stop began, Tree::process_group)
/// is beyond what procctx or this check can see; Tree::cgroup sees it.
Check expect_no_leftovers(const Completed& c, Duration grace = std::chrono::seconds(2),
                          SourceLocation where = SourceLocation::current());

namespace internal {
/// expect_error() without its template: `error` is nullptr for a success.
Check check_error(const Error* error, std::error_code want, SourceLocation where);
}  // namespace internal

/// `r` is an error whose code() or os_error() is `want` (an errno value as
/// std::error_code{EAGAIN, std::generic_category()}, or a procctx::errc).
template <class T>
Check expect_error(const Result<T>& r, std::error_code want,
                   SourceLocation where = SourceLocation::current()) {
  return internal::check_error(r.ok() ? nullptr : &r.error(), want, where);
}
/// The same with an errno value: expect_error(r, EAGAIN).
template <class T>
Check expect_error(const Result<T>& r, int errno_value, SourceLocation where = SourceLocation::current()) {
  return expect_error(r, std::error_code{errno_value, std::generic_category()}, where);
}
/// The same with a procctx::errc: expect_error(r, procctx::errc::not_found).
template <class T>
Check expect_error(const Result<T>& r, errc want, SourceLocation where = SourceLocation::current()) {
  return expect_error(r, make_error_code(want), where);
}

}  // namespace procctx::testing
