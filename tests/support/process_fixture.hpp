// process_fixture.hpp — the base of every process test: a helper-program
// Command factory, and a leak check that runs when the test ends.
#pragma once

#include <procctx/process.hpp>

#include "support/leak_check.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace procctx::test {

// One line from a Stdio::pipe() stream, without its newline ("" at EOF).
inline std::string read_line(procctx::Reader& r) {
  std::string line;
  char c;
  for (;;) {
    auto n = r.read({&c, 1});
    if (!n || *n == 0 || c == '\n') return line;
    line += c;
  }
}

class ProcessTest : public ::testing::Test {
 protected:
  void TearDown() override { leaks_.check(); }

  // The helper program with one subcommand and its arguments.
  static procctx::Command helper_cmd(std::vector<std::string> args) {
    return procctx::Command{helper(), std::move(args)};
  }
  // Runs it with stdout (and stderr) captured; fails the test if it could not start.
  static procctx::Completed run_helper(std::vector<std::string> args,
                                       const procctx::Context& ctx = procctx::background()) {
    auto r = helper_cmd(std::move(args)).out(Stdio::capture()).err(Stdio::capture()).run(ctx);
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? std::move(r).value() : procctx::Completed{};
  }

  LeakCheck leaks_;
};

}  // namespace procctx::test
