// procctx run, driven as a user drives it: every exit code, every flag, the
// JSON report checked against what really happened, stubborn children,
// held pipes, escapees, and signals sent to procctx.
#include "cli/cli_fixture.hpp"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

using procctx::Stdio;
using procctx::test::CliResult;
using procctx::test::CliTest;
using procctx::test::read_line;

class Run : public CliTest {
 protected:
  // A fresh path for a --json report, removed at the end of the test.
  std::string report_path() {
    char name[] = "/tmp/procctx-run-report-XXXXXX";
    int fd = ::mkstemp(name);
    EXPECT_GE(fd, 0);
    ::close(fd);
    reports_.push_back(name);
    return name;
  }
  static json read_report(const std::string& path) {
    std::ifstream f{path};
    return json::parse(f);
  }
  void TearDown() override {
    for (const auto& p : reports_) std::remove(p.c_str());
    CliTest::TearDown();
  }
  static std::vector<std::string> run_args(std::vector<std::string> flags, std::vector<std::string> command) {
    std::vector<std::string> a{"run"};
    a.insert(a.end(), flags.begin(), flags.end());
    a.push_back("--");
    a.insert(a.end(), command.begin(), command.end());
    return a;
  }
  static bool alive(pid_t pid) { return ::kill(pid, 0) == 0; }

  std::vector<std::string> reports_;
};

TEST_F(Run, ExitCodes) {
  EXPECT_EQ(procctx(run_args({}, {helper(), "exit", "0"})).status.code(), 0);
  EXPECT_EQ(procctx(run_args({}, {helper(), "exit", "3"})).status.code(), 3);
  EXPECT_EQ(procctx(run_args({"--timeout", "200ms"}, {helper(), "sleep", "30"})).status.code(), 124);
  EXPECT_EQ(procctx(run_args({"--timeout", "soon"}, {helper(), "exit", "0"})).status.code(), 125);
  EXPECT_EQ(procctx(run_args({"--cwd", "/nonexistent"}, {helper(), "exit", "0"})).status.code(), 125);
  EXPECT_EQ(procctx(run_args({}, {"/etc/passwd"})).status.code(), 126);
  EXPECT_EQ(procctx(run_args({}, {"/nonexistent/program"})).status.code(), 127);
  EXPECT_EQ(procctx(run_args({}, {"procctx-no-such-program"})).status.code(), 127);
  EXPECT_EQ(procctx(run_args({}, {helper(), "signal", "KILL"})).status.code(), 128 + SIGKILL);
  EXPECT_EQ(procctx(run_args({}, {helper(), "signal", "SEGV"})).status.code(), 128 + SIGSEGV);
  EXPECT_EQ(procctx({"run"}).status.code(), 125);
}

TEST_F(Run, BadValuesNameTheFlagAndTheValue) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{"--timeout", "soon"}, "--timeout 'soon'"},
      {{"--timeout", "-1s"}, "--timeout '-1s'"},
      {{"--stop", "TERM,x"}, "--stop 'TERM,x'"},
      {{"--wait-delay", "1 fortnight"}, "--wait-delay '1 fortnight'"},
      {{"--tree", "forest"}, "--tree 'forest'"},
      {{"--leftovers", "maybe"}, "--leftovers 'maybe'"},
      {{"--env", "NOEQUALS"}, "--env 'NOEQUALS'"},
      {{"--groups", "0,,1"}, "--groups '0,,1'"},
      {{"--rlimit", "FOO=1"}, "--rlimit 'FOO=1'"},
      {{"--rlimit", "NOFILE=lots"}, "--rlimit 'NOFILE=lots'"},
      {{"--umask", "999"}, "--umask '999'"},
      {{"--memory-max", "12Q"}, "--memory-max '12Q'"},
      {{"--pids-max", "0"}, "--pids-max '0'"},
      {{"--cpu-max", "fast"}, "--cpu-max 'fast'"},
      {{"--json", "/nonexistent/dir/report.json"}, "--json '/nonexistent/dir/report.json'"},
      {{"--bogus"}, "unrecognized option '--bogus'"},
      {{"--timeout"}, "option '--timeout' requires an argument"},
  };
  for (const auto& [flags, named] : bad) {
    std::vector<std::string> args{"run"};
    args.insert(args.end(), flags.begin(), flags.end());
    if (flags.size() > 1 || flags[0] != "--timeout") {
      args.insert(args.end(), {"--", helper(), "print", "ran"});
    }
    auto r = procctx(args);
    EXPECT_EQ(r.status.code(), 125) << named;
    EXPECT_NE(r.err.find(named), std::string::npos) << "stderr: " << r.err;
    EXPECT_EQ(r.out, "") << "nothing may run on bad usage: " << named;
  }
}

