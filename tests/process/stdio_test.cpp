// Every stdio mode, with real children.
#include "support/process_fixture.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using procctx::Stdio;

namespace {

// The helper's flood pattern: 63 letters a..z cycling, then '\n'.
std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = (i % 64 == 63) ? '\n' : static_cast<char>('a' + (i % 64) % 26);
  return s;
}

class StdioTest : public procctx::test::ProcessTest {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("procctx-stdio-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    fs::remove_all(dir_);
    ProcessTest::TearDown();
  }
  static std::string slurp(const fs::path& p) {
    std::ifstream in{p};
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  fs::path dir_;
};

TEST_F(StdioTest, NullStdinReadsNothing) {
  auto c = helper_cmd({"count-stdin"}).in(Stdio::null()).out(Stdio::capture()).run();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->out.text(), "0\n");
}

TEST_F(StdioTest, NullStdoutDiscards) {
  auto c = helper_cmd({"flood-stdout", "1M"}).out(Stdio::null()).run();
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->status.success());
  EXPECT_EQ(c->out.total(), 0u);
}

TEST_F(StdioTest, DataIsFedToStdin) {
  auto c = helper_cmd({"echo-stdin"}).in(Stdio::data("line one\nline two\n")).out(Stdio::capture()).run();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->out.text(), "line one\nline two\n");
  EXPECT_EQ(c->stdin_written, 18u);
  EXPECT_FALSE(c->stdin_closed_early);
}

TEST_F(StdioTest, LargeDataIsFedWhileOutputIsCaptured) {
  std::string big = pattern(10 << 20);
  auto c = helper_cmd({"echo-stdin"}).in(Stdio::data(big)).out(Stdio::capture()).run();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->out.text().size(), big.size());
  EXPECT_TRUE(c->out.text() == big);
}

TEST_F(StdioTest, ChildClosingStdinEarlyIsRecordedNotFatal) {
  auto c = helper_cmd({"exit", "0"}).in(Stdio::data(std::string(100 << 20, 'x'))).run();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c->status.success());
  EXPECT_TRUE(c->stdin_closed_early);
  EXPECT_LT(c->stdin_written, std::uint64_t{100} << 20);
}

TEST_F(StdioTest, BothStreamsCapturedAtOnceNeverDeadlock) {
  auto c = run_helper({"flood-both", "64M"});
  EXPECT_TRUE(c.status.success());
  EXPECT_EQ(c.out.total(), std::uint64_t{64} << 20);
  EXPECT_EQ(c.err.total(), std::uint64_t{64} << 20);
  EXPECT_FALSE(c.out.truncated());
  EXPECT_TRUE(c.out.text() == pattern(64 << 20));
}

TEST_F(StdioTest, PastTheLimitHeadAndTailAreKeptAndTheRestCounted) {
  auto c = helper_cmd({"flood-stdout", "1M"}).out(Stdio::capture(1000)).run();
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->status.success());  // the child was never blocked
  std::string all = pattern(1 << 20);
  ASSERT_EQ(c->out.text().size(), 1000u);
  EXPECT_EQ(c->out.dropped(), (1u << 20) - 1000);
  EXPECT_EQ(c->out.cut(), 500u);
  EXPECT_EQ(c->out.total(), 1u << 20);
  EXPECT_EQ(c->out.text().substr(0, 500), all.substr(0, 500));
  EXPECT_EQ(c->out.text().substr(500), all.substr(all.size() - 500));
}

TEST_F(StdioTest, ZeroLimitCountsEverything) {
  auto c = helper_cmd({"flood-stdout", "300K"}).out(Stdio::capture(0)).run();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->out.text(), "");
  EXPECT_EQ(c->out.dropped(), 300u * 1024);
}

TEST_F(StdioTest, PipeEndsAreStreamedByTheCaller) {
  auto p = helper_cmd({"echo-stdin"}).in(Stdio::pipe()).out(Stdio::pipe()).spawn();
  ASSERT_TRUE(p) << p.error().message();
  ASSERT_TRUE(p->in().write("ping\n"));
  p->in().close();
  auto text = p->out().read_all();
  ASSERT_TRUE(text) << text.error().message();
  EXPECT_EQ(*text, "ping\n");
  EXPECT_TRUE(p->wait().status.success());
}

TEST_F(StdioTest, FileModes) {
  fs::path out = dir_ / "out.txt";
  ASSERT_TRUE(helper_cmd({"print", "one"}).out(Stdio::file(out)).run());
  ASSERT_TRUE(helper_cmd({"print", "two"}).out(Stdio::file(out, procctx::FileMode::append)).run());
  EXPECT_EQ(slurp(out), "onetwo");
  ASSERT_TRUE(helper_cmd({"print", "three"}).out(Stdio::file(out)).run());
  EXPECT_EQ(slurp(out), "three");
  auto c = helper_cmd({"echo-stdin"}).in(Stdio::file(out)).out(Stdio::capture()).run();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->out.text(), "three");
}

