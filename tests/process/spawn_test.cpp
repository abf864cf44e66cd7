// Spawning: what the child gets, and how "could not start" is reported.
#include "support/process_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using procctx::Command;
using procctx::Stdio;

namespace {

// SigIgn of /proc/self/status: the signals this process ignores, bit n-1 for signal n.
std::uint64_t ignored_signals_of_this_process() {
  std::ifstream status{"/proc/self/status"};
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("SigIgn:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
  }
  ADD_FAILURE() << "no SigIgn line in /proc/self/status";
  return 0;
}

class Spawn : public procctx::test::ProcessTest {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("procctx-spawn-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    fs::remove_all(dir_);
    ProcessTest::TearDown();
  }
  fs::path write_file(const std::string& name, const std::string& text, fs::perms perms) {
    fs::path p = dir_ / name;
    std::ofstream{p} << text;
    fs::permissions(p, perms);
    return p;
  }
  fs::path dir_;
};

TEST_F(Spawn, RunsAndReportsExitZero) {
  auto c = run_helper({"print", "hello"});
  EXPECT_EQ(c.out.text(), "hello");
  EXPECT_TRUE(c.status.success());
  EXPECT_EQ(c.status.to_string(), "exited 0");
  EXPECT_GT(c.pid, 0);
  EXPECT_EQ(c.stop_reason, procctx::StopReason::none);
}

TEST_F(Spawn, FindsProgramsOnPath) {
  auto c = Command{"sh", {"-c", "exit 7"}}.run();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->status.code(), 7);
}

TEST_F(Spawn, MissingProgramIsAnErrorNamingIt) {
  auto r = Command{"procctx-no-such-program"}.run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), std::errc::no_such_file_or_directory);
  EXPECT_EQ(r.error().message(),
            "spawn 'procctx-no-such-program': not found on PATH: No such file or directory");
}

TEST_F(Spawn, MissingAbsolutePathFailsAtExec) {
  auto r = Command{"/nonexistent/prog"}.run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), std::errc::no_such_file_or_directory);
  EXPECT_EQ(r.error().message(),
            "spawn '/nonexistent/prog': exec /nonexistent/prog: No such file or directory");
}

TEST_F(Spawn, NonExecutableFileIsPermissionDenied) {
  auto p = write_file("plain.txt", "not a program\n", fs::perms::owner_read | fs::perms::owner_write);
  auto r = Command{p.string()}.run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), procctx::errc::not_executable);
  EXPECT_EQ(r.error().os_error(), std::errc::permission_denied);
  EXPECT_NE(r.error().message().find("exec " + p.string() + ": Permission denied"), std::string::npos)
      << r.error().message();
}

TEST_F(Spawn, MissingInterpreterIsNamed) {
  auto p = write_file("script", "#!/nonexistent/interpreter\necho hi\n", fs::perms::owner_all);
  auto r = Command{p.string()}.run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), std::errc::no_such_file_or_directory);
  EXPECT_NE(r.error().message().find("its interpreter was not found"), std::string::npos)
      << r.error().message();
}

TEST_F(Spawn, ErrorCodesTellTheProgramFromEverythingElse) {
  using procctx::errc;
  // Not found: on PATH, at an absolute path, or its #! interpreter.
  for (auto cmd : {Command{"procctx-no-such-program"}, Command{"/nonexistent/prog"},
                   Command{write_file("bad-interp", "#!/nonexistent/sh\n", fs::perms::owner_all).string()}}) {
    auto r = cmd.run();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::not_found) << r.error().message();
    EXPECT_EQ(r.error().os_error(), std::errc::no_such_file_or_directory);
  }
  // Not executable: no x bit, a directory, a file the kernel cannot load.
  auto plain = write_file("plain-data", "data\n", fs::perms::owner_read | fs::perms::owner_write);
  auto junk = write_file("junk-exe", "\x7f" "ELFjunk", fs::perms::owner_all);
  for (auto [cmd, why] : {std::pair{Command{plain.string()}, std::errc::permission_denied},
                          std::pair{Command{"/tmp"}, std::errc::permission_denied},
                          std::pair{Command{junk.string()}, std::errc::executable_format_error}}) {
    auto r = cmd.run();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::not_executable) << r.error().message();
    EXPECT_EQ(r.error().os_error(), why) << r.error().message();
  }
  // A missing working directory is ENOENT too, but the program is not the problem.
  auto cwd = helper_cmd({"cwd"}).cwd("/missing-dir-for-procctx").run();
  ASSERT_FALSE(cwd);
  EXPECT_EQ(cwd.error().code(), std::errc::no_such_file_or_directory);
  EXPECT_NE(cwd.error().code(), errc::not_found);
}

