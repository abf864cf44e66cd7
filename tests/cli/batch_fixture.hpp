// batch_fixture.hpp — runs `procctx batch` as a user does, in a temporary
// directory of its own, and reads back what it wrote.
#pragma once

#include "cli/cli_fixture.hpp"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <signal.h>
#include <unistd.h>

namespace procctx::test {

class BatchTest : public CliTest {
 protected:
  void SetUp() override {
    char name[] = "/tmp/procctx-batch-test-XXXXXX";
    ASSERT_NE(::mkdtemp(name), nullptr);
    dir_ = name;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    CliTest::TearDown();
  }
  std::string path(const std::string& name) const { return (std::filesystem::path{dir_} / name).string(); }
  static std::string slurp(const std::string& p) {
    std::ifstream f{p};
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  static void write_file(const std::string& p, const std::string& text) { std::ofstream{p} << text; }

  // procctx batch ARGS with `input` on stdin.
  static CliResult batch(std::vector<std::string> args, std::string input = {},
                         std::vector<std::pair<std::string, std::string>> env = {}) {
    using namespace std::chrono_literals;
    args.insert(args.begin(), "batch");
    auto [ctx, cancel] = with_timeout(background(), 120s);
    Command cmd{cli(), args};
    cmd.env("LC_ALL", "C").in(Stdio::data(std::move(input))).out(Stdio::capture(1 << 30)).err(Stdio::capture());
    for (const auto& [k, v] : env) cmd.env(k, v);
    auto start = Clock::now();
    auto r = cmd.run(ctx);
    EXPECT_TRUE(r.ok()) << r.error().message();
    if (!r.ok()) return {};
    EXPECT_NE(r->stop_reason, StopReason::deadline) << "procctx batch hung";
    return {r->status, r->out.str(), r->err.str(), Clock::now() - start};
  }
  // A bash script with P set to the procctx binary and D to the test's directory.
  CliResult bash(const std::string& script) const {
    return run_program("/bin/bash", {"-c", "P=" + cli() + "; D=" + dir_ + "; " + script});
  }
  static std::vector<nlohmann::json> joblog(const std::string& p) {
    std::vector<nlohmann::json> out;
    std::istringstream in{slurp(p)};
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
    return out;
  }
  static std::multiset<std::string> lines_of(const std::string& text) {
    std::multiset<std::string> out;
    std::istringstream in{text};
    for (std::string l; std::getline(in, l);) out.insert(l);
    return out;
  }
  // The pids of procctx batch's children now, whichever of its threads
  // started them (a child with a parent-death signal is started by
  // procctx's loop thread, whose life is the process's).
  static std::vector<pid_t> children_now(pid_t pid) {
    std::vector<pid_t> kids;
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
      std::ifstream f{task.path() / "children"};
      for (pid_t k; f >> k;) kids.push_back(k);
    }
    return kids;
  }
  // The same, once there are `n` of them (or after about 5 s).
  static std::vector<pid_t> children_of(pid_t pid, std::size_t n) {
    using namespace std::chrono_literals;
    std::vector<pid_t> kids;
    for (int i = 0; i < 250 && kids.size() < n; ++i) {
      std::this_thread::sleep_for(20ms);
      kids = children_now(pid);
    }
    return kids;
  }
  // True while `pid` exists and is not a zombie.
  static bool alive(pid_t pid) {
    std::ifstream f{"/proc/" + std::to_string(pid) + "/stat"};
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto close = s.rfind(')');
    return close != std::string::npos && close + 2 < s.size() && s[close + 2] != 'Z' && s[close + 2] != 'X';
  }

  std::string dir_;
};

}  // namespace procctx::test
