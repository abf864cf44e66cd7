// procctx batch driven as a user drives it.
#include "cli/batch_fixture.hpp"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <unistd.h>

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

using procctx::Stdio;

class Batch : public procctx::test::BatchTest {};

TEST_F(Batch, OutputOfTwoBigJobsNeverMixes) {
  auto r = batch({"-j2", "-q"}, "head -c 3000000 /dev/zero | tr '\\0' A\nhead -c 3000000 /dev/zero | tr '\\0' B\n");
  ASSERT_EQ(r.status.code(), 0) << r.err;
  ASSERT_EQ(r.out.size(), 6000000u);
  std::size_t changes = 0;
  for (std::size_t i = 1; i < r.out.size(); ++i) changes += r.out[i] != r.out[i - 1] ? 1u : 0u;
  EXPECT_EQ(changes, 1u) << "one job's block, then the other's";
}

// procctx batch built with AddressSanitizer (as this test then is) carries
// the sanitizer's shadow memory and quarantine on top of its own.
#if defined(__SANITIZE_ADDRESS__)
constexpr long kBatchRssBoundKib = 128 * 1024;
#else
constexpr long kBatchRssBoundKib = 64 * 1024;
#endif

TEST_F(Batch, MemoryStaysBoundedWhileJobsPrintGigabytes) {
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 300s);
  auto r = procctx::Command{cli(), {"batch", "-j4", "-q"}}
               .env("TMPDIR", dir_)
               .in(Stdio::data("head -c 256M /dev/zero\nhead -c 256M /dev/zero\nhead -c 256M /dev/zero\nhead -c 256M /dev/zero\n"))
               .out(Stdio::null())
               .run(ctx);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status.code(), 0);
  EXPECT_LT(r->rusage.max_rss_kib, kBatchRssBoundKib) << "procctx batch (or a job) peaked at " << r->rusage.max_rss_kib << " KiB";
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(Batch, KillMinus9LeavesNoTemporaryFiles) {
  auto p = procctx::Command{cli(), {"batch", "-j2", "-q", "--", "echo {}; exec sleep 30", ":::", "a", "b"}}
               .env("TMPDIR", dir_)
               .in(Stdio::null())
               .out(Stdio::null())
               .spawn();
  ASSERT_TRUE(p);
  // Both jobs started: their output files exist (unlinked, so invisible)
  // and the jobs are running.
  std::set<pid_t> jobs;
  for (int i = 0; i < 200 && jobs.size() < 2; ++i) {
    std::this_thread::sleep_for(20ms);
    jobs.clear();
    for (const auto& e : fs::directory_iterator("/proc")) {
      std::ifstream cmdline{e.path() / "cmdline"};
      std::string text((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
      if (text.rfind(std::string{"sleep\0" "30", 8}, 0) == 0) {
        std::ifstream stat{e.path() / "stat"};
        std::string s((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
        // Only the sleeps whose parent is our procctx batch.
        std::istringstream fields{s.substr(s.rfind(')') + 2)};
        std::string state;
        pid_t ppid = 0;
        fields >> state >> ppid;
        if (ppid == p->pid()) jobs.insert(std::stoi(e.path().filename().string()));
      }
    }
  }
  ASSERT_EQ(jobs.size(), 2u);
  ASSERT_TRUE(p->signal(SIGKILL));
  EXPECT_EQ(p->wait().status.signal(), SIGKILL);
  EXPECT_TRUE(fs::is_empty(dir_)) << "nothing under TMPDIR";
  for (pid_t job : jobs) ::kill(-job, SIGKILL);  // orphaned by the kill -9
}

TEST_F(Batch, SpecialCharactersReachTheJobUnchanged) {
  std::vector<std::string> weird = {"it's", "a b", "$HOME", "`id`", ";rm -rf /nonexistent", "\"q\"", "back\\slash"};
  std::vector<std::string> args{"-j1", "-q", "--", "printf", "'%s\\n'", "{}", ":::"};
  args.insert(args.end(), weird.begin(), weird.end());
  auto r = batch(args);
  ASSERT_EQ(r.status.code(), 0) << r.err;
  std::string expected;
  for (const auto& w : weird) expected += w + "\n";
  EXPECT_EQ(r.out, expected);
}

TEST_F(Batch, ExitCodeCountsFailuresAndMalformedLines) {
  EXPECT_EQ(batch({"-q"}, "true\nexit 3\nfalse\n").status.code(), 2);
  EXPECT_EQ(batch({"-q"}, "true\n").status.code(), 0);
  std::vector<std::string> many{"-j2", "-q", "--", "false", ":::"};
  for (int i = 0; i < 101; ++i) many.push_back(std::to_string(i));
  EXPECT_EQ(batch(many).status.code(), 101);
  auto bad = batch({"--jsonl", "-q"}, "{\"argv\": [\"true\"]}\n{broken\n{\"argv\": [\"true\"], \"x\": 1}\n");
  EXPECT_EQ(bad.status.code(), 2);
  EXPECT_NE(bad.err.find("line 2: bad JSON"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("line 3: unknown field \"x\""), std::string::npos) << bad.err;
  auto strict = batch({"--jsonl", "--strict"}, "{\"argv\": [\"sh\", \"-c\", \"echo ran\"]}\n{broken\n");
  EXPECT_EQ(strict.status.code(), 255);
  EXPECT_EQ(strict.out, "") << "nothing runs with --strict";
  EXPECT_EQ(batch({"--jobs", "0"}, "true\n").status.code(), 255);
  EXPECT_EQ(batch({"--halt", "sometimes"}, "true\n").status.code(), 255);
}

TEST_F(Batch, JsonLinesApplyCwdEnvAndTimeout) {
  auto r = batch({"--jsonl", "-q", "-k"},
                 R"({"argv": ["sh", "-c", "pwd; echo $GREETING"], "cwd": "/tmp", "env": {"GREETING": "hi there"}})"
                 "\n"
                 R"({"argv": ["sleep", "30"], "timeout": "200ms"})"
                 "\n");
  EXPECT_EQ(r.status.code(), 1);
  EXPECT_EQ(r.out, "/tmp\nhi there\n");
  EXPECT_NE(r.err.find("sleep 30: killed by SIGTERM (timeout)"), std::string::npos) << r.err;
}

TEST_F(Batch, HaltNowStopsRunningJobsAndSoonLetsThemFinish) {
  auto now = batch({"-j2", "-q", "--halt", "now,fail=1", "--joblog", path("now.jsonl")}, "exit 4\nsleep 30\n");
  EXPECT_EQ(now.status.code(), 2);
  EXPECT_LT(now.wall, 20s);
  auto log = joblog(path("now.jsonl"));
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1]["stop"], "halt");
  EXPECT_EQ(log[1]["signal"], "SIGTERM");

  auto soon = batch({"-j1", "-q", "--halt", "soon,fail=1", "--summary-json", path("s.json")},
                    "exit 4\necho never-started\n");
  EXPECT_EQ(soon.status.code(), 1);
  EXPECT_EQ(soon.out, "");
  json s = json::parse(slurp(path("s.json")));
  EXPECT_EQ(s["not_started"], 1);
  EXPECT_EQ(s["failed"], 1);
  EXPECT_EQ(s["halted"], "--halt soon,fail=1");
}

TEST_F(Batch, RetriesUntilSuccess) {
  std::string counter = path("count");
  std::string job = "n=$(cat " + counter + " 2>/dev/null || echo 0); n=$((n+1)); echo $n > " + counter +
                    "; echo attempt $n; [ $n -ge 3 ]\n";
  auto r = batch({"-q", "--retries", "3", "--retry-delay", "10ms", "--joblog", path("log.jsonl")}, job);
  EXPECT_EQ(r.status.code(), 0) << r.err;
  auto log = joblog(path("log.jsonl"));
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0]["attempt"], 1);
  EXPECT_EQ(log[0]["final"], false);
  EXPECT_EQ(log[2]["attempt"], 3);
  EXPECT_EQ(log[2]["final"], true);
  EXPECT_EQ(log[2]["exit_code"], 0);
  EXPECT_EQ(r.out, "attempt 1\nattempt 2\nattempt 3\n");
  // 127 is never retried.
  auto missing = batch({"-q", "--retries", "5", "--joblog", path("m.jsonl")}, "procctx-no-such-program\n");
  EXPECT_EQ(joblog(path("m.jsonl")).size(), 1u);
  EXPECT_EQ(missing.status.code(), 1);
}

TEST_F(Batch, ResumeSkipsWhatFinishedAndResumeFailedRerunsFailures) {
  std::string input = "echo one\nexit 5\necho three\n";
  std::string log = path("log.jsonl");
  EXPECT_EQ(batch({"-q", "-j1", "--joblog", log}, input).status.code(), 1);
  auto again = batch({"-q", "--joblog", log, "--resume"}, input);
  EXPECT_EQ(again.status.code(), 0);
  EXPECT_EQ(again.out, "");
  EXPECT_EQ(joblog(log).size(), 3u);
  // The failed job fixed in the input is a new identity; the old failure is
  // re-run by --resume-failed only.
  auto failed = batch({"-q", "--joblog", log, "--resume-failed"}, input);
  EXPECT_EQ(failed.status.code(), 1);
  EXPECT_EQ(joblog(log).size(), 4u);
  EXPECT_EQ(joblog(log)[3]["command"], "exit 5");
  // Reordered input: still nothing to do.
  EXPECT_EQ(batch({"-q", "--joblog", log, "--resume"}, "echo three\nexit 5\necho one\n").out, "");
}

TEST_F(Batch, ShardsPartitionTheJobsAndComeFromTheEnvironment) {
  std::string input;
  for (int i = 0; i < 40; ++i) input += "echo " + std::to_string(i) + "\n";
  std::multiset<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    auto r = batch({"-q", "--shard", std::to_string(i) + "/3"}, input);
    std::istringstream lines{r.out};
    for (std::string l; std::getline(lines, l);) seen.insert(l);
  }
  EXPECT_EQ(seen.size(), 40u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 40u) << "each job exactly once";
  auto from_env = batch({"-q"}, input, {{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_COUNT", "3"}});
  auto explicit_shard = batch({"-q", "--shard", "1/3"}, input);
  std::multiset<std::string> a, b;
  std::istringstream la{from_env.out}, lb{explicit_shard.out};
  for (std::string l; std::getline(la, l);) a.insert(l);
  for (std::string l; std::getline(lb, l);) b.insert(l);
  EXPECT_EQ(a, b);
  auto ci = batch({"-q"}, input, {{"CI_NODE_INDEX", "2"}, {"CI_NODE_TOTAL", "3"}});  // 1-based: shard 1
  std::multiset<std::string> c;
  std::istringstream lc{ci.out};
  for (std::string l; std::getline(lc, l);) c.insert(l);
  EXPECT_EQ(c, b);
  EXPECT_EQ(batch({"--shard", "3/3"}, input).status.code(), 255);
}

TEST_F(Batch, MergeCombinesShardLogsIntoOneLogAndReport) {
  std::string input = "echo a\necho b\nexit 2\necho c\nexit 3\necho d\n";
  for (int i = 0; i < 2; ++i) {
    batch({"-q", "--shard", std::to_string(i) + "/2", "--joblog", path("log" + std::to_string(i))}, input);
  }
  auto m = procctx({"batch", "merge", "-o", path("merged"), "--report", path("r.html"), path("log0"), path("log1")});
  EXPECT_EQ(m.status.code(), 2) << m.err;
  EXPECT_EQ(joblog(path("merged")).size(), 6u);
  std::string html = slurp(path("r.html"));
  for (const char* cmd : {"echo a", "echo b", "exit 2", "echo c", "exit 3", "echo d"}) {
    EXPECT_NE(html.find(cmd), std::string::npos) << cmd;
  }
}

TEST_F(Batch, JoblogInGnuParallelFormat) {
  batch({"-q", "-j1", "--joblog", path("p.log"), "--joblog-format", "parallel"}, "echo hi\nexit 7\n");
  std::istringstream in{slurp(path("p.log"))};
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand");
  for (std::size_t i = 1; i < 3; ++i) EXPECT_EQ(std::count(lines[i].begin(), lines[i].end(), '\t'), 8) << lines[i];
  EXPECT_NE(lines[1].find("\t0\t3\t0\t0\techo hi"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("\t7\t0\texit 7"), std::string::npos) << lines[2];
}

TEST_F(Batch, HtmlReportAndKeepOrderAndTags) {
  auto r = batch({"-q", "-j3", "-k", "--report", path("r.html"), "--", "sleep 0.{}; echo {}", ":::", "3", "2", "1"});
  EXPECT_EQ(r.status.code(), 0);
  EXPECT_EQ(r.out, "3\n2\n1\n") << "input order, not finishing order";
  std::string html = slurp(path("r.html"));
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  std::size_t rects = 0;
  for (auto pos = html.find("<rect"); pos != std::string::npos; pos = html.find("<rect", pos + 1)) ++rects;
  EXPECT_EQ(rects, 3u);

  auto tagged = batch({"-q", "--line-buffer", "--tag", "--joblog", path("lb.jsonl"), "--", "printf", "'x\\ny\\n'",
                       "{}", ":::", "t1"});
  EXPECT_EQ(tagged.out, "t1\tx\nt1\ty\n");
  EXPECT_EQ(joblog(path("lb.jsonl"))[0]["stdout_bytes"], 4) << "counted in --line-buffer mode too";
  auto tagstring = batch({"-q", "--tagstring", "[{#}]", "--", "echo", "{}", ":::", "v"});
  EXPECT_EQ(tagstring.out, "[1]\tv\n");
}

TEST_F(Batch, ResultsDirectoryKeepsEachJobsOutput) {
  auto r = batch({"-q", "--results", path("res"), "--", "echo out-{}; echo err-{} >&2", ":::", "a"});
  EXPECT_EQ(r.status.code(), 0);
  EXPECT_EQ(r.out, "out-a\n");
  EXPECT_EQ(slurp(path("res/1/stdout")), "out-a\n");
  EXPECT_EQ(slurp(path("res/1/stderr")), "err-a\n");
  json meta = json::parse(slurp(path("res/1/meta.json")));
  EXPECT_EQ(meta["exit_code"], 0);
  EXPECT_EQ(meta["stdout_bytes"], 6);
}

TEST_F(Batch, DeadlineVersusJobTimeoutIsNamed) {
  auto r = batch({"-q", "-j2", "--deadline", "500ms", "--joblog", path("d.jsonl"), "--jsonl"},
                 R"({"argv": ["sleep", "30"], "timeout": "100ms"})"
                 "\n"
                 R"({"argv": ["sleep", "31"]})"
                 "\n"
                 R"({"argv": ["sleep", "32"]})"
                 "\n");
  EXPECT_LT(r.wall, 20s);
  auto log = joblog(path("d.jsonl"));
  std::map<std::string, std::string> stop;
  for (const auto& l : log) stop[l["argv"][1]] = l["stop"].is_null() ? "" : l["stop"].get<std::string>();
  EXPECT_EQ(stop["30"], "timeout");
  EXPECT_EQ(stop["31"], "deadline");
}

TEST_F(Batch, FirstSignalHaltsSoonSecondStopsEverything) {
  auto p = procctx::Command{cli(), {"batch", "-j1", "-q", "--", "echo go {}; exec sleep 30", ":::", "1", "2"}}
               .in(Stdio::null())
               .out(Stdio::pipe())
               .err(Stdio::capture())
               .spawn();
  ASSERT_TRUE(p);
  // Group mode prints a job's output when it ends; wait for the job's start
  // through /proc instead: the sleep is procctx batch's child.
  bool running = !children_of(p->pid(), 1).empty();
  ASSERT_TRUE(running);
  ASSERT_TRUE(p->signal(SIGINT));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(p->try_wait(), nullptr) << "the running job is left to finish";
  ASSERT_TRUE(p->signal(SIGINT));
  const auto& c = p->wait();
  EXPECT_EQ(c.status.code(), 130);
  std::string err = c.err.str();
  EXPECT_NE(err.find("starting no new job; still running:\n  #1 echo go '1'; exec sleep 30"), std::string::npos)
      << err;
  EXPECT_NE(err.find("killed by SIGTERM (halt)"), std::string::npos) << err;
  std::string out = procctx::test::read_line(p->out());
  EXPECT_EQ(out, "go 1") << "the stopped job's output is still printed";
  EXPECT_EQ(procctx::test::read_line(p->out()), "") << "job 2 never started";
}

}  // namespace

namespace {

TEST_F(Batch, OnSignalNowStopsRunningJobsAtTheFirstSignal) {
  auto p = procctx::Command{cli(), {"batch", "-j2", "-q", "--on-signal", "now", "--joblog", path("l.jsonl"), "--",
                                    "exec sleep 30 {}", ":::", "1", "2", "3"}}
               .in(Stdio::null())
               .out(Stdio::null())
               .err(Stdio::capture())
               .spawn();
  ASSERT_TRUE(p);
  std::size_t children = children_of(p->pid(), 2).size();
  ASSERT_EQ(children, 2u);
  ASSERT_TRUE(p->signal(SIGTERM));
  const auto& c = p->wait();
  EXPECT_EQ(c.status.code(), 128 + SIGTERM);
  auto log = joblog(path("l.jsonl"));
  ASSERT_EQ(log.size(), 2u) << "the third never started";
  for (const auto& l : log) EXPECT_EQ(l["stop"], "halt");
}

}  // namespace

namespace {

TEST_F(Batch, ProgressIsRedrawnInPlaceOnATerminalAndNeverOnStdout) {
  // stderr is the terminal; stdout goes to a file.
  auto r = on_a_terminal(cli() + " batch -j2 -- 'sleep 0.2; echo job {}' ::: 1 2 3 4 >" + path("out"), "");
  if (!r) GTEST_SKIP() << "script(1) (bsdutils) is not installed";
  EXPECT_NE(r->out.find("\r\x1b[Kprocctx batch: 4/4 done, 0 running, 0 failed"), std::string::npos) << r->out;
  std::string out = slurp(path("out"));
  EXPECT_EQ(out.find("procctx batch"), std::string::npos) << out;
  EXPECT_NE(out.find("job 4\n"), std::string::npos) << out;
  auto quiet = on_a_terminal(cli() + " batch -q -- 'echo {}' ::: 1 >" + path("quiet"), "");
  EXPECT_EQ(quiet->out.find("procctx batch"), std::string::npos) << quiet->out;
}

}  // namespace