TEST_F(Spawn, MissingCwdNamesTheStepAndDirectory) {
  auto r = helper_cmd({"cwd"}).cwd("/missing-dir-for-procctx").run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), std::errc::no_such_file_or_directory);
  EXPECT_NE(r.error().message().find(": chdir /missing-dir-for-procctx: No such file or directory"),
            std::string::npos)
      << r.error().message();
}

TEST_F(Spawn, RelativePathEntryIsRefusedUnlessAllowed) {
  write_file("procctx-dot-prog", "#!/bin/sh\necho dot\n", fs::perms::owner_all);
  std::string old_path = ::getenv("PATH");
  auto old_cwd = fs::current_path();
  fs::current_path(dir_);
  ::setenv("PATH", (".:" + old_path).c_str(), 1);
  auto refused = Command{"procctx-dot-prog"}.run();
  auto allowed = Command{"procctx-dot-prog"}
                     .out(Stdio::capture())
                     .path_lookup(procctx::PathLookup::allow_relative)
                     .run();
  ::setenv("PATH", old_path.c_str(), 1);
  fs::current_path(old_cwd);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("relative PATH entry '.'"), std::string::npos)
      << refused.error().message();
  ASSERT_TRUE(allowed) << allowed.error().message();
  EXPECT_EQ(allowed->out.text(), "dot\n");
}

// PATH set for one test, then put back.
class PathForTest {
 public:
  explicit PathForTest(const std::string& front) : old_(::getenv("PATH")) {
    ::setenv("PATH", (front + ":" + old_).c_str(), 1);
  }
  ~PathForTest() { ::setenv("PATH", old_.c_str(), 1); }
  PathForTest(const PathForTest&) = delete;
  PathForTest& operator=(const PathForTest&) = delete;

 private:
  std::string old_;
};

// What a spawn by name runs, or the error code when nothing runs.
std::string ran(const std::string& name) {
  auto c = Command{name}.out(Stdio::capture()).run();
  if (!c) return c.error().code() == procctx::errc::not_found ? "not found" : c.error().message();
  return std::string{c->out.text()};
}

