// procctx batch runs commands as written: replacement strings only in a
// command template, plain lines without a shell, and jobs that never outlive
// procctx batch.
#include "cli/batch_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <sys/stat.h>

using namespace std::chrono_literals;

namespace {

class BatchCommands : public procctx::test::BatchTest {
 protected:
  // procctx batch's warning when no PID namespace can be made here ("" when one can).
  std::string pidns_unavailable() {
    auto r = batch({"-q", "--tree", "pidns", "--", "true", ":::", "x"});
    return r.err.find("--tree pidns not available") != std::string::npos ? r.err : std::string{};
  }
};

TEST_F(BatchCommands, ReplacementStringsAreNeverAppliedToAShellLine) {
  auto r = batch({"-q"}, "echo \"lit {%} {} {#} {1}\"\n");
  EXPECT_EQ(r.status.code(), 0) << r.err;
  EXPECT_EQ(r.out, "lit {%} {} {#} {1}\n");
}

TEST_F(BatchCommands, ReplacementStringsAreNeverAppliedToAValue) {
  auto r = batch({"-q", "-k", "--", "echo", ":::", "arg-{%}-data", "{}", "{1}{#}"});
  EXPECT_EQ(r.status.code(), 0) << r.err;
  EXPECT_EQ(r.out, "arg-{%}-data\n{}\n{1}{#}\n");
  // A value put into the template by {} is not expanded again either.
  auto both = batch({"-q", "--", "echo", "[{}]", "[{%}]", ":::", "{%}"});
  EXPECT_EQ(both.out, "[{%}] [1]\n") << both.err;
}

TEST_F(BatchCommands, ReplacementStringsAreNeverAppliedToAJsonArgv) {
  auto r = batch({"-q", "--jsonl"}, R"({"argv": ["echo", "{%}", "{}", "{#}"]})" "\n");
  EXPECT_EQ(r.status.code(), 0) << r.err;
  EXPECT_EQ(r.out, "{%} {} {#}\n");
}

TEST_F(BatchCommands, TheSlotGoesWhereTheTemplateSaysSo) {
  auto r = batch({"-q", "-j1", "--", "echo", "slot-{%}", "seq-{#}", ":::", "a", "b"});
  EXPECT_EQ(r.out, "slot-1 seq-1\nslot-1 seq-2\n") << r.err;
  auto shell = batch({"-q", "-j1", "--", "echo {%}; echo {}", ":::", "x"});
  EXPECT_EQ(shell.out, "1\nx\n") << shell.err;
}

TEST_F(BatchCommands, PlainLinesRunWithoutAShellAndTheRestWithOne) {
  std::string log = path("log.jsonl");
  auto r = batch({"-q", "-j1", "-k", "--joblog", log},
                 "printf %s\\n plain\n"          // a backslash: shell syntax
                 "true --ignored\n"
                 "echo builtin\n"                // echo is a builtin that differs from /bin/echo
                 "cat /dev/null\n"
                 "A=1 env\n"                     // an assignment
                 "env   X=1   true\n"            // spaces between words
                 "if true; then :; fi\n");
  EXPECT_EQ(r.status.code(), 0) << r.err;
  auto recs = joblog(log);
  ASSERT_EQ(recs.size(), 7u);
  std::map<std::string, nlohmann::json> by_command;
  for (const auto& rec : recs) by_command[rec["command"]] = rec["argv"];
  using Argv = std::vector<std::string>;
  EXPECT_EQ(by_command["true --ignored"].get<Argv>(), (Argv{"true", "--ignored"}));
  EXPECT_EQ(by_command["cat /dev/null"].get<Argv>(), (Argv{"cat", "/dev/null"}));
  EXPECT_EQ(by_command["env   X=1   true"].get<Argv>(), (Argv{"env", "X=1", "true"}));
  for (const char* shell : {"printf %s\\n plain", "echo builtin", "A=1 env", "if true; then :; fi"}) {
    EXPECT_EQ(by_command[shell].get<Argv>(), (Argv{"/bin/sh", "-c", shell})) << shell;
  }
}

TEST_F(BatchCommands, APlainLineMeansWhatTheShellWouldMakeOfIt) {
  // Not found, not executable, and a script without #!: the shell's own
  // answers (127, 126, and running the script with sh).
  std::string script = path("no-hashbang"), noexec = path("noexec");
  write_file(script, "echo from-script\n");
  write_file(noexec, "#!/bin/sh\necho never\n");
  ASSERT_EQ(::chmod(script.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(noexec.c_str(), 0644), 0);
  std::string log = path("log.jsonl");
  auto r = batch({"-q", "-j1", "-k", "--joblog", log},
                 "procctx-no-such-program\n" + script + "\n" + noexec + "\n");
  EXPECT_EQ(r.out, "from-script\n") << r.err;
  auto recs = joblog(log);
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0]["exit_code"], 127);
  EXPECT_EQ(recs[1]["exit_code"], 0);
  EXPECT_EQ(recs[2]["exit_code"], 126);
}

TEST_F(BatchCommands, KillMinus9OfProcctxBatchLeavesNoJobRunning) {
  auto p = procctx::Command{cli(), {"batch", "-j2", "-q", "--jsonl"}}
               .in(procctx::Stdio::data(R"({"argv": [")" + helper() + R"(", "sleep", "30"]})" "\n"
                                        R"({"argv": ["sleep", "32"]})" "\n"))
               .out(procctx::Stdio::null())
               .err(procctx::Stdio::null())
               .spawn();
  ASSERT_TRUE(p);
  auto jobs = children_of(p->pid(), 2);
  ASSERT_EQ(jobs.size(), 2u);
  ASSERT_TRUE(p->signal(SIGKILL));
  EXPECT_EQ(p->wait().status.signal(), SIGKILL);
  for (pid_t job : jobs) {
    bool gone = false;
    for (int i = 0; i < 250 && !gone; ++i) {
      gone = !alive(job);
      if (!gone) std::this_thread::sleep_for(20ms);
    }
    EXPECT_TRUE(gone) << "job " << job << " outlived procctx batch";
    if (!gone) ::kill(-job, SIGKILL);
  }
}

TEST_F(BatchCommands, KillMinus9WithTreePidnsLeavesNothingOfTheJobs) {
  // Each job leaves a grandchild in the background; under --tree pidns it
  // dies with procctx batch too. The sleeps' durations are the markers
  // (sleep takes fractions), so pgrep finds them and nothing else.
  const std::string background = "43." + std::to_string(::getpid()), job = "44." + std::to_string(::getpid());
  const std::string pattern = "^sleep 4[34]\\." + std::to_string(::getpid()) + "$";
  if (auto why = pidns_unavailable(); !why.empty()) GTEST_SKIP() << why;
  auto p = procctx::Command{cli(), {"batch", "-j2", "-q", "--tree", "pidns", "--",
                                    "sh -c 'sleep " + background + " & exec sleep " + job + "'; : {}", ":::",
                                    "1", "2"}}
               .in(procctx::Stdio::null())
               .out(procctx::Stdio::null())
               .err(procctx::Stdio::capture())
               .spawn();
  ASSERT_TRUE(p);
  auto sleeps = [&] {
    auto r = run_program("/usr/bin/pgrep", {"-f", pattern});
    return static_cast<std::size_t>(std::count(r.out.begin(), r.out.end(), '\n'));
  };
  for (int i = 0; i < 250 && sleeps() < 4; ++i) std::this_thread::sleep_for(20ms);
  ASSERT_EQ(sleeps(), 4u) << "two jobs, each a sleep and a background sleep";
  ASSERT_TRUE(p->signal(SIGKILL));
  EXPECT_EQ(p->wait().status.signal(), SIGKILL);
  for (int i = 0; i < 250 && sleeps() > 0; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(sleeps(), 0u) << "something of the jobs outlived procctx batch";
  (void)run_program("/usr/bin/pkill", {"-KILL", "-f", pattern});
}

TEST_F(BatchCommands, TreePidnsGivesEachJobANamespaceOfItsOwn) {
  // Each job's shell comes right after procctx's init in a namespace of its
  // own, so both see the same small pid.
  if (auto why = pidns_unavailable(); !why.empty()) GTEST_SKIP() << why;
  auto r = batch({"-q", "-j2", "-k", "--tree", "pidns", "--", "echo {} $$", ":::", "a", "b"});
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.status.code(), 0) << r.err;
  EXPECT_EQ(r.out, "a 2\nb 2\n") << r.err;
}

}  // namespace