TEST_F(Run, Environment) {
  ::setenv("PROCCTX_TEST_KEEP", "kept", 1);
  auto cleared = procctx(run_args({"--env-clear", "--env", "A=1"}, {helper(), "env"}));
  EXPECT_EQ(cleared.out, "A=1\n");
  auto kept = procctx(run_args({"--env-keep", "PROCCTX_TEST_KEEP", "--env", "B=2"}, {helper(), "env"}));
  std::set<std::string> lines;
  std::istringstream in{kept.out};
  for (std::string l; std::getline(in, l);) lines.insert(l);
  EXPECT_EQ(lines, (std::set<std::string>{"PROCCTX_TEST_KEEP=kept", "B=2"}));
  auto added = procctx(run_args({"--env", "C=3"}, {helper(), "env"}));
  EXPECT_NE(added.out.find("C=3\n"), std::string::npos);
  EXPECT_NE(added.out.find("PROCCTX_TEST_KEEP=kept\n"), std::string::npos) << "the rest is inherited";
  ::unsetenv("PROCCTX_TEST_KEEP");
}

TEST_F(Run, CwdUmaskRlimitNoNewPrivs) {
  EXPECT_EQ(procctx(run_args({"--cwd", "/tmp"}, {helper(), "cwd"})).out, "/tmp\n");
  EXPECT_EQ(procctx(run_args({"--umask", "027"}, {helper(), "umask"})).out, "0027\n");
  auto limits = procctx(run_args({"--rlimit", "NOFILE=100:200", "--rlimit", "CORE=0"}, {helper(), "limits"}));
  EXPECT_TRUE(std::regex_search(limits.out, std::regex{"Max open files +100 +200 "})) << limits.out;
  EXPECT_TRUE(std::regex_search(limits.out, std::regex{"Max core file size +0 +0 "})) << limits.out;
  auto status = procctx(run_args({"--no-new-privs"}, {helper(), "status"}));
  EXPECT_NE(status.out.find("NoNewPrivs:\t1"), std::string::npos);
}

TEST_F(Run, UserGroupAndGroups) {
  if (::geteuid() != 0) GTEST_SKIP() << "changing identity needs root";
  auto r = procctx(run_args({"--user", "65534", "--group", "65534", "--groups", "65534"}, {helper(), "ids"}));
  EXPECT_EQ(r.status.code(), 0) << r.err;
  EXPECT_EQ(r.out, "uid=65534,65534 gid=65534,65534 groups=65534\n");
  auto unknown = procctx(run_args({"--user", "procctx-no-such-user"}, {helper(), "ids"}));
  EXPECT_EQ(unknown.status.code(), 125);
  EXPECT_NE(unknown.err.find("procctx-no-such-user"), std::string::npos) << unknown.err;
}

TEST_F(Run, Hardened) {
  ::setenv("PROCCTX_TEST_SECRET", "x", 1);
  auto env = procctx(run_args({"--hardened"}, {helper(), "env"}));
  EXPECT_EQ(env.out.find("PROCCTX_TEST_SECRET"), std::string::npos) << env.out;
  ::unsetenv("PROCCTX_TEST_SECRET");
  EXPECT_EQ(procctx(run_args({"--hardened"}, {helper(), "umask"})).out, "0077\n");
  auto status = procctx(run_args({"--hardened"}, {helper(), "status"}));
  EXPECT_NE(status.out.find("NoNewPrivs:\t1"), std::string::npos);
  auto ids = procctx(run_args({"--hardened"}, {helper(), "pgid"}));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(ids.out, m, std::regex{"pid=(\\d+) pgid=\\d+ sid=(\\d+)"})) << ids.out;
  EXPECT_EQ(m[1], m[2]) << "a new session";
}