// The PATH search keeps no memory between spawns, so no change can be
// missed: each way a cache keyed on PATH and the directories could go stale
// is made here, back to back, faster than a directory's mtime ticks (the
// kernel's coarse clock: several changes share one mtime), and the very next
// spawn sees it.
TEST_F(Spawn, PathSearchSeesEveryChangeAtTheNextSpawn) {
  fs::path a = dir_ / "a", b = dir_ / "b", c = dir_ / "c";
  for (const auto& d : {a, b, c}) fs::create_directories(d);
  PathForTest path{a.string() + ":" + b.string()};
  auto script = [](const fs::path& p, const std::string& says) {
    std::ofstream{p} << "#!/bin/sh\necho " << says << "\n";
    fs::permissions(p, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  };
  const std::string prog = "procctx-path-prog";
  EXPECT_EQ(ran(prog), "not found");
  script(b / prog, "b");
  EXPECT_EQ(ran(prog), "b\n");  // appeared in a later entry
  script(a / prog, "a");
  EXPECT_EQ(ran(prog), "a\n");  // appeared in an earlier entry
  fs::permissions(a / prog, fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(ran(prog), "b\n");  // not executable any more (the directory's mtime did not change)
  fs::permissions(a / prog, fs::perms::owner_all);
  EXPECT_EQ(ran(prog), "a\n");  // executable again
  script(a / "next", "a2");
  fs::rename(a / "next", a / prog);
  EXPECT_EQ(ran(prog), "a2\n");  // replaced in place
  script(c / "one", "c1");
  script(c / "two", "c2");
  fs::remove(a / prog);
  fs::create_symlink(c / "one", a / prog);
  EXPECT_EQ(ran(prog), "c1\n");  // a symlink to elsewhere
  fs::create_symlink(c / "two", a / "link");
  fs::rename(a / "link", a / prog);
  EXPECT_EQ(ran(prog), "c2\n");  // the symlink retargeted
  fs::remove(c / "two");
  EXPECT_EQ(ran(prog), "b\n");  // its target gone (in another directory)
  fs::rename(a, dir_ / "old-a");
  fs::create_directories(a);
  script(a / prog, "a3");
  EXPECT_EQ(ran(prog), "a3\n");  // the directory itself replaced
  fs::remove(b / prog);
  fs::remove_all(a);
  EXPECT_EQ(ran(prog), "not found");
}

// The search is the child's, after its chdir: a relative PATH entry means
// the directory the program runs in, where the parent's search looked in its
// own (and refused or ran what the child would not have found).
TEST_F(Spawn, RelativePathEntriesMeanTheChildsDirectory) {
  write_file("procctx-dot-prog", "#!/bin/sh\necho dot\n", fs::perms::owner_all);
  PathForTest path{"."};
  auto allowed = Command{"procctx-dot-prog"}
                     .cwd(dir_)
                     .out(Stdio::capture())
                     .path_lookup(procctx::PathLookup::allow_relative)
                     .run();
  ASSERT_TRUE(allowed) << allowed.error().message();
  EXPECT_EQ(allowed->out.text(), "dot\n");
  auto refused = Command{"procctx-dot-prog"}.cwd(dir_).run();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), procctx::errc::invalid_argument) << refused.error().message();
  EXPECT_NE(refused.error().message().find("found as ./procctx-dot-prog through the relative PATH entry '.'"),
            std::string::npos)
      << refused.error().message();
  // A file without a #! line found on PATH runs through /bin/sh by its full name.
  write_file("procctx-no-shebang", "echo plain \"$0\"\n", fs::perms::owner_all);
  PathForTest abs{dir_.string()};
  auto fallback = Command{"procctx-no-shebang"}.shell_fallback().out(Stdio::capture()).run();
  ASSERT_TRUE(fallback) << fallback.error().message();
  EXPECT_EQ(fallback->out.text(), "plain " + (dir_ / "procctx-no-shebang").string() + "\n");
}

// The search is made as the identity the program runs as: an earlier match
// that user may not run is passed over, as execvp passes it over.
TEST_F(Spawn, PathSearchRunsAsTheChildsUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run as another user";
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  fs::path mine = dir_ / "root-only", everyone = dir_ / "everyone";
  fs::create_directories(mine);
  fs::create_directories(everyone);
  fs::permissions(everyone, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  fs::permissions(mine, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  std::ofstream{mine / "procctx-who"} << "#!/bin/sh\necho root-only\n";
  fs::permissions(mine / "procctx-who", fs::perms::owner_all);
  std::ofstream{everyone / "procctx-who"} << "#!/bin/sh\necho everyone\n";
  fs::permissions(everyone / "procctx-who", fs::perms::owner_all | fs::perms::group_read |
                                                fs::perms::group_exec | fs::perms::others_read |
                                                fs::perms::others_exec);
  PathForTest path{mine.string() + ":" + everyone.string()};
  auto c = Command{"procctx-who"}.user(65534u).group(65534u).out(Stdio::capture()).run();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->out.text(), "everyone\n");
}

TEST_F(Spawn, DoneContextStartsNothing) {
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  cancel("not today");
  auto r = helper_cmd({"exit", "0"}).spawn(ctx);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), procctx::errc::canceled);
  EXPECT_NE(r.error().message().find("not today"), std::string::npos);
}

