// Stdio::relay: a child's output copied to an fd of ours by procctx's loop,
// counted, never blocking procctx, stopping the child when its reader goes
// away; and the spawn options a drop-in needs (closed stdio, inherited fds,
// scripts without #!).
#include "support/process_fixture.hpp"

#include <procctx/procctx.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using procctx::BrokenPipe;
using procctx::Command;
using procctx::RelayOptions;
using procctx::StopReason;
using procctx::Stdio;

namespace {

class Relay : public procctx::test::ProcessTest {
 protected:
  void SetUp() override {
    char name[] = "/tmp/procctx-relay-XXXXXX";
    ASSERT_NE(::mkdtemp(name), nullptr);
    dir_ = name;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    ProcessTest::TearDown();
  }
  // A pipe whose read end a thread drains into `got` (slowly, when asked).
  struct Drained {
    int write_fd = -1;
    std::string got;
    std::thread reader;
    void join() {
      ::close(write_fd);
      write_fd = -1;
      if (reader.joinable()) reader.join();
    }
  };
  static void drain_into(Drained& d, std::chrono::milliseconds pause = 0ms) {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    d.write_fd = p[1];
    d.reader = std::thread([rd = p[0], &got = d.got, pause] {
      char buf[4096];
      for (ssize_t n; (n = ::read(rd, buf, sizeof buf)) > 0;) {
        got.append(buf, static_cast<std::size_t>(n));
        if (pause > 0ms) std::this_thread::sleep_for(pause);
      }
      ::close(rd);
    });
  }
  std::string dir_;
};

TEST_F(Relay, CopiesEverythingToAPipeAndCountsIt) {
  Drained d;
  drain_into(d);
  auto c = helper_cmd({"flood-stdout", "3M"}).out(Stdio::relay(d.write_fd)).run();
  ASSERT_TRUE(c) << c.error().message();
  d.join();
  EXPECT_TRUE(c->status.success());
  EXPECT_EQ(d.got.size(), 3u << 20);
  EXPECT_EQ(c->out.total(), 3u << 20);
  EXPECT_EQ(c->out.delivered(), 3u << 20);
  EXPECT_EQ(c->out.dropped(), 0u);
  EXPECT_FALSE(c->out.error());
  EXPECT_TRUE(c->out.text().empty()) << "a relay keeps nothing";
}

TEST_F(Relay, WritesToAFileAtItsOffset) {
  std::string path = dir_ + "/out";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "head\n", 5), 5);
  auto c = helper_cmd({"print-both", "out\n", "err\n"}).out(Stdio::relay(fd)).err(Stdio::relay(fd)).run();
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(::write(fd, "tail\n", 5), 5) << "the caller's fd is the caller's";
  ::close(fd);
  std::ifstream in{path};
  std::string all{std::istreambuf_iterator<char>{in}, {}};
  EXPECT_TRUE(all == "head\nout\nerr\ntail\n" || all == "head\nerr\nout\ntail\n") << all;
  EXPECT_EQ(c->out.delivered() + c->err.delivered(), 8u);
}

TEST_F(Relay, WholeLinesWithPrefixesNeverMix) {
  Drained d;
  drain_into(d);
  std::vector<procctx::Process> running;
  for (const char* tag : {"a: ", "b: ", "c: "}) {
    auto p = Command{"/bin/sh", {"-c", "i=0; while [ $i -lt 2000 ]; do echo \"line $i of a rather long text\"; "
                                       "i=$((i+1)); done; printf unterminated"}}
                 .out(Stdio::relay(d.write_fd, RelayOptions{.line_prefix = tag}))
                 .spawn();
    ASSERT_TRUE(p) << p.error().message();
    running.push_back(std::move(*p));
  }
  for (auto& p : running) EXPECT_TRUE(p.wait().status.success());
  d.join();
  std::istringstream lines{d.got};
  std::map<char, int> count;
  for (std::string line; std::getline(lines, line);) {
    ASSERT_GE(line.size(), 3u);
    std::string body = line.substr(3);
    EXPECT_TRUE(body.rfind("line ", 0) == 0 ? body.find(" of a rather long text") != std::string::npos
                                            : body == "unterminated")
        << "a mixed line: " << line;
    ++count[line[0]];
  }
  for (char t : {'a', 'b', 'c'}) EXPECT_EQ(count[t], 2001) << t;
  EXPECT_EQ(d.got.back(), '\n') << "the last line was ended";
}

