// The CLI against hostile input and a hostile environment: bytes that are
// not UTF-8, a full disk, a reader that goes away, identities and
// directories.
#include "cli/cli_fixture.hpp"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

using procctx::test::CliResult;
using procctx::test::CliTest;

const std::string kReplacement = "\xef\xbf\xbd";  // U+FFFD

class Hardening : public CliTest {
 protected:
  void SetUp() override {
    char name[] = "/tmp/procctx-hardening-XXXXXX";
    ASSERT_NE(::mkdtemp(name), nullptr);
    dir_ = name;
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, ec);
    fs::remove_all(dir_, ec);
    CliTest::TearDown();
  }
  // Runs a bash script with P set to the procctx binary.
  static CliResult bash(const std::string& script) {
    return run_program("/bin/bash", {"-c", "P=" + cli() + "; H=" + helper() + "; " + script});
  }
  static json parse_file(const std::string& path) {
    std::ifstream f{path};
    return json::parse(f);  // throws (failing the test) unless it is strict JSON
  }
  std::string dir_;
};

TEST_F(Hardening, ReportOfAnArgvThatIsNotUtf8IsValidJson) {
  std::string report = dir_ + "/r.json";
  auto r = procctx({"run", "--json", report, "--", helper(), "print", "x\xff" "y"});
  ASSERT_EQ(r.status.code(), 0) << r.err;
  EXPECT_EQ(r.out, "x\xff" "y") << "the command's own bytes pass through untouched";
  json j = parse_file(report);
  EXPECT_EQ(j["argv"][2], "x" + kReplacement + "y");
  EXPECT_EQ(j["exit_code"], 0);
}

TEST_F(Hardening, ReportOfABadCwdThatIsNotUtf8IsValidJson) {
  std::string report = dir_ + "/r.json";
  auto r = procctx({"run", "--json", report, "--cwd", "/nonexistent/\xfe\xff", "--", helper(), "exit", "0"});
  EXPECT_EQ(r.status.code(), 125) << r.err;
  json j = parse_file(report);
  EXPECT_EQ(j["exit_code"], 125);
  // The message names the directory with its bytes escaped (docs/errors.md), in valid JSON.
  EXPECT_NE(j["error"].get<std::string>().find("/nonexistent/\\376\\377"), std::string::npos) << j["error"];
}

TEST_F(Hardening, JobLogOfALineThatIsNotUtf8IsValidAndTheRunCompletes) {
  std::string jobs = dir_ + "/jobs", log = dir_ + "/log.jsonl", summary = dir_ + "/s.json";
  std::ofstream{jobs} << "echo 'a\xff'\necho b\n";
  auto r = procctx({"batch", "-q", "-j2", "--joblog", log, "--summary-json", summary, "--report",
                    dir_ + "/r.html", jobs});
  ASSERT_EQ(r.status.code(), 0) << r.err;
  std::ifstream in{log};
  int lines = 0;
  bool replaced = false;
  for (std::string line; std::getline(in, line); ++lines) {
    json rec = json::parse(line);
    replaced = replaced || rec["command"] == "echo 'a" + kReplacement + "'";
  }
  EXPECT_EQ(lines, 2);
  EXPECT_TRUE(replaced);
  EXPECT_EQ(parse_file(summary)["succeeded"], 2);
}

TEST_F(Hardening, AFullDiskIsAnErrorNamingTheStream) {
  std::string report = dir_ + "/r.json";
  auto r = bash("$P run --json " + report + " -- seq 100000 >/dev/full");
  EXPECT_EQ(r.status.code(), 125) << r.err;
  EXPECT_NE(r.err.find("error writing the command's stdout: No space left on device"), std::string::npos) << r.err;
  json j = parse_file(report);
  EXPECT_EQ(j["exit_code"], 125);
  auto out = j["output"]["stdout"];
  EXPECT_EQ(out["error"], "No space left on device");
  EXPECT_EQ(out["bytes"], 588895) << "every byte seq wrote is counted";
  EXPECT_EQ(out["written"], 0);
  // The command's own failure is not hidden behind procctx's.
  auto failing = bash("$P run -- sh -c 'seq 10; exit 3' >/dev/full");
  EXPECT_EQ(failing.status.code(), 3) << failing.err;
}