TEST_F(Spawn, ChildSeesOnlyStdioWhileParentHoldsManyInheritableFds) {
  std::vector<int> extra;
  for (int i = 0; i < 100; ++i) extra.push_back(::open("/dev/null", O_RDONLY));  // no O_CLOEXEC
  auto c = run_helper({"fds"});
  for (int fd : extra) ::close(fd);
  EXPECT_EQ(c.out.text(), "0 1 2\n");
}

// The child starts on the parent's fd table and copies only the fds below
// the highest one it uses: a source at a high number must still arrive,
// fds above it must not, and nothing the child does may show in the parent.
TEST_F(Spawn, HighNumberedSourcesArriveAndTheParentsTableIsUntouched) {
  rlimit nofile{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &nofile), 0);
  const int top = static_cast<int>(std::min<rlim_t>(nofile.rlim_cur, 4096)) - 1;
  ASSERT_GT(top, 64);
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  // The pipe's write end moved high; inheritable fds below and above it.
  int source = top - 8;
  ASSERT_EQ(::dup3(fds[1], source, O_CLOEXEC), source);
  ::close(fds[1]);
  int below = ::open("/dev/null", O_RDONLY), above = top;  // no O_CLOEXEC
  ASSERT_GE(below, 3);
  ASSERT_EQ(::dup2(below, above), above);
  struct stat before{};
  ASSERT_EQ(::fstat(above, &before), 0);
  const auto fds_before = procctx::test::Resources::now().fds;

  auto listed = helper_cmd({"fds"}).pass_fd(source, 5).out(Stdio::capture()).run();
  ASSERT_TRUE(listed) << listed.error().message();
  EXPECT_EQ(listed->out.text(), "0 1 2 5\n");
  auto wrote = procctx::Command{"sh", {"-c", "echo high >&4"}}.pass_fd(source, 4).run();
  ASSERT_TRUE(wrote) << wrote.error().message();
  EXPECT_TRUE(wrote->status.success());

  // The parent still has exactly what it had, where it had it.
  struct stat after{};
  EXPECT_EQ(::fstat(above, &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(::fcntl(source, F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(procctx::test::Resources::now().fds, fds_before) << "a child's dup showed in the parent";
  ::close(source);
  ::close(below);
  ::close(above);
  char buf[16] = {};
  EXPECT_EQ(::read(fds[0], buf, sizeof buf), 5);
  EXPECT_STREQ(buf, "high\n");
  ::close(fds[0]);
}

TEST_F(Spawn, EnvironmentInheritedClearedAndEdited) {
  ::setenv("PROCCTX_TEST_INHERITED", "yes", 1);
  auto inherited = run_helper({"env"});
  EXPECT_NE(inherited.out.text().find("PROCCTX_TEST_INHERITED=yes\n"), std::string::npos);

  auto cleared =
      helper_cmd({"env"}).env_clear().env("A", "1").env("B", "2").env_remove("B").out(Stdio::capture()).run();
  ASSERT_TRUE(cleared);
  EXPECT_EQ(cleared->out.text(), "A=1\n");

  auto edited = helper_cmd({"env"})
                    .env_remove("PROCCTX_TEST_INHERITED")
                    .env("PROCCTX_X", "a=b")
                    .out(Stdio::capture())
                    .run();
  ::unsetenv("PROCCTX_TEST_INHERITED");
  ASSERT_TRUE(edited);
  EXPECT_EQ(edited->out.text().find("PROCCTX_TEST_INHERITED"), std::string::npos);
  EXPECT_NE(edited->out.text().find("PROCCTX_X=a=b\n"), std::string::npos);

  // The last edit of a key is the one that counts, and an edit replaces the parent's entry.
  ::setenv("PROCCTX_TEST_REPLACED", "old", 1);
  auto again = helper_cmd({"env"})
                   .env("PROCCTX_Y", "1")
                   .env("PROCCTX_Y", "2")
                   .env("PROCCTX_TEST_REPLACED", "new")
                   .out(Stdio::capture())
                   .run();
  ::unsetenv("PROCCTX_TEST_REPLACED");
  ASSERT_TRUE(again);
  const std::string text = "\n" + std::string{again->out.text()};
  auto count = [&text](const std::string& line) {
    std::size_t n = 0;
    for (auto at = text.find(line); at != std::string::npos; at = text.find(line, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("\nPROCCTX_Y="), 1u) << text;
  EXPECT_EQ(count("\nPROCCTX_Y=2\n"), 1u) << text;
  EXPECT_EQ(count("\nPROCCTX_TEST_REPLACED="), 1u) << text;
  EXPECT_EQ(count("\nPROCCTX_TEST_REPLACED=new\n"), 1u) << text;
}

// A NUL byte cannot reach the kernel inside a C string: the argument, value
// or path would be cut there and the child would run with something else
// than was asked. A '=' in a variable's name would hand the child another
// variable. Each is refused by name, and the message shows no raw byte.
TEST_F(Spawn, NulBytesAndBadVariableNamesAreRefusedNotCut) {
  const std::string nul_arg{"a\0b", 3};
  struct Case {
    const char* what;
    Command cmd;
    const char* says;
  };
  std::vector<Case> cases = {
      {"argument", Command{"printf", {"%s|", nul_arg}}, "argument 2 'a\\000b' contains a NUL byte"},
      {"program", Command{std::string{"/bin/true\0x", 11}}, "the program name contains a NUL byte"},
      {"arg0", Command{"true"}.arg0(nul_arg), "arg0 contains a NUL byte"},
      {"cwd", Command{"pwd"}.cwd(std::string{"/tmp\0/x", 7}), "the working directory contains a NUL byte"},
      {"value", Command{"true"}.env("X", nul_arg), "the value of the environment variable 'X' contains a NUL byte"},
      {"name with =", Command{"true"}.env("A=B", "c"), "the environment variable name 'A=B' contains '='"},
      {"empty name", Command{"true"}.env("", "v"), "an environment variable with an empty name"},
      {"name with a control byte", Command{"true"}.env("A\x1b[31m=", "v"), "'A\\033[31m=' contains '='"},
      {"file", Command{"true"}.out(Stdio::file(std::string{"/tmp/x\0y", 8})), "the file for stdout contains a NUL"},
      {"user", Command{"true"}.user(std::string{"root\0x", 6}), "the user or group name 'root\\000x' contains a NUL"},
  };
  for (auto& c : cases) {
    auto r = c.cmd.run();
    ASSERT_FALSE(r) << c.what << ": ran as " << r->status.to_string();
    EXPECT_EQ(r.error().code(), procctx::errc::invalid_argument) << c.what;
    const std::string& m = r.error().message();
    EXPECT_NE(m.find(c.says), std::string::npos) << c.what << ": " << m;
    EXPECT_TRUE(std::none_of(m.begin(), m.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x20; }))
        << c.what << ": a raw control byte in the message";
  }
}

// What the caller named reaches a message escaped, wherever it is quoted.
TEST_F(Spawn, NamesInMessagesNeverCarryRawControlBytes) {
  auto raw = [](const std::string& m) {
    return std::any_of(m.begin(), m.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x20; });
  };
  auto missing = Command{"/nonexistent/\x1b[31mx"}.run();
  ASSERT_FALSE(missing);
  EXPECT_FALSE(raw(missing.error().message())) << missing.error().message();
  EXPECT_NE(missing.error().message().find("exec /nonexistent/\\033[31mx"), std::string::npos)
      << missing.error().message();
  auto cwd = Command{"true"}.cwd("/nonexistent/\x1b[31m").run();
  ASSERT_FALSE(cwd);
  EXPECT_FALSE(raw(cwd.error().message())) << cwd.error().message();
  auto user = Command{"true"}.user("\x1b[31mnouser").run();
  ASSERT_FALSE(user);
  EXPECT_FALSE(raw(user.error().message())) << user.error().message();
  auto failed = Command{"sh", {"-c", "exit 3"}}.arg0("\x1b[31msh").run();
  ASSERT_TRUE(failed);
  auto checked = failed->check();
  ASSERT_FALSE(checked);
  EXPECT_FALSE(raw(checked.error().message())) << checked.error().message();
}

TEST_F(Spawn, WorkingDirectory) {
  auto c = helper_cmd({"cwd"}).cwd(dir_).out(Stdio::capture()).run();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->out.text(), fs::canonical(dir_).string() + "\n");
}

TEST_F(Spawn, Arg0IsWhatTheChildSees) {
  auto c = Command{"sh", {"-c", "echo $0"}}.arg0("renamed").out(Stdio::capture()).run();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->out.text(), "renamed\n");
}

TEST_F(Spawn, ChildStartsWithDefaultSignalsAndAnEmptyMask) {
  ::signal(SIGUSR1, SIG_IGN);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  auto c = run_helper({"sigstate"});
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::signal(SIGUSR1, SIG_DFL);
  EXPECT_EQ(c.out.text(), "blocked=0000000000000000 ignored=0000000000000000\n");
}

TEST_F(Spawn, KeepIgnoredSignalsLeavesIgnoredWhatThisProcessIgnores) {
  // As nohup or a shell's background job leave them: ignored across exec.
  ::signal(SIGUSR1, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  ::signal(SIGUSR2, [](int) {});  // handled: always default in the child
  // Whatever this process inherited ignored stays ignored too, so the
  // expectation is read from this process rather than written down.
  const std::uint64_t ours = ignored_signals_of_this_process();
  auto kept = helper_cmd({"sigstate"}).keep_ignored_signals({SIGHUP}).out(Stdio::capture()).run();
  auto plain = helper_cmd({"sigstate"}).out(Stdio::capture()).run();
  ::signal(SIGUSR1, SIG_DFL);
  ::signal(SIGHUP, SIG_DFL);
  ::signal(SIGUSR2, SIG_DFL);
  ASSERT_TRUE(kept && plain);
  // SIGUSR1 (10) is bit 9 of SigIgn; SIGHUP was reset on request.
  ASSERT_NE(ours & (1U << (SIGUSR1 - 1)), 0U);
  char expected[64];
  std::snprintf(expected, sizeof expected, "blocked=0000000000000000 ignored=%016llx\n",
                static_cast<unsigned long long>(ours & ~(std::uint64_t{1} << (SIGHUP - 1))));
  EXPECT_EQ(kept->out.text(), expected);
  EXPECT_EQ(plain->out.text(), "blocked=0000000000000000 ignored=0000000000000000\n");
  auto bad = helper_cmd({"sigstate"}).keep_ignored_signals({99}).run();
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), procctx::errc::invalid_argument);
}