TEST_F(Relay, ASlowReaderThrottlesTheChildButNotProcctx) {
  Drained slow;
  drain_into(slow, 20ms);  // 4 KiB per 20 ms
  auto p = helper_cmd({"flood-stdout", "512K"}).out(Stdio::relay(slow.write_fd)).spawn();
  ASSERT_TRUE(p);
  // Meanwhile the loop serves others on time.
  auto start = procctx::Clock::now();
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 200ms);
  auto other = helper_cmd({"sleep", "30"}).run(ctx);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->stop_reason, StopReason::deadline);
  EXPECT_LT(procctx::Clock::now() - start, 5s) << "the relay blocked the loop";
  const auto& c = p->wait();
  slow.join();
  EXPECT_EQ(slow.got.size(), 512u << 10) << "nothing was lost to the slow reader";
  EXPECT_EQ(c.out.delivered(), 512u << 10);
}

TEST_F(Relay, AReaderThatGoesAwayStopsTheChildAsAShellWould) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  ::close(p[0]);
  // A child that ignores SIGPIPE and TERM and keeps writing: only the stop
  // sequence's KILL ends it.
  auto c = Command{"/bin/sh", {"-c", "trap '' PIPE TERM; while :; do echo y; done 2>/dev/null"}}
               .out(Stdio::relay(p[1]))
               .wait_delay(100ms)
               .stop({{SIGTERM, 200ms}, {SIGKILL}})
               .run();
  ::close(p[1]);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->stop_reason, StopReason::broken_pipe);
  EXPECT_EQ(c->cause, "the reader of stdout went away");
  EXPECT_EQ(c->status, procctx::ExitStatus::killed_by(SIGKILL));
  EXPECT_EQ(c->out.error(), std::errc::broken_pipe);
  EXPECT_EQ(c->out.delivered(), 0u);
  // yes dies of SIGPIPE by itself once its pipe is closed, before any stop.
  int q[2];
  ASSERT_EQ(::pipe2(q, O_CLOEXEC), 0);
  ::close(q[0]);
  auto yes = Command{"yes"}.out(Stdio::relay(q[1])).run();
  ::close(q[1]);
  ASSERT_TRUE(yes);
  EXPECT_EQ(yes->status, procctx::ExitStatus::killed_by(SIGPIPE));
  EXPECT_EQ(yes->stop_reason, StopReason::none);
  EXPECT_EQ(yes->out.error(), std::errc::broken_pipe);
}

TEST_F(Relay, IgnoringABrokenPipeReadsOnAndCountsTheLoss) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  ::close(p[0]);
  auto c = helper_cmd({"flood-stdout", "1M"})
               .out(Stdio::relay(p[1], RelayOptions{.on_broken_pipe = BrokenPipe::ignore}))
               .run();
  ::close(p[1]);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->status.success());
  EXPECT_EQ(c->stop_reason, StopReason::none);
  EXPECT_EQ(c->out.total(), 1u << 20);
  EXPECT_EQ(c->out.dropped(), 1u << 20);
  EXPECT_EQ(c->out.error(), std::errc::broken_pipe);
}

TEST_F(Relay, AFullDiskIsCountedAndSaid) {
  int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  if (full < 0) GTEST_SKIP() << "no /dev/full";
  auto c = helper_cmd({"flood-stdout", "256K"}).out(Stdio::relay(full)).run();
  ::close(full);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->status.success()) << "the child is never blocked by the loss";
  EXPECT_EQ(c->out.error(), std::errc::no_space_on_device);
  EXPECT_EQ(c->out.total(), 256u << 10);
  EXPECT_EQ(c->out.dropped(), 256u << 10);
}

TEST_F(Relay, APipeHolderGetsWaitDelayAndIsNamed) {
  Drained d;
  drain_into(d);
  auto start = procctx::Clock::now();
  auto c = helper_cmd({"grandchild-holds-stdout", "30"}).out(Stdio::relay(d.write_fd)).wait_delay(300ms).run();
  ASSERT_TRUE(c);
  EXPECT_LT(procctx::Clock::now() - start, 10s);
  ASSERT_FALSE(c->pipe_holders.empty());
  for (const auto& h : c->pipe_holders) ::kill(h.pid, SIGKILL);
  d.join();
}

TEST_F(Relay, ABadFdIsASpawnErrorNamingTheStream) {
  auto r = helper_cmd({"exit", "0"}).out(Stdio::relay(987)).run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), std::errc::bad_file_descriptor);
  EXPECT_NE(r.error().message().find("Stdio::relay() for stdout"), std::string::npos) << r.error().message();
  auto in = helper_cmd({"exit", "0"}).in(Stdio::relay(1)).run();
  ASSERT_FALSE(in);
  EXPECT_EQ(in.error().code(), procctx::errc::invalid_argument);
}

TEST_F(Relay, ClosedStdioIsClosedInTheChild) {
  auto c = Command{"/bin/sh", {"-c", "if [ -e /proc/self/fd/1 ]; then echo open >&2; else echo closed >&2; fi"}}
               .out(Stdio::closed())
               .err(Stdio::capture())
               .run();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->err.str(), "closed\n");
}