TEST_F(Hardening, AReaderThatGoesAwayStopsTheCommand) {
  auto r = bash("$P run -- yes | head -1; echo \"status ${PIPESTATUS[0]}\"");
  EXPECT_EQ(r.out, "y\nstatus 141\n") << r.err;
  EXPECT_LT(r.wall, 10s);
  // A command that ignores SIGPIPE and keeps writing is stopped with the
  // stop sequence; the report says why.
  std::string report = dir_ + "/r.json";
  auto stubborn = bash("$P run --json " + report +
                       " --stop TERM,1s,KILL -- sh -c 'trap \"\" PIPE TERM; while :; do echo y; done 2>/dev/null'"
                       " | head -1");
  EXPECT_EQ(stubborn.out, "y\n");
  EXPECT_LT(stubborn.wall, 30s);
  json j = parse_file(report);
  EXPECT_EQ(j["exit_code"], 141);
  EXPECT_EQ(j["stop"]["reason"], "broken_pipe");
  EXPECT_EQ(j["stop"]["cause"], "the reader of stdout went away");
  EXPECT_EQ(j["output"]["stdout"]["error"], "Broken pipe");
}

TEST_F(Hardening, CwdIsEnteredAsTheUserGiven) {
  if (::geteuid() != 0) GTEST_SKIP() << "switching users needs root";
  std::string secret = dir_ + "/root-only";
  ASSERT_EQ(::mkdir(secret.c_str(), 0700), 0);
  std::ofstream{secret + "/file"} << "secret\n";
  auto r = procctx({"run", "--user", "nobody", "--cwd", secret, "--", "/bin/cat", "file"});
  EXPECT_EQ(r.status.code(), 125);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("chdir " + secret + ": Permission denied"), std::string::npos) << r.err;
}

// Item 5: with fds 0-2 closed, the command never gets one of procctx's own
// fds (a signalfd, a pipe) as its stdin, stdout or stderr; it gets what a
// closed fd gives: EBADF.
TEST_F(Hardening, ClosedStdioNeverBecomesAnInternalFd) {
  for (const char* sub : {"run --", "timeout 10"}) {
    auto in = bash(std::string{"$P "} + sub + " readlink /proc/self/fd/0 <&-");
    EXPECT_EQ(in.out, "/dev/null\n") << sub << ": " << in.err;
    // run relays stderr through a pipe of its own; timeout hands fd 2 over.
    auto err = bash(std::string{"$P "} + sub + " readlink /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2 2>&-");
    EXPECT_EQ(err.out.find("anon_inode"), std::string::npos) << sub << ": " << err.out;
    EXPECT_EQ(err.out.find("/dev/null\n"), 0u) << sub << ": " << err.out;
    auto read = bash(std::string{"$P "} + sub + " sh -c 'read x; echo \"read status $?\"' <&-");
    EXPECT_NE(read.out.find("read status 1"), std::string::npos) << sub << ": " << read.out << read.err;
  }
  // A closed stdout is a write error for run, naming the stream, as a full disk is.
  auto out = bash("$P run -- echo hi >&-");
  EXPECT_EQ(out.status.code(), 125);
  EXPECT_NE(out.err.find("error writing the command's stdout: Bad file descriptor"), std::string::npos) << out.err;
  // timeout hands it over, as GNU timeout does: the command's own write fails.
  auto t = bash("$P timeout 5 sh -c 'echo hi; echo \"status $?\" >&2' >&-");
  EXPECT_NE(t.err.find("status 1"), std::string::npos) << t.err;
}

// Item 6: a bad value is quoted as GNU tools quote it, never written raw.
TEST_F(Hardening, BadValuesAreQuotedWithoutControlBytes) {
  auto r = procctx({"run", "--tree=a\n\x1b[31m\x7f\xff", "--", "true"});
  EXPECT_EQ(r.status.code(), 125);
  EXPECT_NE(r.err.find("--tree 'a\\n\\033[31m\\177\\377': expected auto"), std::string::npos) << r.err;
  for (char c : r.err) {
    auto u = static_cast<unsigned char>(c);
    EXPECT_TRUE(u == '\n' || (u >= 0x20 && u < 0x7f)) << "raw byte " << int{u} << " in: " << r.err;
  }
  auto t = procctx({"timeout", "1\x1b", "true"});
  EXPECT_EQ(t.err, "procctx timeout: invalid time interval '1\\033'\nTry 'procctx timeout --help' for more "
                   "information.\n");
  auto opt = procctx({"run", "--bogus\x1b[2J", "--", "true"});
  EXPECT_NE(opt.err.find("unrecognized option '--bogus\\033[2J'"), std::string::npos) << opt.err;
  auto missing = procctx({"run", "--", "/nonexistent/\x1b[31m"});
  EXPECT_EQ(missing.status.code(), 127);
  EXPECT_NE(missing.err.find("'/nonexistent/\\033[31m'"), std::string::npos) << missing.err;
  auto cwd = procctx({"run", "--cwd", "/nonexistent/\n", "--", "true"});
  EXPECT_NE(cwd.err.find("/nonexistent/\\n"), std::string::npos) << cwd.err;
  EXPECT_EQ(cwd.err.find("/nonexistent/\n"), std::string::npos) << cwd.err;
}

