// GNU timeout is the spec of `procctx timeout`: every case runs under both,
// and the exit status ($?), stdout, stderr (with the program name
// normalised) and timing class must match. Deliberate differences are in
// docs/cli.md and tested in timeout_test.cpp, not here.
#include "cli/cli_fixture.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using procctx::test::CliResult;
using procctx::test::CliTest;

struct Case {
  const char* name;
  std::vector<std::string> args;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// Every argv below is given to `timeout` and to `procctx timeout` alike.
const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"TimesOut", {"1", "sleep", "5"}},
      {"FinishesInTime", {"3", "true"}},
      {"PassesTheExitCode", {"3", "sh", "-c", "exit 3"}},
      {"ZeroDisables", {"0", "sleep", "0.1"}},
      {"MinutesSuffix", {"0.05m", "true"}},
      {"HoursSuffix", {"0.001h", "true"}},
      {"DaysSuffix", {"1d", "true"}},
      {"HexDuration", {"0x10", "true"}},
      {"HugeDuration", {"1e1000", "true"}},
      {"InfiniteDuration", {"inf", "true"}},
      {"NanIsInvalid", {"nan", "true"}},
      {"TrailingJunkIsInvalid", {"1s2", "true"}},
      {"WordIsInvalid", {"x", "true"}},
      {"NegativeIsAnOption", {"-1", "true"}},
      {"UnknownSignalName", {"-s", "FOO", "1", "true"}},
      {"SignalNumberTooBig", {"-s", "99", "1", "true"}},
      {"SignalZero", {"-s", "0", "1", "true"}},
      {"UnknownLongOption", {"--bogus", "1", "true"}},
      {"UnknownShortOption", {"-x", "1", "true"}},
      {"MissingOptionValue", {"-k"}},
      {"InvalidKillAfter", {"-k", "x", "1", "true"}},
      {"MissingCommand", {"1"}},
      {"NoArguments", {}},
      {"DoubleDashEndsOptions", {"--", "1", "true"}},
      {"NotFound", {"1", "/nonexistent/program"}},
      {"NotFoundOnPath", {"1", "procctx-no-such-program"}},
      {"NotExecutable", {"1", "/etc/passwd"}},
      {"ADirectory", {"1", "/tmp"}},
      {"KillSignal", {"-s", "KILL", "1", "sleep", "5"}},
      {"KillAfterGrace", {"-k", "1", "1", "sh", "-c", "trap '' TERM; sleep 5"}},
      {"PreserveStatus", {"--preserve-status", "1", "sleep", "5"}},
      {"PreserveStatusOfATrap", {"--preserve-status", "1", "sh", "-c", "trap 'exit 7' TERM; sleep 5 & wait"}},
      {"TrapStillTimesOut", {"1", "sh", "-c", "trap 'exit 7' TERM; sleep 5 & wait"}},
      {"SignalByLowercaseName", {"-s", "sigint", "1", "sleep", "5"}},
      {"Verbose", {"-v", "1", "sleep", "5"}},
      {"VerboseKill", {"-v", "-s", "KILL", "1", "sleep", "5"}},
      {"VerboseLongForms", {"--verbose", "--signal=int", "1", "sleep", "5"}},
      {"VerboseKillAfter", {"-v", "-k", "1", "1", "sh", "-c", "trap '' TERM; sleep 5"}},
      {"AbbreviatedLongOption", {"--sig=KILL", "1", "sleep", "5"}},
      {"Foreground", {"--foreground", "1", "sleep", "5"}},
      {"ForegroundKillAfter", {"--foreground", "-k", "1", "1", "sh", "-c", "trap '' TERM; sleep 5"}},
      {"ChildKilledBySignal", {"3", "sh", "-c", "kill -TERM $$"}},
      {"ChildSegfaults", {"3", "sh", "-c", "kill -SEGV $$"}},
      {"OutputPassesThrough", {"3", "sh", "-c", "echo out; echo err >&2"}},
      {"CommandOptionsAreNotOurs", {"3", "sh", "-c", "echo \"$1\"", "sh", "-v"}},
      {"SignalAsAShellStatus", {"-s", "137", "1", "sleep", "5"}},
      {"SignalNumberAfterSig", {"-s", "sig15", "1", "sleep", "5"}},
      {"RealTimeSignal", {"-s", "rtmin", "1", "sleep", "5"}},
      {"KillAfterZeroDisablesIt", {"-k", "0", "1", "sleep", "5"}},
      {"ExponentAndSuffix", {"1e3s", "true"}},
      {"UnknownSuffix", {"1.5x", "true"}},
      {"LeadingBlank", {" 1", "true"}},
      {"NegativeZeroIsZero", {"--", "-0", "true"}},
      {"DotIsADirectory", {"1", "."}},
  };
  return all;
}

// Coarse buckets, far from where the cases above land (0, 1, 2 and 5 s),
// and wide enough for a loaded machine and a sanitizer build.
std::string timing_class(procctx::Duration d) {
  double s = std::chrono::duration<double>(d).count();
  if (s < 0.6) return "immediate";
  if (s < 1.6) return "about the timeout";
  if (s < 3.5) return "timeout and grace";
  return "the command's own time";
}

std::string normalised(std::string text) {
  const std::string ours = "procctx timeout";
  for (auto pos = text.find(ours); pos != std::string::npos; pos = text.find(ours, pos)) {
    text.replace(pos, ours.size(), "timeout");
  }
  return text;
}

class TimeoutVsGnu : public CliTest, public ::testing::WithParamInterface<Case> {};

TEST_P(TimeoutVsGnu, Matches) {
  const Case& c = GetParam();
  CliResult gnu = run_program("timeout", c.args);
  std::vector<std::string> ours_args{"timeout"};
  ours_args.insert(ours_args.end(), c.args.begin(), c.args.end());
  CliResult ours = procctx(ours_args);

  // $? as a shell sees it: GNU timeout kills itself with KILL (128+9),
  // procctx exits 137; the same for a shell.
  EXPECT_EQ(ours.status.shell_code(), gnu.status.shell_code())
      << "procctx: " << ours.status.to_string() << ", GNU: " << gnu.status.to_string();
  if (gnu.status.signaled() && gnu.status.signal() != SIGKILL) {
    EXPECT_EQ(ours.status, gnu.status) << "the child's terminating signal is raised again";
  }
  EXPECT_EQ(ours.out, gnu.out);
  EXPECT_EQ(normalised(ours.err), gnu.err);
  EXPECT_EQ(timing_class(ours.wall), timing_class(gnu.wall));
}

INSTANTIATE_TEST_SUITE_P(Cases, TimeoutVsGnu, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& p) { return std::string{p.param.name}; });

}  // namespace