TEST_F(Run, CgroupLimitsWorkOrSayWhyNot) {
  std::string path = report_path();
  for (const auto& flag : std::vector<std::vector<std::string>>{
           {"--memory-max", "256M"}, {"--pids-max", "64"}, {"--cpu-max", "0.5"}}) {
    std::vector<std::string> flags = flag;
    flags.insert(flags.end(), {"--json", path});
    auto r = procctx(run_args(flags, {helper(), "exit", "0"}));
    if (r.status.code() == 0) {
      EXPECT_EQ(read_report(path)["tree"]["used"], "cgroup");
    } else {
      // No writable cgroup with that controller here: refused before running, naming it.
      EXPECT_EQ(r.status.code(), 125) << r.err;
      std::string file = flag[0].substr(2);
      file[file.find('-')] = '.';
      EXPECT_NE(r.err.find(file), std::string::npos) << r.err;
    }
  }
}

TEST_F(Run, StubbornChildGetsTheWholeStopSequence) {
  std::string path = report_path();
  auto r = procctx(run_args({"--timeout", "200ms", "--stop", "TERM,300ms,KILL", "--json", path, "-v"},
                            {helper(), "ignore-term", "30"}));
  EXPECT_EQ(r.status.code(), 124);
  json j = read_report(path);
  EXPECT_EQ(j["schema"], "procctx.run/1");
  EXPECT_EQ(j["exit_code"], 124);
  EXPECT_EQ(j["stop"]["reason"], "deadline");
  EXPECT_EQ(j["stop"]["sequence"], "TERM,300ms,KILL");
  EXPECT_EQ(j["stop"]["stage"], 1);
  ASSERT_EQ(j["stop"]["signals"].size(), 2u);
  EXPECT_EQ(j["stop"]["signals"][0]["signal"], "SIGTERM");
  EXPECT_EQ(j["stop"]["signals"][1]["signal"], "SIGKILL");
  double term_at = j["stop"]["signals"][0]["at_seconds"], kill_at = j["stop"]["signals"][1]["at_seconds"];
  EXPECT_GE(kill_at - term_at, 0.29);
  EXPECT_EQ(j["status"]["kind"], "signaled");
  EXPECT_EQ(j["status"]["signal"], "SIGKILL");
  EXPECT_NE(r.err.find("procctx run: sending SIGTERM to '" + helper() + "'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("procctx run: sending SIGKILL to '" + helper() + "'"), std::string::npos) << r.err;
}

TEST_F(Run, ReportMatchesTheRun) {
  std::string path = report_path();
  auto r = procctx(run_args({"--json", path}, {helper(), "print-both", "12345", "abc"}));
  ASSERT_EQ(r.status.code(), 0) << r.err;
  EXPECT_EQ(r.out, "12345");
  EXPECT_EQ(r.err, "abc");
  json j = read_report(path);
  EXPECT_EQ(j["argv"], (json{helper(), "print-both", "12345", "abc"}));
  EXPECT_GT(j["pid"].get<int>(), 0);
  EXPECT_EQ(j["status"], (json{{"kind", "exited"}, {"code", 0}, {"signal", nullptr}, {"core_dumped", false},
                               {"text", "exited 0"}}));
  EXPECT_EQ(j["stop"]["reason"], "none");
  EXPECT_TRUE(j["stop"]["signals"].empty());
  EXPECT_EQ(j["output"]["stdout"]["bytes"], 5);
  EXPECT_EQ(j["output"]["stderr"]["bytes"], 3);
  EXPECT_LE(j["start"].get<std::string>(), j["end"].get<std::string>());
  EXPECT_GE(j["rusage"]["max_rss_kib"].get<long>(), 1);
  EXPECT_EQ(j["tree"]["requested"], "auto");
  std::string used = j["tree"]["used"];
  EXPECT_TRUE(used == "cgroup" || (used == "group" && !j["tree"]["why"].is_null())) << j["tree"].dump();
  EXPECT_EQ(j["leftovers"]["policy"], "kill");
  EXPECT_TRUE(j["pipe_holders"].empty());
  EXPECT_TRUE(j["error"].is_null());

  // To stdout, after the command's own output.
  auto to_stdout = procctx(run_args({"--json", "-"}, {helper(), "print", "first\n"}));
  ASSERT_EQ(to_stdout.out.rfind("first\n{", 0), 0u) << to_stdout.out;
  EXPECT_EQ(json::parse(to_stdout.out.substr(6))["status"]["code"], 0);
  // A command that could not start still gets a report.
  auto missing = procctx(run_args({"--json", path}, {"/nonexistent/program"}));
  EXPECT_EQ(missing.status.code(), 127);
  json m = read_report(path);
  EXPECT_EQ(m["exit_code"], 127);
  EXPECT_EQ(m["status"]["kind"], "not_started");
  EXPECT_NE(m["error"].get<std::string>().find("/nonexistent/program"), std::string::npos);
}

TEST_F(Run, GrandchildHoldingStdoutIsNamedAndDoesNotHang) {
  std::string path = report_path();
  auto r = procctx(run_args({"--wait-delay", "300ms", "--leftovers", "leave", "--tree", "group", "--json", path},
                            {helper(), "grandchild-holds-stdout", "30"}));
  EXPECT_EQ(r.status.code(), 0);
  EXPECT_LT(r.wall, 10s);
  pid_t grandchild = std::stoi(r.out.substr(r.out.find('=') + 1));
  json j = read_report(path);
  ASSERT_EQ(j["pipe_holders"].size(), 1u) << j.dump();
  EXPECT_EQ(j["pipe_holders"][0]["pid"], grandchild);
  EXPECT_NE(r.err.find("still held after --wait-delay by: " + std::to_string(grandchild)), std::string::npos)
      << r.err;
  ASSERT_TRUE(alive(grandchild)) << "leave means leave";
  ::kill(grandchild, SIGKILL);

  // The default, --leftovers kill: it is stopped with the rest of the tree.
  auto killed = procctx(run_args({"--json", path, "--tree", "group"}, {helper(), "grandchild-holds-stdout", "30"}));
  EXPECT_EQ(killed.status.code(), 0);
  pid_t second = std::stoi(killed.out.substr(killed.out.find('=') + 1));
  json k = read_report(path);
  EXPECT_TRUE(k["pipe_holders"].empty()) << k.dump();
  ASSERT_EQ(k["leftovers"]["processes"].size(), 1u) << k.dump();
  EXPECT_EQ(k["leftovers"]["processes"][0]["pid"], second);
  EXPECT_LT(killed.wall, 10s);
}

TEST_F(Run, SetsidEscapee) {
  std::string path = report_path();
  // With a process group, an escapee found while the command runs is
  // reported, and with --leftovers kill, stopped too.
  auto group = procctx(run_args({"--tree", "group", "--leftovers", "leave", "--timeout", "300ms", "--json", path},
                                {helper(), "setsid-escape", "30"}));
  EXPECT_EQ(group.status.code(), 124);
  pid_t escaped = std::stoi(group.out.substr(group.out.find('=') + 1));
  json g = read_report(path);
  ASSERT_EQ(g["leftovers"]["processes"].size(), 1u) << g.dump();
  EXPECT_EQ(g["leftovers"]["processes"][0]["pid"], escaped);
  EXPECT_TRUE(alive(escaped));
  ::kill(escaped, SIGKILL);

  auto killed = procctx(run_args({"--tree", "group", "--timeout", "300ms"}, {helper(), "setsid-escape", "30"}));
  pid_t escaped2 = std::stoi(killed.out.substr(killed.out.find('=') + 1));
  for (int i = 0; i < 100 && alive(escaped2); ++i) std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(alive(escaped2)) << "--leftovers kill reaches escapees";

  // With a cgroup, nothing escapes.
  auto cg = procctx(run_args({"--tree", "cgroup", "--timeout", "300ms", "--json", path}, {helper(), "setsid-escape", "30"}));
  pid_t escaped3 = std::stoi(cg.out.substr(cg.out.find('=') + 1));
  json c = read_report(path);
  if (c["tree"]["used"] != "cgroup") {
    ::kill(escaped3, SIGKILL);
    GTEST_SKIP() << "no writable cgroup v2 here: " << c["tree"]["why"];
  }
  for (int i = 0; i < 100 && alive(escaped3); ++i) std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(alive(escaped3));
}

TEST_F(Run, CtrlCStopsTheTreeAndExits130) {
  std::string path = report_path();
  auto p = procctx::Command{cli(), run_args({"--json", path}, {"sh", "-c", "echo ready; exec sleep 30"})}
               .in(Stdio::null())
               .out(Stdio::pipe())
               .spawn();
  ASSERT_TRUE(p);
  ASSERT_EQ(read_line(p->out()), "ready");
  ASSERT_TRUE(p->signal(SIGINT));
  const auto& c = p->wait();
  EXPECT_EQ(c.status.code(), 130);
  json j = read_report(path);
  EXPECT_EQ(j["received_signal"], "SIGINT");
  EXPECT_EQ(j["stop"]["reason"], "canceled");
  EXPECT_EQ(j["stop"]["cause"], "procctx run received SIGINT");
  EXPECT_EQ(j["status"]["signal"], "SIGTERM");
}

TEST_F(Run, ASecondSignalKillsAtOnce) {
  std::string path = report_path();
  auto p = procctx::Command{cli(), run_args({"--json", path, "--stop", "TERM,60s,KILL"}, {helper(), "ignore-term", "30"})}
               .in(Stdio::null())
               .out(Stdio::pipe())
               .spawn();
  ASSERT_TRUE(p);
  ASSERT_EQ(read_line(p->out()), "ready");
  auto start = procctx::Clock::now();
  ASSERT_TRUE(p->signal(SIGTERM));
  std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(p->signal(SIGTERM));
  const auto& c = p->wait();
  EXPECT_LT(procctx::Clock::now() - start, 20s);
  EXPECT_EQ(c.status.code(), 128 + SIGTERM);
  EXPECT_EQ(read_report(path)["status"]["signal"], "SIGKILL");
}

TEST_F(Run, UserSignalsArePassedOn) {
  auto p = procctx::Command{cli(), run_args({}, {"sh", "-c", "trap 'echo got-usr1; exit 0' USR1; echo ready; "
                                                             "while :; do sleep 0.05; done"})}
               .in(Stdio::null())
               .out(Stdio::pipe())
               .spawn();
  ASSERT_TRUE(p);
  ASSERT_EQ(read_line(p->out()), "ready");
  ASSERT_TRUE(p->signal(SIGUSR1));
  EXPECT_EQ(read_line(p->out()), "got-usr1");
  EXPECT_EQ(p->wait().status.code(), 0);
}

TEST_F(Run, HelpAndManPageComeFromTheSameFlags) {
  auto h = procctx({"run", "--help"});
  EXPECT_EQ(h.status.code(), 0);
  auto man = procctx({"man"});
  EXPECT_EQ(man.status.code(), 0);
  EXPECT_EQ(man.out.rfind(".TH PROCCTX 1", 0), 0u);
  std::regex flag{"--([a-z][a-z-]+)"};
  std::set<std::string> flags;
  for (auto it = std::sregex_iterator(h.out.begin(), h.out.end(), flag); it != std::sregex_iterator(); ++it) {
    flags.insert((*it)[1]);
  }
  for (const char* expected : {"timeout", "stop", "wait-delay", "tree", "leftovers", "env-clear", "env", "env-keep",
                               "cwd", "user", "group", "groups", "no-new-privs", "rlimit", "umask", "memory-max",
                               "pids-max", "cpu-max", "hardened", "json"}) {
    EXPECT_EQ(flags.count(expected), 1u) << expected;
  }
  for (const auto& f : flags) {
    std::string escaped;
    for (char ch : f) escaped += ch == '-' ? std::string{"\\-"} : std::string(1, ch);
    EXPECT_NE(man.out.find("\\-\\-" + escaped), std::string::npos) << f << " is missing from the man page";
  }
}

TEST_F(Run, TheCommandCanReadTheTerminal) {
  auto r = on_a_terminal(cli() + " run -- sh -c 'read line; echo got:$line'", "hello\n");
  if (!r) GTEST_SKIP() << "script(1) (bsdutils) is not installed";
  EXPECT_EQ(r->status.code(), 0) << r->out << r->err;
  EXPECT_NE(r->out.find("got:hello"), std::string::npos) << r->out;
}

}  // namespace

namespace {

// Ctrl-Z in an interactive shell: the command stops itself with TSTP;
// procctx must stop too (so the shell sees the job stopped and gets the
// terminal back), and on `fg` hand the terminal to the command again.
TEST_F(Run, JobControlInAnInteractiveShell) {
  if (::access("/bin/bash", X_OK) != 0) GTEST_SKIP() << "bash is not installed";
  std::string typed = cli() + " run -- sh -c 'kill -TSTP $$; echo resumed; read x; echo got-$x'\n"
                      "fg\n"
                      "hello\n"
                      "echo rc=$?\n"
                      "exit\n";
  auto r = on_a_terminal("/bin/bash --norc --noprofile -i", typed);
  if (!r) GTEST_SKIP() << "script(1) (bsdutils) is not installed";
  EXPECT_NE(r->out.find("Stopped"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("resumed"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("got-hello"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("rc=0"), std::string::npos) << r->out;
}

}  // namespace

namespace {

TEST_F(Run, TreeNoneKeepsTheCommandInProcctxsGroup) {
  std::string path = report_path();
  auto r = procctx(run_args({"--tree", "none", "--json", path}, {helper(), "pgid"}));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex{"pid=(\\d+) pgid=(\\d+) "})) << r.out;
  EXPECT_NE(m[1], m[2]) << "not a group leader";
  EXPECT_EQ(read_report(path)["tree"]["used"], "none");
  auto grouped = procctx(run_args({"--tree", "group"}, {helper(), "pgid"}));
  ASSERT_TRUE(std::regex_search(grouped.out, m, std::regex{"pid=(\\d+) pgid=(\\d+) "})) << grouped.out;
  EXPECT_EQ(m[1], m[2]);
}

}  // namespace

namespace {

// run keeps the library's strict defaults: only stdio reaches the command
// unless --keep-fds, and a script without #! is not executable (126).
TEST_F(Run, InheritedFdsOnlyWithKeepFds) {
  auto strict = run_program("/bin/bash", {"-c", "exec 7</dev/null; " + cli() + " run -- " + helper() + " fds"});
  EXPECT_EQ(strict.out, "0 1 2\n") << strict.err;
  auto kept = run_program("/bin/bash", {"-c", "exec 7</dev/null; " + cli() + " run --keep-fds -- " + helper() + " fds"});
  EXPECT_EQ(kept.out, "0 1 2 7\n") << kept.err;
  auto both = procctx({"run", "--keep-fds", "--hardened", "--", "true"});
  EXPECT_EQ(both.status.code(), 125);
  EXPECT_NE(both.err.find("--keep-fds: --hardened passes no inherited fd"), std::string::npos) << both.err;
}

TEST_F(Run, AScriptWithoutShebangIsNotExecutable) {
  char name[] = "/tmp/procctx-script-XXXXXX";
  int fd = ::mkstemp(name);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "echo ran\n", 9), 9);
  ::close(fd);
  ::chmod(name, 0700);
  auto r = procctx(run_args({}, {name}));
  std::remove(name);
  EXPECT_EQ(r.status.code(), 126) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("failed to run command '" + std::string{name} + "': Exec format error"), std::string::npos)
      << r.err;
}

}  // namespace