// An inherited stdio that is closed here is closed in the child, and so is
// a stderr sent to that stdout. (The child cannot find that out by itself:
// its pidfd, made by the clone, takes the lowest free fd, which may be that
// one, so the parent looks before the clone.)
TEST_F(Relay, AnInheritedClosedStdioIsClosedInTheChild) {
  const char* probe = "if [ -e /proc/self/fd/1 ]; then echo out-open >&2; else echo out-closed >&2; fi";
  std::fflush(stdout);
  int saved = ::fcntl(1, F_DUPFD_CLOEXEC, 3);
  ASSERT_GE(saved, 3);
  ::close(1);
  auto inherited = Command{"/bin/sh", {"-c", probe}}.err(Stdio::capture()).run();
  bool still_closed = ::fcntl(1, F_GETFD) < 0;
  auto to_stdout = Command{"/bin/sh", {"-c", "if [ -e /proc/self/fd/2 ]; then exit 0; else exit 3; fi"}}
                       .err(Stdio::to_stdout())
                       .run();
  ::dup2(saved, 1);
  ::close(saved);
  EXPECT_TRUE(still_closed) << "the spawn left something on fd 1";
  ASSERT_TRUE(inherited) << inherited.error().message();
  EXPECT_EQ(inherited->err.str(), "out-closed\n");
  EXPECT_TRUE(inherited->status.success()) << inherited->status.to_string();
  ASSERT_TRUE(to_stdout) << to_stdout.error().message();
  EXPECT_EQ(to_stdout->status, procctx::ExitStatus::exited_with(3)) << to_stdout->status.to_string();
}

TEST_F(Relay, ARunningChildsPidfdNeverTakesAClosedStdioSlot) {
  // The kernel gives a new pidfd the lowest free number: with fd 1 closed,
  // that is 1, and the next child would take a pidfd for its stdout.
  const char* probe = "if [ -e /proc/self/fd/1 ]; then echo out-open >&2; else echo out-closed >&2; fi";
  std::fflush(stdout);
  int saved = ::fcntl(1, F_DUPFD_CLOEXEC, 3);
  ASSERT_GE(saved, 3);
  ::close(1);
  auto running = helper_cmd({"sleep", "30"}).spawn();
  bool slot_free = ::fcntl(1, F_GETFD) < 0;
  auto next = Command{"/bin/sh", {"-c", probe}}.err(Stdio::capture()).run();
  ::dup2(saved, 1);
  ::close(saved);
  ASSERT_TRUE(running) << running.error().message();
  EXPECT_TRUE(slot_free) << "a running child's pidfd sits on fd 1";
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_EQ(next->err.str(), "out-closed\n");
  ASSERT_TRUE(running->signal(SIGKILL));
  EXPECT_EQ(running->wait().status.signal(), SIGKILL);
}

TEST_F(Relay, InheritedFdsReachTheChildOnlyWhenAsked) {
  int inherited = ::open("/dev/null", O_RDONLY);  // not close-on-exec, as a shell's 3</dev/null
  int cloexec = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(inherited, 3);
  auto fds_of = [](Command cmd) {
    auto c = cmd.out(Stdio::capture()).run();
    EXPECT_TRUE(c) << c.error().message();
    return c ? c->out.str() : std::string{};
  };
  std::string plain = fds_of(helper_cmd({"fds"}));
  std::string kept = fds_of(helper_cmd({"fds"}).keep_inherited_fds());
  ::close(inherited);
  ::close(cloexec);
  auto has = [](const std::string& list, int fd) {
    std::istringstream in{list};
    for (std::string w; in >> w;) {
      if (w == std::to_string(fd)) return true;
    }
    return false;
  };
  EXPECT_FALSE(has(plain, inherited)) << plain;
  EXPECT_TRUE(has(kept, inherited)) << kept;
  EXPECT_FALSE(has(kept, cloexec)) << kept;
}

TEST_F(Relay, AScriptWithoutShebangRunsThroughShOnlyWhenAsked) {
  std::string script = dir_ + "/script";
  std::ofstream{script} << "echo \"sh ran $0 with $1\"\n";
  ::chmod(script.c_str(), 0755);
  auto strict = Command{script, {"arg"}}.run();
  ASSERT_FALSE(strict);
  EXPECT_EQ(strict.error().code(), procctx::errc::not_executable);
  EXPECT_EQ(strict.error().os_error(), std::errc::executable_format_error);
  auto c = Command{script, {"arg"}}.shell_fallback().out(Stdio::capture()).run();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->out.str(), "sh ran " + script + " with arg\n");
}

}  // namespace
