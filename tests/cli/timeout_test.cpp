// procctx timeout beyond the GNU differential cases: what GNU cannot do
// (the -p short form, the leftovers after -k), signals sent to procctx, and
// the terminal.
#include "cli/cli_fixture.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <regex>
#include <string>
#include <thread>

#include <unistd.h>

using namespace std::chrono_literals;

namespace {

using procctx::Stdio;
using procctx::test::CliTest;
using procctx::test::read_line;

class Timeout : public CliTest {};

// coreutils 9.1 knows only the long forms of these two.
TEST_F(Timeout, ShortFormsOfPreserveStatusAndForeground) {
  auto r = procctx({"timeout", "-p", "0.3", helper(), "sleep", "5"});
  EXPECT_EQ(r.status.code(), 128 + SIGTERM);
  // pgid helper prints "pid=P pgid=G sid=S": by default the command leads
  // its own group; with -f it stays in procctx's.
  std::regex ids{"pid=(\\d+) pgid=(\\d+) "};
  std::smatch m;
  auto f = procctx({"timeout", "-f", "5", helper(), "pgid"});
  ASSERT_TRUE(std::regex_search(f.out, m, ids)) << f.out;
  EXPECT_NE(m[1], m[2]);
  auto d = procctx({"timeout", "5", helper(), "pgid"});
  ASSERT_TRUE(std::regex_search(d.out, m, ids)) << d.out;
  EXPECT_EQ(m[1], m[2]);
}

TEST_F(Timeout, SignalsToProcctxReachTheChildAndEndProcctxTheSameWay) {
  auto p = procctx::Command{cli(), {"timeout", "30", helper(), "ignore-term", "30"}}
               .in(Stdio::null())
               .out(Stdio::pipe())
               .spawn();
  ASSERT_TRUE(p);
  ASSERT_EQ(read_line(p->out()), "ready");
  // The child ignores TERM; INT is forwarded and kills it; procctx then
  // dies of INT too, as a shell expects of a child that got Ctrl-C.
  ASSERT_TRUE(p->signal(SIGINT));
  const auto& c = p->wait();
  EXPECT_EQ(c.status.signal(), SIGINT) << c.status.to_string();
}

TEST_F(Timeout, KillAfterAlsoKillsWhatTheCommandLeftInItsGroup) {
  // sh exits on TERM; its background child ignores TERM. GNU timeout exits
  // when sh does and leaves the child running; procctx kills it after -k.
  auto r = procctx({"timeout", "-k", "0.3", "0.3", "sh", "-c",
                    "(trap '' TERM; " + helper() + " pgid; exec sleep 30) & trap 'exit 5' TERM; wait"});
  EXPECT_EQ(r.status.code(), 124);
  auto pos = r.out.find("pgid=");
  ASSERT_NE(pos, std::string::npos) << r.out;
  pid_t pgid = std::stoi(r.out.substr(pos + 5));
  EXPECT_TRUE(procctx::test::live_group_members(pgid).empty()) << "the group outlived procctx timeout";
}

TEST_F(Timeout, VerboseNamesEachSignalOfTheSequence) {
  auto r = procctx({"timeout", "-v", "-s", "USR1", "-k", "0.2", "0.2", "sh", "-c", "trap '' USR1; sleep 30"});
  EXPECT_EQ(r.status.code(), 137);
  EXPECT_EQ(r.err,
            "procctx timeout: sending signal USR1 to command 'sh'\n"
            "procctx timeout: sending signal KILL to command 'sh'\n");
}

TEST_F(Timeout, HelpAndVersion) {
  auto h = procctx({"timeout", "--help"});
  EXPECT_EQ(h.status.code(), 0);
  for (const char* flag : {"--foreground", "--kill-after=DURATION", "--preserve-status", "--signal=SIGNAL",
                           "--verbose", "124", "125", "126", "127", "137"}) {
    EXPECT_NE(h.out.find(flag), std::string::npos) << flag;
  }
  auto v = procctx({"timeout", "--version"});
  EXPECT_EQ(v.status.code(), 0);
  EXPECT_EQ(v.out.rfind("procctx timeout ", 0), 0u) << v.out;
}

// Through a pseudo-terminal (script(1)), as from an interactive shell: the
// command must be able to read the terminal, which it can only do in the
// terminal's foreground process group.
TEST_F(Timeout, TheCommandCanReadTheTerminal) {
  auto r = on_a_terminal(cli() + " timeout 20 sh -c 'read line; echo got:$line'", "hello\n");
  if (!r) GTEST_SKIP() << "script(1) (bsdutils) is not installed";
  EXPECT_EQ(r->status.code(), 0) << r->out << r->err;
  EXPECT_NE(r->out.find("got:hello"), std::string::npos) << r->out;
}

}  // namespace