TEST_F(Spawn, ChildLeadsItsOwnProcessGroupByDefault) {
  auto c = run_helper({"pgid"});
  EXPECT_EQ(c.out.text(), "pid=" + std::to_string(c.pid) + " pgid=" + std::to_string(c.pid) +
                              " sid=" + std::to_string(::getsid(0)) + "\n");
  auto none = helper_cmd({"pgid"}).tree(procctx::Tree::none).out(Stdio::capture()).run();
  ASSERT_TRUE(none);
  EXPECT_NE(none->out.text().find(" pgid=" + std::to_string(::getpgrp()) + " "), std::string::npos)
      << none->out.text();
}

TEST_F(Spawn, ThousandSequentialSpawnsLeaveNothingBehind) {
  for (int i = 0; i < 1000; ++i) {
    auto c = helper_cmd({"exit", std::to_string(i % 5)}).run();
    ASSERT_TRUE(c) << c.error().message();
    ASSERT_EQ(c->status.code(), i % 5);
  }
}

TEST_F(Spawn, DetachedChildRunsOnAndIsStillReaped) {
  pid_t pid;
  {
    auto p = helper_cmd({"sleep", "0.3"}).spawn();
    ASSERT_TRUE(p);
    pid = p->pid();
    p->detach();
  }
  EXPECT_EQ(::kill(pid, 0), 0) << "a detached child must outlive its handle";
  // The leak check at the end waits for it to exit and be reaped.
}

}  // namespace
