// cli_fixture.hpp — runs the built `procctx` binary (and GNU timeout) as a
// child, with procctx itself, and checks what it did.
#pragma once

#include "support/process_fixture.hpp"

#include <procctx/procctx.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <signal.h>
#include <unistd.h>

namespace procctx::test {

struct CliResult {
  ExitStatus status;
  std::string out, err;
  Duration wall{};
};

class CliTest : public ProcessTest {
 protected:
  static std::string cli() { return PROCCTX_CLI; }
  static std::string helper() { return PROCCTX_HELPER; }

  // Runs `program args...` with stdin from /dev/null and LC_ALL=C, output
  // captured; a generous deadline catches hangs.
  static CliResult run_program(const std::string& program, std::vector<std::string> args,
                               std::chrono::seconds limit = std::chrono::seconds(60)) {
    auto [ctx, cancel] = with_timeout(background(), limit);
    auto start = Clock::now();
    auto r = Command{program, std::move(args)}
                 .env("LC_ALL", "C")
                 .in(Stdio::null())
                 .out(Stdio::capture())
                 .err(Stdio::capture())
                 .run(ctx);
    EXPECT_TRUE(r.ok()) << r.error().message();
    if (!r.ok()) return {};
    EXPECT_NE(r->stop_reason, StopReason::deadline) << program << " hung";
    return {r->status, r->out.str(), r->err.str(), Clock::now() - start};
  }
  static CliResult procctx(std::vector<std::string> args) { return run_program(cli(), std::move(args)); }

  // Runs `command` through script(1), i.e. on a pseudo-terminal as from an
  // interactive shell, typing `typed`; nullopt when script(1) is missing.
  static std::optional<CliResult> on_a_terminal(const std::string& command, std::string typed) {
    if (::access("/usr/bin/script", X_OK) != 0) return std::nullopt;
    auto [ctx, cancel] = with_timeout(background(), std::chrono::seconds(30));
    auto r = Command{"/usr/bin/script", {"-qec", command, "/dev/null"}}
                 .in(Stdio::data(std::move(typed)))
                 .out(Stdio::capture())
                 .err(Stdio::capture())
                 .run(ctx);
    EXPECT_TRUE(r.ok()) << r.error().message();
    if (!r.ok()) return CliResult{};
    EXPECT_NE(r->stop_reason, StopReason::deadline) << command << " hung";
    return CliResult{r->status, r->out.str(), r->err.str(), r->wall};
  }
};

}  // namespace procctx::test