// Item 7: messages name CLI flags and what the user can do, never the library's API.
TEST_F(Hardening, MessagesNameFlagsNotLibraryApi) {
  if (::geteuid() == 0) {
    auto r = procctx({"run", "--user", "48213", "--", "true"});
    EXPECT_EQ(r.status.code(), 125);
    EXPECT_NE(r.err.find("--user '48213': uid 48213 has no passwd entry, so no primary group: give one with "
                         "--group"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("group()"), std::string::npos) << r.err;
    EXPECT_EQ(procctx({"run", "--user", "48213", "--group", "48213", "--", "true"}).status.code(), 0);
  }
  EXPECT_NE(procctx({"run", "--user", "procctx-no-such-user", "--", "true"}).err.find(
                "--user 'procctx-no-such-user': no such user"), std::string::npos);
  EXPECT_NE(procctx({"run", "--group", "procctx-no-such-group", "--", "true"}).err.find(
                "--group 'procctx-no-such-group': no such group"), std::string::npos);
  // A program found only through a relative PATH entry.
  std::ofstream{dir_ + "/tool"} << "#!/bin/sh\necho ran\n";
  fs::permissions(dir_ + "/tool", fs::perms::owner_all);
  auto rel = bash("cd " + dir_ + " && PATH=.:/usr/bin:/bin $P run -- tool");
  EXPECT_EQ(rel.status.code(), 125);
  EXPECT_EQ(rel.out, "");
  EXPECT_NE(rel.err.find("found as ./tool only through the relative PATH entry '.'; name it with a path (./tool)"),
            std::string::npos) << rel.err;
  EXPECT_EQ(rel.err.find("PathLookup"), std::string::npos) << rel.err;
  EXPECT_EQ(bash("cd " + dir_ + " && PATH=.:/usr/bin:/bin $P run -- ./tool").out, "ran\n");
}

// Item 12: accepted nonsense is refused, naming the flag and the value; a
// duration with an exponent is a duration.
TEST_F(Hardening, RunRefusesNonsenseNamingTheFlag) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{"--env-keep="}, "--env-keep '': expected a variable name"},
      {{"--env-keep=-1"}, "--env-keep '-1': expected a variable name"},
      {{"--rlimit", "NOFILE=10", "--rlimit", "NOFILE=20"}, "--rlimit 'NOFILE=20': NOFILE is given twice"},
      {{"--rlimit", "NOFILE=20:10"}, "--rlimit 'NOFILE=20:10': the soft limit is above the hard limit"},
      {{"--timeout=1e9x"}, "--timeout '1e9x': unknown unit 'x'"},
      {{"--timeout=-1s"}, "--timeout '-1s': must not be negative"},
      {{"--wait-delay=soon"}, "--wait-delay 'soon': expected a number and an optional unit"},
  };
  for (const auto& [flags, named] : bad) {
    std::vector<std::string> args{"run"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), {"--", helper(), "print", "ran"});
    auto r = procctx(args);
    EXPECT_EQ(r.status.code(), 125) << named;
    EXPECT_NE(r.err.find(named), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "") << named;
  }
  EXPECT_EQ(procctx({"run", "--timeout=1e9s", "--", helper(), "print", "ran"}).out, "ran");
  EXPECT_EQ(procctx({"run", "--timeout=1.5e1", "--", helper(), "print", "ran"}).out, "ran");
  if (::geteuid() != 0) {
    auto raise = procctx({"run", "--rlimit", "NOFILE=unlimited", "--", "true"});
    EXPECT_NE(raise.err.find("the hard limit is above procctx's own"), std::string::npos) << raise.err;
  }
}

// A timeout too short to outlast the spawn times out (124), never "context
// already done" (125), and never means "no timeout".
TEST_F(Hardening, TinyTimeoutsTimeOut) {
  std::string report = dir_ + "/r.json";
  for (const char* t : {"1ns", "1us", "1e-10", "1e-10s"}) {
    auto r = procctx({"run", "--json", report, "--timeout", t, "--", helper(), "sleep", "10"});
    EXPECT_EQ(r.status.code(), 124) << t << ": " << r.err;
    EXPECT_LT(r.wall, 8s) << t;
    json j = parse_file(report);
    EXPECT_EQ(j["exit_code"], 124);
    EXPECT_EQ(j["stop"]["reason"], "deadline") << j.dump();
    EXPECT_TRUE(j["error"].is_null()) << j.dump();
  }
}

}  // namespace
