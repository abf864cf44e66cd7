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
  EXPECT_NE(j["error"].get<std::string>().find("/nonexistent/" + kReplacement + kReplacement), std::string::npos)
      << j["error"];
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
  EXPECT_EQ(j["stop"]["reason"], "canceled");
  EXPECT_EQ(j["stop"]["cause"], "the reader of procctx's stdout went away");
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

}  // namespace