TEST_F(StdioTest, UnopenableFileIsAnErrorNamingPathAndStream) {
  auto r = helper_cmd({"print", "x"}).out(Stdio::file("/nonexistent-dir/out.txt")).run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), std::errc::no_such_file_or_directory);
  EXPECT_NE(r.error().message().find("open stdout file /nonexistent-dir/out.txt: No such file or directory"),
            std::string::npos)
      << r.error().message();
}

TEST_F(StdioTest, CallersFdStaysTheCallers) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  auto c = helper_cmd({"print", "via fd"}).out(Stdio::fd(fds[1])).run();
  ASSERT_TRUE(c);
  char buf[32] = {};
  EXPECT_EQ(::read(fds[0], buf, sizeof buf), 6);
  EXPECT_STREQ(buf, "via fd");
  EXPECT_EQ(::fcntl(fds[1], F_GETFD), FD_CLOEXEC) << "procctx must not close or change the caller's fd";
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_F(StdioTest, ClosedFdIsAnErrorNamingIt) {
  auto r = helper_cmd({"print", "x"}).out(Stdio::fd(987)).run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), std::errc::bad_file_descriptor);
  EXPECT_NE(r.error().message().find("Stdio::fd(987) for stdout"), std::string::npos) << r.error().message();
}

TEST_F(StdioTest, StderrToStdout) {
  auto c = helper_cmd({"print-both", "OUT", "ERR"}).out(Stdio::capture()).err(Stdio::to_stdout()).run();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->out.text(), "OUTERR");
  EXPECT_EQ(c->err.total(), 0u);
}

TEST_F(StdioTest, ModesInTheWrongPlaceAreRefused) {
  auto a = helper_cmd({"exit", "0"}).in(Stdio::capture()).run();
  auto b = helper_cmd({"exit", "0"}).out(Stdio::data("x")).run();
  auto c = helper_cmd({"exit", "0"}).out(Stdio::to_stdout()).run();
  for (auto* r : {&a, &b, &c}) {
    ASSERT_FALSE(*r);
    EXPECT_EQ(r->error().code(), procctx::errc::invalid_argument) << r->error().message();
  }
  EXPECT_NE(a.error().message().find("for stdin"), std::string::npos);
}

TEST_F(StdioTest, WriteToDeadChildIsEpipeNotSigpipe) {
  ASSERT_EQ(::signal(SIGPIPE, SIG_DFL), SIG_DFL) << "the process-wide disposition must stay the default";
  auto p = helper_cmd({"exit", "0"}).in(Stdio::pipe()).spawn();
  ASSERT_TRUE(p);
  (void)p->wait();
  auto w = p->in().write(std::string(1 << 20, 'x'));
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code(), std::errc::broken_pipe);
  sigset_t pending;
  sigpending(&pending);
  EXPECT_FALSE(sigismember(&pending, SIGPIPE)) << "a SIGPIPE was left pending";
  struct sigaction now {};
  ::sigaction(SIGPIPE, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_DFL);
}

TEST_F(StdioTest, WriteNeverBlocksPastTheContext) {
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 200ms);
  // The child never reads stdin and ignores SIGTERM, so the pipe fills up.
  auto p = helper_cmd({"ignore-term", "30"})
               .in(Stdio::pipe())
               .out(Stdio::null())
               .stop({{SIGTERM, 30s}, {SIGKILL}})
               .spawn(ctx);
  ASSERT_TRUE(p);
  auto w = p->in().write(std::string(8 << 20, 'x'));
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code(), procctx::errc::deadline_exceeded) << w.error().message();
  ASSERT_TRUE(p->kill());
  EXPECT_EQ(p->wait().status.signal(), SIGKILL);
}

TEST_F(StdioTest, ReadNeverBlocksPastTheContext) {
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 200ms);
  auto p = helper_cmd({"ignore-term", "30"}).out(Stdio::pipe()).stop({{SIGTERM, 30s}, {SIGKILL}}).spawn(ctx);
  ASSERT_TRUE(p);
  char buf[64];
  auto first = p->out().read(buf);  // "ready\n"
  ASSERT_TRUE(first);
  auto second = p->out().read(buf);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), procctx::errc::deadline_exceeded);
  ASSERT_TRUE(p->kill());
  (void)p->wait();
}

}  // namespace
